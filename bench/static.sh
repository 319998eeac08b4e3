#!/usr/bin/env bash
# The linux x86_64 static binary, built with the `dist` profile the release archives use (fat
# LTO, one codegen unit; Cargo.toml) and shown to run alone. The release workflow builds
# x86_64-unknown-linux-musl; this machine has no musl target (rustup cannot download one here),
# so this builds x86_64-unknown-linux-gnu with glibc's crt-static, the other static form the
# issue accepts. Then: ldd must call it static, and under `env -i` (no PATH, no CARGO_HOME, no
# RUSTUP_HOME, copied out of the source tree) `--version` must print Cargo.toml's version and
# `build` must build the bundled example. Prints the build's wall time and the binary's size.
# Usage: bench/static.sh   (CARGO_TARGET_DIR is honoured; the build goes under <dir>/static)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${CARGO_TARGET_DIR:-target}/static"
start=$(date +%s)
RUSTFLAGS="-C target-feature=+crt-static" cargo build --locked --profile dist \
    --target x86_64-unknown-linux-gnu --target-dir "$dir" 2>&1 | grep -E "^(warning: unused|error)" || true
bin="$dir/x86_64-unknown-linux-gnu/dist/cdnpub"
[ -x "$bin" ] || { echo "static: no binary at $bin" >&2; exit 1; }
echo "static: built in $(( $(date +%s) - start )) s, $(stat -c %s "$bin") bytes"
links=$(ldd "$bin" 2>&1 || true)
case "$links" in
    *"not a dynamic executable"*|*"statically linked"*) echo "static: ldd: $links" ;;
    *) echo "static: $bin links shared libraries:" >&2; echo "$links" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/cdnpub"
cp -r fixtures/vite-vue/dist "$work/dist"
want="cdnpub $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
got=$(cd "$work" && env -i ./cdnpub --version)
[ "$got" = "$want" ] || { echo "static: --version printed '$got', not '$want'" >&2; exit 1; }
echo "static: env -i ./cdnpub --version: $got"
(cd "$work" && env -i ./cdnpub build dist --out out >/dev/null)
[ -f "$work/out/.cdnpub/manifest.json" ] || { echo "static: build wrote no manifest" >&2; exit 1; }
echo "static: env -i ./cdnpub build dist --out out: $(find "$work/out" -type f | wc -l) files"
