#!/usr/bin/env bash
# A clean release build's wall time and the binary's size, for the work tree and (side by side,
# in the same run) for an older revision: each is built from scratch in its own empty target
# directory, one after the other, with the same cargo and the same 2 cores.
# Usage: bench/buildtime.sh [REF]   (REF: a git revision to compare with, e.g. the commit before
#        the lighter build; without it only the work tree is built). Needs the crates in cargo's
#        registry cache (a previous build), no network beyond the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'git worktree remove --force "$work/ref" 2>/dev/null || true; rm -rf "$work"' EXIT

build() { # NAME DIR
    local start end bin
    start=$(date +%s.%N)
    (cd "$2" && CARGO_TARGET_DIR="$work/target-$1" cargo build --locked --release --quiet)
    end=$(date +%s.%N)
    bin="$work/target-$1/release/cdnpub"
    printf '| %s | %.1f | %s | %s |\n' "$1" "$(echo "$end - $start" | bc)" "$(stat -c %s "$bin")" \
        "$(cd "$2" && cargo tree --locked -e normal --prefix none 2>/dev/null | sort -u | wc -l)"
}

echo "| tree | clean release build (s) | binary (bytes) | crates |"
echo "|---|---|---|---|"
if [ $# -gt 0 ]; then
    git worktree add --quiet --detach "$work/ref" "$1"
    build "$1" "$work/ref"
fi
build "work tree" .
