#!/usr/bin/env bash
# bench/rewrite.sh: `cdnpub rewrite` against the old replace_cdn entrypoint, side by side in one
# run, on the same generated tree (500 HTML pages + a 345 KB JS bundle), with hyperfine.
# Prints a markdown table with ratios (cdnpub / old script). Targets: <= 0.3x the old script's
# wall time on the tree, < 10 ms for a single index.html.
# Needs: hyperfine, python3, bash, sed (apt-get install hyperfine). Usage: bench/rewrite.sh [RUNS]
set -euo pipefail
runs=${1:-20}
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "bench/rewrite.sh: hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/dist/cdnpub"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the corpus -------------------------------------------------------------------------
python3 - "$work/tree" <<'PY'
import os, sys, random
root = sys.argv[1]
random.seed(42)
for i in range(500):
    d = os.path.join(root, "pages", f"p{i:03d}")
    os.makedirs(d, exist_ok=True)
    links = "".join(f'<link href=EGOVA_CDN/css/chunk-{i}-{k}.css rel=stylesheet>' for k in range(4))
    scripts = "".join(f'<script src=EGOVA_CDN/js/chunk-{i}-{k}.js></script>' for k in range(6))
    body = "".join(f"<p>段落 {k} of page {i}: " + "lorem ipsum dolor sit amet " * 4 + "</p>" for k in range(8))
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write(f"<!DOCTYPE html><html><head><meta charset=utf-8><title>page {i}</title>{links}</head><body>{body}{scripts}</body></html>\n")
os.makedirs(os.path.join(root, "js"), exist_ok=True)
# A 345 KB minified bundle with the placeholder in its public path and a few asset URLs.
parts, size = [], 0
n = 0
while size < 345 * 1024:
    s = f'"{n:05x}":function(t,e,n){{"use strict";var r=n("{(n*7)%9999:05x}");t.exports=function(o){{return r(o)?Object.keys(o).length:{n}}}}},'
    if n % 500 == 0:
        s += f'"asset{n}":"EGOVA_CDN/img/icon-{n}.png",'
    parts.append(s); size += len(s); n += 1
with open(os.path.join(root, "js", "app.js"), "w") as f:
    f.write('(function(){var p="EGOVA_CDN/";window.__m={' + "".join(parts) + '}})();\n')
# A 1 MB bundle for the sibling timings.
with open(os.path.join(root, "js", "app.js")) as f:
    js = f.read()
os.makedirs(os.path.join(root, "big"), exist_ok=True)
with open(os.path.join(root, "big", "vendor.js"), "w") as f:
    f.write((js * 3)[: 1024 * 1024])
PY
mkdir -p "$work/single/html"
cp "$work/tree/pages/p000/index.html" "$work/single/html/index.html"
sed 's#/usr/share/Nginx/html#'"$work"'/run#' "$repo/tests/data/seed-replace_cdn.sh" > "$work/old.sh"
echo 'replace_cdn >/dev/null' >> "$work/old.sh"
sed 's#/usr/share/Nginx/html#'"$work"'/single/run#' "$repo/tests/data/seed-replace_cdn.sh" > "$work/old-single.sh"
echo 'replace_cdn >/dev/null' >> "$work/old-single.sh"

export CDN_SERVER=https://cdn.example.com
export LC_ALL=C
files_tree='pages/*/index.html js/*.js'
fresh="rm -rf $work/run $work/.cdnpub && cp -a $work/tree $work/run && sync"
fresh_single="rm -rf $work/single/run $work/single/.cdnpub && cp -a $work/single/html $work/single/run && sync"
json() { echo "$work/$1.json"; }

cd "$work"
# 1. First start: a fresh container, nothing rendered yet.
hyperfine --runs "$runs" --warmup 2 --export-json "$(json tree)" \
  --prepare "$fresh" -n "old script (500 pages + 345 KB JS)" "env CDN_REPLACE_FILES='$files_tree' bash $work/old.sh" \
  --prepare "$fresh" -n "cdnpub rewrite (500 pages + 345 KB JS)" "env CDN_REPLACE_FILES='$files_tree' $bin rewrite -q --root $work/run" \
  >/dev/null
# 2. Restart: the same container started again (cdnpub renders from its templates, nothing changes).
eval "$fresh"
CDN_REPLACE_FILES="$files_tree" bash "$work/old.sh"
rm -rf "$work/run" && cp -a "$work/tree" "$work/run" && CDN_REPLACE_FILES="$files_tree" "$bin" rewrite -q --root "$work/run"
cp -a "$work/run" "$work/run-old-done"
hyperfine --runs "$runs" --warmup 2 --prepare sync --export-json "$(json restart)" \
  -n "old script, second start" "env CDN_REPLACE_FILES='$files_tree' bash $work/old.sh" \
  -n "cdnpub rewrite, second start" "env CDN_REPLACE_FILES='$files_tree' $bin rewrite -q --root $work/run" \
  >/dev/null
# 3. A single index.html.
hyperfine --runs "$runs" --warmup 3 --export-json "$(json single)" \
  --prepare "$fresh_single" -n "old script (one index.html)" "env CDN_REPLACE_FILES=index.html bash $work/old-single.sh" \
  --prepare "$fresh_single" -n "cdnpub rewrite (one index.html)" "env CDN_REPLACE_FILES=index.html $bin rewrite -q --root $work/single/run" \
  >/dev/null
# 4. Precompressed siblings at container start (cdnpub only: the old script left them stale).
sib_prepare="rm -rf $work/sib $work/.cdnpub && mkdir -p $work/sib && cp $work/tree/js/app.js $work/tree/big/vendor.js $work/sib/ && gzip -k -9 $work/sib/app.js $work/sib/vendor.js && touch $work/sib/app.js.br $work/sib/vendor.js.br"
hyperfine --runs "$(( runs < 10 ? runs : 10 ))" --warmup 1 --export-json "$(json siblings)" \
  --prepare "$sib_prepare" -n "cdnpub, 345 KB + 1 MB JS, .gz -9 + .br q11" "$bin rewrite -q --brotli-quality 11 --root $work/sib app.js vendor.js" \
  --prepare "$sib_prepare" -n "cdnpub, 345 KB + 1 MB JS, .gz -9 + .br q9 (the default)" "$bin rewrite -q --root $work/sib app.js vendor.js" \
  --prepare "$sib_prepare" -n "cdnpub, 345 KB + 1 MB JS, .gz -6 + .br q5" "$bin rewrite -q --gzip-level 6 --brotli-quality 5 --root $work/sib app.js vendor.js" \
  >/dev/null

# 5. The old entrypoint's usual first start: a few apps' index.html and the JS they name
#    (345 KB + 1 MB), whose .gz/.br siblings cdnpub regenerates at its defaults (the old
#    script rewrites only the plain files and leaves the siblings stale).
usual_prepare="rm -rf $work/usual $work/.cdnpub && mkdir -p $work/usual/js && for i in 0 1 2 3; do mkdir -p $work/usual/app\$i && cp $work/tree/pages/p00\$i/index.html $work/usual/app\$i/; done && cp $work/tree/js/app.js $work/tree/big/vendor.js $work/usual/js/ && gzip -k -9 $work/usual/js/app.js $work/usual/js/vendor.js && touch $work/usual/js/app.js.br $work/usual/js/vendor.js.br && sync"
sed 's#/usr/share/Nginx/html#'"$work"'/usual#' "$repo/tests/data/seed-replace_cdn.sh" > "$work/old-usual.sh"
echo 'replace_cdn >/dev/null' >> "$work/old-usual.sh"
hyperfine --runs "$runs" --warmup 2 --export-json "$(json usual)" \
  --prepare "$usual_prepare" -n "old script (4 pages + 1.3 MB JS, siblings left stale)" "env CDN_REPLACE_FILES='app*/index.html js/*.js' bash $work/old-usual.sh" \
  --prepare "$usual_prepare" -n "cdnpub rewrite (4 pages + 1.3 MB JS, siblings regenerated)" "env CDN_REPLACE_FILES='app*/index.html js/*.js' $bin rewrite -q --root $work/usual" \
  >/dev/null

python3 - "$work" <<'PY'
import json, sys, os
work = sys.argv[1]
def load(name):
    return json.load(open(os.path.join(work, name + ".json")))["results"]
print("| scenario | old script (ms) | cdnpub (ms) | ratio cdnpub/old | target |")
print("|---|---:|---:|---:|---|")
for name, target in [("tree", "<= 0.3x"), ("restart", "-"), ("single", "< 10 ms"), ("usual", "< 100 ms")]:
    old, new = load(name)
    o, n = old["mean"] * 1000, new["mean"] * 1000
    label = new["command"].replace("cdnpub rewrite", "").strip(" ,()") or name
    print(f"| {label} | {o:.1f} ± {old['stddev']*1000:.1f} | {n:.1f} ± {new['stddev']*1000:.1f} | {n/o:.2f}x | {target} |")
print()
print("| precompressed siblings regenerated at start | cdnpub (ms) |")
print("|---|---:|")
for r in load("siblings"):
    print(f"| {r['command'].replace('cdnpub, ', '')} | {r['mean']*1000:.0f} ± {r['stddev']*1000:.0f} |")
PY
