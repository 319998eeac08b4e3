#!/usr/bin/env bash
# bench/build.sh: `cdnpub build` against the shell pipeline users write (find | xargs -P2 gzip -9 -k,
# brotli -q 11 -k, sha256sum), side by side in one run, on the dist folders of real npm packages
# (echarts, element-plus, bootstrap, @fortawesome/fontawesome-free: ~100 MB, ~3,400 files).
# Prints wall time, the ratio, the bytes a brotli-capable client downloads for the whole tree
# (per file the smallest of original/.gz/.br) and cdnpub's peak RSS.
# Targets: wall <= 0.6x the pipeline's; CPU (user+sys) <= 0.6x the pipeline's (source maps get cheap
# siblings: only devtools fetch them); bytes of everything but the maps within 1% of the pipeline's;
# the self-check's share of a build < 5% (measured on the corpus as it is, a page-less vendor tree, and
# with a page that names a stylesheet and a script of each package, so files are renamed and checked).
# Needs: npm, hyperfine, gzip, brotli, python3, /usr/bin/time (apt-get install hyperfine brotli time).
# Usage: bench/build.sh [RUNS]   (each run of both takes a few minutes on 2 cores)
set -euo pipefail
runs=${1:-1}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in npm hyperfine gzip brotli python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/build.sh: $tool is required" >&2; exit 2; }
done
. "$repo/bench/lib/setup.sh"

# --- the corpus: real npm packages' dist folders ------------------------------------------
make_corpus "$work"
files=$(find "$work/corpus" -type f | wc -l)
bytes=$(du -sb "$work/corpus" | cut -f1)
echo "corpus: $files files, $((bytes / 1024 / 1024)) MiB"

# The pipeline compresses the same file types cdnpub does, from 1 KiB up, with xargs' default
# batching as users write it (set PIPELINE_BATCH=64 for `xargs -n 64`, which keeps both cores busier).
batch=${PIPELINE_BATCH:+-n $PIPELINE_BATCH}
cat > "$work/pipeline.sh" <<'PIPE'
set -e
cd "$1"
sel() { find . -type f -size +1023c \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' -o -name '*.css' -o -name '*.map' \
  -o -name '*.json' -o -name '*.svg' -o -name '*.html' -o -name '*.htm' -o -name '*.xml' -o -name '*.txt' -o -name '*.md' \
  -o -name '*.ttf' -o -name '*.otf' -o -name '*.eot' -o -name '*.wasm' -o -name '*.ico' -o -name '*.ts' -o -name '*.less' -o -name '*.scss' \) -print0; }
sel | xargs -0 -P2 $BATCH gzip -9 -k
sel | xargs -0 -P2 $BATCH brotli -q 11 -k
find . -type f ! -name '*.gz' ! -name '*.br' -print0 | xargs -0 -P2 $BATCH sha256sum > /dev/null
PIPE

prep_pipe="rm -rf $work/pipe && cp -r $work/corpus $work/pipe && sync"
prep_cdnpub="rm -rf $work/out && sync"
hyperfine --runs "$runs" --export-json "$work/build.json" \
  --prepare "$prep_pipe" -n "pipeline (gzip -9, brotli -q 11, sha256sum; xargs -P2 $batch)" "env BATCH='$batch' bash $work/pipeline.sh $work/pipe" \
  --prepare "$prep_cdnpub" -n "cdnpub build" "/usr/bin/time -f %M -o $work/rss.txt $bin build -q --no-cache $work/corpus --out $work/out"

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
res = json.load(open(os.path.join(work, "build.json")))["results"]
pipe, cdn = res[0], res[1]
def smallest_pipeline(root, maps=True):
    total = 0
    for d, _, names in os.walk(root):
        s = set(names)
        for n in names:
            if n.endswith((".gz", ".br")) and n[:-3] in s:
                continue
            if not maps and n.endswith(".map"):
                continue
            sizes = [os.path.getsize(os.path.join(d, n))]
            for ext in (".gz", ".br"):
                if n + ext in s:
                    sizes.append(os.path.getsize(os.path.join(d, n + ext)))
            total += min(sizes)
    return total
m = json.load(open(os.path.join(work, "out", ".cdnpub", "manifest.json")))
smallest = lambda f: min([f["size"]] + [e["size"] for e in f["encodings"]])
cdn_bytes = sum(smallest(f) for f in m["files"])
pipe_bytes = smallest_pipeline(os.path.join(work, "pipe"))
cdn_nomap = sum(smallest(f) for f in m["files"] if not f["path"].endswith(".map"))
pipe_nomap = smallest_pipeline(os.path.join(work, "pipe"), maps=False)
rss_kb = int(open(os.path.join(work, "rss.txt")).read().split()[-1])
print()
print("| | pipeline | cdnpub build | ratio | target |")
print("|---|---:|---:|---:|---|")
print(f"| wall time (s) | {pipe['mean']:.1f} | {cdn['mean']:.1f} | {cdn['mean']/pipe['mean']:.2f}x | <= 0.6x |")
print(f"| CPU time, user+sys (s) | {pipe['user']+pipe['system']:.1f} | {cdn['user']+cdn['system']:.1f} | {(cdn['user']+cdn['system'])/(pipe['user']+pipe['system']):.2f}x | <= 0.6x |")
print(f"| bytes for a brotli client, without source maps | {pipe_nomap:,} | {cdn_nomap:,} | {cdn_nomap/pipe_nomap:.4f}x | within 1% |")
print(f"| bytes for a brotli client, source maps included | {pipe_bytes:,} | {cdn_bytes:,} | {cdn_bytes/pipe_bytes:.4f}x | (maps: cheap siblings) |")
print(f"| cdnpub peak RSS | | {rss_kb/1024:.0f} MiB | | |")
PY

# The self-check's share: the corpus as it is (no page: nothing renamed), and with a page.
rm -rf "$work/paged" && cp -r "$work/corpus" "$work/paged"
cat > "$work/paged/index.html" <<'HTML'
<!doctype html><html><head>
<link rel="stylesheet" href="bootstrap/css/bootstrap.min.css">
<link rel="stylesheet" href="element-plus/index.css">
<link rel="stylesheet" href="fontawesome/css/all.min.css">
<script src="echarts/echarts.min.js"></script><script src="bootstrap/js/bootstrap.bundle.min.js"></script>
<script src="element-plus/index.full.min.js"></script>
</head><body></body></html>
HTML
echo
echo "| tree | files renamed | build (s) | self-check (s) | share | target |"
echo "|---|---:|---:|---:|---:|---|"
for tree in corpus paged; do
    rm -rf "$work/out-$tree"
    "$bin" build --json --no-cache "$work/$tree" --out "$work/out-$tree" > "$work/$tree.json"
    python3 - "$work/$tree.json" "$tree" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
name = {"corpus": "vendor corpus, no page", "paged": "corpus + a page naming 6 files"}[sys.argv[2]]
print(f"| {name} | {r['fingerprinted']} | {r['elapsed_ms']/1000:.1f} | {r['check_ms']/1000:.2f} | {100*r['check_ms']/r['elapsed_ms']:.1f}% | < 5% |")
PY
done
