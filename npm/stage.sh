#!/usr/bin/env bash
# Stage the npm packages: npm/cdnpub (the launcher) and one @cdnpub/<platform> package per binary
# given, each with its os/cpu fields, the binary under bin/, and the binary's SHA-256 in
# package.json (`cdnpubSha256`, checked by the launcher). Versions come from Cargo.toml.
# Usage: npm/stage.sh OUT PLATFORM=BINARY...   (PLATFORM: linux-x64, linux-arm64, darwin-x64,
#        darwin-arm64, win32-x64). The release workflow's npm job runs it with every archive's
#        binary and then `npm publish`es each directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
shift
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/../Cargo.toml" | head -n 1)
rm -rf "$out"
mkdir -p "$out"
cp -r "$here/cdnpub" "$out/cdnpub"
node -e '
const fs = require("fs"), [file, version] = process.argv.slice(1);
const p = JSON.parse(fs.readFileSync(file, "utf8"));
p.version = version;
for (const k of Object.keys(p.optionalDependencies)) p.optionalDependencies[k] = version;
fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n");
' "$out/cdnpub/package.json" "$version"
for spec in "$@"; do
    platform="${spec%%=*}"
    binary="${spec#*=}"
    os="${platform%-*}"
    cpu="${platform#*-}"
    case "$platform" in
        linux-x64|linux-arm64|darwin-x64|darwin-arm64|win32-x64) ;;
        *) echo "stage: unknown platform $platform" >&2; exit 2 ;;
    esac
    name="cdnpub"
    [ "$os" != win32 ] || name="cdnpub.exe"
    dir="$out/$platform"
    mkdir -p "$dir/bin"
    install -m 0755 "$binary" "$dir/bin/$name"
    sha=$(sha256sum "$dir/bin/$name" | cut -d ' ' -f 1)
    cat > "$dir/package.json" <<JSON
{
  "name": "@cdnpub/$platform",
  "version": "$version",
  "description": "The cdnpub binary for $platform (installed by the cdnpub package)",
  "license": "MIT OR Apache-2.0",
  "os": ["$os"],
  "cpu": ["$cpu"],
  "files": ["bin/$name"],
  "preferUnplugged": true,
  "cdnpubSha256": "$sha"
}
JSON
done
