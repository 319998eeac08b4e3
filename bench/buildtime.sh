#!/usr/bin/env bash
# What each profile costs, from a clean clone, one build after the other on the same cores:
#   1. the README's first command on a fresh clone (`cargo run -- publish …`: the dev profile,
#      which `cargo test` shares), wall time including the run; target <= 180 s on 2 cores;
#   2. `cargo build --profile dist` (the release archives): wall time and binary size;
#   3. with REF, the older revision's `cargo build --release` side by side (what the archives were
#      built with before the split): wall time and size, then the speed of both binaries on the
#      same job (`build --no-cache` of the bundled example, maps removed, copied 40 times; 12 runs
#      each, interleaved).
# Usage: bench/buildtime.sh [REF]   (e.g. bench/buildtime.sh b04a18d). Needs the crates in cargo's
#        registry cache (a previous build); no network beyond the registry.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$repo"

seconds() { # COMMAND...: run it, print its wall time in seconds
    local start end
    start=$(date +%s.%N)
    "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

git clone --quiet "$repo" "$work/clone"
if [ -n "$(git status --porcelain)" ]; then
    # Measure the work tree as it is: its changes on top of the clone.
    git diff HEAD | (cd "$work/clone" && git apply --allow-empty)
    git ls-files --others --exclude-standard -z | xargs -0 -r -I{} cp --parents {} "$work/clone/"
fi

echo "| build, from a clean clone | wall (s) | binary (bytes) |"
echo "|---|---:|---:|"
t=$(cd "$work/clone" && CARGO_TARGET_DIR="$work/t-dev" seconds cargo run --locked --quiet -- publish fixtures/vite-vue/dist --to ./public)
printf '| README first command: `cargo run -- publish fixtures/vite-vue/dist --to ./public` (dev) | %.0f | %s |\n' "$t" "$(stat -c %s "$work/t-dev/debug/cdnpub")"
t=$(cd "$work/clone" && CARGO_TARGET_DIR="$work/t-dist" seconds cargo build --locked --profile dist)
dist="$work/t-dist/dist/cdnpub"
printf '| `cargo build --profile dist` (release archives) | %.0f | %s |\n' "$t" "$(stat -c %s "$dist")"
[ $# -gt 0 ] || exit 0

git -C "$repo" worktree add --quiet --detach "$work/ref" "$1"
trap 'git -C "$repo" worktree remove --force "$work/ref" 2>/dev/null || true; rm -rf "$work"' EXIT
t=$(cd "$work/ref" && CARGO_TARGET_DIR="$work/t-ref" seconds cargo build --locked --release)
old="$work/t-ref/release/cdnpub"
printf '| %s `cargo build --release` (the archives before the split) | %.0f | %s |\n' "$1" "$t" "$(stat -c %s "$old")"

# Speed: the same build with each binary (no cache, so every file is compressed), on a tree
# without source maps (cheap map siblings are newer than REF: this compares the profiles and
# the code, not that setting).
mkdir -p "$work/site"
for i in $(seq 40); do
    cp -r fixtures/vite-vue/dist "$work/site/app$i"
    find "$work/site/app$i" -name '*.map' -delete
    find "$work/site/app$i" -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +
done
echo
# Interleaved (old, new, old, new…): hyperfine's one-after-the-other runs moved by 10-25% with
# their order on this machine, more than the difference measured.
for i in $(seq 12); do
    for which in old dist; do
        bin=$old
        [ "$which" = old ] || bin=$dist
        rm -rf "$work/out"
        start=$(date +%s.%N)
        "$bin" build -q --no-cache "$work/site" --out "$work/out"
        echo "$which $(echo "$(date +%s.%N) - $start" | bc)"
    done
done | awk -v ref="$1" '{ s[$1] += $2; n[$1]++ }
    END { printf "| build of 40 example apps, no maps, no cache | %s release: %.3f s | dist: %.3f s | %.2fx |\n", ref, s["old"]/n["old"], s["dist"]/n["dist"], (s["dist"]/n["dist"]) / (s["old"]/n["old"]) }'
