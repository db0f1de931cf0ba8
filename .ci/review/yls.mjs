// Validates YAML manifests against a JSON Schema the way editors do: yaml-language-server
// (VS Code's YAML extension, Neovim, …) with the schema mapped to every file. Used by
// .ci/review/schema.sh.
//
//   node yls.mjs SCHEMA.json valid FILE...     every file must have no diagnostic
//   node yls.mjs SCHEMA.json invalid ENTRY...  prints each entry (a file, or a folder of
//                                              YAML files) none of whose files gets one
//
// Exits 1 if a valid file gets a diagnostic, 0 otherwise.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { getLanguageService } = require("yaml-language-server");
const { TextDocument } = require("vscode-languageserver-textdocument");

const [schemaFile, mode, ...paths] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaFile, "utf8"));
const service = getLanguageService({
  schemaRequestService: async () => JSON.stringify(schema),
  workspaceContext: { resolveRelativePath: (r) => r },
});
service.configure({
  validate: true,
  schemas: [{ uri: "file:///outbound-schema.json", fileMatch: ["*.yaml", "*.yml"], schema }],
});

async function diagnostics(file) {
  const doc = TextDocument.create(`file:///m/${file}`, "yaml", 1, readFileSync(file, "utf8"));
  return service.doValidation(doc, false);
}

const yamlFiles = (entry) =>
  statSync(entry).isDirectory()
    ? readdirSync(entry, { recursive: true })
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(entry, f))
    : [entry];

if (mode === "valid") {
  let bad = 0;
  for (const file of paths) {
    const d = await diagnostics(file);
    if (d.length > 0) {
      bad += 1;
      console.error(`yaml-language-server: ${file}: ${d.map((x) => x.message).join("; ")}`);
    }
  }
  console.log(`yaml-language-server: ${paths.length - bad} of ${paths.length} valid files accepted`);
  process.exit(bad > 0 ? 1 : 0);
} else {
  for (const entry of paths) {
    let flagged = false;
    for (const file of yamlFiles(entry)) {
      if ((await diagnostics(file)).length > 0) flagged = true;
    }
    if (!flagged) console.log(entry.split("/").pop());
  }
}
