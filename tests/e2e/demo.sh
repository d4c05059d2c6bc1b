#!/usr/bin/env bash
# Keeps the README's first command true: the demo pipeline runs end to end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if "$here/../../scripts/demo.sh" >"$log" 2>&1 && grep -q "demo: the staged pipeline ran end to end" "$log" \
   && grep -q "(refused, as it should be" "$log" && grep -q "release \[\`v0.2.0\`\].*created (published)" "$log"; then
  echo "demo e2e: 1 passed, 0 failed"
else
  cat "$log" >&2
  echo "demo e2e: 0 passed, 1 failed"
  exit 1
fi
