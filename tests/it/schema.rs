//! `outbound schema` describes the manifests users write: every example validates against it,
//! and it rejects what `validate` rejects at the schema level.

use std::path::Path;

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let out = Command::cargo_bin("outbound")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success(), "outbound schema failed: {out:?}");
    let schema: Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn every_example_manifest_validates_against_the_schema() {
    let validator = schema();
    let mut seen = 0;
    for entry in std::fs::read_dir("manifests").unwrap() {
        let path = entry.unwrap().path();
        for doc in documents(&path) {
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            seen += 1;
        }
    }
    assert_eq!(seen, 9, "the examples hold 9 documents");
}

#[test]
fn the_schema_rejects_bad_enums_unknown_fields_and_literal_secrets() {
    let validator = schema();
    let base = documents(Path::new("manifests/connections.yaml")).remove(0);
    let cases: [(&str, Value); 4] = [
        ("/spec/authorizationType", "APIKEY".into()),
        (
            "/spec/authParameters/apiKeyAuthParameters/apiKeyValue",
            "literal".into(),
        ),
        ("/kind", "Conection".into()),
        ("/metadata/name", "has spaces".into()),
    ];
    for (pointer, value) in cases {
        let mut doc = base.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        assert!(!validator.is_valid(&doc), "{pointer} should be rejected");
    }
    let mut doc = base.clone();
    doc["spec"]["descripton"] = "typo".into();
    assert!(!validator.is_valid(&doc), "unknown fields are rejected");
}
