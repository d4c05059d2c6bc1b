#!/usr/bin/env bash
# Picks the stage-gate binary for this runner and prints `path=<binary>` (with --locate),
# or runs it with the given arguments.
#
# 1. A prebuilt binary vendored under dist/bin/ for the runner's OS and architecture,
#    verified against the committed dist/SHA256SUMS (release tags carry both; see
#    dist/README.md), or against dist/bin/SHA256SUMS.local written by scripts/build-dist.sh.
# 2. Otherwise: build from source with `cargo build --release --locked` into a cache
#    directory keyed by the source tree, so a second run on the same runner reuses it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

triple() {
  local os arch
  os="${RUNNER_OS:-$(uname -s)}"
  arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$arch" in
    X64|x86_64|amd64) arch=x86_64 ;;
    ARM64|aarch64|arm64) arch=aarch64 ;;
    *) echo "stage-gate: unsupported architecture $arch" >&2; return 1 ;;
  esac
  case "$os" in
    Linux|linux) echo "$arch-unknown-linux-gnu" ;;
    macOS|Darwin) echo "$arch-apple-darwin" ;;
    Windows|MINGW*|MSYS*) echo "$arch-pc-windows-msvc" ;;
    *) echo "stage-gate: unsupported OS $os" >&2; return 1 ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# A vendored binary is used only when a committed (or locally built) checksum vouches for it.
vendored() {
  local t bin name want got list
  t="$(triple)" || return 1
  name="stage-gate-$t"
  bin="$here/bin/$name"
  [ -f "$bin" ] || return 1
  got="$(sha256 "$bin")"
  for list in "$here/SHA256SUMS" "$here/bin/SHA256SUMS.local"; do
    [ -f "$list" ] || continue
    want="$(awk -v n="$name" '$2 == n || $2 == "bin/"n || $2 == "*"n {print $1}' "$list" | head -n1)"
    if [ -n "$want" ]; then
      if [ "$want" = "$got" ]; then
        chmod +x "$bin" 2>/dev/null || true
        echo "$bin"
        return 0
      fi
      echo "stage-gate: checksum mismatch for $name (expected $want, got $got); not using it" >&2
      return 1
    fi
  done
  echo "stage-gate: $name is not listed in dist/SHA256SUMS; not using it" >&2
  return 1
}

from_source() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "stage-gate: no prebuilt binary for $(triple) and no cargo to build one; install Rust (e.g. dtolnay/rust-toolchain) or use a release tag" >&2
    return 1
  fi
  local key cache
  key="$(cd "$root" && cat Cargo.lock Cargo.toml | sha256 /dev/stdin | cut -c1-16)"
  key="$key-$(find "$root/src" "$root/sim/src" -type f -name '*.rs' -print0 2>/dev/null | sort -z | xargs -0 cat | sha256 /dev/stdin | cut -c1-16)"
  cache="${STAGE_GATE_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/stage-gate}/$key"
  if [ ! -x "$cache/release/stage-gate" ]; then
    echo "stage-gate: building from source into $cache" >&2
    (cd "$root" && CARGO_TARGET_DIR="$cache" cargo build --release --locked --bin stage-gate >&2)
  fi
  echo "$cache/release/stage-gate"
}

bin="$(vendored || from_source)"

if [ "${1:-}" = "--locate" ]; then
  echo "path=$bin"
else
  exec "$bin" "$@"
fi
