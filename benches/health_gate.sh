#!/usr/bin/env bash
# Benchmarks of the health gate (see benches/health_gate.rs); prints the numbers.
#   (a) delay between an endpoint turning healthy and the verdict, over many runs,
#       at two intervals (goal: within the interval + 50 ms);
#   (b) peak memory of one process gating 1 and 200 endpoints at once.
# Usage: benches/health_gate.sh [runs]   (default 30 runs per interval)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"

bin=$(cargo bench --bench health_gate --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "health_gate":
        print(m["executable"])')

# `bench-result:` lines are what scripts/bench.sh puts in its table.
"$bin" latency "$runs" 100 | sed 's/^/bench-result: /'
"$bin" latency "$runs" 500 | sed 's/^/bench-result: /'
for n in 1 200; do
  /usr/bin/time -v "$bin" memory "$n" 2>"${TMPDIR:-/tmp}/health_gate_time.txt" | sed 's/^/bench-result: /'
  grep -E "Maximum resident set size" "${TMPDIR:-/tmp}/health_gate_time.txt" | sed "s/^\s*/  endpoints=$n \/usr\/bin\/time: /"
done
