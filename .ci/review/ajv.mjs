// Validates JSON documents against a JSON Schema 2020-12 with Ajv on its default options
// (unicode regexes, strict mode), as Node tooling does. Used by .ci/review/check.sh.
//
//   node ajv.mjs SCHEMA.json valid DIR      every *.json in DIR must be valid
//   node ajv.mjs SCHEMA.json invalid DIR    prints the name of each sub-folder of DIR none
//                                           of whose documents is rejected
//
// Exits 2 if the schema does not compile (or logs a strict-mode warning), 1 if a valid
// document is rejected, 0 otherwise.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";

const [schemaFile, mode, dir] = process.argv.slice(2);
const warnings = [];
const logger = { log: console.log, warn: (m) => warnings.push(m), error: console.error };
let validate;
try {
  validate = new Ajv2020({ logger }).compile(JSON.parse(readFileSync(schemaFile, "utf8")));
} catch (e) {
  console.error(`ajv: the schema does not compile: ${e.message}`);
  process.exit(2);
}
if (warnings.length > 0) {
  console.error(`ajv: strict mode warnings:\n${warnings.join("\n")}`);
  process.exit(2);
}

const json = (d) => readdirSync(d).filter((f) => f.endsWith(".json")).sort();
const read = (f) => JSON.parse(readFileSync(f, "utf8"));
if (mode === "valid") {
  let bad = 0;
  for (const f of json(dir)) {
    if (!validate(read(join(dir, f)))) {
      bad += 1;
      console.error(`ajv: ${join(dir, f)}: ${JSON.stringify(validate.errors)}`);
    }
  }
  console.log(`ajv: ${json(dir).length - bad} of ${json(dir).length} valid documents accepted`);
  process.exit(bad > 0 ? 1 : 0);
} else {
  for (const entry of readdirSync(dir).sort()) {
    const docs = json(join(dir, entry)).map((f) => read(join(dir, entry, f)));
    if (docs.every((d) => validate(d))) console.log(entry);
  }
}
