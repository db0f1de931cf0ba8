//! `outbound import`: lock -> state -> find in AWS what no state owns -> manifests written ->
//! state saved. Only List and Describe calls: AWS is not changed. The manifests are written
//! before the state, so a failure in between leaves files to re-import with `--force`, never
//! a state that owns resources without manifests (which the next plan would delete).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use futures::stream::{self, StreamExt};

use super::{Outcome, aws_options, runtime};
use crate::aws::{Aws, AwsError, Live};
use crate::cli::ImportArgs;
use crate::import::{self, Found, Imported};
use crate::render;
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::{Address, Kind, patterns};
use crate::state::{self, State};

/// What the command line asks for.
enum Wanted {
    /// `--all`, of these kinds.
    All(BTreeSet<Kind>),
    /// `KIND/NAME[=ID]...`
    These(Vec<(Address, Option<String>)>),
}

/// What was found, and what was refused or left out (with why).
#[derive(Default)]
struct Search {
    found: Vec<Found>,
    /// Reasons the import cannot go on; each is printed, and nothing is written.
    refused: Vec<String>,
    /// Resources `--all` left out, with why (printed; not an error).
    skipped: Vec<String>,
}

pub fn run(args: &ImportArgs, verbose: u8) -> anyhow::Result<Outcome> {
    // 1. What to look for: a typo needs neither the lock nor AWS.
    let wanted = match wanted(args) {
        Ok(w) => w,
        Err(problems) => return Ok(refuse(&problems)),
    };
    runtime()?.block_on(async {
        // 2. The lock, then the state it protects.
        let options = aws_options(&args.aws);
        let store = crate::store::open(&args.aws.state, &options).await?;
        let lock = store.lock("import")?;
        let mut state = store.load()?.unwrap_or_default();
        // 3. AWS, read only.
        let aws = Aws::connect(&options, Vec::new()).await?;
        let parallelism = usize::from(args.aws.parallelism);
        let search = match &wanted {
            Wanted::All(kinds) => all(&aws, kinds, &state, args.force, parallelism).await,
            Wanted::These(these) => named(&aws, these, &state, args.force, parallelism).await,
        };
        if verbose > 0 {
            render::message(&format!("import: {}\n", aws.calls));
        }
        let search = match search {
            Ok(s) => s,
            Err(e) => {
                render::error(&anyhow::Error::new(e));
                return Ok(Outcome::Failed);
            }
        };
        for s in &search.skipped {
            render::message(&format!("note: left out {s}\n"));
        }
        if !search.refused.is_empty() {
            return Ok(refuse(&search.refused));
        }
        if search.found.is_empty() {
            render::message("Nothing to import: this state manages everything that was found.\n");
            return Ok(Outcome::Success);
        }
        // 4. Manifests and records.
        let imported = match import::documents(&search.found, &state) {
            Ok(i) => i,
            Err(e) => return Ok(refuse(&[e.to_string()])),
        };
        let existing: Vec<String> = imported
            .iter()
            .map(|i| args.out.join(&i.file))
            .filter(|p| p.exists())
            .map(|p| {
                format!(
                    "{} exists already (pass --force to overwrite it)",
                    p.display()
                )
            })
            .collect();
        if !args.force && !existing.is_empty() {
            return Ok(refuse(&existing));
        }
        // 5. Manifests first, then the state.
        write(&args.out, &imported)?;
        for i in &imported {
            state.resources.insert(i.address.clone(), i.record.clone());
        }
        state.serial += 1;
        store.save(&state)?;
        lock.release()?;
        render::out(&summary(&args.out, &imported));
        render::message(&next_steps(&imported));
        Ok(Outcome::Success)
    })
}

/// Prints every reason and says that nothing was written.
fn refuse(problems: &[String]) -> Outcome {
    for p in problems {
        render::message(&format!("error: {p}\n"));
    }
    render::message("Nothing was imported: no manifest and no state were written.\n");
    Outcome::Failed
}

/// The addresses of the command line, checked: a known kind, a name the manifests accept,
/// `=ID` only for connectors, no address twice.
fn wanted(args: &ImportArgs) -> Result<Wanted, Vec<String>> {
    if args.all {
        let kinds = if args.kinds.is_empty() {
            Kind::ALL.into_iter().collect()
        } else {
            args.kinds.iter().copied().collect()
        };
        return Ok(Wanted::All(kinds));
    }
    let name = &*patterns::NAME_RE;
    let mut problems = Vec::new();
    let mut these: Vec<(Address, Option<String>)> = Vec::new();
    for arg in &args.resources {
        let (address, id) = match arg.split_once('=') {
            Some((a, id)) => (a, Some(id.to_owned())),
            None => (arg.as_str(), None),
        };
        let address: Address = match address.parse() {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("{e} (expected KIND/NAME[=ID], KIND one of Connection, ApiDestination, Connector)"));
                continue;
            }
        };
        if !name.is_match(&address.name) {
            problems.push(format!(
                "{address}: a name is 1 to 64 letters, digits, `.`, `-` or `_`"
            ));
        } else if id.is_some() && address.kind != Kind::Connector {
            problems.push(format!(
                "{arg}: `=ID` is for connectors; a {} is found by its name",
                address.kind
            ));
        } else if id.as_deref().is_some_and(|i| !i.starts_with("c-")) {
            problems.push(format!("{arg}: a connector id starts with `c-`"));
        } else if these.iter().any(|(a, _)| *a == address) {
            problems.push(format!("{address} is named twice"));
        } else {
            these.push((address, id));
        }
    }
    if problems.is_empty() {
        Ok(Wanted::These(these))
    } else {
        Err(problems)
    }
}

/// Each address of the command line, described; a managed, unknown or foreign one refused.
async fn named(
    aws: &Aws,
    these: &[(Address, Option<String>)],
    state: &State,
    force: bool,
    parallelism: usize,
) -> Result<Search, AwsError> {
    let mut search = Search::default();
    // Connectors named without an id are found by their `outbound:name` tag.
    let tagged = if these
        .iter()
        .any(|(a, id)| a.kind == Kind::Connector && id.is_none())
    {
        let ids: Vec<String> = aws
            .list_connectors()
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        describe_connectors(aws, &ids, parallelism).await?
    } else {
        Vec::new()
    };
    for (address, id) in these {
        match describe_named(aws, (address, id.as_deref()), &tagged, state, force).await? {
            Ok(live) => search.found.push(Found {
                address: address.clone(),
                live,
            }),
            Err(refused) => search.refused.push(refused),
        }
    }
    Ok(search)
}

/// One address of the command line described, or why it is refused: managed already,
/// unknown to AWS, ambiguous, or another state's.
async fn describe_named(
    aws: &Aws,
    (address, id): (&Address, Option<&str>),
    tagged: &[Live],
    state: &State,
    force: bool,
) -> Result<Result<Live, String>, AwsError> {
    if let Some(r) = state.resources.get(address) {
        return Ok(Err(format!(
            "{address} is already managed by this state (AWS id {})",
            r.id
        )));
    }
    let live = match (address.kind, id) {
        (Kind::Connection, _) => aws.describe_connection(&address.name).await?,
        (Kind::ApiDestination, _) => aws.describe_api_destination(&address.name).await?,
        (Kind::Connector, Some(id)) => aws.describe_connector(id).await?,
        (Kind::Connector, None) => {
            let mut matching = tagged
                .iter()
                .filter(|l| l.tags.get(TAG_NAME) == Some(&address.name));
            match (matching.next(), matching.next()) {
                (Some(_), Some(_)) => {
                    return Ok(Err(format!(
                        "{address}: several connectors are tagged {TAG_NAME}={}; name one with {address}=c-…",
                        address.name
                    )));
                }
                (one, _) => one.cloned(),
            }
        }
    };
    let Some(live) = live else {
        return Ok(Err(format!(
            "{address}{} does not exist in AWS (region {})",
            id.map(|i| format!(" ({i})")).unwrap_or_default(),
            aws.region().unwrap_or_default()
        )));
    };
    if let Some((a, _)) = managed_connector(state, &live.id)
        && address.kind == Kind::Connector
    {
        return Ok(Err(format!(
            "{address}: {} is already managed by this state as {a}",
            live.id
        )));
    }
    if address.kind == Kind::Connector
        && let Some(other) = foreign_lineage(&live, state)
        && !force
    {
        return Ok(Err(format!(
            "{address} ({}) is managed by another outbound state (its {TAG_LINEAGE} tag is {other}, this state's lineage is {}); pass --force to take it over",
            live.id, state.lineage
        )));
    }
    Ok(Ok(live))
}

/// Every resource of `kinds` that this state does not manage. Connectors are named by their
/// `outbound:name` tag, else by their id; one another state's lineage claims is left out
/// unless `force`, and so is one whose interrupted creation this state will adopt.
async fn all(
    aws: &Aws,
    kinds: &BTreeSet<Kind>,
    state: &State,
    force: bool,
    parallelism: usize,
) -> Result<Search, AwsError> {
    let mut search = Search::default();
    // 1. Connections and API destinations, by name.
    for kind in [Kind::Connection, Kind::ApiDestination] {
        if kinds.contains(&kind) {
            search
                .found
                .extend(unmanaged_by_name(aws, kind, state, parallelism).await?);
        }
    }
    // 2. Connectors, by their `outbound:name` tag or their id.
    if kinds.contains(&Kind::Connector) {
        unmanaged_connectors(aws, state, force, parallelism, &mut search).await?;
    }
    search.found.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(search)
}

/// The ids (names, for a connection or destination) of the resources of `kind` this state
/// manages.
fn managed_ids(state: &State, kind: Kind) -> BTreeSet<&str> {
    state
        .resources
        .iter()
        .filter(|(a, _)| a.kind == kind)
        .map(|(_, r)| r.id.as_str())
        .collect()
}

/// Every connection (or API destination) this state does not manage, described.
async fn unmanaged_by_name(
    aws: &Aws,
    kind: Kind,
    state: &State,
    parallelism: usize,
) -> Result<Vec<Found>, AwsError> {
    let mut found = Vec::new();
    let managed = managed_ids(state, kind);
    let names: Vec<String> = match kind {
        Kind::Connection => aws.list_connections().await?,
        _ => aws.list_api_destinations().await?,
    }
    .into_iter()
    .filter(|n| !managed.contains(n.as_str()))
    .filter(|n| !state.resources.contains_key(&Address::new(kind, n.clone())))
    .collect();
    let described: Vec<Result<Option<Live>, AwsError>> = stream::iter(names)
        .map(|n| async move {
            match kind {
                Kind::Connection => aws.describe_connection(&n).await,
                _ => aws.describe_api_destination(&n).await,
            }
        })
        .buffered(parallelism.max(1))
        .collect()
        .await;
    for live in described {
        if let Some(live) = live? {
            found.push(Found {
                address: Address::new(kind, live.id.clone()),
                live,
            });
        }
    }
    Ok(found)
}

/// Every connector this state does not manage, named by its tag or id; one another state's
/// lineage claims (unless `force`) or whose interrupted creation this state adopts, skipped.
async fn unmanaged_connectors(
    aws: &Aws,
    state: &State,
    force: bool,
    parallelism: usize,
    search: &mut Search,
) -> Result<(), AwsError> {
    let managed = managed_ids(state, Kind::Connector);
    let ids: Vec<String> = aws
        .list_connectors()
        .await?
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !managed.contains(id.as_str()))
        .collect();
    let mut taken: BTreeSet<Address> = state.resources.keys().cloned().collect();
    for live in describe_connectors(aws, &ids, parallelism).await? {
        let tag = live.tags.get(TAG_NAME);
        if let Some(other) = foreign_lineage(&live, state)
            && !force
        {
            search.skipped.push(format!(
                "connector {} ({TAG_NAME}={}): managed by another outbound state (lineage {other}); import it with --force to take it over",
                live.id,
                tag.map_or("(none)", String::as_str)
            ));
            continue;
        }
        if let Some(name) = tag
            && live.tags.get(TAG_LINEAGE) == Some(&state.lineage)
            && state
                .pending
                .contains_key(&Address::new(Kind::Connector, name.clone()))
        {
            search.skipped.push(format!(
                "connector {} (Connector/{name}): an interrupted creation of this state, adopted by the next plan",
                live.id
            ));
            continue;
        }
        let name = connector_name(&live, &taken);
        let address = Address::new(Kind::Connector, name);
        taken.insert(address.clone());
        search.found.push(Found { address, live });
    }
    Ok(())
}

/// Describes connectors concurrently (tags included), in the order of `ids`.
async fn describe_connectors(
    aws: &Aws,
    ids: &[String],
    parallelism: usize,
) -> Result<Vec<Live>, AwsError> {
    let described: Vec<Result<Option<Live>, AwsError>> = stream::iter(ids)
        .map(|id| aws.describe_connector(id))
        .buffered(parallelism.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for live in described {
        out.extend(live?);
    }
    Ok(out)
}

/// The `outbound:name` tag when it is a valid, free name; else the connector's id.
fn connector_name(live: &Live, taken: &BTreeSet<Address>) -> String {
    let name = &*patterns::NAME_RE;
    live.tags
        .get(TAG_NAME)
        .filter(|n| name.is_match(n))
        .filter(|n| !taken.contains(&Address::new(Kind::Connector, (*n).clone())))
        .cloned()
        .unwrap_or_else(|| live.id.clone())
}

/// The lineage of another state that `live`'s tag names, if any.
fn foreign_lineage<'a>(live: &'a Live, state: &State) -> Option<&'a str> {
    live.tags
        .get(TAG_LINEAGE)
        .filter(|l| **l != state.lineage)
        .map(String::as_str)
}

/// The address this state records connector `id` under, if any.
fn managed_connector<'a>(state: &'a State, id: &str) -> Option<(&'a Address, &'a state::Record)> {
    state
        .resources
        .iter()
        .find(|(a, r)| a.kind == Kind::Connector && r.id == id)
}

/// Writes every manifest into `dir`.
fn write(dir: &Path, imported: &[Imported]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    for i in imported {
        let path = dir.join(&i.file);
        std::fs::write(&path, &i.yaml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// What was imported, where (stdout).
fn summary(dir: &Path, imported: &[Imported]) -> String {
    let width = imported
        .iter()
        .map(|i| i.address.to_string().len())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "Imported {} into {}:\n",
        render::count(imported.len(), "resource"),
        dir.display()
    );
    for i in imported {
        let id = if i.record.id == i.address.name {
            String::new()
        } else {
            format!("  ({})", i.record.id)
        };
        out.push_str(&format!(
            "  {:<width$}  {}{id}\n",
            i.address.to_string(),
            i.file
        ));
    }
    out
}

/// Warnings, the secrets to set, and what the next plan will show (stderr).
fn next_steps(imported: &[Imported]) -> String {
    let mut out = String::new();
    for i in imported {
        for p in &i.problems {
            out.push_str(&format!(
                "warning: {} ({}): {} (field {}); fix the manifest before `outbound plan`\n",
                i.address, i.file, p.message, p.pointer
            ));
        }
    }
    let secrets: Vec<_> = imported.iter().flat_map(|i| &i.secrets).collect();
    if !secrets.is_empty() {
        let width = secrets.iter().map(|s| s.env.len()).max().unwrap_or(0);
        out.push_str(
            "\nAWS never returns secret values; the manifests name them as environment variables.\nSet these before `outbound plan` (or change the references to `fromFile`):\n",
        );
        for s in &secrets {
            out.push_str(&format!("  {:<width$}  {} {}\n", s.env, s.address, s.path));
        }
    }
    let by_kind: BTreeMap<Kind, usize> = imported.iter().fold(BTreeMap::new(), |mut m, i| {
        *m.entry(i.address.kind).or_default() += 1;
        m
    });
    let connections = by_kind.get(&Kind::Connection).copied().unwrap_or(0);
    let connectors = by_kind.get(&Kind::Connector).copied().unwrap_or(0);
    let owed: Vec<String> = [
        (connections, "that send secrets, one per connection"),
        (
            connectors,
            "that only add `outbound:` tags, one per connector",
        ),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{} {what}", render::count(n, "update")))
    .collect();
    if !owed.is_empty() {
        out.push_str(&format!(
            "\nThe next `outbound plan` shows {}; nothing else should change.\n",
            owed.join(" and ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(id: &str, tags: &[(&str, &str)]) -> Live {
        Live {
            id: id.into(),
            arn: format!("arn:aws:transfer:r:1:connector/{id}"),
            spec: serde_json::json!({}),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_connector_is_named_by_its_tag_when_valid_and_free_else_by_its_id() {
        let id = "c-0123456789abcdef0";
        let taken = BTreeSet::from([Address::new(Kind::Connector, "used")]);
        assert_eq!(
            connector_name(&connector(id, &[(TAG_NAME, "edi")]), &taken),
            "edi"
        );
        assert_eq!(connector_name(&connector(id, &[]), &taken), id);
        assert_eq!(
            connector_name(&connector(id, &[(TAG_NAME, "has space")]), &taken),
            id
        );
        assert_eq!(
            connector_name(&connector(id, &[(TAG_NAME, "used")]), &taken),
            id
        );
    }

    #[test]
    fn only_another_lineage_is_foreign() {
        let state = State::new();
        let ours = connector("c-1", &[(TAG_LINEAGE, state.lineage.as_str())]);
        let theirs = connector("c-2", &[(TAG_LINEAGE, "other")]);
        assert_eq!(foreign_lineage(&ours, &state), None);
        assert_eq!(foreign_lineage(&connector("c-3", &[]), &state), None);
        assert_eq!(foreign_lineage(&theirs, &state), Some("other"));
    }
}
