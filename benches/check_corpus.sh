#!/usr/bin/env bash
# Times `stage-gate check` over the whole corpus (tests/fixtures/corpus: fly/, fly-history/,
# fly-flyctl-testdata/ and workflows/) with a release build: every fly.toml parsed and
# checked, every workflow analysed, the report rendered as JSON. External linters are off
# so the number is stage-gate's own. Uses hyperfine when installed, else a timed loop.
#
#   benches/check_corpus.sh            20 runs
#   benches/check_corpus.sh 50         50 runs
#   CORPUS=/path/to/corpus benches/check_corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
corpus="${CORPUS:-tests/fixtures/corpus}"
if [ ! -d "$corpus" ]; then
  echo "bench-result: skipped: no corpus at $corpus (set CORPUS)"
  exit 0
fi
cargo build --release --quiet --bin stage-gate
bin="$PWD/target/release/stage-gate"
cd "$corpus"
shopt -s nullglob
files=(fly/*.toml fly-history/*.toml* fly-flyctl-testdata/*.toml workflows/*.yml workflows/*.yaml)
echo "files: ${#files[@]}"
export STAGE_GATE_EXTERNAL_LINTERS=off NO_COLOR=1
# The corpus holds files with errors on purpose: exit 2 is the expected result.
"$bin" --root . --format json check "${files[@]}" >/tmp/stage-gate-check-corpus.json || [ $? -eq 2 ]
summary="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["errors"], "errors,", d["warnings"], "warnings")' /tmp/stage-gate-check-corpus.json 2>/dev/null || echo "see /tmp/stage-gate-check-corpus.json")"
echo "findings: $summary"

if command -v hyperfine >/dev/null; then
  json="$(mktemp)"
  hyperfine --warmup 3 --runs "$runs" -i --export-json "$json" --command-name "check corpus" \
    "$bin --root . --format json check ${files[*]}" >&2
  python3 - "$json" "${#files[@]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"bench-result: check {sys.argv[2]} corpus files: mean {r['mean']*1000:.1f} ms ± {r['stddev']*1000:.1f} ms (min {r['min']*1000:.1f}, max {r['max']*1000:.1f}, {len(r['times'])} runs, hyperfine)")
PY
else
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do
    "$bin" --root . --format json check "${files[@]}" >/dev/null || true
  done
  end=$(date +%s%N)
  echo "bench-result: check ${#files[@]} corpus files: mean $(( (end - start) / runs / 1000000 )) ms over $runs runs (timed loop)"
fi

# Beside the tool a user would otherwise run on workflows: zizmor (when on PATH; `pip install
# zizmor`), offline, over the same workflows. zizmor refuses a whole run when one file does
# not fit its model (a `branches: main` string where it wants a list), so such files are
# left out of both timings here.
if command -v zizmor >/dev/null; then
  wf_dir="$(mktemp -d)"
  trap 'rm -rf "$wf_dir"' EXIT
  mkdir -p "$wf_dir/.github/workflows"
  for f in workflows/*.yml workflows/*.yaml; do
    # Exit 1 is zizmor's "could not read it"; 0 and 10-14 are audits done.
    rc=0
    zizmor --offline --no-progress --format plain "$f" >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 1 ]; then
      cp "$f" "$wf_dir/.github/workflows/"
    fi
  done
  kept=("$wf_dir"/.github/workflows/*)
  git -C "$wf_dir" init -q
  time_ms() { # median wall ms of 5 runs of "$@"
    python3 - "$@" <<'PY'
import statistics, subprocess, sys, time
t = []
for _ in range(5):
    s = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.append(time.perf_counter() - s)
print(f"{statistics.median(t) * 1000:.0f}")
PY
  }
  ours=$(time_ms "$bin" --root "$wf_dir" --format json check "${kept[@]}")
  theirs=$(time_ms zizmor --offline --no-progress --format json "${kept[@]}")
  echo "bench-result: workflow checks on ${#kept[@]} workflows: stage-gate ${ours} ms, zizmor ${theirs} ms (median of 5)"
fi
