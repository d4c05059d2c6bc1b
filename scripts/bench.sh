#!/usr/bin/env bash
# Runs every benchmark of the project (benches/*.sh) and prints one table: name, result.
#
#   scripts/bench.sh              every bench
#   scripts/bench.sh health tags  only the benches whose name contains one of these words
#
# Conventions for a bench script (benches/<name>.sh):
# - It prints its numbers on stdout. Lines starting with `bench-result:` are its result; a
#   bench that prints none is summed up by its last non-empty line.
# - A bench that needs something from outside declares it in a header comment:
#     # bench-needs: NAME    (an env var, e.g. a path to a clone: `# bench-needs: NOTES_REPO`)
#   When NAME is unset or empty the bench is skipped, and the table says which variable to set.
# - Arguments for a bench come from BENCH_ARGS_<NAME> (name upper-cased, `-` → `_`), e.g.
#   BENCH_ARGS_HEALTH_GATE="10".
# Every bench runs with a time limit (BENCH_TIMEOUT seconds, default 900); full logs are kept
# in $BENCH_LOGS (default: a temporary directory, printed at the end).
set -uo pipefail
cd "$(dirname "$0")/.."

logs="${BENCH_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/stage-gate-bench.XXXXXX")}"
mkdir -p "$logs"
limit="${BENCH_TIMEOUT:-900}"

wanted() {
  local name="$1" word
  [ "$#" -eq 1 ] && return 0
  shift
  for word in "$@"; do
    case "$name" in *"$word"*) return 0 ;; esac
  done
  return 1
}

# The one-line result of a finished bench: its `bench-result:` lines, else its last line.
summarise() {
  local out="$1" tagged
  tagged="$(sed -n 's/^bench-result:[[:space:]]*//p' "$out" | paste -sd ';' - | sed 's/;/; /g')"
  if [ -n "$tagged" ]; then echo "$tagged"; else grep -v '^[[:space:]]*$' "$out" | tail -n 1; fi
}

names=(); results=(); times=()
shopt -s nullglob
benches=(benches/*.sh)
if [ "${#benches[@]}" -eq 0 ]; then
  echo "no benchmarks under benches/ (add benches/<name>.sh)" >&2
  exit 0
fi

failed=0
for bench in "${benches[@]}"; do
  name="$(basename "$bench" .sh)"
  wanted "$name" "$@" || continue
  out="$logs/$name.log"
  needs="$(sed -n 's/^#[[:space:]]*bench-needs:[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$bench" | head -n 1)"
  if [ -n "$needs" ] && [ -z "${!needs:-}" ]; then
    names+=("$name"); times+=("-"); results+=("skipped: set $needs (see the header of $bench)")
    continue
  fi
  args_var="BENCH_ARGS_$(echo "$name" | tr '[:lower:]-' '[:upper:]_')"
  read -r -a args <<<"${!args_var:-}"
  echo "== $name" >&2
  start=$(date +%s)
  timeout --kill-after=10 "$limit" bash "$bench" "${args[@]}" >"$out" 2>"$out.stderr"
  status=$?
  secs=$(( $(date +%s) - start ))
  names+=("$name"); times+=("${secs}s")
  if [ "$status" -eq 0 ]; then
    results+=("$(summarise "$out")")
  elif [ "$status" -eq 124 ]; then
    failed=$((failed + 1)); results+=("FAILED: over the ${limit}s limit (log: $out)")
  else
    failed=$((failed + 1))
    last="$(grep -v '^[[:space:]]*$' "$out.stderr" | tail -n 1)"
    results+=("FAILED (exit $status): ${last:-see $out}")
  fi
done

printf '\n| bench | time | result |\n|---|---|---|\n'
for i in "${!names[@]}"; do
  printf '| %s | %s | %s |\n' "${names[$i]}" "${times[$i]}" "${results[$i]//|/\\|}"
done
printf '\nlogs: %s\n' "$logs"
[ "$failed" -eq 0 ]
