#!/usr/bin/env bash
# bench/purge.sh: API calls and wall time of `cdnpub purge` / `cdnpub prefetch` for 10,000
# changed URLs against the local Alibaba Cloud CDN stand-in (examples/aliyun_cdn_server.rs: the
# tests' server, checking signatures, per-call limits and the 50 calls/s rate).
# Target: calls = the minimum possible, ceil(URLs / per-call limit) (1,000 per refresh, 100 per
# prefetch), plus one DescribeRefreshQuota. The reference is a script's naive one URL per call.
# Needs: hyperfine (apt-get install hyperfine), python3.
# Usage: bench/purge.sh [RUNS] [URLS]
set -euo pipefail
runs=${1:-5}
n=${2:-10000}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "bench/purge.sh: $tool is required" >&2; exit 2; }
done
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --example aliyun_cdn_server
bin="$repo/target/release/cdnpub"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$repo/target/release/examples/aliyun_cdn_server" "$port" "$work/requests.log" > "$work/server.out" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do
    [ -s "$work/server.out" ] && break
    sleep 0.1
done
# The stand-in prints its endpoint and the account's (test) keys.
read -r endpoint id_var secret_var < "$work/server.out"
export "${id_var?}" "${secret_var?}"
python3 -c "
for i in range($n): print(f'https://cdn.example.com/assets/{i // 100}/file-{i}.js')" > "$work/urls.txt"
head -n 1000 "$work/urls.txt" > "$work/urls-1000.txt"
common="--provider aliyun --cdn-endpoint $endpoint --domain cdn.example.com -q"

count() { # count ACTION: requests of ACTION in the log since it was emptied
    sleep 0.2
    grep -c "^$1 " "$work/requests.log" || true
}
: > "$work/requests.log"
"$bin" purge $common --from-file "$work/urls.txt"
purge_calls=$(count RefreshObjectCaches); purge_quota=$(count DescribeRefreshQuota)
: > "$work/requests.log"
"$bin" prefetch $common --from-file "$work/urls-1000.txt"
push_calls=$(count PushObjectCache)

hyperfine --runs "$runs" --export-json "$work/times.json" \
    -n "purge $n URLs" "$bin purge $common --from-file $work/urls.txt" \
    -n "prefetch 1000 URLs" "$bin prefetch $common --from-file $work/urls-1000.txt" >/dev/null

python3 - "$work/times.json" "$n" "$purge_calls" "$purge_quota" "$push_calls" <<'PY'
import json, math, sys
times = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n, purge, quota, push = (int(x) for x in sys.argv[2:])
rows = [
    (f"purge {n} URLs", n, purge, math.ceil(n / 1000), quota, times[f"purge {n} URLs"]),
    ("prefetch 1000 URLs", 1000, push, math.ceil(1000 / 100), 1, times["prefetch 1000 URLs"]),
]
print("| job | URLs | API calls (+ quota check) | minimum | naive (1 URL per call) | calls / minimum | wall time (s) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, urls, calls, minimum, q, t in rows:
    print(f"| {name} | {urls} | {calls} (+{q}) | {minimum} | {urls} | {calls / minimum:.2f}x | {t['mean']:.3f} ± {t['stddev']:.3f} |")
PY
