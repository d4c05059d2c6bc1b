#!/usr/bin/env bash
# One pull request's preview, told step by step against the local simulators (no Fly,
# Coolify or GitHub account needed): opened → pushed → an out-of-order older push →
# closed → closed again, then a sweep over a mixed set of apps. After each step it prints
# the result, the calls made to each vendor (reads included) and the pull request's comment.
#
#   scripts/preview-story.sh
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
mkdir -p "$repo/.github"
git_() { git -C "$repo" -c user.name="Demo Dev" -c user.email=dev@example.com "$@"; }
printf 'app = "web-staging"\nprimary_region = "ams"\n\n[http_service]\n  internal_port = 8080\n' >"$repo/fly.preview.toml"
git_ init -q -b main
git_ add -A && git_ commit -qm "feat: web"
one="$(git_ rev-parse HEAD)"
echo a >"$repo/a.txt"; git_ add -A; git_ commit -qm "feat: first change (#7)"
two="$(git_ rev-parse HEAD)"
echo b >"$repo/b.txt"; git_ add -A; git_ commit -qm "fix: review comments (#7)"
three="$(git_ rev-parse HEAD)"

cat >"$work/scenario.yml" <<YAML
fly:
  token: fly-story-token
  apps:
    - {name: web-staging, org: acme, machines: [{id: s1, region: ams}]}
    - {name: web-pr-3, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/web#3"}, machines: [{id: m3, region: ams, metadata: {stage_gate_repository: acme/web, stage_gate_pr: "3"}}]}
    - {name: web-pr-4, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/web#4"}, machines: [{id: m4, region: ams}]}
    - {name: web-pr-5, org: acme, machines: [{id: h5, region: ams}]}
    - {name: web-pr-6, org: acme, secrets: {STAGE_GATE_PREVIEW_OF: "acme/other#6"}, machines: [{id: o6, region: ams}]}
    - {name: web-pr-77x, org: acme, machines: [{id: x7, region: ams}]}
coolify:
  tokens: [{token: coolify-story-token, abilities: [root]}]
  applications:
    - {uuid: api-app, name: api, build_pack: dockerimage, image: ghcr.io/acme/api, image_tag: v1, fqdn: "https://api.example.com", queue_ms: 10, build_ms: 50}
github:
  repos:
    - name: acme/web
      commits:
        - {sha: "$one", message: "feat: web"}
        - {sha: "$two", message: "feat: first change (#7)"}
        - {sha: "$three", message: "fix: review comments (#7)"}
      pulls:
        - {number: 7, state: open, head_sha: "$two"}
        - {number: 3, state: closed, merged: true, head_sha: "$one"}
        - {number: 4, state: open, head_sha: "$one"}
health:
  endpoints:
    web-pr-7: {}
YAML
"$sim_bin" --scenario "$work/scenario.yml" --port-file "$work/ports.json" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do [ -s "$work/ports.json" ] && break; sleep 0.05; done
eval "$(python3 -c 'import json,sys
for k, v in json.load(open(sys.argv[1])).items(): print(f"{k}={v}")' "$work/ports.json")"

cat >"$repo/.github/stage-gate.yml" <<YAML
version: 1
environments:
  preview: { per-pull-request: true, ttl: 7d }
apps:
  web:
    environments:
      preview:
        fly: { config: fly.preview.toml, app: "web-pr-{pr}", org: acme, image: "registry.fly.io/web-staging:pr-{pr}", secrets: [DATABASE_URL] }
        health: { probes: [{ url: "$health/health/web-pr-{pr}" }] }
  api:
    environments:
      preview:
        coolify: { url: "https://coolify.example.com", uuid: api-app }
YAML

# step TITLE EVENT-ACTION HEAD-SHA ARGS…: one job, then what it did.
step() {
  local title="$1" action="$2" head="$3"; shift 3
  echo; echo "════ $title"
  local event="$work/event.json" envs=()
  if [ "$action" != "-" ]; then
    printf '{"action":"%s","number":7,"pull_request":{"number":7,"merged":%s,"head":{"sha":"%s","repo":{"full_name":"acme/web"}},"base":{"sha":"%s","repo":{"full_name":"acme/web"}}}}' \
      "$action" "$([ "$action" = closed ] && echo true || echo false)" "$head" "$one" >"$event"
    envs=(GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$event")
  fi
  curl -fsS -X DELETE "$health/__sim/log" >/dev/null 2>&1 || true
  local before; before="$(curl -fsS "$health/__sim/log" | wc -l)"
  set +e
  (cd "$repo" && env "${envs[@]}" STAGE_GATE_FLY_API_URL="$fly" STAGE_GATE_COOLIFY_URL="$coolify" \
    STAGE_GATE_GITHUB_API_URL="$github" GITHUB_REPOSITORY=acme/web GITHUB_TOKEN=ghs-story-token \
    FLY_API_TOKEN=fly-story-token COOLIFY_TOKEN=coolify-story-token DATABASE_URL=postgres://story \
    GITHUB_RUN_ID=4100 NO_COLOR=1 "$sg" preview "$@" 2>"$work/stderr")
  echo "(exit $?)"
  set -e
  grep -E '^(error|warning|notice)' "$work/stderr" | sed 's/^/  /' || true
  echo "── calls"
  curl -fsS "$health/__sim/log" | tail -n +"$((before + 1))" | python3 -c 'import json,sys
for line in sys.stdin:
    if line.strip():
        e = json.loads(line)
        q = "?" + e["query"] if e.get("query") else ""
        print("  %-8s %-6s %s%s -> %s" % (e["vendor"], e["method"], e["path"], q, e.get("status")))'
  echo "── the comment on #7"
  curl -fsS -H "Authorization: Bearer ghs-story-token" "$github/repos/acme/web/issues/7/comments" | python3 -c 'import json,sys
cs = json.load(sys.stdin)
print(f"  ({len(cs)} comment(s))")
for c in cs:
    print("\n".join("  | " + l for l in c["body"].splitlines() if not l.startswith("<!--")))'
}

step "opened: #7 at ${two:0:7} (a job per app)" opened "$two" --app web
step "opened: the api job" opened "$two" --app api --image ghcr.io/acme/api:pr-7
pull() { curl -fsS -X PATCH -H 'content-type: application/json' -d "$1" "$github/__sim/repos/acme/web/pulls/7" >/dev/null; }
pull "{\"head_sha\": \"$three\"}"
step "pushed: #7 at ${three:0:7}" synchronize "$three" --app web --image registry.fly.io/web-staging:pr-7-b
step "an older push's job arriving late: ${two:0:7}" synchronize "$two" --app web
pull '{"state": "closed", "merged": true}'
step "closed (merged)" closed "$three"
step "closed again (a re-run)" closed "$three"
step "nightly sweep, dry run" - "" sweep --dry-run
step "nightly sweep" - "" sweep
