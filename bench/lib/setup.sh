# bench/lib/setup.sh: sourced (with $repo set) by the benches on the npm corpus. Builds the
# release binary ($bin), sets the work directory ($work: BENCH_WORK=DIR keeps it and its corpus
# between runs, else a temporary one removed at exit) and defines make_corpus.
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/cdnpub"
work=${BENCH_WORK:-$(mktemp -d)}
[ -n "${BENCH_WORK:-}" ] || trap 'rm -rf "$work"' EXIT
. "$repo/bench/lib/corpus.sh"
