#!/usr/bin/env bash
# bench/upload.sh: `cdnpub upload` against `rclone copy` and `aws s3 sync`, side by side in one
# run, into fresh prefixes of the same local S3 server (examples/s3_server.rs: s3s-fs with SigV4,
# logging every request), on the same built tree of real npm dist folders (bench/lib/corpus.sh).
# Targets: first upload <= 0.8x rclone's wall time; re-upload with nothing changed: 0 PUTs,
# one LIST request per page of 1,000 keys (the fewest S3 allows), <= 0.5x aws s3 sync's time;
# the check of the tree against its manifest before planning (sizes and times from the build's
# stat cache) < 10% of the no-op upload, and what it costs when every file must be hashed.
# Needs: npm, hyperfine, rclone (apt-get install hyperfine rclone), awscli (pip install awscli).
# Usage: bench/upload.sh [RUNS]   (RCLONE_NOOP=1 also times rclone's re-upload: slow, it checks objects one by one)
set -euo pipefail
runs=${1:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in npm hyperfine rclone aws python3; do
    command -v "$tool" >/dev/null || { echo "bench/upload.sh: $tool is required" >&2; exit 2; }
done
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/dist/cdnpub"
server="$repo/target/dist/examples/s3_server"
work=${BENCH_WORK:-$(mktemp -d)}
. "$repo/bench/lib/corpus.sh"
make_corpus "$work"
rm -rf "$work/built" "$work/s3root" && mkdir -p "$work/s3root/bench"
"$bin" build -q --no-compress --manifest-named '**' "$work/corpus" --out "$work/built"
objects=$(find "$work/built" -type f ! -path '*/.cdnpub/*' | wc -l)
echo "tree: $objects objects, $(du -sb --exclude=.cdnpub "$work/built" | cut -f1) bytes"

. "$repo/bench/lib/s3.sh"
start_s3_server "$work"
trap 'kill "$server_pid" 2>/dev/null || true; [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
unset AWS_CA_BUNDLE  # rclone 1.60 fails on it
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT="$endpoint" \
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true RCLONE_CONFIG_BENCH_REGION=us-east-1

cdnpub_cmd="$bin upload -q $work/built --to s3://bench/cdnpub --endpoint $endpoint --path-style"
aws_cmd="aws --endpoint-url $endpoint s3 sync --only-show-errors --exclude .cdnpub/* $work/built s3://bench/aws"
rclone_cmd="rclone copy --exclude .cdnpub/** $work/built bench:bench/rclone"
fresh() { echo "rm -rf $work/s3root/bench/$1"; }

# 1. First upload into an empty prefix.
hyperfine --runs "$runs" --export-json "$work/first.json" \
  --prepare "$(fresh cdnpub)" -n "cdnpub upload" "$cdnpub_cmd" \
  --prepare "$(fresh rclone)" -n "rclone copy" "$rclone_cmd" \
  --prepare "$(fresh aws)" -n "aws s3 sync" "$aws_cmd" >/dev/null
# 2. Nothing changed (the prefixes hold the last first-upload run).
: > "$work/requests.log"
$cdnpub_cmd
cp "$work/requests.log" "$work/noop-requests.log"
noop_cmds=(-n "cdnpub upload, nothing changed" "$cdnpub_cmd" -n "aws s3 sync, nothing changed" "$aws_cmd")
[ -z "${RCLONE_NOOP:-}" ] || noop_cmds+=(-n "rclone copy, nothing changed" "$rclone_cmd")
hyperfine --runs "$runs" --export-json "$work/noop.json" "${noop_cmds[@]}" >/dev/null

# 3. The tree check inside the no-op upload: with the build's stat cache, then with every file's
# time changed (cp -r without -p, rsync without -t): each file hashed.
$cdnpub_cmd --json > "$work/noop-report.json"
cp -r "$work/built" "$work/copied"
rm -rf "$work/built" && mv "$work/copied" "$work/built"
$cdnpub_cmd --json > "$work/noop-rehash-report.json"

keys=$(find "$work/s3root/bench/cdnpub" -type f | wc -l)  # s3s-fs keeps one file per key
python3 - "$work" "$objects" "$keys" <<'PY'
import json, os, sys
work, objects, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tree = json.load(open(os.path.join(work, "noop-report.json")))["tree"]
rehash = json.load(open(os.path.join(work, "noop-rehash-report.json")))["tree"]
def res(name):
    return {r["command"]: r for r in json.load(open(os.path.join(work, name + ".json")))["results"]}
first, noop = res("first"), res("noop")
lines = open(os.path.join(work, "noop-requests.log")).read().splitlines()
puts = sum(1 for l in lines if l.startswith("PUT "))
lists = sum(1 for l in lines if l.startswith("GET ") and "list-type=2" in l)
c, r, a = first["cdnpub upload"]["mean"], first["rclone copy"]["mean"], first["aws s3 sync"]["mean"]
cn, an = noop["cdnpub upload, nothing changed"]["mean"], noop["aws s3 sync, nothing changed"]["mean"]
print()
print(f"{objects} objects")
print("| | cdnpub | rclone copy | aws s3 sync | ratio | target |")
print("|---|---:|---:|---:|---:|---|")
print(f"| first upload (s) | {c:.2f} | {r:.2f} | {a:.2f} | {c/r:.2f}x rclone | <= 0.8x rclone |")
rn = noop.get("rclone copy, nothing changed")
print(f"| nothing changed (s) | {cn:.2f} | {rn['mean']:.2f} | {an:.2f} | {cn/an:.2f}x aws | <= 0.5x aws |" if rn else
      f"| nothing changed (s) | {cn:.2f} | (RCLONE_NOOP=1) | {an:.2f} | {cn/an:.2f}x aws | <= 0.5x aws |")
pages = -(-keys // 1000)  # a LIST page holds at most 1,000 keys (S3's cap; OSS refuses more)
print(f"| tree check in the no-op (ms) | {tree['elapsed_ms']:.1f} ({tree['hashed']} hashed) | | | {tree['elapsed_ms'] / 1000 / cn * 100:.1f}% of the no-op | < 10% |")
print(f"| tree check, every time changed (ms) | {rehash['elapsed_ms']:.1f} ({rehash['hashed']} hashed) | | | {rehash['elapsed_ms'] / 1000 / cn * 100:.1f}% of the no-op | (reported) |")
print(f"| nothing changed: PUT / LIST requests | {puts} / {lists} | | | {lists} LIST for {keys:,} keys = {pages} pages of 1,000 ({lists / max(objects,1) * 1000:.2f} per 1,000 objects) | 0 PUT, 1 LIST per page of 1,000 keys |")
PY
