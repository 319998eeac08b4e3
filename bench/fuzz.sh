#!/usr/bin/env bash
# bench/fuzz.sh [SECONDS]: run the libFuzzer targets in fuzz/ (cargo fuzz) for a bounded time
# each and print the executions. Not part of CI. Any crash is saved by libFuzzer under
# fuzz/artifacts/<target>/ and must become a test (tests/hostile.rs or a unit test).
#   references:  fingerprint::analyze + rewrite (HTML, CSS, JS, source maps) on arbitrary bytes
#   placeholder: resolve_server + Renderer::render + state::rebuild (rebuild must invert render)
#   tags:        markup::start_tags (the one HTML tokenizer), tags ⊆ references, sri::apply
#                idempotent
# cargo fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets this stable toolchain take
# them (the sanitizer runtimes ship with it).
set -euo pipefail
secs=${1:-60}
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cd "$repo/fuzz"
# Seed corpora from the fixtures: one kind byte (0 html, 1 css, 2 js, 3 map) + the file.
mkdir -p corpus/references corpus/placeholder corpus/tags
i=0
while IFS= read -r -d '' f; do
    case "$f" in
        *.html) k='\x00' ;; *.css) k='\x01' ;; *.js) k='\x02' ;; *.map) k='\x03' ;; *) continue ;;
    esac
    { printf "$k"; head -c 65536 "$f"; } > "corpus/references/fixture-$i"
    case "$f" in *.html) head -c 65536 "$f" > "corpus/tags/fixture-$i" ;; esac
    i=$((i + 1))
done < <(find "$repo/fixtures" -type f -print0)
printf 'https://cdn.example.com\0<script src="/EGOVA_CDN/a.js"></script>EGOVA_CDNEGOVA_CDN/' > corpus/placeholder/seed-1
printf '.\0/EGOVA_CDN/x EGOVA_CDN' > corpus/placeholder/seed-2
echo "| target | seconds | executions | executions/s | crashes |"
echo "|---|---:|---:|---:|---:|"
for t in references placeholder tags; do
    log=$(mktemp)
    status=0
    cargo fuzz run "$t" --sanitizer none -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo "?")
    crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
    rate=$([ "$runs" != "?" ] && echo $((runs / secs)) || echo "?")
    echo "| $t | $secs | $runs | $rate | $crashes |"
    if [ "$status" -ne 0 ]; then tail -30 "$log" >&2; fi
    rm -f "$log"
done
