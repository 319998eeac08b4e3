#!/usr/bin/env bash
# bench/cache.sh: the compression cache on the npm corpus (bench/lib/corpus.sh: echarts,
# element-plus, bootstrap, fontawesome dist folders). Times, in one run on the same machine:
#   cold   a full build with an empty cache (fills it),
#   warm   a rebuild after one file changed, with that cache,
# and checks the warm build's output is byte-identical to a cold --no-cache build of the changed
# tree (every file but .cdnpub/stat.json, which holds file times).
# Target: warm <= 0.05x cold.
# Needs: npm, python3. Usage: bench/cache.sh   (BENCH_WORK=DIR keeps the corpus between runs)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/bench/lib/setup.sh"
make_corpus "$work"
rm -rf "$work/tree" "$work/cache" "$work/out-cache" "$work/out-cold"
cp -r "$work/corpus" "$work/tree"
files=$(find "$work/tree" -type f | wc -l)
echo "corpus: $files files, $(($(du -sb "$work/tree" | cut -f1) / 1024 / 1024)) MiB"

timed() { # LABEL CMD... : run, print seconds
    local start end
    start=$(date +%s.%N)
    "${@:2}" >"$work/$1.json"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
build() { "$bin" build --json --manifest-named '**' "$work/tree" "$@"; }

cold=$(timed cold build --out "$work/out-cache" --cache-dir "$work/cache")
# One changed file: a stylesheet every page of bootstrap's docs would name.
printf '\n/* one change for bench/cache.sh */\n' >>"$work/tree/bootstrap/css/bootstrap.css"
warm=$(timed warm build --out "$work/out-cache" --cache-dir "$work/cache")
build --out "$work/out-cold" --no-cache >/dev/null

python3 - "$work" "$cold" "$warm" <<'PY'
import hashlib, json, os, sys
work, cold, warm = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def tree(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            if rel != os.path.join(".cdnpub", "stat.json"):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out
a, b = tree(os.path.join(work, "out-cache")), tree(os.path.join(work, "out-cold"))
differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
c = json.load(open(os.path.join(work, "warm.json")))["cache"]
first = json.load(open(os.path.join(work, "cold.json")))["cache"]
print()
print("| build | wall (s) | outputs reused | outputs compressed |")
print("|---|---:|---:|---:|")
print(f"| cold (empty cache) | {cold:.2f} | {first['hits']} | {first['misses']} |")
print(f"| warm, one file changed | {warm:.2f} | {c['hits']} | {c['misses'] + c['repaired']} |")
print(f"\nwarm / cold: {warm / cold:.3f}x (target <= 0.05x); "
      f"output identical to a cold --no-cache build: {'yes' if not differ else 'NO: ' + ', '.join(differ[:10])}")
sys.exit(1 if differ else 0)
PY
