#!/usr/bin/env bash
# End-to-end: the six example pipelines of examples/ run under act (tests/e2e/act.sh) for
# push, tag, pull_request, schedule and workflow_dispatch events, against `stage-gate-sim`.
#
# For each example the harness starts one simulator (loopback only, killed on exit) with the
# example's sim.yml, then runs its workflows in order, so later runs see what earlier ones
# recorded (GitHub Deployments, releases, machines). Everything stage-gate calls is the
# simulator: the Fly, Coolify and GitHub API URLs through STAGE_GATE_* variables, and the
# example's health and webhook URLs by rewriting them in the temporary copy (ACT_PREPARE);
# health soaks and deadlines are shortened there too, so the suite stays fast.
#
# No docker, flyctl, tailscale or kamal exist here: the examples' build steps run against
# PATH shims (docker, flyctl, tailscale, sudo, bundle) that only append their arguments to a
# log, which the assertions read (`sudo` runs its arguments, so the shims stay on PATH).
#
# Assertions print `ok - …` or `not ok - …`; the last line is `examples e2e: N passed, N failed`.
#   tests/e2e/examples.sh [EXAMPLE…]    (default: all six, and the README's quick-start)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
sim_bin="$target_dir/debug/stage-gate-sim"
[ -x "$sim_bin" ] || (cd "$root" && cargo build --quiet --locked -p stage-gate-sim) || exit 1

tmp="$(mktemp -d)"
sim_pid=""
stop_sim() { if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; sim_pid=""; fi; }
trap 'stop_sim; rm -rf "$tmp"' EXIT

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; [ -f "${log:-}" ] && grep -E '\| |::error|exitcode' "$log" | tail -n 30 | sed 's/^/    /'; }
check() { # check DESCRIPTION COMMAND...: pass when COMMAND succeeds (the last act log is $log)
  local what="$1"; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# --- shims ---------------------------------------------------------------------------------
shims="$tmp/shims"; mkdir -p "$shims"
shim_log="$tmp/shims.log"; : >"$shim_log"
for tool in docker flyctl tailscale bundle; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$shim_log" >"$shims/$tool"
done
printf '#!/bin/sh\nexec "$@"\n' >"$shims/sudo"
chmod +x "$shims"/*

# --- the simulator ---------------------------------------------------------------------------
# start_sim EXAMPLE: serve the example's scenario; sets $fly $coolify $github $uploads $health.
start_sim() {
  stop_sim
  local ports="$tmp/$1.ports"
  rm -f "$ports"
  "$sim_bin" --scenario "${scenario:-$root/examples/$1/sim.yml}" --port-file "$ports" >"$tmp/$1.sim.out" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 200); do [ -s "$ports" ] && break; sleep 0.05; done
  [ -s "$ports" ] || { cat "$tmp/$1.sim.out" >&2; return 1; }
  eval "$(python3 -c 'import json,sys
for k, v in json.load(open(sys.argv[1])).items(): print(f"{k}={v}")' "$ports")"
  cat >"$tmp/env" <<EOF
PATH=$shims:$PATH
STAGE_GATE_FLY_API_URL=$fly
FLY_API_URL=$fly
STAGE_GATE_COOLIFY_URL=$coolify
STAGE_GATE_GITHUB_API_URL=$github
STAGE_GATE_GITHUB_UPLOADS_URL=$uploads
STAGE_GATE_REPOSITORY=acme/$1
EOF
  cat >"$tmp/secrets" <<EOF
GITHUB_TOKEN=ghs-e2e-token
FLY_API_TOKEN=fly-e2e-token
COOLIFY_TOKEN=coolify-e2e-token
KAMAL_REGISTRY_PASSWORD=kamal-e2e-password
INTERNALBF_WEBHOOK_TOKEN=internalbf-e2e-token
INTERNALBF_SIGNING_SECRET=internalbf-e2e-signing-secret
TS_CI_AUTHKEY=tskey-e2e
EOF
  : >"$shim_log"
}

# The request log of one vendor, one `METHOD /path?query` line per request, plus the body.
sim_calls() {
  curl -fsS "$health/__sim/log?vendor=$1" | python3 -c 'import json,sys
for line in sys.stdin:
    if line.strip():
        e = json.loads(line)
        q = "?" + e["query"] if e.get("query") else ""
        print(e["method"], e["path"] + q, e.get("status"), json.dumps(e.get("body"), sort_keys=True), json.dumps(e.get("headers"), sort_keys=True))'
}
sim_has() { sim_calls "$1" >"$tmp/calls"; grep -qE "$2" "$tmp/calls"; }
# same_bytes PROVING_APP APP: every machine of both Fly apps runs one and the same digest
# (image_ref.digest), and APP's machines name it (`repository@sha256:…`).
same_bytes() {
  local a b
  a="$(curl -fsS -H 'Authorization: Bearer fly-e2e-token' "$fly/v1/apps/$1/machines" | python3 -c 'import json,sys
print(" ".join(sorted({m["image_ref"]["digest"] for m in json.load(sys.stdin) if m["state"] != "destroyed"})))')"
  b="$(curl -fsS -H 'Authorization: Bearer fly-e2e-token' "$fly/v1/apps/$2/machines" | python3 -c 'import json,sys
ms = [m for m in json.load(sys.stdin) if m["state"] != "destroyed"]
assert all("@" + m["image_ref"]["digest"] in m["config"]["image"] for m in ms), [m["config"]["image"] for m in ms]
print(" ".join(sorted({m["image_ref"]["digest"] for m in ms})))')" || return 1
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a#* }" = "$a" ]
}
export -f sim_calls
export health

# run EXAMPLE WORKFLOW EVENT [EVENT_JSON]: run under act with the simulator's env; the log
# is $log.
run() {
  local ex="$1" wf="$2" event="$3"
  log="$tmp/$ex.$wf.$event.$RANDOM.log"
  ACT_LOG="$log" ACT_ENV_FILE="$tmp/env" ACT_SECRET_FILE="$tmp/secrets" \
    ACT_PREPARE="${rewrite:-true}; ${PREPARE:-true}" \
    "$here/act.sh" "${fixture:-$root/examples/$ex}" "$wf" "$event" ${4:+"$4"} >/dev/null
}
succeeded() { run "$@"; }
refused() { ! run "$@" && grep -q "exit status 3" "$log"; }
failed_health() { ! run "$@" && grep -q "exit status 4" "$log"; }

wanted() { [ "${#selected[@]}" -eq 0 ] || [[ " ${selected[*]} " == *" $1 "* ]]; }
selected=("$@")
start=$(date +%s)

# --- coolify-tags (seed 004) ----------------------------------------------------------------
if wanted coolify-tags; then
  ex=coolify-tags
  start_sim $ex
  rewrite="sed -i -e 's#http://yoows40k844kc8w880ks48o0.157.90.158.16.sslip.io/healthz#$health/health/staging#' \
    -e 's#https://ingest.example.com/healthz#$health/health/production#' \
    -e 's#soak: 30s#soak: 1s#' -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml"
  export ACT_GIT="git tag v0.1.0 HEAD && echo batch >batch.txt && git add -A && git commit -qm 'feat(api): batch ingestion endpoint (#12)' && echo retry >retry.txt && git add -A && git commit -qm 'fix: retry uploads on 503 (#13)'"

  check "$ex: a push to main deploys staging" succeeded $ex staging.yml push
  check "$ex: staging got the commit's image tag and a deploy" \
    sim_has coolify 'PATCH /api/v1/applications/yoows40k844kc8w880ks48o0 .*docker_registry_image_tag'
  check "$ex: the image was built by the (shimmed) docker" grep -q '^docker build' "$shim_log"

  ACT_TAG=v0.2.0 check "$ex: tag v0.2.0 of the commit staging ran deploys production" succeeded $ex production.yml push
  staging_tag="$(sim_calls coolify | grep '^PATCH /api/v1/applications/yoows40k844kc8w880ks48o0 200' | tail -n 1 | grep -oE '"docker_registry_image_tag": "[^"]+"' | cut -d'"' -f4)"
  production_tag="$(sim_calls coolify | grep '^PATCH /api/v1/applications/k8s0ws4gco0o4c8kgw08wkcc 200' | head -n 1 | grep -oE '"docker_registry_image_tag": "[^"]+"' | cut -d'"' -f4)"
  check "$ex: production got the very tag staging ran (${staging_tag:0:7}), not the version" \
    test -n "$staging_tag" -a "$staging_tag" = "$production_tag"
  check "$ex: production's Coolify app was deployed" \
    sim_has coolify 'deploy\?uuid=k8s0ws4gco0o4c8kgw08wkcc'
  check "$ex: the GitHub Release v0.2.0 was created with notes" \
    sim_has github 'POST /repos/acme/coolify-tags/releases 201 .*v0.2.0.*batch ingestion endpoint'

  PREPARE="echo unproven >unproven.txt" ACT_TAG=v0.3.0 \
    check "$ex: a tag of a commit staging never ran is refused (exit 3)" refused $ex production.yml push
  check "$ex: the refusal names the reason" grep -qi 'staging' "$log"


  curl -fsS -X POST -H 'content-type: application/json' -d '{"status": 400}' "$health/__health/production" >/dev/null
  PREPARE="echo hotfix >hotfix.txt" check "$ex: staging runs a hotfix commit" succeeded $ex staging.yml push
  PREPARE="echo hotfix >hotfix.txt" ACT_TAG=v0.2.1 \
    check "$ex: production of v0.2.1 fails its health gate (exit 4)" failed_health $ex production.yml push
  check "$ex: the failed health gate rolled production back" grep -qiE 'rolled back|rollback' "$log"
  check "$ex: no release was written for the failed v0.2.1" bash -c '! sim_calls github | grep -q "POST /repos/acme/coolify-tags/releases .*v0.2.1"'

  # Two more healthy releases, then a rollback by tag to the first one.
  curl -fsS -X POST -H 'content-type: application/json' -d '{"status": 200}' "$health/__health/production" >/dev/null
  for v in 3 4; do
    PREPARE="echo $v >feature.txt" check "$ex: staging runs feature $v" succeeded $ex staging.yml push
    PREPARE="echo $v >feature.txt" ACT_TAG=v0.$v.0 check "$ex: tag v0.$v.0 deploys production" succeeded $ex production.yml push
  done
  ACT_INPUTS="tag=v0.2.0" check "$ex: rollback.yml with tag v0.2.0 succeeds" succeeded $ex rollback.yml workflow_dispatch
  first_tag="$(sim_calls coolify | grep '^PATCH /api/v1/applications/k8s0ws4gco0o4c8kgw08wkcc 200' | head -n 1 | grep -oE '"docker_registry_image_tag": "[^"]+"' | cut -d'"' -f4)"
  check "$ex: production is back on the image v0.2.0 deployed (${first_tag:0:7})" \
    grep -q "rolled back k8s0ws4gco0o4c8kgw08wkcc → ${first_tag:-none}\$" "$log"
  # Coolify rolls back to a tag: the rollback names the tag, never the whole image reference.
  check "$ex: the rollback sent Coolify the tag, not the image reference" \
    sim_has coolify "POST /api/v1/applications/k8s0ws4gco0o4c8kgw08wkcc/rollback .*\"commit\": \"${first_tag:-none}\""
  unset ACT_GIT
fi

# --- fly-approval (seed 000) ----------------------------------------------------------------
if wanted fly-approval; then
  ex=fly-approval
  start_sim $ex
  rewrite="sed -i -e 's#https://landlordsoftware-staging.tail4e2b1.ts.net/healthz#$health/health/staging#' \
    -e 's#https://landlordsoftware.com/healthz#$health/health/production#' \
    -e 's#soak: 30s#soak: 1s#' -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml"
  check "$ex: a push to main builds, deploys staging, then promotes to production" succeeded $ex deploy.yml push
  check "$ex: the base image and the app image were built once each, and pushed" \
    bash -c "grep -c '^docker build' '$shim_log' | grep -qx 2 && grep -q 'push registry.fly.io/landlordsoftware:' '$shim_log'"
  check "$ex: the job joined the tailnet before probing private staging" grep -q '^tailscale up' "$shim_log"
  check "$ex: staging machines were updated to the staging image" \
    sim_has fly 'POST /v1/apps/landlordsoftware-staging/machines/[^ /]+ .*registry.fly.io/landlordsoftware:[0-9a-f]{40}'
  check "$ex: production machines run the digest staging's machines run" \
    same_bytes landlordsoftware-staging landlordsoftware
  check "$ex: the migrations ran as fly.toml's release_command, in their own machine, in both environments" \
    bash -c "sim_calls fly | grep -E 'POST /v1/apps/landlordsoftware(-staging)?/machines .*fly_app_release_command.*prisma' | wc -l | grep -qx 2"
  check "$ex: staging's release_command ran before any staging machine was updated" \
    bash -c "sim_calls fly | grep -E '^POST /v1/apps/landlordsoftware-staging/machines' | head -1 | grep -q fly_app_release_command"
fi

# --- fly-monorepo (seed 001) ----------------------------------------------------------------
if wanted fly-monorepo; then
  ex=fly-monorepo
  start_sim $ex
  rewrite="sed -i -e 's#https://microbima-{env}-{app}.fly.dev/health#$health/health/microbima-{env}-{app}#' \
    -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml"
  ACT_BRANCH=staging check "$ex: a push to staging fans out one deploy per app" succeeded $ex deploy.yml push
  for app in internal-api web-admin public-api; do
    check "$ex: $app was deployed to staging" sim_has fly "POST /v1/apps/microbima-staging-$app/machines/[^ /]+ "
  done
  ACT_BRANCH=production check "$ex: production (fast-forwarded to the same commit) deploys every app" succeeded $ex deploy.yml push
  check "$ex: the production apps were deployed" sim_has fly "POST /v1/apps/microbima-production-web-admin/machines/[^ /]+ "
  PREPARE="echo merge >merge.txt" ACT_BRANCH=production \
    check "$ex: a production commit staging never ran is refused (exit 3)" refused $ex deploy.yml push
fi

# --- fly-mirror (seed 002) ------------------------------------------------------------------
if wanted fly-mirror; then
  ex=fly-mirror
  start_sim $ex
  rewrite="sed -i -e 's#https://blue-banded-bee-staging.fly.dev/health#$health/health/staging#' \
    -e 's#https://bluebandedbee.co/health#$health/health/production#' \
    -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml"
  check "$ex: the parity check passes on the example's pull request" succeeded $ex check.yml pull_request
  PREPARE="sed -i 's/internal_port = 8080/internal_port = \"8080/' fly.staging.toml" \
    check "$ex: a broken fly.staging.toml fails the PR check" eval '! run $ex check.yml pull_request'
  check "$ex: ... with an annotation on its line" grep -qE '::error file=fly.staging.toml,line=[0-9]+' "$log"
  PREPARE="sed -i 's/cpus = 1/cpus = 2/' fly.staging.toml" \
    check "$ex: staging drifting from production fails the PR check" eval '! run $ex check.yml pull_request'
  check "$ex: ... annotated on the drifting line" grep -qE '::(error|warning) file=fly.staging.toml,line=[0-9]+' "$log"
  ACT_BRANCH=staging check "$ex: a push to staging deploys the staging app" succeeded $ex staging.yml push
  check "$ex: production takes that commit, with the staging image" succeeded $ex production.yml push
  check "$ex: production machines run the digest built for staging" \
    same_bytes blue-banded-bee-staging blue-banded-bee
  curl -fsS -X POST -H 'content-type: application/json' -d '{"status": 400}' "$health/__health/staging" >/dev/null
  PREPARE="echo change >change.txt" ACT_BRANCH=staging \
    check "$ex: a staging deploy failing its health gate fails (exit 4)" failed_health $ex staging.yml push
  # Machine updates of staging, in order: the proven image, the failing one, the proven again.
  check "$ex: ... and staging was rolled back to the previous image" bash -c 'sim_calls fly | python3 -c "
import re, sys
images = [m.group(1) for l in sys.stdin if re.match(r\"POST /v1/apps/blue-banded-bee-staging/machines/[^ /?]+ 200\", l)
          for m in [re.search(r\"\\\"image\\\": \\\"([^\\\"]+)\\\"\", l)] if m]
sys.exit(0 if len(set(images)) == 2 and images[-1] == images[0] else 1)"'
fi

# --- orchestrated (seed 003) ----------------------------------------------------------------
if wanted orchestrated; then
  ex=orchestrated
  start_sim $ex
  rewrite="sed -i -e 's#https://boltfoundry.wtf/up#$health/health/staging#g' \
    -e 's#https://boltfoundry.com/up#$health/health/production#' \
    -e 's#https://internalbf.com/deployment/staging/complete#$health/health/internalbf#' \
    -e 's#soak: 30s#soak: 1s#' -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml .github/workflows/*.yml"
  check "$ex: push to main → staging → E2E → notify" succeeded $ex deploy-staging.yml push
  check "$ex: staging was deployed by the command provider (kamal)" grep -q 'bundle exec kamal deploy -d staging' "$shim_log"
  check "$ex: the orchestrator got a signed event" \
    sim_has health 'POST /health/internalbf 200 .*staging_deployment_complete.*x-stage-gate-signature'
  check "$ex: production was dispatched with the commit" \
    sim_has github 'POST /repos/acme/orchestrated/actions/workflows/deploy-production.yml/dispatches 20[04] .*commit_sha'
  sha="$(sim_calls github | grep -oE '"commit_sha": "[0-9a-f]{40}"' | head -n 1 | grep -oE '[0-9a-f]{40}')"
  ACT_INPUTS="commit_sha=$sha" \
    check "$ex: the dispatched production workflow promotes that commit" succeeded $ex deploy-production.yml workflow_dispatch
  check "$ex: production was deployed by kamal" grep -q 'bundle exec kamal deploy -d production' "$shim_log"
  PREPARE="echo unproven >unproven.txt" ACT_INPUTS="commit_sha={HEAD}" \
    check "$ex: a dispatch naming a commit staging never ran is refused (exit 3)" refused $ex deploy-production.yml workflow_dispatch
fi

# --- previews (issue 29) --------------------------------------------------------------------
# One pull request's life under preview.yml: opened → pushed → closed; then the nightly sweep,
# and a fork's pull request. Each pull_request event is written once the fixture's commit
# exists (ACT_GIT), so its head is the commit act checks out.
if wanted previews; then
  ex=previews
  start_sim $ex
  echo "PREVIEW_DATABASE_URL=postgres://preview:e2e-db-pass@db.internal/pr" >>"$tmp/secrets"
  rewrite="sed -i -e 's#https://web-pr-{pr}.fly.dev/healthz#$health/health/web-pr-{pr}#' \
    -e 's#deadline: [0-9]m#deadline: 20s#' .github/stage-gate.yml"
  api_uuid=r0kw4s8c8og4wcoc0s8gk4ok
  # The up job checks out the pull request's head by its SHA (`ref:`). act copies the fixture
  # into the workspace only for a checkout without `ref:`, and cannot download the action; a
  # stand-in does that copy, after checking that the SHA asked for is the fixture's commit
  # (ACT_GIT leaves the fixture's path in $tmp/workdir).
  checkout_ref="$(grep -oE 'actions/checkout@[0-9a-f]{40}' "$root/examples/$ex/.github/workflows/preview.yml" | head -n1)"
  stub="$tmp/checkout-standin"; mkdir -p "$stub"
  cat >"$stub/action.yml" <<YML
name: checkout stand-in
inputs:
  ref: { required: false, default: "" }
  persist-credentials: { required: false, default: "true" }
runs:
  using: composite
  steps:
    - shell: bash
      env: { REF: "\${{ inputs.ref }}" }
      run: |
        work="\$(cat '$tmp/workdir')"
        head="\$(git -C "\$work" rev-parse HEAD)"
        [ "\$REF" = "\$head" ] || { echo "::error::checkout stand-in: asked for '\$REF', the fixture is \$head"; exit 1; }
        cp -a "\$work/." "\$GITHUB_WORKSPACE/"
YML
  export ACT_LOCAL_REPOS="$checkout_ref=$stub"
  # pr_event ACTION NUMBER HEAD_REPO: $tmp/event.json, written by ACT_GIT with the commit.
  pr_event() {
    python3 - "$@" >"$tmp/event.tpl" <<'PY'
import json, sys
action, number, head = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = "acme/previews"
print(json.dumps({"action": action, "number": number, "repository": {"full_name": base},
  "pull_request": {"number": number, "state": "closed" if action == "closed" else "open",
    "merged": action == "closed",
    "head": {"sha": "{HEAD}", "ref": f"change-{number}", "repo": {"full_name": head, "fork": head != base}},
    "base": {"sha": "{HEAD}", "ref": "main", "repo": {"full_name": base, "fork": False}}}}))
PY
    export ACT_GIT="sed \"s/{HEAD}/\$(git rev-parse HEAD)/\" '$tmp/event.tpl' >'$tmp/event.json'; pwd >'$tmp/workdir'"
  }
  head_sha() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pull_request"]["head"]["sha"])' "$tmp/event.json"; }
  comments() { # comments PR: the bodies of the pull request's comments, as a JSON list
    curl -fsS -H 'Authorization: Bearer ghs-e2e-token' "$github/repos/acme/previews/issues/$1/comments" |
      python3 -c 'import json,sys; print(json.dumps([c["body"] for c in json.load(sys.stdin)]))'
  }
  one_comment_with() { # one_comment_with PR TEXT...: exactly one comment, containing every TEXT
    comments "$1" | python3 -c 'import json,sys
bodies = json.load(sys.stdin)
sys.exit(0 if len(bodies) == 1 and all(t in bodies[0] for t in sys.argv[1:]) else 1)' "${@:2}"
  }
  all_inactive() { # all_inactive ENVIRONMENT: it has deployments, each last marked inactive
    python3 - "$github" "$1" <<'PY'
import json, sys, urllib.request
api, env = sys.argv[1], sys.argv[2]
get = lambda path: json.load(urllib.request.urlopen(urllib.request.Request(
    api + path, headers={"Authorization": "Bearer ghs-e2e-token"})))
ds = get(f"/repos/acme/previews/deployments?environment={env}")
states = [get(f"/repos/acme/previews/deployments/{d['id']}/statuses")[0]["state"] for d in ds]
sys.exit(0 if states and all(s == "inactive" for s in states) else 1)
PY
  }
  fly_secrets() { curl -fsS -H 'Authorization: Bearer fly-e2e-token' "$fly/v1/apps/$1/secrets" |
    python3 -c 'import json,sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin)["secrets"])))'; }

  pr_event opened 7 acme/previews
  check "$ex: pull request #7 opened brings its preview up" succeeded $ex preview.yml pull_request "$tmp/event.json"
  sha1="$(head_sha)"
  check "$ex: ... the images of its head commit were built and pushed" \
    grep -q "^docker push registry.fly.io/web-staging:pr-7-$sha1" "$shim_log"
  check "$ex: ... the Fly app web-pr-7 was created in acme" \
    sim_has fly '^POST /v1/apps 201 .*"name": "web-pr-7", "org_slug": "acme"'
  check "$ex: ... marked as this repository's, and given DATABASE_URL" \
    test "$(fly_secrets web-pr-7)" = "DATABASE_URL STAGE_GATE_PREVIEW_OF"
  check "$ex: ... its machine was created with the commit's image" \
    sim_has fly "^POST /v1/apps/web-pr-7/machines 200 .*registry.fly.io/web-staging:pr-7-$sha1"
  check "$ex: ... Coolify deployed the api's preview of #7 with the commit's tag" \
    sim_has coolify "^POST /api/v1/deploy\?uuid=$api_uuid&pr=7&docker_tag=pr-7-$sha1 "
  check "$ex: ... one comment on #7 links both previews" \
    one_comment_with 7 "https://web-pr-7.fly.dev" "https://7.api.example.com" "\`${sha1:0:7}\`"

  export PREPARE="echo '// a second commit' >>src/web.js"
  pr_event synchronize 7 acme/previews
  check "$ex: a push to #7 updates its preview" succeeded $ex preview.yml pull_request "$tmp/event.json"
  sha2="$(head_sha)"
  check "$ex: ... of the new commit (${sha2:0:7}, was ${sha1:0:7})" test "$sha2" != "$sha1"
  check "$ex: ... the machine was updated to the new commit's image; no new app or machine" bash -c "
    sim_calls fly | grep -qE '^POST /v1/apps/web-pr-7/machines/[^ /]+ 200 .*pr-7-$sha2' &&
    sim_calls fly | grep -cE '^POST /v1/apps/web-pr-7/machines 200' | grep -qx 1 &&
    sim_calls fly | grep -cE '^POST /v1/apps 201' | grep -qx 1"
  check "$ex: ... the comment was edited in place (PATCH), not added" bash -c "
    sim_calls github | grep -qE '^PATCH /repos/acme/previews/issues/comments/[0-9]+ 200' &&
    sim_calls github | grep -cE '^POST /repos/acme/previews/issues/7/comments 201' | grep -qx 1"
  check "$ex: ... still one comment, naming the new commit" one_comment_with 7 "\`${sha2:0:7}\`"

  : >"$shim_log"
  pr_event closed 7 acme/previews
  check "$ex: #7 merged (closed) tears its preview down" succeeded $ex preview.yml pull_request "$tmp/event.json"
  unset PREPARE
  check "$ex: ... the Fly app web-pr-7 was deleted" sim_has fly '^DELETE /v1/apps/web-pr-7 202'
  check "$ex: ... Coolify's preview of #7 was deleted" \
    sim_has coolify "^DELETE /api/v1/applications/$api_uuid/previews/7 200"
  check "$ex: ... every deployment of preview/pr-7 is inactive" all_inactive preview/pr-7
  check "$ex: ... the one comment says it was torn down" one_comment_with 7 "torn down" "pull request #7 was merged"
  check "$ex: ... nothing was built for a close" test ! -s "$shim_log"
  unset ACT_GIT

  check "$ex: the nightly sweep runs" succeeded $ex preview.yml schedule
  check "$ex: ... it removed web-pr-3, the leaked preview of merged #3" sim_has fly '^DELETE /v1/apps/web-pr-3 202'
  check "$ex: ... and said why" grep -q 'pull request #3 is merged' "$log"
  check "$ex: ... it left the hand-made web-pr-5 alone: no write to it" \
    bash -c "! sim_calls fly | grep -E '^(POST|DELETE) /v1/apps/web-pr-5'"
  check "$ex: ... and said so" grep -q 'web-pr-5.*carries no stage-gate marker' "$log"
  check "$ex: ... web-pr-5 still runs its machine" bash -c \
    "curl -fsS -H 'Authorization: Bearer fly-e2e-token' '$fly/v1/apps/web-pr-5/machines' | grep -q 5e1d0c0ffee5"

  curl -fsS -X DELETE "$health/__sim/log" >/dev/null
  : >"$shim_log"
  pr_event opened 9 mallory/previews
  check "$ex: a fork's pull request #9: the job succeeds" succeeded $ex preview.yml pull_request "$tmp/event.json"
  check "$ex: ... result skipped, with a notice saying why" \
    bash -c "grep -q 'result=skipped' '$log' && grep -q 'pull request #9 comes from mallory/previews' '$log'"
  check "$ex: ... no Fly or Coolify call, nothing built" \
    bash -c "[ -z \"\$(sim_calls fly)\" ] && [ -z \"\$(sim_calls coolify)\" ] && [ ! -s '$shim_log' ]"
  unset ACT_GIT

  # A maintainer has read #9 and brings it up by hand, naming the commit read.
  export ACT_GIT="git rev-parse HEAD >'$tmp/head'; pwd >'$tmp/workdir'"
  ACT_INPUTS="pr=9" check "$ex: a dispatch with a pull request but no commit is refused" \
    eval '! run $ex preview.yml workflow_dispatch && grep -q "give the full SHA of the commit you read" "$log"'
  check "$ex: ... before anything was built or called" \
    bash -c "[ -z \"\$(sim_calls fly)\" ] && [ ! -s '$shim_log' ]"
  ACT_INPUTS="pr=9
sha={HEAD}" check "$ex: a maintainer's dispatch brings the fork's #9 up" succeeded $ex preview.yml workflow_dispatch
  check "$ex: ... web-pr-9 was created and runs the commit named" \
    sim_has fly "^POST /v1/apps/web-pr-9/machines 200 .*registry.fly.io/web-staging:pr-9-$(cat "$tmp/head")"
  check "$ex: ... recorded in preview/pr-9 with that commit, and commented on #9" bash -c "
    sim_calls github | grep -qE '^POST /repos/acme/previews/deployments 201 .*\"environment\": \"preview/pr-9\".*\"sha\": \"$(cat "$tmp/head")\"' &&
    sim_calls github | grep -qE '^POST /repos/acme/previews/issues/9/comments 201'"
  unset ACT_GIT ACT_LOCAL_REPOS
fi

# --- the README's Quick start ---------------------------------------------------------------
# Its four files, extracted from README.md as the docs test extracts them, run as a story: a
# push to main builds staging with flyctl (its stand-in, sim/flyctl, put on PATH by a stand-in
# of superfly/flyctl-actions/setup-flyctl), then a release tag promotes, in a job that has no
# flyctl at all. Production must run the digest staging ran.
if wanted quick-start; then
  ex=quick-start
  fixture="$tmp/quick-start"; mkdir -p "$fixture"
  python3 - "$root/README.md" "$fixture" <<'PY'
import pathlib, re, sys
readme, out = pathlib.Path(sys.argv[1]).read_text(), pathlib.Path(sys.argv[2])
section = readme[readme.index("## Quick start\n"):]
section = section[:section.index("\n## ", 3)]
for block in section.split("```")[1::2]:
    body = block.split("\n", 1)[1] if "\n" in block else ""
    m = re.match(r"# (\S+)", body)
    if not m:
        continue
    path = out / m.group(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    if m.group(1) == "fly.toml":
        (out / "fly.staging.toml").write_text(body.replace('app = "web"', 'app = "web-staging"'))
PY
  # setup-flyctl's stand-in: puts flyctl's stand-in on PATH.
  setup_ref="$(grep -oE 'superfly/flyctl-actions/setup-flyctl@[0-9a-f]{40}' "$fixture/.github/workflows/deploy.yml" | head -n1)"
  stub="$tmp/flyctl-actions"; mkdir -p "$stub/setup-flyctl/bin"
  cp "$root/sim/flyctl/flyctl" "$stub/setup-flyctl/bin/flyctl"
  printf 'name: setup-flyctl stand-in\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      run: echo "$GITHUB_ACTION_PATH/bin" >>"$GITHUB_PATH"\n' >"$stub/setup-flyctl/action.yml"
  export ACT_LOCAL_REPOS="${setup_ref/\/setup-flyctl/}=$stub"
  scenario="$here/quick-start.sim.yml" start_sim $ex
  # No shims here: the production job must not find any flyctl.
  sed -i -e "s#^PATH=$shims:#PATH=#" "$tmp/env"
  echo "FLYCTL_STANDIN_LOG=$tmp/flyctl-standin.log" >>"$tmp/env"
  : >"$tmp/flyctl-standin.log"
  rewrite="sed -i -e 's#https://web-staging.fly.dev/healthz#$health/health/staging#' \
    -e 's#https://web.example.com/healthz#$health/health/production#' \
    -e 's#soak: 10m#soak: 0s#' -e 's#soak: 2m#soak: 1s#' .github/stage-gate.yml"
  check "$ex: a push to main builds and deploys staging" succeeded $ex deploy.yml push
  check "$ex: ... with flyctl (its stand-in), once" \
    bash -c "grep -c '^flyctl deploy' '$tmp/flyctl-standin.log' | grep -qx 1"
  ACT_TAG=v1.0.0 check "$ex: the release tag promotes to production" succeeded $ex deploy.yml push
  check "$ex: production runs the digest staging ran" same_bytes web-staging web
  check "$ex: the production job ran no flyctl" \
    bash -c "grep -c '^flyctl' '$tmp/flyctl-standin.log' | grep -qx 1"
  check "$ex: the summary shows both digests side by side" grep -q '| `staging` ran | `production` runs |' "$log"
  unset fixture ACT_LOCAL_REPOS
fi

echo "examples e2e: $passed passed, $failed failed ($(( $(date +%s) - start ))s)"
[ "$failed" -eq 0 ]
