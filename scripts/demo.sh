#!/usr/bin/env bash
# The staged pipeline of examples/coolify-tags (seed 004), run on this machine against the
# local simulators: no Coolify, GitHub or Fly account needed.
#
#   check → deploy staging (+ health) → health → tag → promote → production (+ health)
#   → release with notes, and a production deploy of an unproven commit being refused.
#
# It copies the example into a temporary git repository with a small history, starts
# `stage-gate-sim`, points the example's URLs at it (the Coolify URL and GitHub API through
# STAGE_GATE_* variables, the health probe URLs by rewriting the copy), and runs the same
# commands the example's workflows run. The step summaries are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

echo "building stage-gate and stage-gate-sim…" >&2
cargo build --quiet --locked --workspace --bins
target_dir="${CARGO_TARGET_DIR:-$root/target}"
sg="$target_dir/debug/stage-gate"
sim_bin="$target_dir/debug/stage-gate-sim"

work="$(mktemp -d)"
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

repo="$work/repo"
mkdir -p "$repo"
cp -r examples/coolify-tags/. "$repo/"
git_() { git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com "$@"; }
git_ init -q -b main
git_ add -A && git_ commit -qm "feat: ingestion service"
git_ tag v0.1.0
echo "batch" > "$repo/batch.txt"; git_ add -A; git_ commit -qm "feat(api): batch ingestion endpoint (#12)"
echo "retry" > "$repo/retry.txt"; git_ add -A; git_ commit -qm "fix: retry uploads on 503 (#13)"
sha="$(git_ rev-parse HEAD)"

cat > "$work/scenario.yml" <<YAML
coolify:
  tokens: [{token: sim-token-for-the-demo-0000, abilities: [root]}]
github:
  repos:
    - name: acme/ingestion
      branches: {main: "$sha"}
      tags: {v0.1.0: "$(git_ rev-parse v0.1.0)"}
health:
  endpoints:
    staging: {version: "0.2.0", sha: "$sha"}
    production: {version: "0.1.0", switch_after_ms: 300, new_version: "0.2.0", new_sha: "$sha"}
YAML
"$sim_bin" --scenario "$work/scenario.yml" --port-file "$work/ports.json" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do [ -s "$work/ports.json" ] && break; sleep 0.05; done
url() { python3 -c "import json,sys; print(json.load(open('$work/ports.json'))['$1'])"; }
health="$(url health)"

# The example's public URLs become the simulator's; the soak is shortened for a demo.
sed -i -e "s#http://yoows40k844kc8w880ks48o0.157.90.158.16.sslip.io/healthz#$health/health/staging#" \
       -e "s#https://ingest.example.com/healthz#$health/health/production#" \
       -e "s#soak: 30s#soak: 1s#" -e "s#deadline: [0-9]m#deadline: 20s#" "$repo/.github/stage-gate.yml"

export STAGE_GATE_GITHUB_API_URL="$(url github)" STAGE_GATE_GITHUB_UPLOADS_URL="$(url uploads)"
export STAGE_GATE_COOLIFY_URL="$(url coolify)" STAGE_GATE_REPOSITORY=acme/ingestion
export GITHUB_TOKEN=ghs_demo_token_0000 COOLIFY_TOKEN=sim-token-for-the-demo-0000 GITHUB_RUN_ID=1
export GITHUB_STEP_SUMMARY="$work/summary.md" GITHUB_OUTPUT="$work/outputs"
: > "$GITHUB_STEP_SUMMARY"

step() { printf '\n\033[1m$ stage-gate %s\033[0m\n' "$*"; (cd "$repo" && "$sg" "$@"); }

export GITHUB_REF=refs/pull/7/merge GITHUB_SHA="$sha"
step check
export GITHUB_REF=refs/heads/main
step deploy --env staging
step health --env staging
step promote --env production --sha 0000000000000000000000000000000000000000 \
  && { echo "an unproven commit was promoted: the demo failed" >&2; exit 1; } \
  || echo "(refused, as it should be: that commit never ran in staging)"
git_ tag v0.2.0
export GITHUB_REF=refs/tags/v0.2.0 GITHUB_RUN_ID=2
step tag
step promote --env production
# Production must run exactly the artifact staging ran (the tag staging set, not `0.2.0`).
ran="$(grep '^image=' "$GITHUB_OUTPUT" | sed -n '1p;$p' | sort -u)"
[ "$(printf '%s\n' "$ran" | wc -l)" = 1 ] || { echo "production runs another artifact than staging: $ran" >&2; exit 1; }
echo "staging and production run the same artifact: ${ran#image=}"
step release --tag v0.2.0

printf '\n\033[1m── step summary ──\033[0m\n'
cat "$GITHUB_STEP_SUMMARY"
echo
echo "demo: the staged pipeline ran end to end against the simulators"
