#!/usr/bin/env bash
# Benchmark of the Fly provider's rolling deploy (see benches/fly_rolling.rs): 30 simulated
# machines that each take 1 s to start, with max-unavailable 0.33 and 5; prints wall time
# against the minimum (waves × start time).
# Usage: benches/fly_rolling.sh [machines] [start_ms]   (default 30 1000)
# Built with the dev profile on purpose: the time is spent waiting for simulated starts, not
# computing, and a release build of the whole crate would cost minutes for nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
machines="${1:-30}"
start_ms="${2:-1000}"

bin=$(cargo bench --profile dev --bench fly_rolling --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "fly_rolling":
        print(m["executable"])')

"$bin" "$machines" "$start_ms"
