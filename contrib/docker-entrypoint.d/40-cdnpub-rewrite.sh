#!/bin/sh
# /docker-entrypoint.d/40-cdnpub-rewrite.sh: render CDN placeholders before nginx starts.
#
# The official nginx image runs every executable /docker-entrypoint.d/*.sh before nginx. This
# one replaces the old replace_cdn function and reads the same variables:
#   CDN_REPLACE_FILES  space-separated globs under the web root (empty: nothing to do)
#   CDN_SERVER         https://cdn.example.com (anything not http(s):// becomes ".")
#   CDN_PREFIX         placeholder token (default EGOVA_CDN)
#   CDNPUB_ROOT        web root (default /usr/share/nginx/html)
# If cdnpub refuses the values or cannot write, the container stops here instead of serving
# pages that still point at the placeholder.
set -eu
ME=$(basename "$0")

if [ -z "${CDN_REPLACE_FILES:-}" ]; then
    echo "$ME: info: CDN_REPLACE_FILES is empty, nothing to rewrite"
    exit 0
fi

if ! cdnpub rewrite --strict; then
    echo "$ME: error: cdnpub rewrite failed; not starting nginx with unrendered pages" >&2
    exit 1
fi
