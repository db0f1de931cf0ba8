//! Files in, YAML documents out: paths walked recursively, each document parsed into a JSON
//! value. Syntax errors are located by serde_yaml; nothing here knows the kinds.

use std::cell::OnceCell;
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
}

/// Reads every manifest under `paths`; problems go to `diags`, what could be read is returned.
pub fn load(paths: &[PathBuf], diags: &mut Diagnostics) -> Loaded {
    let mut loaded = Loaded::default();
    for path in paths {
        for file in manifest_files(path, diags) {
            read_file(file, &mut loaded, diags);
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

/// The files a path names: itself, or every `*.yaml`/`*.yml` below it, sorted.
fn manifest_files(path: &Path, diags: &mut Diagnostics) -> Vec<PathBuf> {
    if !path.is_dir() {
        if !path.exists() {
            diags.push(Diagnostic::new(path, "no such file or directory"));
            return Vec::new();
        }
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        match entry {
            Ok(e) if e.file_type().is_file() && is_manifest(e.path()) => {
                files.push(e.into_path());
            }
            Ok(_) => {}
            Err(e) => {
                let at = e.path().unwrap_or(path).to_owned();
                diags.push(Diagnostic::new(at, format!("cannot read: {e}")));
            }
        }
    }
    if files.is_empty() {
        diags.push(
            Diagnostic::new(path, "no manifests here")
                .hint(Some("manifests are files ending in .yaml or .yml".into())),
        );
    }
    files
}

fn read_file(path: PathBuf, loaded: &mut Loaded, diags: &mut Diagnostics) {
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::new(&path, format!("cannot read: {e}")));
            return;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            diags.push(
                Diagnostic::new(&path, "the file is not valid UTF-8")
                    .at(line, column)
                    .hint(Some("save manifests as UTF-8".into())),
            );
            return;
        }
    };
    let file = loaded.files.len();
    let mut found = 0;
    for (index, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        // Through serde_yaml's own Value: it rejects duplicate keys, with their location.
        match serde_yaml::Value::deserialize(de) {
            Ok(serde_yaml::Value::Null) => {}
            Ok(yaml) => {
                found += 1;
                match serde_json::to_value(&yaml) {
                    Ok(value) => loaded.docs.push(RawDoc { file, index, value }),
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
    if found == 0 {
        diags.push(
            Diagnostic::new(&path, "no documents in this file")
                .at(1, 1)
                .hint(Some(
                    "a manifest has apiVersion, kind, metadata and spec".into(),
                )),
        );
    }
    loaded.files.push(SourceFile {
        path,
        text,
        spans: OnceCell::new(),
    });
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
    }
    d.message = message;
    d
}
