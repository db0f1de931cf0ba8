//! `outbound.yaml` read and checked like a manifest: every problem at once, each at its
//! file:line with the field path; its JSON Schema (`outbound schema --project`) is generated
//! from the same raw types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{ALL, Environment, Project};
use crate::manifest::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::manifest::span;

/// The project file as written (the schema is generated from it).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "outbound project file (outbound.yaml)")]
pub struct RawProject {
    /// `outbound/v1`.
    #[schemars(regex(pattern = r"^outbound/v1$"))]
    pub api_version: String,
    /// `Project`.
    #[schemars(regex(pattern = r"^Project$"))]
    pub kind: String,
    /// The environments by name (`--env NAME`); `all` is reserved.
    #[schemars(length(min = 1))]
    pub environments: BTreeMap<String, RawEnvironment>,
}

/// One environment as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawEnvironment {
    /// The AWS account id, 12 digits, quoted (a number loses leading zeros).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: String,
    /// The AWS Region, e.g. `eu-west-1`.
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// The state: a path relative to this file, or `s3://BUCKET/KEY` (default
    /// `.outbound/NAME/state.json`).
    #[serde(default)]
    pub state: Option<String>,
    /// The shared manifests, relative to this file (default `manifests/`).
    #[serde(default)]
    pub manifests: Option<Vec<String>>,
    /// Documents that change, add to or (`metadata.absent: true`) leave out shared ones.
    #[serde(default)]
    pub overlays: Option<Vec<String>>,
    /// `${values.KEY}` in the manifests' specs.
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// An IAM role ARN assumed from the run's credentials for this environment.
    #[serde(default)]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+$"))]
    pub role: Option<String>,
    /// Client-side requests per second per service, as `--rate-limit`: `events=N,transfer=M`.
    #[serde(default)]
    pub rate_limit: Option<String>,
}

const TOP: [&str; 3] = ["apiVersion", "kind", "environments"];
const FIELDS: [&str; 8] = [
    "account",
    "region",
    "state",
    "manifests",
    "overlays",
    "values",
    "role",
    "rateLimit",
];

#[allow(
    clippy::expect_used,
    reason = "the patterns are constants, tested below"
)]
fn pattern(p: &str) -> regex::Regex {
    regex::Regex::new(p).expect("a valid regex")
}

static ENV_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"));
static VALUE_KEY: LazyLock<regex::Regex> = LazyLock::new(|| pattern(r"^[A-Za-z0-9_-]+$"));
static ACCOUNT: LazyLock<regex::Regex> = LazyLock::new(|| pattern(r"^[0-9]{12}$"));
static REGION: LazyLock<regex::Regex> = LazyLock::new(|| pattern(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"));
static ROLE: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/\S+$"));

/// The schema `outbound schema --project` prints.
pub fn schema() -> Value {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<RawProject>();
    schema.insert("$id".into(), "urn:outbound:project:v1".into());
    schema.to_value()
}

/// Reads and checks the project file at `path`.
pub fn read(path: &Path) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::new(
                path,
                format!("cannot read the project file: {e}"),
            ));
            return Err(diags);
        }
    };
    parse(path, &text)
}

/// Checks the project file's `text`; paths in it are relative to `path`'s directory.
pub fn parse(path: &Path, text: &str) -> Result<Project, Diagnostics> {
    let yaml: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let mut d = Diagnostic::new(path, e.to_string());
            if let Some(l) = e.location() {
                d = d.at(l.line(), l.column());
            }
            return Err(Diagnostics(vec![d]));
        }
    };
    let value = serde_json::to_value(&yaml).unwrap_or(Value::Null);
    let mut problems = Vec::new();
    check(&value, &mut problems);
    if !problems.is_empty() {
        let spans = span::index(text);
        let mut diags = Diagnostics::default();
        for (pointer, message, hint) in problems {
            let (line, column) = spans.first().map_or((1, 1), |d| d.locate(&pointer));
            diags.push(
                Diagnostic::new(path, message)
                    .at(line, column)
                    .path(span::display_path(&pointer))
                    .hint(hint),
            );
        }
        return Err(diags.sorted());
    }
    let raw: RawProject = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            return Err(Diagnostics(vec![
                Diagnostic::new(path, e.to_string()).at(1, 1),
            ]));
        }
    };
    Ok(build(path, raw))
}

type Found = Vec<(String, String, Option<String>)>;

/// Every problem of the document, as (pointer, message, hint).
fn check(value: &Value, out: &mut Found) {
    let Value::Object(top) = value else {
        out.push((
            String::new(),
            "the project file must be a mapping".into(),
            Some("it has apiVersion: outbound/v1, kind: Project and environments".into()),
        ));
        return;
    };
    unknown(top, "", &TOP, out);
    if top.get("apiVersion").and_then(Value::as_str) != Some("outbound/v1") {
        out.push(("/apiVersion".into(), "expected `outbound/v1`".into(), None));
    }
    if top.get("kind").and_then(Value::as_str) != Some("Project") {
        out.push(("/kind".into(), "expected `Project`".into(), None));
    }
    let Some(Value::Object(envs)) = top.get("environments") else {
        out.push((
            "/environments".into(),
            "expected a mapping of environments by name".into(),
            Some("e.g. `environments: { staging: { account: \"111122223333\", region: eu-west-1 } }`".into()),
        ));
        return;
    };
    if envs.is_empty() {
        out.push((
            "/environments".into(),
            "no environments declared".into(),
            None,
        ));
    }
    let mut states: BTreeMap<String, String> = BTreeMap::new();
    for (name, env) in envs {
        let at = format!(
            "/environments/{}",
            name.replace('~', "~0").replace('/', "~1")
        );
        if name == ALL {
            out.push((
                at.clone(),
                "`all` is reserved (`--env all` means every environment)".into(),
                None,
            ));
        } else if !ENV_NAME.is_match(name) {
            out.push((
                at.clone(),
                format!("environment name `{name}`: letters, digits, `-`, `_` and `.`, at most 63, starting with a letter or digit"),
                None,
            ));
        }
        check_environment(name, env, &at, out);
        let state = env
            .get("state")
            .and_then(Value::as_str)
            .map_or_else(|| default_state(name), str::to_owned);
        if let Some(first) = states.insert(state.clone(), name.clone()) {
            out.push((
                format!("{at}/state"),
                format!("the state `{state}` is also environment `{first}`'s"),
                Some("each environment needs a state of its own".into()),
            ));
        }
    }
}

fn check_environment(name: &str, env: &Value, at: &str, out: &mut Found) {
    let Value::Object(map) = env else {
        out.push((
            at.to_owned(),
            format!("environment `{name}` must be a mapping"),
            None,
        ));
        return;
    };
    unknown(map, at, &FIELDS, out);
    match map.get("account") {
        None => out.push((
            at.to_owned(),
            "missing required field `account`".into(),
            None,
        )),
        Some(Value::String(a)) if ACCOUNT.is_match(a) => {}
        Some(Value::Number(_)) => out.push((
            format!("{at}/account"),
            "expected the account id as a string".into(),
            Some("quote it (`account: \"011122223333\"`): a number loses leading zeros".into()),
        )),
        Some(_) => out.push((format!("{at}/account"), "expected 12 digits".into(), None)),
    }
    match map.get("region") {
        None => out.push((
            at.to_owned(),
            "missing required field `region`".into(),
            None,
        )),
        Some(Value::String(r)) if REGION.is_match(r) => {}
        Some(_) => out.push((
            format!("{at}/region"),
            "expected an AWS Region such as `eu-west-1`".into(),
            None,
        )),
    }
    if let Some(v) = map.get("state")
        && v.as_str().is_none_or(str::is_empty)
    {
        out.push((
            format!("{at}/state"),
            "expected a path or `s3://BUCKET/KEY`".into(),
            None,
        ));
    }
    for list in ["manifests", "overlays"] {
        if let Some(v) = map.get(list) {
            let ok = v
                .as_array()
                .is_some_and(|a| a.iter().all(|p| p.as_str().is_some_and(|s| !s.is_empty())));
            if !ok {
                out.push((
                    format!("{at}/{list}"),
                    "expected a list of paths".into(),
                    None,
                ));
            }
        }
    }
    if let Some(v) = map.get("values") {
        check_values(v, &format!("{at}/values"), out);
    }
    check_role_and_rate(map, at, out);
}

/// An environment's `role` (an IAM role of its account) and `rateLimit`.
fn check_role_and_rate(map: &serde_json::Map<String, Value>, at: &str, out: &mut Found) {
    if let Some(v) = map.get("role") {
        match v.as_str().and_then(|r| ROLE.captures(r)) {
            None => out.push((
                format!("{at}/role"),
                "expected an IAM role ARN (`arn:aws:iam::ACCOUNT:role/NAME`)".into(),
                None,
            )),
            Some(c) => {
                let account = map
                    .get("account")
                    .map(|a| a.to_string().trim_matches('"').to_owned());
                if account.as_deref().is_some_and(|a| a != &c[1]) {
                    out.push((
                        format!("{at}/role"),
                        format!(
                            "the role is in account {}, the environment in {}",
                            &c[1],
                            account.unwrap_or_default()
                        ),
                        Some("the role assumed must be in the environment's account".into()),
                    ));
                }
            }
        }
    }
    if let Some(v) = map.get("rateLimit") {
        let parsed = v.as_str().map(str::parse::<crate::aws::rate::RateLimits>);
        match parsed {
            Some(Ok(_)) => {}
            Some(Err(e)) => out.push((format!("{at}/rateLimit"), e, None)),
            None => out.push((
                format!("{at}/rateLimit"),
                "expected `events=N,transfer=M` (as --rate-limit)".into(),
                None,
            )),
        }
    }
}

fn check_values(v: &Value, at: &str, out: &mut Found) {
    let Value::Object(values) = v else {
        out.push((
            at.to_owned(),
            "expected a mapping of names to strings".into(),
            None,
        ));
        return;
    };
    for (key, value) in values {
        let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
        if !VALUE_KEY.is_match(key) {
            out.push((
                here.clone(),
                format!("value name `{key}`: letters, digits, `-` and `_`"),
                None,
            ));
        }
        if !value.is_string() {
            out.push((
                here,
                "expected a string".into(),
                Some("quote it: values are substituted into strings".into()),
            ));
        }
    }
}

/// Unknown keys of `map`, with "did you mean".
fn unknown(map: &serde_json::Map<String, Value>, at: &str, known: &[&str], out: &mut Found) {
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let hint = did_you_mean(key, known.iter().copied())
                .or_else(|| Some(format!("the fields are {}", known.join(", "))));
            out.push((
                format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                format!("unknown field `{key}`"),
                hint,
            ));
        }
    }
}

fn default_state(name: &str) -> String {
    format!(".outbound/{name}/state.json")
}

/// The checked raw project as environments, paths made relative to the file's directory.
fn build(path: &Path, raw: RawProject) -> Project {
    let dir = path.parent().unwrap_or(Path::new(""));
    let rel = |p: &str| -> PathBuf {
        if dir.as_os_str().is_empty() {
            PathBuf::from(p)
        } else {
            dir.join(p)
        }
    };
    let environments = raw
        .environments
        .into_iter()
        .map(|(name, e)| {
            let state = match e.state {
                Some(s) if s.starts_with("s3://") => s,
                Some(s) => rel(&s).display().to_string(),
                None => rel(&default_state(&name)).display().to_string(),
            };
            let env = Environment {
                name: name.clone(),
                account: e.account,
                region: e.region,
                state,
                manifests: e
                    .manifests
                    .unwrap_or_else(|| vec!["manifests/".into()])
                    .iter()
                    .map(|p| rel(p))
                    .collect(),
                overlays: e
                    .overlays
                    .unwrap_or_default()
                    .iter()
                    .map(|p| rel(p))
                    .collect(),
                values: e.values.unwrap_or_default(),
                role: e.role,
                rate_limit: e.rate_limit.and_then(|r| r.parse().ok()),
            };
            (name, env)
        })
        .collect();
    Project {
        path: path.to_owned(),
        environments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"apiVersion: outbound/v1
kind: Project
environments:
  staging:
    account: "111122223333"
    region: eu-west-1
    state: s3://acme/staging/state.json
    overlays: [environments/staging/]
    values: { partnerHost: staging.partner.example }
    role: arn:aws:iam::111122223333:role/outbound-plan
    rateLimit: events=20,transfer=5
  production:
    account: "444455556666"
    region: eu-west-1
"#;

    #[test]
    fn a_good_project_file_reads_with_defaults_relative_to_it() {
        let p = parse(Path::new("repo/outbound.yaml"), GOOD).unwrap();
        let s = &p.environments["staging"];
        assert_eq!(s.state, "s3://acme/staging/state.json");
        assert_eq!(
            s.overlays,
            vec![PathBuf::from("repo/environments/staging/")]
        );
        assert_eq!(s.manifests, vec![PathBuf::from("repo/manifests/")]);
        assert_eq!(s.values["partnerHost"], "staging.partner.example");
        assert_eq!(
            s.rate_limit.map(|r| r.events.map(u32::from)),
            Some(Some(20))
        );
        let prod = &p.environments["production"];
        assert_eq!(prod.state, "repo/.outbound/production/state.json");
        assert_eq!(prod.role, None);
    }

    #[test]
    fn every_problem_at_once_at_its_line_with_did_you_mean() {
        let text = r#"apiVersion: outbound/v1
kind: Project
environments:
  staging:
    acount: "111122223333"
    region: eu-west
    values: { n: 3 }
  production:
    account: 444455556666
    region: eu-west-1
    role: arn:aws:iam::111122223333:role/x
    rateLimit: events=0
  all:
    account: "444455556666"
    region: eu-west-1
"#;
        let diags = parse(Path::new("outbound.yaml"), text).unwrap_err();
        let shown: Vec<String> = diags
            .0
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {} {}",
                    d.line.unwrap_or(0),
                    d.path.clone().unwrap_or_default(),
                    d.message,
                    d.hint.clone().unwrap_or_default()
                )
            })
            .collect();
        let all = shown.join("\n");
        for expected in [
            "5:environments.staging.acount unknown field `acount` did you mean `account`?",
            "4:environments.staging missing required field `account`",
            "6:environments.staging.region expected an AWS Region",
            "7:environments.staging.values.n expected a string",
            "9:environments.production.account expected the account id as a string",
            "11:environments.production.role the role is in account 111122223333, the environment in 444455556666",
            "12:environments.production.rateLimit ",
            "13:environments.all `all` is reserved",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
    }

    #[test]
    fn two_environments_with_one_state_are_refused() {
        let text = r#"apiVersion: outbound/v1
kind: Project
environments:
  a: { account: "111122223333", region: eu-west-1, state: s.json }
  b: { account: "111122223333", region: eu-west-1, state: s.json }
"#;
        let diags = parse(Path::new("outbound.yaml"), text).unwrap_err();
        assert_eq!(diags.0.len(), 1, "{diags}");
        assert!(
            diags.0[0].message.contains("also environment `a`'s"),
            "{diags}"
        );
        assert_eq!(diags.0[0].line, Some(5));
    }

    #[test]
    fn the_schema_accepts_a_good_file_and_refuses_an_unknown_field() {
        let schema = schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let good: serde_json::Value =
            serde_json::to_value(serde_yaml::from_str::<serde_yaml::Value>(GOOD).unwrap()).unwrap();
        assert!(validator.is_valid(&good));
        let mut bad = good.clone();
        bad["environments"]["staging"]["acount"] = "1".into();
        assert!(!validator.is_valid(&bad));
    }
}
