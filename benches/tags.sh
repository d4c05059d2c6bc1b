#!/bin/sh
# Time classifying and ordering 2,000 real tags (release build). No network.
set -eu
cd "$(dirname "$0")/.."
cargo bench --bench tag_classify
