#!/usr/bin/env node
// The cdnpub launcher (the esbuild/biome model): npm installs the one @cdnpub/<platform>
// package whose os/cpu match (optionalDependencies), this finds its binary, checks it against
// the SHA-256 the package was published with, and runs it with the same arguments, stdio and
// exit code. CDNPUB_BINARY=/path/to/cdnpub runs a binary of one's own instead (no check).
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { spawnSync } = require("child_process");

const PLATFORMS = {
  "linux-x64": "@cdnpub/linux-x64",
  "linux-arm64": "@cdnpub/linux-arm64",
  "darwin-x64": "@cdnpub/darwin-x64",
  "darwin-arm64": "@cdnpub/darwin-arm64",
  "win32-x64": "@cdnpub/win32-x64",
};

function fail(message) {
  process.stderr.write(`cdnpub: ${message}\n`);
  process.exit(2);
}

function binary() {
  if (process.env.CDNPUB_BINARY) {
    return process.env.CDNPUB_BINARY;
  }
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORMS[key];
  if (!pkg) {
    fail(`no prebuilt binary for ${key}; build one (cargo install cdnpub) and set CDNPUB_BINARY to its path`);
  }
  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch (e) {
    fail(`${pkg} is not installed (npm skipped the optional dependency, or installed with --no-optional); reinstall cdnpub, or set CDNPUB_BINARY`);
  }
  const dir = path.dirname(manifest);
  const meta = JSON.parse(fs.readFileSync(manifest, "utf8"));
  const bin = path.join(dir, "bin", process.platform === "win32" ? "cdnpub.exe" : "cdnpub");
  let bytes;
  try {
    bytes = fs.readFileSync(bin);
  } catch (e) {
    fail(`${bin} is missing (${e.code}); reinstall ${pkg}`);
  }
  const got = crypto.createHash("sha256").update(bytes).digest("hex");
  if (got !== meta.cdnpubSha256) {
    fail(`${bin} does not match the SHA-256 ${pkg} was published with (expected ${meta.cdnpubSha256}, got ${got}); reinstall it`);
  }
  return bin;
}

const run = spawnSync(binary(), process.argv.slice(2), { stdio: "inherit" });
if (run.error) {
  fail(`cannot run ${run.error.path || "the binary"}: ${run.error.message}`);
}
process.exit(run.status === null ? 1 : run.status);
