#!/usr/bin/env bash
# Finds the stage-gate binary for this runner, in this order (dist/README.md explains why):
#
# 1. a binary vendored under dist/bin/, verified against the checksum list committed in the
#    same tree (dist/SHA256SUMS), or the one scripts/build-dist.sh wrote (SHA256SUMS.local);
# 2. the binary of the action's own release (GITHUB_ACTION_REF), downloaded from its GitHub
#    Release and verified against dist/SHA256SUMS — a mismatch is an error, never a fallback;
# 3. a source build (`cargo build --release --locked`) into a folder keyed on the source hash,
#    which the action caches across jobs with actions/cache.
#
#   launcher.sh --locate     for $GITHUB_OUTPUT: `path=<binary>`, or `build=true`,
#                            `cache-key=…` and `cache-dir=…` when only a source build will do
#   launcher.sh --build DIR  build into DIR (unless a cached build is there); `path=<binary>`
#   launcher.sh ARGS…        run stage-gate (any of the three) with ARGS
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

arch() {
  case "${RUNNER_ARCH:-$(uname -m)}" in
    X64|x86_64|amd64) echo x86_64 ;;
    ARM64|aarch64|arm64) echo aarch64 ;;
    *) echo "stage-gate: unsupported architecture ${RUNNER_ARCH:-$(uname -m)}" >&2; return 1 ;;
  esac
}

# Binary names for this runner, the released one first: static musl on Linux (runs in any
# container), then the host's gnu build that scripts/build-dist.sh makes.
names() {
  local a
  a="$(arch)" || return 1
  case "${RUNNER_OS:-$(uname -s)}" in
    Linux|linux) echo "stage-gate-$a-unknown-linux-musl stage-gate-$a-unknown-linux-gnu" ;;
    macOS|Darwin) echo "stage-gate-$a-apple-darwin" ;;
    Windows|MINGW*|MSYS*|CYGWIN*) echo "stage-gate-$a-pc-windows-msvc.exe" ;;
    *) echo "stage-gate: unsupported OS ${RUNNER_OS:-$(uname -s)}" >&2; return 1 ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# The checksum `list` gives `name`, or nothing.
listed() {
  [ -f "$1" ] || return 0
  awk -v n="$2" '$2 == n || $2 == "bin/"n || $2 == "*"n {print $1}' "$1" | head -n1
}

vendored() {
  local name bin want got list
  for name in $(names); do
    bin="$here/bin/$name"
    [ -f "$bin" ] || continue
    got="$(sha256 "$bin")"
    for list in "$here/SHA256SUMS" "$here/bin/SHA256SUMS.local"; do
      want="$(listed "$list" "$name")"
      [ -n "$want" ] || continue
      if [ "$want" = "$got" ]; then
        chmod +x "$bin" 2>/dev/null || true
        echo "$bin"
        return 0
      fi
      # A binary the tree's own list does not vouch for was changed after it was built: never
      # run it, and never quietly build something else in its place.
      echo "::error title=stage-gate::dist/bin/$name does not match $(basename "$list") (expected $want, got $got); refusing to run it" >&2
      exit 3
    done
    echo "stage-gate: dist/bin/$name is not listed in dist/SHA256SUMS; not using it" >&2
  done
  return 1
}

# The release binary of GITHUB_ACTION_REF. Returns 1 when there is none to fetch (no ref, or
# the committed list names no binary for this runner); exits 3 on a checksum mismatch.
released() {
  local ref="${GITHUB_ACTION_REF:-}" repo="${GITHUB_ACTION_REPOSITORY:-}" name want dir bin url
  [ -n "$ref" ] && [ -n "$repo" ] || return 1
  for name in $(names); do
    want="$(listed "$here/SHA256SUMS" "$name")"
    [ -n "$want" ] || continue
    dir="${STAGE_GATE_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/stage-gate}/release-$want"
    bin="$dir/$name"
    if [ ! -f "$bin" ] || [ "$(sha256 "$bin")" != "$want" ]; then
      url="${STAGE_GATE_RELEASES_URL:-https://github.com/$repo/releases/download}/$ref/$name"
      mkdir -p "$dir"
      if ! curl -fsSL --retry 3 --retry-delay 1 --max-time 60 -o "$bin.part" "$url"; then
        rm -f "$bin.part"
        echo "::warning title=stage-gate::could not download $url; building from source instead" >&2
        return 1
      fi
      local got
      got="$(sha256 "$bin.part")"
      if [ "$got" != "$want" ]; then
        rm -f "$bin.part"
        echo "::error title=stage-gate::$url does not match dist/SHA256SUMS of $ref (expected $want, got $got); refusing to run it" >&2
        exit 3
      fi
      mv "$bin.part" "$bin"
    fi
    chmod +x "$bin" 2>/dev/null || true
    echo "$bin"
    return 0
  done
  return 1
}

source_key() {
  local a b
  a="$({ cat "$root/Cargo.lock" "$root/Cargo.toml" 2>/dev/null || true; } | sha256 /dev/stdin | cut -c1-16)"
  b="$({ find "$root/src" "$root/sim/src" -type f -name '*.rs' -print0 2>/dev/null || true; } | sort -z | xargs -0 cat 2>/dev/null | sha256 /dev/stdin | cut -c1-16)"
  echo "stage-gate-source-${RUNNER_OS:-$(uname -s)}-$(arch)-$a-$b"
}

build_into() {
  local dir="$1"
  if [ ! -x "$dir/release/stage-gate" ] && [ ! -x "$dir/release/stage-gate.exe" ]; then
    if ! command -v cargo >/dev/null 2>&1; then
      echo "stage-gate: no prebuilt binary for this runner and no cargo to build one; use a release tag of the action, or install Rust first (dtolnay/rust-toolchain)" >&2
      return 1
    fi
    echo "stage-gate: building from source into $dir" >&2
    (cd "$root" && CARGO_TARGET_DIR="$dir" cargo build --release --locked --bin stage-gate >&2)
  fi
  if [ -x "$dir/release/stage-gate.exe" ]; then echo "$dir/release/stage-gate.exe"; else echo "$dir/release/stage-gate"; fi
}

cache_dir() {
  echo "${STAGE_GATE_CACHE_DIR:-${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/stage-gate}/$(source_key)"
}

# A prebuilt binary: vendored, else released. Exit status 3 (a checksum mismatch) ends the
# launcher: a binary that is not what the tree says is never run, nor replaced by a build.
prebuilt() {
  local bin status=0
  bin="$(vendored)" || status=$?
  if [ "$status" -eq 0 ]; then echo "$bin"; return 0; fi
  if [ "$status" -eq 3 ]; then exit 3; fi
  status=0
  bin="$(released)" || status=$?
  if [ "$status" -eq 0 ]; then echo "$bin"; return 0; fi
  if [ "$status" -eq 3 ]; then exit 3; fi
  return 1
}

case "${1:-}" in
  --locate)
    if bin="$(prebuilt)"; then
      echo "path=$bin"
    else
      status=$?
      [ "$status" -eq 3 ] && exit 3
      echo "build=true"
      echo "cache-key=$(source_key)"
      echo "cache-dir=$(cache_dir)"
    fi
    ;;
  --build)
    echo "path=$(build_into "${2:?--build needs a folder}")"
    ;;
  *)
    status=0
    bin="$(prebuilt)" || status=$?
    [ "$status" -eq 3 ] && exit 3
    [ "$status" -eq 0 ] || bin="$(build_into "$(cache_dir)")"
    exec "$bin" "$@"
    ;;
esac
