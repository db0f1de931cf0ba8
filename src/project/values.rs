//! `${env.name}`, `${env.account}`, `${env.region}` and `${values.KEY}` in the string values
//! of a document's `spec`; `$${` is a literal `${`. Nothing else: no expressions, no
//! defaults; an unknown name is a problem at its field.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::manifest::diag::did_you_mean;
use crate::resource::problem::Problem;

/// The names a run of one environment knows.
pub struct Values<'a> {
    pub name: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub values: &'a BTreeMap<String, String>,
}

impl Values<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "env.name" => Some(self.name),
            "env.account" => Some(self.account),
            "env.region" => Some(self.region),
            _ => name
                .strip_prefix("values.")
                .and_then(|k| self.values.get(k))
                .map(String::as_str),
        }
    }

    fn known(&self) -> Vec<String> {
        ["env.name", "env.account", "env.region"]
            .into_iter()
            .map(str::to_owned)
            .chain(self.values.keys().map(|k| format!("values.{k}")))
            .collect()
    }

    /// Substitutes every string under `/spec` of `doc`; problems are located by pointer.
    pub fn substitute(&self, doc: &mut Value, problems: &mut Vec<Problem>) {
        if let Some(spec) = doc.get_mut("spec") {
            self.walk(spec, "/spec", problems);
        }
    }

    fn walk(&self, value: &mut Value, at: &str, problems: &mut Vec<Problem>) {
        match value {
            Value::String(s) if s.contains("${") => match self.expand(s) {
                Ok(done) => *s = done,
                Err(p) => problems.push(Problem {
                    pointer: at.to_owned(),
                    ..p
                }),
            },
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    self.walk(v, &here, problems);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.walk(v, &format!("{at}/{i}"), problems);
                }
            }
            _ => {}
        }
    }

    /// One string with its placeholders replaced (the problem's pointer is left empty).
    pub fn expand(&self, s: &str) -> Result<String, Problem> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            if rest[..i].ends_with('$') {
                // `$${`: a literal `${`.
                out.push_str(&rest[..i - 1]);
                out.push_str("${");
                rest = &rest[i + 2..];
                continue;
            }
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                return Err(Problem::new("", "a `${` without its closing `}`")
                    .hint("write `$${` for a literal `${`"));
            };
            let name = after[..end].trim();
            match self.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    let known = self.known();
                    let hint =
                        did_you_mean(name, known.iter().map(String::as_str)).unwrap_or_else(|| {
                            format!(
                                "known here: {}; `$${{` is a literal `${{`",
                                known
                                    .iter()
                                    .map(|k| format!("${{{k}}}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        });
                    return Err(Problem::new("", format!("unknown value `${{{name}}}`")).hint(hint));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(values: &BTreeMap<String, String>) -> Values<'_> {
        Values {
            name: "staging",
            account: "111122223333",
            region: "eu-west-1",
            values,
        }
    }

    #[test]
    fn env_and_values_are_substituted_in_spec_strings_only() {
        let values = BTreeMap::from([("host".to_owned(), "staging.partner.example".to_owned())]);
        let mut doc = json!({
            "metadata": {"name": "${env.name}"},
            "spec": {
                "invocationEndpoint": "https://${values.host}/v2",
                "tags": {"env": "${env.name}", "where": "${env.account}/${env.region}"},
                "list": ["${ env.name }", 3, true]
            }
        });
        let mut problems = Vec::new();
        with(&values).substitute(&mut doc, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            doc,
            json!({
                "metadata": {"name": "${env.name}"},
                "spec": {
                    "invocationEndpoint": "https://staging.partner.example/v2",
                    "tags": {"env": "staging", "where": "111122223333/eu-west-1"},
                    "list": ["staging", 3, true]
                }
            })
        );
    }

    #[test]
    fn an_escaped_placeholder_is_literal() {
        let values = BTreeMap::new();
        let v = with(&values);
        assert_eq!(v.expand("a $${env.name} b").unwrap(), "a ${env.name} b");
        assert_eq!(v.expand("$$${env.name}").unwrap(), "$${env.name}");
        assert_eq!(v.expand("cost $5 {x}").unwrap(), "cost $5 {x}");
    }

    #[test]
    fn an_unknown_value_is_a_problem_at_its_field_with_did_you_mean() {
        let values = BTreeMap::from([("partnerHost".to_owned(), "h".to_owned())]);
        let mut doc = json!({"spec": {"a": {"b": ["ok", "https://${values.partnerHots}"]}, "c": "${nope}", "d": "${env.name"}});
        let mut problems = Vec::new();
        with(&values).substitute(&mut doc, &mut problems);
        let shown: Vec<(String, String, Option<String>)> = problems
            .into_iter()
            .map(|p| (p.pointer, p.message, p.hint))
            .collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert_eq!(shown[0].0, "/spec/a/b/1");
        assert_eq!(shown[0].1, "unknown value `${values.partnerHots}`");
        assert_eq!(
            shown[0].2.as_deref(),
            Some("did you mean `values.partnerHost`?")
        );
        assert_eq!(shown[1].0, "/spec/c");
        assert!(
            shown[1]
                .2
                .as_deref()
                .unwrap()
                .contains("${values.partnerHost}"),
            "{shown:?}"
        );
        assert_eq!(shown[2].0, "/spec/d");
        assert_eq!(shown[2].1, "a `${` without its closing `}`");
    }
}
