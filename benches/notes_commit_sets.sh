#!/bin/sh
# Correctness beside speed: for every release of a local clone, the commits stage-gate puts in
# the release against those git-cliff's `--context` JSON puts there (git-cliff told to keep
# every commit: no conventional filtering, tags `^v[0-9]`).
#
# Releases are compared where both tools give the same previous tag and the range is linear
# (the previous tag is an ancestor of the tag). Where the previous tags differ, stage-gate's
# semver ordering chose another range on purpose (a patch of an older line follows its own line,
# a prerelease its own channel); those are counted apart, not compared.
#
# usage: benches/notes_commit_sets.sh <path-to-local-clone>
# needs: git-cliff (`pip install git-cliff`), python3; STAGE_GATE_BIN or a release build.
set -eu
CLONE=$(cd "${1:?usage: benches/notes_commit_sets.sh <path-to-local-clone>}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${STAGE_GATE_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin stage-gate)
  STAGE_GATE_BIN="$ROOT/target/release/stage-gate"
fi
command -v git-cliff >/dev/null || { echo "git-cliff not found: pip install git-cliff" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cat >"$OUT/cliff.toml" <<'TOML'
[changelog]
body = ""
[git]
conventional_commits = false
filter_unconventional = false
filter_commits = false
tag_pattern = "^v[0-9]"
TOML
cd "$CLONE"
export NO_COLOR=1
"$STAGE_GATE_BIN" --root "$CLONE" notes --changelog --format json >"$OUT/ours.json"
git-cliff --config "$OUT/cliff.toml" --context >"$OUT/theirs.json" 2>/dev/null
python3 - "$CLONE" "$OUT/ours.json" "$OUT/theirs.json" <<'PY'
import json, subprocess, sys
clone, ours_path, theirs_path = sys.argv[1:4]
ours = json.load(open(ours_path))
ours = ours.get("releases", ours.get("changelog", {}).get("releases", [])) if isinstance(ours, dict) else ours
theirs = json.load(open(theirs_path))
mine = {r["tag"]: r for r in ours if r.get("tag")}
cliff = {r["version"]: r for r in theirs if r.get("version")}
def ancestor(a, b):
    return subprocess.run(["git", "-C", clone, "merge-base", "--is-ancestor", a, b]).returncode == 0
compared = equal = other_range = nonlinear = 0
diffs = []
for tag, r in mine.items():
    c = cliff.get(tag)
    if c is None:
        continue
    prev_ours = r.get("previous_tag")
    prev_theirs = (c.get("previous") or {}).get("version")
    if prev_ours != prev_theirs:
        other_range += 1
        continue
    if prev_ours and not ancestor(prev_ours, tag):
        nonlinear += 1
        continue
    compared += 1
    a = set(r.get("commit_ids", []))
    b = {x["id"] for x in c.get("commits", [])}
    if a == b:
        equal += 1
    else:
        diffs.append((tag, len(a - b), len(b - a)))
print(f"releases: stage-gate {len(mine)}, git-cliff {len(cliff)}, in both {len(set(mine) & set(cliff))}")
print(f"same previous tag and linear: {compared} compared, {equal} equal commit sets, {len(diffs)} differ")
print(f"not compared: {other_range} with another previous tag (semver order vs git-cliff's), {nonlinear} non-linear ranges")
for tag, only_ours, only_theirs in diffs[:15]:
    print(f"  {tag}: {only_ours} only in stage-gate, {only_theirs} only in git-cliff")
print(f"bench-result: commit sets: {equal}/{compared} equal")
PY
