# bench/lib/corpus.sh: the benchmark corpus shared by bench/build.sh and bench/upload.sh:
# the dist folders of real npm packages (versions pinned), installed with npm into WORK/npm and
# copied to WORK/corpus. Sourced; defines make_corpus WORK.
make_corpus() {
    local work=$1
    [ -d "$work/corpus" ] && return 0
    mkdir -p "$work/npm"
    (cd "$work/npm" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent \
        echarts@5.5.1 element-plus@2.8.4 bootstrap@5.3.3 @fortawesome/fontawesome-free@6.6.0 >/dev/null)
    mkdir -p "$work/corpus.tmp/fontawesome"
    cp -r "$work/npm/node_modules/echarts/dist" "$work/corpus.tmp/echarts"
    cp -r "$work/npm/node_modules/element-plus/dist" "$work/corpus.tmp/element-plus"
    cp -r "$work/npm/node_modules/bootstrap/dist" "$work/corpus.tmp/bootstrap"
    local d
    for d in css js webfonts svgs sprites; do
        cp -r "$work/npm/node_modules/@fortawesome/fontawesome-free/$d" "$work/corpus.tmp/fontawesome/$d"
    done
    mv "$work/corpus.tmp" "$work/corpus"
}
