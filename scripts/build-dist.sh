#!/usr/bin/env bash
# Builds the host binary into dist/bin/ and records its checksum in dist/bin/SHA256SUMS.local,
# so the action's launcher uses it instead of building from source.
#   scripts/build-dist.sh            release build
#   scripts/build-dist.sh --debug    debug build (fast; what the end-to-end tests use)
set -euo pipefail
cd "$(dirname "$0")/.."
#   scripts/build-dist.sh --debug --no-build
#                                    the debug binary `cargo test --workspace` just built (no
#                                    second build: a plain `cargo build` resolves other features)
#   scripts/build-dist.sh --debug --static
#                                    a statically linked debug binary (what a release ships is
#                                    static too, musl): the end-to-end tests run this one
profile=release
build=1
static=0
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --no-build) build=0 ;;
    --static) static=1 ;;
  esac
done
target_dir="${CARGO_TARGET_DIR:-target}"
if [ "$static" = 1 ]; then
  # glibc linked in (crt-static), in a target folder of its own so the normal build's
  # artefacts stay valid; Linux only.
  host="$(rustc -vV | sed -n 's/^host: //p')"
  flags=(--locked --bin stage-gate --target "$host")
  [ "$profile" = release ] && flags+=(--release)
  RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir/static" cargo build "${flags[@]}"
  target_dir="$target_dir/static/$host"
elif [ "$build" = 1 ]; then
  if [ "$profile" = release ]; then cargo build --release --locked --bin stage-gate
  else cargo build --locked --bin stage-gate; fi
fi
arch="$(uname -m)"; case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
case "$(uname -s)" in Linux) t="$arch-unknown-linux-gnu" ;; Darwin) t="$arch-apple-darwin" ;; *) t="$arch-pc-windows-msvc" ;; esac
mkdir -p dist/bin
cp "$target_dir/$profile/stage-gate" "dist/bin/stage-gate-$t"
(cd dist/bin && sha256sum "stage-gate-$t" > SHA256SUMS.local)
echo "dist/bin/stage-gate-$t ($profile)"
