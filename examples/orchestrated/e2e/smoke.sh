#!/usr/bin/env bash
# The E2E gate between staging and production (stand-in for the real browser suite):
# the deployed staging answers, and reports the commit under test.
set -euo pipefail
url="$1"
body="$(curl -fsS --retry 5 --retry-all-errors --max-time 10 "$url")"
echo "staging answered: $body"
