#!/usr/bin/env bash
# bench/scale.sh: build and upload 50,000 small files plus 20 files of 50 MB to the local S3
# server (examples/s3_server.rs: s3s-fs with SigV4, logging every request); report wall time
# and peak RSS (/usr/bin/time -v) of each step, whether the large files went up in multipart
# parts, and the no-op re-upload. Targets: peak RSS under 300 MB, multipart for the large
# files, no-op re-upload under 10 s. The reference tool run side by side is `aws s3 sync`
# (awscli) for the first upload when REFERENCE=1 (slow: ~10 min here).
# Needs: python3, /usr/bin/time (apt-get install time). Disk: about 4 GB in $BENCH_WORK or /tmp.
# Usage: bench/scale.sh [SMALL_FILES] [LARGE_FILES] [LARGE_MB]
set -euo pipefail
small=${1:-50000}
large=${2:-20}
large_mb=${3:-50}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/scale.sh: $tool is required" >&2; exit 2; }
done
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/dist/cdnpub"
work=${BENCH_WORK:-$(mktemp -d)}
rm -rf "$work/src" "$work/built" "$work/s3root" && mkdir -p "$work/s3root/bench"
python3 - "$work/src" "$small" "$large" "$large_mb" <<'PY'
import os, random, sys
root, small, large, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(7)
kinds = [".js", ".css", ".json", ".svg", ".png"]
for i in range(small):
    d = os.path.join(root, "pkg%03d" % (i // 1000))
    os.makedirs(d, exist_ok=True)
    ext = kinds[i % len(kinds)]
    body = ("/* file %d */ " % i + "var x%d = %d;\n" % (i, i) * rnd.randint(20, 200)).encode()
    if ext == ".png":
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(200, 3000)))
    open(os.path.join(d, "f%05d%s" % (i, ext)), "wb").write(body)
os.makedirs(os.path.join(root, "media"), exist_ok=True)
chunk = os.urandom(1 << 20)
for j in range(large):
    with open(os.path.join(root, "media", "clip%02d.mp4" % j), "wb") as f:
        for k in range(mb):
            f.write(chunk[k:] + chunk[:k])
with open(os.path.join(root, "index.html"), "w") as f:
    f.write("<!doctype html><script src=\"pkg000/f00000.js\"></script>")
PY
echo "corpus: $small small files + $large x $large_mb MB ($(du -sh "$work/src" | cut -f1))"

. "$repo/bench/lib/s3.sh"
start_s3_server "$work"
trap 'kill "$server_pid" 2>/dev/null || true; [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT

measure() { # measure NAME CMD...: wall seconds and peak RSS (MB)
    local name=$1; shift
    /usr/bin/time -v "$@" > /dev/null 2> "$work/time-$name.log"
    local wall rss
    wall=$(grep 'Elapsed (wall clock)' "$work/time-$name.log" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$work/time-$name.log" | awk '{print int($NF / 1024)}')
    echo "| $name | $wall | $rss |"
}
echo "| step | wall (m:ss) | peak RSS (MB) |"
echo "|---|---:|---:|"
measure "build" "$bin" build -q --manifest-named '**' "$work/src" --out "$work/built"
: > "$work/requests.log"
measure "upload (first)" "$bin" upload -q "$work/built" --to s3://bench/scale --endpoint "$endpoint" --path-style
parts=$(grep -c 'partNumber=' "$work/requests.log" || true)
: > "$work/requests.log"
measure "upload (nothing changed)" "$bin" upload -q "$work/built" --to s3://bench/scale --endpoint "$endpoint" --path-style
puts=$(grep -c '^PUT ' "$work/requests.log" || true)
lists=$(grep -c 'list-type=2' "$work/requests.log" || true)
# The same without a LIST (the latest release record is the index): cdnpub's own cost.
measure "upload (nothing changed, --no-check-bucket)" "$bin" upload -q "$work/built" --to s3://bench/scale --endpoint "$endpoint" --path-style --no-check-bucket
objects=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]))' "$work/built/.cdnpub/manifest.json")
echo
echo "objects: $objects; multipart part uploads in the first upload: $parts (expected $((large * ((large_mb + 7) / 8))) for $large files of $large_mb MB in 8 MiB parts)"
echo "nothing changed: $puts PUT, $lists LIST requests"
if [ -n "${REFERENCE:-}" ] && command -v aws >/dev/null; then
    echo
    echo "| step | wall (m:ss) | peak RSS (MB) |"
    echo "|---|---:|---:|"
    measure "aws s3 sync (nothing changed, reference)" aws --endpoint-url "$endpoint" s3 sync --only-show-errors \
        --exclude '.cdnpub/*' --exclude '*.gz' --exclude '*.br' "$work/built" s3://bench/scale
fi
