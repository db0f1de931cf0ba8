//! The JSON Schema of the manifest format, generated from the Rust types, and the per-kind
//! validators built from it. Schema errors become [`Problem`]s that never quote a value that
//! could be a secret.

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::{Value, json};

use super::diag::{Problem, did_you_mean};
use crate::resource::{Kind, Manifest};

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(drop_null))
        .with_transform(RecursiveTransform(integer_bounds))
}

/// An optional field is absent, never `null`: schemars gives `Option<T>` a null branch, which
/// would also hide the errors inside `T` behind an `anyOf`; take it out.
fn drop_null(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = obj.get_mut("anyOf") {
        branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
        if branches.len() == 1 {
            let only = branches.remove(0);
            obj.remove("anyOf");
            if let Value::Object(inner) = only {
                obj.extend(inner);
            }
        }
    }
}

/// schemars writes an `i32` as `format: int32`, a format validators do not check (and Ajv's
/// strict mode refuses as unknown): its range as `minimum`/`maximum` instead, so
/// `3000000000` is an error at its field, in the editor and in `validate`.
fn integer_bounds(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let (min, max) = match obj.get("format").and_then(Value::as_str) {
        Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
        Some("uint32") => (0, i64::from(u32::MAX)),
        _ => return,
    };
    obj.remove("format");
    obj.entry("minimum").or_insert(min.into());
    obj.entry("maximum").or_insert(max.into());
}

/// The schema `outbound schema` prints: every document, its `kind` dispatching (`if`/`then`)
/// to the schema of that kind's document.
pub fn manifest_schema() -> Value {
    let mut schema = settings()
        .into_generator()
        .into_root_schema_for::<Manifest>()
        .to_value();
    dispatch_on_kind(&mut schema);
    schema["$id"] = "urn:outbound:manifest:v1".into();
    schema
}

/// The `$defs` name of a kind's document schema.
fn document_def(kind: &str) -> String {
    format!("{kind}Document")
}

/// schemars writes the tagged `Manifest` as a `oneOf` of its variants, told apart by `kind`
/// alone: a validator then reports every variant's errors, and names the wrong kind's `spec`.
/// Each variant becomes `$defs/<Kind>Document`, chosen by `if kind is <Kind>`; `kind` itself is
/// one of the kinds. Built from the variants schemars found, so a new kind joins by itself.
fn dispatch_on_kind(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    let Some(Value::Array(variants)) = root.remove("oneOf") else {
        return;
    };
    let mut kinds = Vec::new();
    let mut rules = Vec::new();
    let mut defs = serde_json::Map::new();
    for variant in variants {
        let Some(kind) = variant
            .pointer("/properties/kind/const")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        rules.push(json!({
            "if": {"type": "object", "properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"$ref": format!("#/$defs/{}", document_def(&kind))},
        }));
        defs.insert(document_def(&kind), variant);
        kinds.push(kind);
    }
    if let Some(Value::Object(d)) = root.get_mut("$defs") {
        d.extend(defs);
    }
    root.insert("type".into(), "object".into());
    root.insert(
        "required".into(),
        json!(["apiVersion", "kind", "metadata", "spec"]),
    );
    root.insert(
        "properties".into(),
        json!({"kind": {"description": "The kind of resource the document declares.", "enum": kinds}}),
    );
    root.insert("allOf".into(), Value::Array(rules));
}

/// The schema `validate` checks one document of `kind` against: the kind's document from the
/// printed schema, without the editor-only rules (each spec's `allOf`), which the kind's
/// `check` states in its own words (and locates at the field it is about).
fn doc_schema(manifest: &Value, kind: Kind) -> Value {
    let mut defs = manifest["$defs"].clone();
    if let Value::Object(d) = &mut defs {
        for def in d.values_mut() {
            if let Value::Object(o) = def {
                o.remove("allOf");
            }
        }
    }
    json!({
        "$schema": manifest["$schema"],
        "$defs": defs,
        "$ref": format!("#/$defs/{}", document_def(kind.as_str())),
    })
}

struct KindSchema {
    kind: Kind,
    schema: Value,
    validator: Validator,
}

impl KindSchema {
    fn new(manifest: &Value, kind: Kind) -> Self {
        let schema = doc_schema(manifest, kind);
        // The schema is generated from our own types; failing to compile it is a bug.
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("generated schema does not compile: {e}"));
        KindSchema {
            kind,
            schema,
            validator,
        }
    }
}

static SCHEMAS: LazyLock<Vec<KindSchema>> = LazyLock::new(|| {
    let manifest = manifest_schema();
    Kind::ALL
        .into_iter()
        .map(|kind| KindSchema::new(&manifest, kind))
        .collect()
});

fn schema_for(kind: Kind) -> &'static KindSchema {
    SCHEMAS
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("no schema for {kind}: every kind is a variant of Manifest"))
}

/// Every schema problem of one document of `kind`.
pub fn check(kind: Kind, doc: &Value) -> Vec<Problem> {
    let ks = schema_for(kind);
    let mut out = Vec::new();
    for err in ks.validator.iter_errors(doc) {
        describe(&err, &ks.schema, doc, &mut out);
    }
    // An enum error says what a type error would, and more: say it once.
    let enums: Vec<String> = out
        .iter()
        .filter(|p| p.message.contains("is not one of") || p.message.starts_with("expected one of"))
        .map(|p| p.pointer.clone())
        .collect();
    out.retain(|p| !(p.message.starts_with("expected a") && enums.contains(&p.pointer)));
    out
}

fn describe(err: &ValidationError<'_>, root: &Value, doc: &Value, out: &mut Vec<Problem>) {
    let pointer = err.instance_path().as_str().to_owned();
    let here = schema_at(root, &pointer);
    let instance = doc.pointer(&pointer);
    let problem = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unknown_fields(&pointer, here, unexpected, out);
            return;
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            Problem::new(pointer, format!("missing required field `{name}`"))
        }
        ValidationErrorKind::Enum { options } => enum_problem(pointer, options, instance),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => json_type(&t.to_string()).to_owned(),
                TypeKind::Multiple(ts) => ts
                    .into_iter()
                    .map(|t| json_type(&t.to_string()).to_owned())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            Problem::new(
                pointer,
                format!("expected {expected}, found {}", type_name(instance)),
            )
        }
        ValidationErrorKind::Pattern { pattern } => {
            Problem::new(pointer, format!("does not match the pattern `{pattern}`"))
        }
        ValidationErrorKind::MinLength { limit } => {
            Problem::new(pointer, format!("must have at least {limit} characters"))
        }
        ValidationErrorKind::MaxLength { limit } => {
            Problem::new(pointer, format!("must have at most {limit} characters"))
        }
        ValidationErrorKind::MinItems { limit } => {
            Problem::new(pointer, format!("must have at least {limit} items"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            Problem::new(pointer, format!("must have at most {limit} items"))
        }
        ValidationErrorKind::MaxProperties { limit } => {
            Problem::new(pointer, format!("must have at most {limit} entries"))
        }
        ValidationErrorKind::Minimum { limit } => {
            Problem::new(pointer, format!("must be at least {limit}"))
        }
        ValidationErrorKind::Maximum { limit } => {
            Problem::new(pointer, format!("must be at most {limit}"))
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
            if is_secret(root, here) =>
        {
            secret_problem(
                pointer,
                instance,
                here.is_some_and(|h| title(root, h) != Some("SecretRef")),
            )
        }
        _ => Problem::new(pointer, "is not valid here"),
    };
    out.push(problem);
}

/// An unknown field each, with the closest known one or the list of them as a hint.
fn unknown_fields(
    pointer: &str,
    here: Option<&Value>,
    unexpected: &[String],
    out: &mut Vec<Problem>,
) {
    let known: Vec<&str> = here
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();

    for field in unexpected {
        let hint = did_you_mean(field, known.iter().copied())
            .unwrap_or_else(|| format!("expected one of: {}", known.join(", ")));
        out.push(
            Problem::new(
                format!("{pointer}/{}", escape(field)),
                format!("unknown field `{field}`"),
            )
            .hint(hint),
        );
    }
}

/// A value not among `options`: the closest one as a hint.
fn enum_problem(pointer: String, options: &Value, instance: Option<&Value>) -> Problem {
    let options: Vec<&str> = options
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match instance.and_then(Value::as_str) {
        Some(got) => Problem::new(
            pointer,
            format!("`{got}` is not one of {}", options.join(", ")),
        )
        .hint(
            did_you_mean(got, options.iter().copied())
                .unwrap_or_else(|| format!("use one of {}", options.join(", "))),
        ),
        None => Problem::new(
            pointer,
            format!(
                "expected one of {}, found {}",
                options.join(", "),
                type_name(instance)
            ),
        ),
    }
}

fn secret_problem(pointer: String, instance: Option<&Value>, literal_allowed: bool) -> Problem {
    let form = "`{ fromEnv: NAME }` or `{ fromFile: path }`";
    match instance {
        Some(Value::String(_)) if !literal_allowed => {
            Problem::new(pointer, "a secret cannot be written as a literal value")
                .hint(format!("write {form}, and keep the value out of git"))
        }
        _ if literal_allowed => Problem::new(
            pointer,
            format!(
                "expected a string or a secret reference, found {}",
                type_name(instance)
            ),
        )
        .hint(format!("write a literal string, or {form}")),
        Some(Value::Object(o)) => {
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            let sources = ["fromEnv", "fromFile"];
            match keys.iter().find(|k| !sources.contains(k)) {
                Some(unknown) => Problem::new(
                    format!("{pointer}/{}", escape(unknown)),
                    format!("unknown secret source `{unknown}`"),
                )
                .hint(did_you_mean(unknown, sources).unwrap_or_else(|| format!("write {form}"))),
                None if keys.len() > 1 => Problem::new(
                    pointer,
                    "a secret reference has exactly one of `fromEnv` and `fromFile`, found both",
                ),
                None => Problem::new(pointer, "expected a secret reference")
                    .hint(format!("write {form}")),
            }
        }
        _ => Problem::new(
            pointer,
            format!("expected a secret reference, found {}", type_name(instance)),
        )
        .hint(format!("write {form}")),
    }
}

/// JSON Schema's type names in the words of YAML users.
fn json_type(t: &str) -> &'static str {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        _ => "another type",
    }
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None | Some(Value::Null) => "nothing",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(n)) if n.is_f64() => "a number with a fraction",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "a list",
        Some(Value::Object(_)) => "a mapping",
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn deref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .map_or(node, |n| deref(root, n)),
        None => node,
    }
}

fn title<'a>(root: &'a Value, node: &'a Value) -> Option<&'a str> {
    deref(root, node).get("title").and_then(Value::as_str)
}

/// The sub-schema that governs the instance at `pointer`.
fn schema_at<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = root;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        let n = deref(root, node);
        node = n
            .get("properties")
            .and_then(|p| p.get(&seg))
            .or_else(|| n.get("items"))
            .or_else(|| n.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    Some(deref(root, node))
}

fn is_secret(root: &Value, here: Option<&Value>) -> bool {
    let Some(here) = here else { return false };
    if title(root, here) == Some("SecretRef") {
        return true;
    }
    here.get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|branches| branches.iter().any(|b| title(root, b) == Some("SecretRef")))
}
