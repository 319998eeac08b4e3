#!/usr/bin/env bash
# bench/purge.sh: API calls and wall time of `cdnpub purge` / `cdnpub prefetch` for 10,000
# changed URLs (purge) and 1,000 (prefetch), on every provider with a local stand-in
# (examples/cdn_server.rs runs the tests' servers: signatures, per-call limits and rates checked).
# Target: calls = the minimum possible, ceil(URLs / per-call limit), plus one quota check where
# the provider has a quota API (Alibaba, Tencent, Huawei). The reference is a script's naive
# one URL per call. CloudFront is measured in tests/it/cdn_cloudfront.rs (moto) instead.
# Needs: hyperfine (apt-get install hyperfine), python3.
# Usage: bench/purge.sh [RUNS] [URLS] [PROVIDER...]
set -euo pipefail
runs=${1:-3}
n=${2:-10000}
shift $(( $# > 2 ? 2 : $# ))
providers=("$@")
[ ${#providers[@]} -gt 0 ] || providers=(aliyun tencent cloudflare qiniu huawei)
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "bench/purge.sh: $tool is required" >&2; exit 2; }
done
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml"
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml" --example cdn_server
bin="$repo/target/dist/cdnpub"
work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
python3 -c "
for i in range($n): print(f'https://cdn.example.com/assets/{i // 100}/file-{i}.js')" > "$work/urls.txt"
head -n 1000 "$work/urls.txt" > "$work/urls-1000.txt"

# Per-call limits (purge URLs, prefetch URLs; 0: no prefetch API) and whether a quota check is made.
declare -A purge_limit=([aliyun]=1000 [tencent]=1000 [cloudflare]=100 [qiniu]=60 [huawei]=1000)
declare -A push_limit=([aliyun]=100 [tencent]=500 [cloudflare]=0 [qiniu]=60 [huawei]=1000)
declare -A quota=([aliyun]=1 [tencent]=1 [cloudflare]=0 [qiniu]=0 [huawei]=1)

count() { # count OP: accepted requests of OP in the log since it was emptied
    sleep 0.2
    grep -c "^$1 .* ok$" "$work/requests.log" || true
}
: > "$work/rows"
for p in "${providers[@]}"; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$repo/target/dist/examples/cdn_server" "$p" "$port" "$work/requests.log" > "$work/server.out" &
    server_pid=$!
    for _ in $(seq 50); do
        [ -s "$work/server.out" ] && break
        sleep 0.1
    done
    # The stand-in prints its endpoint and the account's (test) variables.
    read -r endpoint vars < "$work/server.out"
    # shellcheck disable=SC2086
    export $vars
    common="--provider $p --cdn-endpoint $endpoint --domain cdn.example.com -q"
    : > "$work/requests.log"
    "$bin" purge $common --from-file "$work/urls.txt"
    purge_calls=$(count purge-url); purge_quota=$(count quota)
    cmds=(-n "purge" "$bin purge $common --from-file $work/urls.txt")
    push_calls=0; push_quota=0
    if [ "${push_limit[$p]}" -gt 0 ]; then
        : > "$work/requests.log"
        "$bin" prefetch $common --from-file "$work/urls-1000.txt"
        push_calls=$(count prefetch); push_quota=$(count quota)
        cmds+=(-n "prefetch" "$bin prefetch $common --from-file $work/urls-1000.txt")
    fi
    hyperfine --runs "$runs" --export-json "$work/times-$p.json" "${cmds[@]}" >/dev/null
    echo "$p $n $purge_calls $purge_quota ${purge_limit[$p]} ${quota[$p]} $push_calls $push_quota ${push_limit[$p]} $work/times-$p.json" >> "$work/rows"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
done

python3 - "$work/rows" <<'PY'
import json, math, sys
print("| provider | job | URLs | API calls (+ quota check) | minimum (+ quota) | naive (1 URL per call) | calls / minimum | wall time (s) |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for line in open(sys.argv[1]):
    p, n, pc, pq, pl, hasq, xc, xq, xl, tf = line.split()
    n, pc, pq, pl, hasq, xc, xq, xl = (int(v) for v in (n, pc, pq, pl, hasq, xc, xq, xl))
    times = {r["command"]: r for r in json.load(open(tf))["results"]}
    jobs = [("purge", n, pc, pq, pl)]
    if xl:
        jobs.append(("prefetch", 1000, xc, xq, xl))
    for job, urls, calls, q, limit in jobs:
        minimum = math.ceil(urls / limit)
        t = times[job]
        print(f"| {p} | {job} | {urls} | {calls} (+{q}) | {minimum} (+{hasq}) | {urls} | {calls / minimum:.2f}x | {t['mean']:.3f} ± {t['stddev']:.3f} |")
PY
