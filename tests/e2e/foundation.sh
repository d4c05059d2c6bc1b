#!/usr/bin/env bash
# End-to-end: the composite action under act. Asserts on step outputs and the summary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ACT_LOG="$(mktemp)"
export ACT_LOG
trap 'rm -f "$ACT_LOG"' EXIT
"$here/act.sh" "$here/foundation" foundation.yml push || { cat "$ACT_LOG"; exit 1; }
fail() { echo "e2e foundation: $1" >&2; cat "$ACT_LOG" >&2; exit 1; }
grep -q "e2e-assert: matrix ok" "$ACT_LOG" || fail "matrix output did not reach the next step"
grep -q "e2e-assert: check ok" "$ACT_LOG" || fail "check did not pass"
grep -q "e2e-assert: broken config refused" "$ACT_LOG" || fail "broken config was not refused"
grep -q "Summary - ### stage-gate plan: \`staging\`" "$ACT_LOG" || fail "no step summary"
grep -q "::error file=.github/broken.yml,line=4,col=5,title=config/unknown-key" "$ACT_LOG" || fail "no annotation for the broken config"
grep -oE "e2e-timing: .*" "$ACT_LOG" | head -n1 || true

# A vendored binary changed after its checksum was recorded is refused: the step fails and
# nothing is built in its place.
if ACT_PREPARE='for b in dist/bin/stage-gate-*; do printf "tampered" >> "$b"; done' \
  "$here/act.sh" "$here/foundation" foundation.yml push; then
  fail "a tampered vendored binary was run"
fi
grep -q "refusing to run it" "$ACT_LOG" || fail "no refusal for the tampered binary"
! grep -q "building from source" "$ACT_LOG" || fail "a build replaced the tampered binary"
echo "e2e foundation: 5 passed, 0 failed"
