//! Manifests in, validated desired state out: load, check every document against the schema
//! and the rules of its kind, then check the documents against each other. Every problem of
//! a run is reported, none after the first is dropped.

pub mod constraints;
pub mod diag;
pub mod load;
pub mod schema;
pub mod secret;
pub mod span;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::graph::Graph;
use crate::resource::{Address, ConnectorId, Kind, Manifest, Spec};
use diag::{Diagnostic, Diagnostics, Problem, did_you_mean};
use load::{Loaded, RawDoc};
use secret::SecretValue;

/// Where a resource was declared: its file and the document's index in it (its line is
/// computed only when a diagnostic needs it, so valid input is parsed once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub document: usize,
}

/// One resource as the manifests want it.
#[derive(Debug, Clone)]
pub struct DesiredResource {
    pub address: Address,
    pub origin: Origin,
    pub protect: bool,
    pub spec: Spec,
    /// Resolved secret values by JSON pointer into the document (`/spec/authParameters/…`).
    pub secrets: BTreeMap<String, SecretValue>,
    /// `metadata.adopt`: take over the resource AWS holds (see [`Adoption`]).
    pub adopt: Option<Adoption>,
}

/// What `metadata.adopt` asks for, checked against the document's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// A connection or API destination, found by its name (`adopt: true`).
    ByName,
    /// A connector, by its id (`adopt: c-…`).
    Connector(ConnectorId),
    /// A resource of another kind known by an id AWS assigns (a certificate, a profile), by
    /// that id (`adopt: cert-…`, `adopt: p-…`).
    Id(crate::resource::ResourceId),
}

/// Everything the manifests declare, checked, with its dependency graph.
#[derive(Debug)]
pub struct DesiredState {
    pub resources: BTreeMap<Address, DesiredResource>,
    pub graph: Graph,
    pub files: usize,
}

/// A document that passed the schema and the rules of its kind.
struct Checked<'a> {
    raw: &'a RawDoc,
    address: Address,
    protect: bool,
    adopt: Option<Adoption>,
    spec: Spec,
}

/// Validates the manifests under `paths`, secrets resolved; an empty manifest set is an error.
pub fn validate(paths: &[PathBuf]) -> Result<DesiredState, Diagnostics> {
    validate_with(paths, load::Options::default(), true)
}

/// Validates the manifests under `paths`, with `options` (e.g. whether an empty set is
/// valid); with `resolve_secrets: false` (`--secrets skip`) no secret is resolved and every
/// resource's `secrets` is empty.
pub fn validate_with(
    paths: &[PathBuf],
    options: load::Options,
    resolve_secrets: bool,
) -> Result<DesiredState, Diagnostics> {
    let mut diags = Diagnostics::default();
    let loaded = load::load(paths, options, &mut diags);
    validate_loaded(&loaded, diags, resolve_secrets)
}

/// Validates documents already loaded (an environment's merged set, `project`), adding to
/// the problems `diags` holds already.
#[allow(
    clippy::expect_used,
    reason = "a document that passed its checks has an address"
)]
pub fn validate_loaded(
    loaded: &Loaded,
    mut diags: Diagnostics,
    resolve_secrets: bool,
) -> Result<DesiredState, Diagnostics> {
    let mut checked = Vec::new();
    for raw in &loaded.docs {
        let (address, result) = check_document(raw);
        match result {
            Ok((protect, adopt, spec)) => checked.push(Checked {
                raw,
                address: address.expect("a checked document has an address"),
                protect,
                adopt,
                spec,
            }),
            Err(problems) => report(loaded, raw, address.as_ref(), problems, &mut diags),
        }
    }
    let (resources, raws) = check_across(loaded, checked, resolve_secrets, &mut diags);
    let graph = Graph::build(resources.iter().map(|(a, r)| (a, &r.spec)));
    if let Err(cycle) = graph.order()
        && let Some(raw) = cycle.0.first().and_then(|a| raws.get(a))
    {
        let problem = Problem::new("", format!("reference cycle: {cycle}"));
        report(loaded, raw, cycle.0.first(), vec![problem], &mut diags);
    }
    if diags.is_empty() {
        Ok(DesiredState {
            resources,
            graph,
            files: loaded.files.len(),
        })
    } else {
        Err(diags.sorted())
    }
}

fn report(
    loaded: &Loaded,
    raw: &RawDoc,
    address: Option<&Address>,
    problems: Vec<Problem>,
    diags: &mut Diagnostics,
) {
    for p in problems {
        let (file, line, column) = loaded.locate(raw, &p.pointer);
        diags.push(
            Diagnostic::new(&file.path, p.message)
                .at(line, column)
                .address(address.cloned())
                .path(span::display_path(&p.pointer))
                .hint(p.hint),
        );
    }
}

type DocResult = Result<(bool, Option<Adoption>, Spec), Vec<Problem>>;

/// Schema and per-kind rules of one document; the address when the document names one.
fn check_document(raw: &RawDoc) -> (Option<Address>, DocResult) {
    let Value::Object(map) = &raw.value else {
        return (
            None,
            Err(vec![
                Problem::new("", "a document must be a mapping")
                    .hint("a manifest has apiVersion, kind, metadata and spec"),
            ]),
        );
    };
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    let kinds = format!("kinds are {} and {last}", rest.join(", "));
    let kinds = kinds.as_str();
    let kind = match map.get("kind") {
        None => Err(Problem::new("", "missing required field `kind`").hint(kinds)),
        Some(Value::String(k)) => k.parse::<Kind>().map_err(|e| {
            Problem::new("/kind", e).hint(
                did_you_mean(k, Kind::ALL.iter().map(|k| k.as_str()))
                    .unwrap_or_else(|| kinds.into()),
            )
        }),
        Some(_) => Err(Problem::new("/kind", "expected a string").hint(kinds)),
    };
    let kind = match kind {
        Ok(k) => k,
        Err(p) => return (None, Err(vec![p])),
    };
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    let address = name.map(|n| Address::new(kind, n));
    let mut problems = schema::check(kind, &raw.value);
    // AWS's own limits (constraints.rs), where the schema found nothing wrong already.
    for p in constraints::check(kind, &raw.value) {
        if !problems.iter().any(|q| q.pointer == p.pointer) {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        return (address, Err(problems));
    }
    let manifest = match Manifest::deserialize(&raw.value) {
        Ok(m) => m,
        Err(e) => return (address, Err(vec![Problem::new("", e.to_string())])),
    };
    let (metadata, spec) = manifest.into_parts();
    let mut problems = Vec::new();
    spec.check(&mut problems);
    let adopt = adoption(kind, metadata.adopt.as_ref(), &mut problems);
    if problems.is_empty() {
        (address, Ok((metadata.protect, adopt, spec)))
    } else {
        (address, Err(problems))
    }
}

/// `metadata.adopt` checked against the kind: a connector is adopted by its id (it has no
/// name in AWS), a connection or API destination by its name (`true`).
fn adoption(
    kind: Kind,
    adopt: Option<&crate::resource::Adopt>,
    problems: &mut Vec<Problem>,
) -> Option<Adoption> {
    use crate::resource::Adopt;
    let pointer = "/metadata/adopt";
    match (kind, adopt?) {
        (_, Adopt::Flag(false)) => None,
        (Kind::Connector, Adopt::Flag(true)) => {
            problems.push(
                Problem::new(pointer, "a connector is adopted by its id, not `true`")
                    .hint("write the connector's id: `adopt: c-…` (as `outbound import` does)"),
            );
            None
        }
        (Kind::Connector, Adopt::Id(id)) => match ConnectorId::parse(id) {
            Ok(id) => Some(Adoption::Connector(id)),
            Err(e) => {
                problems.push(Problem::new(pointer, e.to_string()));
                None
            }
        },
        (_, Adopt::Flag(true)) if tagged(kind) => {
            problems.push(
                Problem::new(
                    pointer,
                    format!("a {kind} is adopted by its id, not `true`"),
                )
                .hint("write its AWS id (as `outbound import` does)"),
            );
            None
        }
        (_, Adopt::Id(id)) if tagged(kind) => {
            Some(Adoption::Id(crate::resource::ResourceId::name(id)))
        }
        (_, Adopt::Flag(true)) => Some(Adoption::ByName),
        (_, Adopt::Id(_)) => {
            problems.push(
                Problem::new(
                    pointer,
                    format!("a {kind} is adopted by its name: `adopt: true`"),
                )
                .hint("only a connector's marker names an id"),
            );
            None
        }
    }
}

/// Whether the kind is known by an id AWS assigns (adopted by that id).
fn tagged(kind: Kind) -> bool {
    matches!(
        kind.rules().identity,
        crate::resource::rules::Identity::Tagged { .. }
    )
}

/// Rules across documents: duplicates, `connection:` references, and secrets.
fn check_across<'a>(
    loaded: &Loaded,
    checked: Vec<Checked<'a>>,
    resolve: bool,
    diags: &mut Diagnostics,
) -> (
    BTreeMap<Address, DesiredResource>,
    BTreeMap<Address, &'a RawDoc>,
) {
    let mut resources: BTreeMap<Address, DesiredResource> = BTreeMap::new();
    let mut raws: BTreeMap<Address, &RawDoc> = BTreeMap::new();
    for c in checked {
        let file = &loaded.files[c.raw.file];
        let origin = Origin {
            file: file.path.clone(),
            document: c.raw.index,
        };
        if let Some(first) = raws.get(&c.address) {
            report_duplicate(loaded, &c, first, diags);
            continue;
        }
        let mut problems = Vec::new();
        let secrets = if resolve {
            let dir = |pointer: &str| loaded.files[loaded.source_of(c.raw, pointer).0].dir();
            let secrets = resolve_secrets(&c.spec, &dir, &mut problems);
            check_secrets(loaded, &c, &secrets, &mut problems);
            secrets
        } else {
            BTreeMap::new()
        };
        if !problems.is_empty() {
            report(loaded, c.raw, Some(&c.address), problems, diags);
        }
        raws.insert(c.address.clone(), c.raw);
        resources.insert(
            c.address.clone(),
            DesiredResource {
                address: c.address,
                origin,
                protect: c.protect,
                spec: c.spec,
                secrets,
                adopt: c.adopt,
            },
        );
    }
    check_references(loaded, &resources, &raws, diags);
    (resources, raws)
}

/// How many days before a certificate's expiry validation warns, and plan and drift report
/// it (`--expiry-warning`; `OUTBOUND_EXPIRY_WARNING_DAYS`).
pub fn expiry_warning_days() -> u64 {
    std::env::var("OUTBOUND_EXPIRY_WARNING_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// The kind's checks of its resolved secret values (a certificate's PEM): errors go to
/// `problems`, warnings to the log (file, line and field, never a value).
fn check_secrets(
    loaded: &Loaded,
    c: &Checked<'_>,
    secrets: &BTreeMap<String, SecretValue>,
    problems: &mut Vec<Problem>,
) {
    let value_of = |pointer: &str| secrets.get(pointer).map(SecretValue::expose);
    let now = std::time::SystemTime::now();
    let findings = (c.address.kind.rules().check_secrets)(&value_of, now, expiry_warning_days());
    let file = &loaded.files[c.raw.file];
    for f in findings {
        let p = Problem::new(&f.problem.pointer, f.problem.message).hint_opt(f.problem.hint);
        if f.warning {
            let (line, _) = file.locate(c.raw.index, &p.pointer);
            tracing::warn!(
                "{}:{line}: {}: {}: {}",
                file.path.display(),
                c.address,
                span::display_path(&p.pointer),
                p.message
            );
        } else {
            problems.push(p);
        }
    }
}

/// A resource declared twice: the second is reported, naming where the first is.
fn report_duplicate(loaded: &Loaded, c: &Checked<'_>, first: &RawDoc, diags: &mut Diagnostics) {
    let first_file = &loaded.files[first.file];
    let hint = format!(
        "first declared at {}:{}",
        first_file.path.display(),
        first_file.locate(first.index, "").0
    );
    report(
        loaded,
        c.raw,
        Some(&c.address),
        vec![
            Problem::new(
                "/metadata/name",
                format!("duplicate resource {}", c.address),
            )
            .hint(hint),
        ],
        diags,
    );
}

/// Every reference names a resource of its target kind in the manifests (and a connector's
/// `localProfile` a LOCAL profile, its `partnerProfile` a PARTNER one).
fn check_references(
    loaded: &Loaded,
    resources: &BTreeMap<Address, DesiredResource>,
    raws: &BTreeMap<Address, &RawDoc>,
    diags: &mut Diagnostics,
) {
    for (address, r) in resources {
        let json = r.spec.json();
        for reference in address.kind.rules().references {
            let names: Vec<(String, String)> =
                match json.pointer(&format!("/{}", reference.field.replace('.', "/"))) {
                    Some(Value::String(n)) => vec![(String::new(), n.clone())],
                    Some(Value::Array(items)) => items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| Some((format!("/{i}"), n.as_str()?.to_owned())))
                        .collect(),
                    _ => Vec::new(),
                };
            let pointer = format!("/spec/{}", reference.field.replace('.', "/"));
            for (suffix, target) in names {
                let problem = reference_problem(resources, reference, &target);
                if let Some(problem) = problem {
                    let problem = Problem {
                        pointer: format!("{pointer}{suffix}"),
                        ..problem
                    };
                    report(loaded, raws[address], Some(address), vec![problem], diags);
                }
            }
        }
    }
}

/// What is wrong with `target` as the value of `reference`, if anything.
fn reference_problem(
    resources: &BTreeMap<Address, DesiredResource>,
    reference: &crate::resource::rules::Reference,
    target: &str,
) -> Option<Problem> {
    let kind = reference.target;
    let candidates: Vec<&str> = resources
        .keys()
        .filter(|a| a.kind == kind)
        .map(|a| a.name.as_str())
        .collect();
    let field = reference
        .field
        .rsplit('.')
        .next()
        .unwrap_or(reference.field);
    match resources.get(&Address::new(kind, target)).map(|r| &r.spec) {
        None => {
            let hint = did_you_mean(target, candidates.iter().copied()).unwrap_or_else(|| {
                format!(
                    "declare that {kind} in the manifests, or use `{}` for one managed elsewhere",
                    reference
                        .sends_in
                        .rsplit('.')
                        .next()
                        .unwrap_or(reference.sends_in)
                )
            });
            Some(
                Problem::new("", format!("no {kind} named `{target}` in the manifests")).hint(hint),
            )
        }
        Some(spec) => {
            let (must_field, must_be) = reference.target_must?;
            let has = spec.json().get(must_field).cloned().unwrap_or_default();
            (has != must_be).then(|| {
                Problem::new(
                    "",
                    format!(
                        "`{field}` names {kind} `{target}`, whose {must_field} is {}",
                        has.as_str().unwrap_or("not set")
                    ),
                )
                .hint(format!(
                    "`{field}` must name a {kind} whose {must_field} is {must_be}"
                ))
            })
        }
    }
}

/// Resolves every secret of a spec (none of a connection to deauthorize).
fn resolve_secrets<'a>(
    spec: &Spec,
    dir: &dyn Fn(&str) -> &'a std::path::Path,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, SecretValue> {
    let mut out = BTreeMap::new();
    for (pointer, reference) in spec.secret_refs() {
        match reference.resolve(dir(&pointer)) {
            Ok(value) => {
                if let Some(why) = constraints::check_secret(spec.kind(), &pointer, value.expose())
                {
                    problems.push(Problem::new(
                        &pointer,
                        format!("the secret from {reference}: {why}"),
                    ));
                }
                out.insert(pointer, value);
            }
            Err(e) => {
                let hint = match reference {
                    secret::SecretRef::FromEnv(_) => "set it in the environment that runs outbound",
                    secret::SecretRef::FromFile(_) => {
                        "paths are relative to the manifest's directory"
                    }
                };
                let mut message = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                problems.push(Problem::new(&pointer, message).hint(hint));
            }
        }
    }
    out
}
