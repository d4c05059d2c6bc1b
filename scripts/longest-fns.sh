#!/usr/bin/env bash
# The longest functions under the given folders (default: src/deploy src/commands), with
# their line counts (signature to closing brace), longest first. Reads rustfmt-formatted
# code: a function ends at the first `}` alone on a line at its own indentation.
# Usage: scripts/longest-fns.sh [-n COUNT] [DIR...]
set -euo pipefail
n=10
if [ "${1:-}" = "-n" ]; then n=$2; shift 2; fi
dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=(src/deploy src/commands)
find "${dirs[@]}" -name '*.rs' -print0 | sort -z | xargs -0 awk '
  FNR == 1 { depth = 0; open_fn = "" }
  {
    if (open_fn == "" && match($0, /^[ ]*((pub(\([a-z:]+\))? )?(async )?(const )?(unsafe )?fn [A-Za-z0-9_]+)/)) {
      indent = match($0, /[^ ]/) - 1
      name = $0; sub(/^.*fn /, "", name); sub(/[(<].*/, "", name)
      if ($0 ~ /;[ ]*$/) next             # a declaration without a body
      open_fn = name; start = FNR; close_re = "^" sprintf("%" indent "s", "") "}$"
      if (indent == 0) close_re = "^}$"
      if ($0 ~ /\{.*\}[ ]*$/ && $0 !~ /\{[ ]*$/) { print 1 "\t" FILENAME ":" start "\t" open_fn; open_fn = "" }
      next
    }
    if (open_fn != "" && $0 ~ close_re) {
      print (FNR - start + 1) "\t" FILENAME ":" start "\t" open_fn
      open_fn = ""
    }
  }
' | sort -t$'\t' -k1,1nr | head -n "$n" || true  # head closes the pipe early
