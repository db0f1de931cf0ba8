//! Files in, YAML documents out: paths walked recursively, each document parsed into a JSON
//! value. Syntax errors are located by serde_yaml; nothing here knows the kinds.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diag::{Diagnostic, Diagnostics};
use super::span::{self, DocSpans};

/// One manifest file, with its field positions computed only if a problem needs them.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    spans: OnceCell<Vec<DocSpans>>,
}

impl SourceFile {
    /// Line and column of `pointer` in document `doc`.
    pub fn locate(&self, doc: usize, pointer: &str) -> (usize, usize) {
        self.spans
            .get_or_init(|| span::index(&self.text))
            .get(doc)
            .map_or((1, 1), |d| d.locate(pointer))
    }

    /// The directory secret files are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// A non-empty document: the file it is in, its index there, and its content.
pub struct RawDoc {
    pub file: usize,
    pub index: usize,
    pub value: serde_json::Value,
}

#[derive(Default)]
pub struct Loaded {
    pub files: Vec<SourceFile>,
    pub docs: Vec<RawDoc>,
    /// Fields an environment's overlay set in a document (`project::overlay`), by the
    /// document's `(file, index)`: a problem in one names the overlay's file and line.
    pub overrides: std::collections::BTreeMap<(usize, usize), Vec<Override>>,
}

/// A field of a merged document that an overlay document set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Where the field is in the merged document (a JSON pointer).
    pub pointer: String,
    /// The overlay's file (an index into [`Loaded::files`]) and document index in it.
    pub file: usize,
    pub index: usize,
    /// Where the field is in the overlay document (list items merged by key may sit at
    /// another index there).
    pub source: String,
}

impl Loaded {
    /// The file, document and pointer that set `pointer` of `raw`: the overlay that set it
    /// or one of its ancestors (the deepest), else `raw`'s own.
    pub fn source_of(&self, raw: &RawDoc, pointer: &str) -> (usize, usize, String) {
        let set_by = self.overrides.get(&(raw.file, raw.index)).and_then(|list| {
            list.iter()
                .filter_map(|o| {
                    let rest = pointer.strip_prefix(o.pointer.as_str())?;
                    (rest.is_empty() || rest.starts_with('/')).then_some((o, rest))
                })
                .max_by_key(|(o, _)| o.pointer.len())
        });
        match set_by {
            Some((o, rest)) => (o.file, o.index, format!("{}{rest}", o.source)),
            None => (raw.file, raw.index, pointer.to_owned()),
        }
    }

    /// The file, line and column that set `pointer` of `raw` (see [`Loaded::source_of`]).
    pub fn locate(&self, raw: &RawDoc, pointer: &str) -> (&SourceFile, usize, usize) {
        let (file, index, pointer) = self.source_of(raw, pointer);
        let file = &self.files[file];
        let (line, column) = file.locate(index, &pointer);
        (file, line, column)
    }

    /// Takes in `other`'s files and documents; returns the index of its first file here.
    pub fn append(&mut self, other: Loaded) -> usize {
        let offset = self.files.len();
        self.files.extend(other.files);
        self.docs.extend(other.docs.into_iter().map(|d| RawDoc {
            file: d.file + offset,
            ..d
        }));
        offset
    }
}

/// How to load: what an empty manifest set means.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// An existing file or directory without any document is fine: the manifests then
    /// declare nothing, and a plan removes everything the state manages. Without it, an empty
    /// file or directory is an error (it is more often a mistake than a wish).
    pub allow_empty: bool,
}

/// The hint of an empty manifest set, which only `--allow-empty` makes valid.
const ALLOW_EMPTY_HINT: &str = "to remove every resource the state manages on purpose, \
    pass `--allow-empty` to `outbound plan` and `outbound apply`";

/// Reads every manifest under `paths`; problems go to `diags`, what could be read is returned.
/// A file reached twice (named twice, or through a symlink and directly) is read once.
pub fn load(paths: &[PathBuf], options: Options, diags: &mut Diagnostics) -> Loaded {
    let mut loaded = Loaded::default();
    let mut seen = HashSet::new();
    let mut empty_dirs = Vec::new();
    let mut empty_files = Vec::new();
    for path in paths {
        let files = manifest_files(path, diags);
        if files.is_empty() && path.is_dir() {
            empty_dirs.push(path.clone());
        }
        for file in files {
            // Symlinks are followed, so the same file can be reached by several paths.
            let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if seen.insert(identity) && read_file(file.clone(), &mut loaded, diags) == 0 {
                empty_files.push(file);
            }
        }
    }
    // A file without documents among others that have some is a resource commented out,
    // a normal edit; only a whole set without documents is suspicious.
    if !loaded.docs.is_empty() {
        empty_files.clear();
    }
    if !options.allow_empty {
        let hint = |default: &str| {
            if loaded.docs.is_empty() {
                format!("{default}; {ALLOW_EMPTY_HINT}")
            } else {
                default.to_owned()
            }
        };
        for dir in empty_dirs {
            diags.push(
                Diagnostic::new(dir, "no manifests here")
                    .hint(Some(hint("manifests are files ending in .yaml or .yml"))),
            );
        }
        for file in empty_files {
            diags.push(
                Diagnostic::new(file, "no documents in this file")
                    .at(1, 1)
                    .hint(Some(hint(
                        "a manifest has apiVersion, kind, metadata and spec",
                    ))),
            );
        }
    }
    loaded
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The files a path names: itself, or every `*.yaml`/`*.yml` below it, sorted. Symlinks to
/// files and directories are followed; a symlink loop is an error naming the link.
fn manifest_files(path: &Path, diags: &mut Diagnostics) -> Vec<PathBuf> {
    if !path.is_dir() {
        if !path.exists() {
            diags.push(Diagnostic::new(path, "no such file or directory"));
            return Vec::new();
        }
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walk {
        match entry {
            Ok(e) if e.file_type().is_file() && is_manifest(e.path()) => {
                files.push(e.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                let at = e.path().unwrap_or(path).to_owned();
                let broken = at.symlink_metadata().is_ok() && !at.exists();
                let message = match (e.loop_ancestor(), e.io_error()) {
                    (Some(ancestor), _) => format!(
                        "symlink loop: this leads back to {}, which is already being read",
                        ancestor.display()
                    ),
                    (None, _) if broken => {
                        "a symlink to nothing (its target does not exist)".into()
                    }
                    (None, Some(io)) => format!("cannot read: {io}"),
                    (None, None) => format!("cannot read: {e}"),
                };
                diags.push(Diagnostic::new(at, message));
            }
        }
    }
    files
}

/// Reads one file into `loaded`; the number of documents found (a syntax error counts as one).
fn read_file(path: PathBuf, loaded: &mut Loaded, diags: &mut Diagnostics) -> usize {
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::new(&path, format!("cannot read: {e}")));
            return 1;
        }
    };
    let text = match String::from_utf8(bytes) {
        // A UTF-8 byte-order mark is not part of the YAML (editors on Windows write one), at
        // the file's start or at a later document's (files concatenated).
        Ok(t) => without_boms(t),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            diags.push(
                Diagnostic::new(&path, "the file is not valid UTF-8")
                    .at(line, column)
                    .hint(Some("save manifests as UTF-8".into())),
            );
            return 1;
        }
    };
    let file = loaded.files.len();
    let mut found = 0;
    let mut tagged = Vec::new();
    for (index, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        // Through serde_yaml's own Value: it rejects duplicate keys, with their location.
        match serde_yaml::Value::deserialize(de) {
            Ok(serde_yaml::Value::Null) => {}
            // As JSON it would be `{"!tag": …}`, reported as "missing field `kind`".
            Ok(serde_yaml::Value::Tagged(t)) => {
                found += 1;
                tagged.push((index, t.tag.to_string()));
            }
            Ok(mut yaml) => {
                found += 1;
                // YAML merge keys (`<<: *common`) share a block between documents: merged
                // here, as YAML 1.1 readers (and editors) do; keys written beside `<<` win.
                if let Err(e) = yaml.apply_merge() {
                    // serde_yaml does not locate it: the first `<<` key of the file.
                    let line = text
                        .lines()
                        .position(|l| l.trim_start().trim_start_matches("- ").starts_with("<<"))
                        .map_or(1, |i| i + 1);
                    diags.push(
                        Diagnostic::new(&path, format!("a YAML merge key (`<<`): {e}"))
                            .at(line, 1)
                            .hint(Some(
                                "write `<<: *anchor` or `<<: [*a, *b]` with anchors of mappings, \
                                 or write the fields out"
                                    .into(),
                            )),
                    );
                    continue;
                }
                match serde_json::to_value(&yaml) {
                    Ok(mut value) => {
                        whole_numbers(&mut value);
                        loaded.docs.push(RawDoc { file, index, value })
                    }
                    Err(e) => diags.push(
                        Diagnostic::new(&path, format!("{e}"))
                            .at(1, 1)
                            .hint(Some("mapping keys are plain strings".into())),
                    ),
                }
            }
            Err(e) => {
                diags.push(yaml_error(&path, &text, &e));
                // The parser cannot be trusted past a syntax error.
                found += 1;
                break;
            }
        }
    }
    let source = SourceFile {
        path,
        text,
        spans: OnceCell::new(),
    };
    for (index, tag) in tagged {
        let (line, column) = source.locate(index, "");
        diags.push(
            Diagnostic::new(
                &source.path,
                format!(
                    "a YAML tag (`{tag}`) on a whole document is not part of the manifest format"
                ),
            )
            .at(line, column)
            .hint(Some(
                "remove the tag: `kind:` says what the document is".into(),
            )),
        );
    }
    loaded.files.push(source);
    found
}

/// `text` without the byte-order marks YAML allows before a document: at the start, and on
/// the line after a `---` or `...` marker (serde_yaml would read one as part of a key). The
/// mark is invisible, so dropping it keeps every line and visible column where it was.
fn without_boms(text: String) -> String {
    const BOM: char = '\u{feff}';
    if !text.contains(BOM) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut after_marker = true;
    for line in text.split_inclusive('\n') {
        let line = match line.strip_prefix(BOM) {
            Some(rest) if after_marker => rest,
            _ => line,
        };
        after_marker = line.starts_with("---") || line.starts_with("...");
        out.push_str(line);
    }
    out
}

/// `50.0` is the whole number 50, as JSON Schema counts it (`type: integer`) and as the
/// editor then shows it: read as the integer, so `validate` agrees with the editor instead of
/// failing on a float where a whole number belongs. `50.5` stays a float (a schema error at
/// its field).
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64())
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: |f| < 2^53, so the cast neither rounds nor saturates.
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A serde_yaml error as a diagnostic, its location split from its message.
fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let mut message = e.to_string();
    let mut d = Diagnostic::new(path, "");
    if let Some(loc) = e.location() {
        d = d.at(loc.line(), loc.column());
        let line = text.lines().nth(loc.line().saturating_sub(1)).unwrap_or("");
        if line.starts_with('\t') || line.trim_start_matches(' ').starts_with('\t') {
            d = d.hint(Some(
                "YAML does not allow tabs for indentation; use spaces".into(),
            ));
        } else if message.contains("duplicate entry") {
            d = d.hint(Some("each key may appear once in a mapping".into()));
        }
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(i) = message.find(&suffix) {
            message.replace_range(i..i + suffix.len(), "");
        }
    } else {
        // serde_yaml locates nothing for its limits (aliases that expand too far): the file
        // is still named, at its start, so every problem has a line.
        d = d.at(1, 1);
        if message.contains("repetition limit") {
            d = d.hint(Some(
                "aliases (`*name`) here expand to too many values; write them out".into(),
            ));
        }
    }
    d.message = message;
    d
}
