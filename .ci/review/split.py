"""Splits manifests into one JSON file per YAML document, read as an editor reads them
(ruamel.yaml: YAML 1.2 with merge keys), for the schema validators in check.sh.

    python split.py OUT

Writes OUT/valid/NNN.json for every document of manifests/*.yaml and of the README's
```yaml examples that declare `apiVersion: outbound/v1` (each example also as
OUT/readme/NNN.yaml), and OUT/invalid/ENTRY/NNN.json for
every document of each entry of tests/invalid/ (a file or a folder). An entry whose YAML does
not load is listed in OUT/syntax.txt instead: the editor flags it before any schema.
"""

import json
import pathlib
import re
import sys

from ruamel.yaml import YAML

out = pathlib.Path(sys.argv[1])
yaml = YAML(typ="safe", pure=True)


def documents(text):
    return [d for d in yaml.load_all(text) if d is not None]


def write(folder, docs, start=0):
    folder.mkdir(parents=True, exist_ok=True)  # also when there is no document
    for i, doc in enumerate(docs, start):
        (folder / f"{i:03}.json").write_text(json.dumps(doc, default=str))
    return start + len(docs)


valid = out / "valid"
n = 0
for path in sorted(pathlib.Path("manifests").glob("*.yaml")):
    n = write(valid, documents(path.read_text()), n)
readme = pathlib.Path("README.md").read_text()
examples = [
    b
    for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
    if "apiVersion: outbound/v1" in b
]
for i, block in enumerate(examples):
    n = write(valid, documents(block), n)
    # As YAML too, for the editor's validator (yaml-language-server reads files).
    (out / "readme").mkdir(parents=True, exist_ok=True)
    (out / "readme" / f"{i:03}.yaml").write_text(block)
print(f"split: {n} valid documents ({len(examples)} README examples)")

syntax = []
entries = sorted(pathlib.Path("tests/invalid").iterdir())
for entry in entries:
    files = [entry] if entry.is_file() else sorted(entry.rglob("*.y*ml"))
    docs = []
    try:
        for f in files:
            docs += documents(f.read_bytes().decode("utf-8"))
    except Exception:  # the YAML reader's own error: what the editor shows
        syntax.append(entry.name)
        continue
    # A folder for every entry that loads, empty when it holds no document.
    write(out / "invalid" / entry.name, docs)
(out / "syntax.txt").write_text("".join(f"{s}\n" for s in syntax))
print(f"split: {len(entries)} catalogue entries, {len(syntax)} not YAML an editor loads")
