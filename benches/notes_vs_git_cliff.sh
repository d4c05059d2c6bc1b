#!/bin/sh
# Time stage-gate against git-cliff, in the same run, on a local clone (nothing is fetched):
#   1. the full changelog over every tag;
#   2. one release's notes (TAG, default the highest stable `vX.Y.Z`; the range starts at the
#      previous tag stage-gate computes, and git-cliff is given the same range).
# Prints wall-clock and CPU medians of RUNS runs each, and the git-cliff / stage-gate ratios.
#
# usage: benches/notes_vs_git_cliff.sh <path-to-local-clone> [TAG] [RUNS]
#        (or NOTES_REPO=<path> for scripts/bench.sh)
# bench-needs: NOTES_REPO
# needs: git-cliff (`pip install git-cliff`), python3; builds stage-gate --release unless
# STAGE_GATE_BIN names a binary.
set -eu
CLONE_ARG=${1:-${NOTES_REPO:-}}
[ -n "$CLONE_ARG" ] || { sed -n '2,13p' "$0" >&2; exit 2; }
CLONE=$(cd "$CLONE_ARG" && pwd)
TAG=${2:-}
RUNS=${3:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${STAGE_GATE_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin stage-gate)
  STAGE_GATE_BIN="$ROOT/target/release/stage-gate"
fi
command -v git-cliff >/dev/null || { echo "git-cliff not found: pip install git-cliff" >&2; exit 2; }
if [ -z "$TAG" ]; then
  TAG=$(git -C "$CLONE" tag --list 'v*' --sort=-v:refname | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | head -1)
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# Both tools run inside the clone (git-cliff needs its work tree as the current directory
# when given a range); neither is given a config, so both use their defaults.
cd "$CLONE"
if [ -e cliff.toml ] || [ -e .cliff.toml ] || [ -e .github/stage-gate.yml ]; then
  echo "note: the clone has its own config; both tools will use it" >&2
fi
export NO_COLOR=1 GIT_TERMINAL_PROMPT=0
unset GITHUB_TOKEN GH_TOKEN GITHUB_ACTIONS GITHUB_REPOSITORY 2>/dev/null || true
PREV=$("$STAGE_GATE_BIN" --root "$CLONE" notes "$TAG" --format json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["previous_tag"] or "")')
[ -n "$PREV" ] || { echo "no previous tag for $TAG" >&2; exit 2; }

python3 - "$STAGE_GATE_BIN" "$CLONE" "$TAG" "$PREV" "$RUNS" "$OUT" <<'PY'
import os, resource, statistics, subprocess, sys, time
sg, clone, tag, prev, runs, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
commits = subprocess.run(["git", "-C", clone, "rev-list", "--count", "HEAD"], capture_output=True, text=True).stdout.strip()
tags = len(subprocess.run(["git", "-C", clone, "tag"], capture_output=True, text=True).stdout.split())
in_range = subprocess.run(["git", "-C", clone, "rev-list", "--count", f"{prev}..{tag}"], capture_output=True, text=True).stdout.strip()
print(f"repository: {clone} ({commits} commits on HEAD, {tags} tags)")
print(f"release: {tag} (previous {prev}, {in_range} commits); {runs} runs each, medians")

def measure(cmd):
    """Medians of wall time, CPU time and peak memory (max RSS, MB) of `cmd` over RUNS runs."""
    walls, cpus, rss = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=clone, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t)
        cpus.append(ru.ru_utime + ru.ru_stime)
        rss.append(ru.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{cmd[0]} failed ({status}): {err.decode()[-500:]}")
    return statistics.median(walls), statistics.median(cpus), statistics.median(rss)

cases = [
    ("full changelog",
     [sg, "notes", "--changelog", "--output", os.path.join(out, "sg-CHANGELOG.md")],
     ["git-cliff", "-o", os.path.join(out, "cliff-CHANGELOG.md")]),
    (f"one release ({prev}..{tag})",
     [sg, "notes", tag, "--output", os.path.join(out, "sg-notes.md")],
     ["git-cliff", f"{prev}..{tag}", "-o", os.path.join(out, "cliff-notes.md")]),
]
results = []
print(f"{'case':<34} {'stage-gate wall/cpu/peak':>28} {'git-cliff wall/cpu/peak':>28} {'ratio wall':>11} {'ratio cpu':>10}")
for name, sg_cmd, cliff_cmd in cases:
    sw, sc, sm = measure(sg_cmd)
    cw, cc, cm = measure(cliff_cmd)
    print(f"{name:<34} {sw*1e3:>8.0f}ms/{sc*1e3:>5.0f}ms/{sm:>5.0f}MB {cw*1e3:>8.0f}ms/{cc*1e3:>5.0f}ms/{cm:>5.0f}MB "
          f"{cw/sw:>10.1f}x {cc/max(sc,1e-9):>9.1f}x")
    results.append(f"{name.split(' (')[0]}: git-cliff/stage-gate {cw/sw:.1f}x wall, {cc/max(sc,1e-9):.1f}x cpu; "
                   f"stage-gate {sw*1e3:.0f} ms, peak {sm:.0f} MB")
# The floor: git printing every commit once (what reading the history costs git itself).
gw, gc, gm = measure(["git", "log", "--format=%H%x00%s%x00%b%x00%D", "HEAD"])
full_sw = measure(cases[0][1])[0]
print(f"{'git log (all commits, once)':<34} {gw*1e3:>8.0f}ms/{gc*1e3:>5.0f}ms/{gm:>5.0f}MB"
      f"   full changelog / git log: {full_sw/gw:.2f}x")
results.append(f"full changelog / git log: {full_sw/gw:.2f}x (target <= 1.0x)")
def count(path, prefix):
    with open(path) as f:
        return sum(1 for l in f if l.startswith(prefix))
print(f"output: stage-gate changelog {count(os.path.join(out, 'sg-CHANGELOG.md'), '## ')} releases, "
      f"git-cliff changelog {count(os.path.join(out, 'cliff-CHANGELOG.md'), '## ')} releases; "
      f"one release: stage-gate {count(os.path.join(out, 'sg-notes.md'), '- ')} lines, "
      f"git-cliff {count(os.path.join(out, 'cliff-notes.md'), '- ')} lines")
print("ratio = git-cliff time / stage-gate time (above 1: stage-gate is faster)")
for r in results:
    print(f"bench-result: {r}")
PY
