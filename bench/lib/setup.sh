# bench/lib/setup.sh: sourced (with $repo set) by the benches on the npm corpus. Builds the
# binary the release archives ship (the `dist` profile: $bin), sets the work directory ($work: BENCH_WORK=DIR keeps it and its corpus
# between runs, else a temporary one removed at exit) and defines make_corpus.
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/dist/cdnpub"
work=${BENCH_WORK:-$(mktemp -d)}
[ -n "${BENCH_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$repo/bench/lib/corpus.sh"
