#!/usr/bin/env bash
# Checks the imports against the data flow of CONTRIBUTING.md: every `crate::<module>` a
# module names in its non-test code (everything before its first `#[cfg(test)]`), against
# the rules below. Prints the module graph, then each forbidden import with its line; exits
# 1 when there is one. `report/results/` (typed results, rendered) counts as `results`:
# the rest of `report/` is a base every stage writes its findings and tables with.
set -euo pipefail
cd "$(dirname "$0")/.."

# module of a file: src/<module>/... or src/<module>.rs; report/results is its own.
module_of() {
  case "$1" in
    src/report/results/*) echo results ;;
    *) echo "$1" | sed -E 's#^src/##; s#\.rs$##; s#/.*##' ;;
  esac
}

edges=$(for f in $(find src -name '*.rs' | sort); do
  m=$(module_of "$f")
  awk '/^[[:space:]]*#\[cfg\(test\)\]/{exit} {print}' "$f" |
    { grep -noE 'crate::[a-z_]+(::results)?' || true; } |
    sed -E 's#crate::report::results#crate::results#; s#^([0-9]+):crate::([a-z_]+).*#\1 \2#' |
    awk -v m="$m" -v f="$f" '$2 != m {print m, $2, f ":" $1}'
done | sort -u -k1,1 -k2,2 -k3,3)

echo "== module -> modules it imports (non-test code)"
echo "$edges" | awk '{print $1, $2}' | sort -u |
  awk '{a[$1] = a[$1] " " $2} END {for (k in a) print k ":" a[k]}' | sort

# Forbidden: "<importer modules> | <imported modules> | why".
rules=(
  "ALL_BUT_ENTRY | commands run cli results | only main, run and commands (the conductors) reach the command line, the conductors and the rendered results"
  "secret http jsonpath artifact cancel conventional exit inputs git | config plan deploy providers health release notify tag check github report results context promote appconfig | base modules import no stage"
  "secret | http | http redacts through secret, never the reverse"
  "check | providers deploy health release notify github tag plan promote | check reads files only: no deploy machinery"
  "config | plan deploy health release notify check tag github promote | config is validated before anything acts on it (providers own their config types)"
  "plan | deploy health release notify check tag github promote | the plan is pure: computed before any stage runs"
  "providers | deploy health release notify check tag plan promote github | a provider ships; deploy/ conducts it"
  "health release notify tag github appconfig | deploy check plan promote | the stages deploy/ conducts do not reach back into it"
  "report | check deploy health release notify plan tag providers config github promote | report's base (diagnostics, tables, console) is below every stage; results/ renders them"
)
ENTRY="main run commands cli"
all_modules=$(echo "$edges" | awk '{print $1}' | sort -u)

violations=0
echo
echo "== forbidden imports"
for rule in "${rules[@]}"; do
  IFS='|' read -r importers imported why <<<"$rule"
  if [ "$(echo $importers)" = ALL_BUT_ENTRY ]; then
    importers=$(for m in $all_modules; do case " $ENTRY " in *" $m "*) ;; *) echo "$m" ;; esac; done)
  fi
  for from in $importers; do
    for to in $imported; do
      hits=$(echo "$edges" | awk -v f="$from" -v t="$to" '$1 == f && $2 == t {print $3}')
      [ -z "$hits" ] && continue
      # `cli` imports report::Format, which is the format enum: allowed for cli only.
      for at in $hits; do
        echo "$from -> $to at $at ($(echo $why))"
        violations=$((violations + 1))
      done
    done
  done
done
echo "${violations} forbidden import(s)"
[ "$violations" -eq 0 ]
