#!/usr/bin/env bash
# bench/checks.sh: what the release checks cost, on the bundled example (fixtures/vite-vue/dist)
# and on the npm corpus (bench/lib/corpus.sh, with an index.html that loads echarts,
# element-plus and bootstrap), in one run on the same machine:
#   sri     the Subresource Integrity step of a build (digests + pages rewritten), ms
#   size    the size report of a publish (pages read, first visits, delta, budgets), ms
#   verify  `cdnpub verify` of every key through nginx (Debian's, gzip_static) as the CDN,
#           against the reference: the same URLs fetched with curl (xargs -P 16, --compressed),
#           which checks nothing. Target: verify <= 2x the plain fetch.
# Needs: nginx, curl, npm, python3. Usage: bench/checks.sh [RUNS]   (BENCH_WORK=DIR keeps the corpus)
set -euo pipefail
runs=${1:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in nginx curl python3; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench/checks.sh: $tool is required" >&2; exit 2; }
done
. "$repo/bench/lib/setup.sh"
make_corpus "$work"
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
rm -rf "$work/checks" && mkdir -p "$work/checks"
cp -r "$repo/fixtures/vite-vue/dist" "$work/checks/example"
cp -r "$work/corpus" "$work/checks/corpus"
cat > "$work/checks/corpus/index.html" <<'HTML'
<!doctype html><html><head><title>corpus</title>
<link rel="stylesheet" href="EGOVA_CDN/bootstrap/css/bootstrap.min.css">
<link rel="stylesheet" href="EGOVA_CDN/element-plus/index.css">
<script src="EGOVA_CDN/echarts/echarts.min.js"></script>
<script src="EGOVA_CDN/element-plus/index.full.min.js"></script>
</head><body></body></html>
HTML

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf="$work/checks/nginx"
mkdir -p "$conf"
cat > "$conf/nginx.conf" <<CONF
daemon off; master_process off; pid $conf/nginx.pid; error_log $conf/error.log warn;
events { worker_connections 256; }
http { access_log off; include /etc/nginx/mime.types; client_body_temp_path $conf/cb; proxy_temp_path $conf/px;
  fastcgi_temp_path $conf/fc; uwsgi_temp_path $conf/uw; scgi_temp_path $conf/sc;
  server { listen 127.0.0.1:$port; root $work/checks/sites; gzip_static on; } }
CONF
mkdir -p "$work/checks/sites"
"$nginx_bin" -p "$conf" -e "$conf/error.log" -c "$conf/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true; [ -n "${BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
sleep 0.5

: > "$work/checks/rows"
for name in example corpus; do
    cat > "$work/checks/cdnpub.toml" <<TOML
cdn_server = "http://127.0.0.1:$port/$name"
targets = ["$work/checks/sites/$name"]
sri = true
manifest_named = ["**"]
[[budget]]
entry = "index.html"
max_br = "10 MB"
TOML
    (cd "$work/checks" && "$bin" publish "$name" --no-cache --json -q > "publish-$name.json")
    files=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['build']['files'])" "$work/checks/publish-$name.json")
    # The reference: every key the release serves, fetched with curl, 16 at a time.
    python3 - "$work/checks/sites/$name" "http://127.0.0.1:$port/$name" > "$work/checks/urls-$name.txt" <<'PY'
import glob, json, os, sys
root, base = sys.argv[1], sys.argv[2]
rec = max(glob.glob(os.path.join(root, "_cdnpub/releases/*.json")))
objs = json.load(open(rec))["objects"]
for k in objs:
    if k.startswith("_cdnpub/") or (k.endswith((".gz", ".br")) and k[:-3] in objs):
        continue
    print(base + "/" + k)
PY
    keys=$(wc -l < "$work/checks/urls-$name.txt")
    hyperfine --runs "$runs" --export-json "$work/checks/times-$name.json" \
        -n verify "cd $work/checks && $bin verify -q --to sites/$name --cdn-base http://127.0.0.1:$port/$name" \
        -n curl "xargs -P 16 -n 50 curl -s -o /dev/null --compressed < $work/checks/urls-$name.txt" >/dev/null
    echo "$name $files $keys $work/checks/publish-$name.json $work/checks/times-$name.json" >> "$work/checks/rows"
done

python3 - "$work/checks/rows" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1])]
print("| check | " + " | ".join(f"{r[0]} ({r[1]} files, {r[2]} keys)" for r in rows) + " |")
print("|---|" + "---:|" * len(rows))
cells = {"sri": [], "size": [], "verify": [], "curl": [], "ratio": []}
for name, files, keys, pub, times in rows:
    p = json.load(open(pub))
    t = {x["command"]: x for x in json.load(open(times))["results"]}
    s = p["build"].get("sri") or {}
    cells["sri"].append(f"{s.get('ms', 0)} ms ({s.get('tags', 0)} tags, {s.get('import_map_entries', 0)} import-map entries)")
    cells["size"].append(f"{p['size']['ms']} ms")
    cells["verify"].append(f"{t['verify']['mean']:.3f} ± {t['verify']['stddev']:.3f} s")
    cells["curl"].append(f"{t['curl']['mean']:.3f} ± {t['curl']['stddev']:.3f} s")
    cells["ratio"].append(f"{t['verify']['mean'] / t['curl']['mean']:.2f}x")
names = {"sri": "build: Subresource Integrity", "size": "publish: size report + budget",
         "verify": "verify: every key through nginx", "curl": "reference: curl -P16, no checks",
         "ratio": "verify / reference"}
for k, label in names.items():
    print(f"| {label} | " + " | ".join(cells[k]) + " |")
PY
