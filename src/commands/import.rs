//! `outbound import`: account guard -> state -> find in AWS what no state owns -> manifests written, each
//! marked `metadata.adopt`: the next plan shows the adoption for review and apply records it.
//! The state is left alone, and no lock is taken, unless `--write-state` asks to record the
//! resources at once (lock -> state -> ... -> manifests -> state saved). Only List and
//! Describe calls: AWS is not changed. The manifests are written before the state, so a
//! failure in between leaves files to re-import with `--force`, never a state that owns
//! resources without manifests (which the next plan would delete).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, IsTerminal};
use std::path::Path;

use futures::stream::{self, StreamExt};

use super::{Outcome, runtime};
use crate::aws::cloud::Observe;
use crate::aws::{AwsError, Live};
use crate::cli::ImportArgs;
use crate::import::{self, Found, Imported};
use crate::render;
use crate::resource::connector::{TAG_LINEAGE, TAG_NAME};
use crate::resource::rules::Identity;
use crate::resource::{Address, ConnectorId, Kind, ResourceId, patterns};
use crate::state::{self, State};

/// What the command line asks for.
enum Wanted {
    /// `--all`, of these kinds.
    All(BTreeSet<Kind>),
    /// `KIND/NAME[=ID]...`
    These(Vec<(Address, Option<ResourceId>)>),
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

pub fn run(args: &ImportArgs, global: &crate::cli::GlobalArgs) -> anyhow::Result<Outcome> {
    let verbose = global.verbose;
    // 1. What to look for: a typo needs neither the lock nor AWS.
    let wanted = match wanted(args) {
        Ok(w) => w,
        Err(problems) => return Ok(refuse(&problems)),
    };
    let (ctx, out) = match target(args, global)? {
        Ok(t) => t,
        Err(refused) => return Ok(refused),
    };
    let ctx = &ctx;
    let shared = match shared(ctx, global.explicit.out) {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    runtime()?.block_on(async {
        // 2. The account guard (the first AWS call), then the state (what it manages is not
        //    imported). The lock is taken only to write the state (--write-state), and the
        //    state is then read again under it, and checked again.
        let mut guard = match super::guarded(ctx).await? {
            Ok(g) => g,
            Err(e) => return Ok(super::guard::refusal(e).into()),
        };
        let store = guard.store.clone();
        // A first signal stops the reads of AWS (then nothing is written), a second ends the
        // run at once; a lock held is released either way.
        let signals = crate::signal::Signals::listen()?;
        let lock = if args.write_state {
            let lock = store.lock("import")?;
            if let Err(e) = guard.reload()? {
                return Ok(super::guard::refusal(e).into());
            }
            Some(lock)
        } else {
            None
        };
        let state = guard.take_state(State::new);
        // 3. AWS, read only.
        let aws = ctx.clients(Vec::new()).await?;
        let parallelism = usize::from(args.aws.parallelism);
        let search = match search(&aws, &wanted, &state, args.force, parallelism).await {
            Ok(search) => search,
            Err(signal) => return Ok(Outcome::Stopped(signal)),
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
        if args.write_state
            && let Some(f) = search
                .found
                .iter()
                .find(|f| matches!(f.address.kind, Kind::Certificate | Kind::Profile))
        {
            return Ok(refuse(&[format!(
                "{}: --write-state records connections, API destinations and connectors only; import certificates and profiles without it, and the next plan adopts them",
                f.address
            )]));
        }
        if search.found.is_empty() {
            render::message("Nothing to import: this state manages everything that was found.\n");
            return Ok(Outcome::Success);
        }
        // 4. Manifests and records.
        let all = matches!(wanted, Wanted::All(_));
        let imported = match documents(args, all, &out, &search.found, &state, shared.as_ref())? {
            Ok(i) => i,
            Err(refused) => return Ok(refused),
        };
        // 5. Manifests first, then (with --write-state) the state, unless a signal came while
        //    they were made.
        if let Some(signal) = signals.received() {
            render::message("Stopped before writing: nothing was imported.\n");
            return Ok(Outcome::Stopped(signal));
        }
        write(&out, &imported)?;
        if let Some(lock) = lock {
            record(lock, &store, state, &imported)?;
        }
        render::out(&summary(&out, &imported));
        render::message(&next_steps(&imported, args.write_state));
        Ok(Outcome::Success)
    })
}

/// The environment to import into, and the directory its manifests go to.
fn target(
    args: &ImportArgs,
    global: &crate::cli::GlobalArgs,
) -> anyhow::Result<Result<(super::context::Context, std::path::PathBuf), Outcome>> {
    let contexts = super::context::contexts(global, &[], &args.aws, "import", false)?;
    let Some(ctx) = contexts.into_iter().next() else {
        return Ok(Err(Outcome::Failed));
    };
    Ok(out_dir(args, &ctx, global.explicit.out).map(|out| (ctx, out)))
}

/// Where the manifests go: an environment's resources to its first overlay (the shared
/// manifests are every environment's), unless `--out` (`given`) says where.
fn out_dir(
    args: &ImportArgs,
    ctx: &super::context::Context,
    given: bool,
) -> Result<std::path::PathBuf, Outcome> {
    match (&ctx.env, given) {
        (Some(env), false) => env.overlays.first().cloned().ok_or_else(|| {
            refuse(&[format!(
                "environment `{}` has no overlays to write its imported manifests to; \
                 add `overlays:` to it in the project file, or pass --out DIR",
                env.name
            )])
        }),
        _ => Ok(args.out.clone()),
    }
}

/// With an environment whose overlay the manifests go to (no `--out`), what its shared
/// manifests declare (`None` otherwise); a shared manifest that cannot be read is refused.
fn shared(
    ctx: &super::context::Context,
    given: bool,
) -> Result<Option<(String, crate::project::set::Shared)>, Outcome> {
    let Some(env) = ctx.env.as_ref().filter(|_| !given) else {
        return Ok(None);
    };
    match crate::project::set::shared(env, None) {
        Ok(s) => Ok(Some((env.name.clone(), s))),
        Err(diags) => {
            render::diagnostics(&diags);
            Err(refuse(&[format!(
                "the shared manifests of environment `{}` could not be read (above): import needs them to tell the environment's own resources from the shared ones",
                env.name
            )]))
        }
    }
}

/// An environment's overlay gets a whole manifest for a resource of its own, and only an
/// adoption marker for one the shared manifests declare (`project::set::adoption`); one an
/// overlay leaves out of the environment (`metadata.absent`) is refused. An API destination
/// names a shared connection with `connection:`.
fn in_overlay(
    (env, shared): &(String, crate::project::set::Shared),
    imported: Vec<Imported>,
) -> Result<Vec<Imported>, Vec<String>> {
    let left_out: Vec<String> = imported
        .iter()
        .filter_map(|i| {
            let file = shared.left_out.get(&i.address)?;
            Some(format!(
                "{}: {} leaves it out of environment `{env}` (`metadata.absent`); remove that document to adopt it here",
                i.address,
                file.display()
            ))
        })
        .collect();
    if !left_out.is_empty() {
        return Err(left_out);
    }
    Ok(imported
        .into_iter()
        .map(|mut i| {
            if shared.declared.contains(&i.address) {
                let adopt = match i.address.kind {
                    Kind::Connection | Kind::ApiDestination => serde_json::Value::Bool(true),
                    _ => serde_json::Value::String(i.record.id.to_string()),
                };
                i.yaml = crate::project::set::adoption(&i.address, adopt, env);
                // The shared document names its own secrets and meets the format.
                i.secrets.clear();
                i.problems.clear();
            }
            i
        })
        .collect())
}

/// `--write-state`: the imported records saved in the state, then the lock released.
fn record(
    lock: crate::store::Lock,
    store: &crate::store::Store,
    mut state: State,
    imported: &[Imported],
) -> anyhow::Result<()> {
    for i in imported {
        state.resources.insert(i.address.clone(), i.record.clone());
    }
    state.serial += 1;
    store.save(&state)?;
    lock.release()?;
    Ok(())
}

/// The manifests of what was found, or the outcome of a refusal (printed here): `--all` not
/// confirmed, a resource the format cannot hold, files that exist (without `--force`).
fn documents(
    args: &ImportArgs,
    all: bool,
    out: &Path,
    found: &[Found],
    state: &State,
    shared: Option<&(String, crate::project::set::Shared)>,
) -> anyhow::Result<Result<Vec<Imported>, Outcome>> {
    if all && !confirmed_all(found, args.yes)? {
        render::message("Nothing was imported: no manifest and no state were written.\n");
        return Ok(Err(Outcome::Failed));
    }
    let mut earlier = imported_earlier(out, found);
    if let Some((_, s)) = shared {
        earlier.extend(connections_of(found, |c| s.declared.contains(c)));
    }
    let imported = match import::documents_with(found, state, &earlier) {
        Ok(i) => i,
        Err(e) => return Ok(Err(refuse(&[e.to_string()]))),
    };
    let imported = match shared {
        None => imported,
        Some(s) => match in_overlay(s, imported) {
            Ok(i) => i,
            Err(problems) => return Ok(Err(refuse(&problems))),
        },
    };
    let existing: Vec<String> = imported
        .iter()
        .flat_map(|i| std::iter::once(&i.file).chain(i.files.iter().map(|(f, _)| f)))
        .map(|f| out.join(f))
        .filter(|p| p.exists())
        .map(|p| {
            format!(
                "{} exists already (pass --force to overwrite it)",
                p.display()
            )
        })
        .collect();
    if !args.force && !existing.is_empty() {
        return Ok(Err(refuse(&existing)));
    }
    Ok(Ok(imported))
}

/// `--all` found connections or API destinations: AWS gives them no tags, so whether another
/// outbound state manages them cannot be told. They are listed, and the import goes on with
/// `--yes` or a `yes` typed on a terminal; without a terminal it is refused.
fn confirmed_all(found: &[Found], yes: bool) -> anyhow::Result<bool> {
    let untagged: Vec<&Found> = found.iter().filter(|f| !tagged(f.address.kind)).collect();
    if untagged.is_empty() {
        return Ok(true);
    }
    let mut list = format!(
        "outbound cannot tell whether another state manages these {} (AWS gives connections and API destinations no tags to mark an owner):\n",
        render::count(untagged.len(), "resource")
    );
    for f in &untagged {
        list.push_str(&format!("  {}\n", f.address));
    }
    render::message(&list);
    if yes {
        render::message("Going on (--yes).\n");
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        render::message(
            "error: refusing to import them without a terminal to confirm on; check that no other state manages them, then pass --yes (or name the resources to import)\n",
        );
        return Ok(false);
    }
    render::message("Import them all? Only 'yes' is accepted: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
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
    let mut these: Vec<(Address, Option<ResourceId>)> = Vec::new();
    for arg in &args.resources {
        let (address, id) = match arg.split_once('=') {
            Some((a, id)) => (a, Some(id.to_owned())),
            None => (arg.as_str(), None),
        };
        let address: Address = match address.parse() {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("{e} (expected KIND/NAME[=ID], KIND one of Connection, ApiDestination, Certificate, Profile, Connector)"));
                continue;
            }
        };
        if !name.is_match(&address.name) {
            problems.push(format!(
                "{address}: a name is 1 to 64 letters, digits, `.`, `-` or `_`"
            ));
        } else if id.is_some() && !tagged(address.kind) {
            problems.push(format!(
                "{arg}: `=ID` is for connectors, certificates and profiles; a {} is found by its name",
                address.kind
            ));
        } else if let Some(Err(e)) = id
            .as_deref()
            .filter(|_| address.kind == Kind::Connector)
            .map(ConnectorId::parse)
        {
            problems.push(format!("{arg}: {e}"));
        } else if these.iter().any(|(a, _)| *a == address) {
            problems.push(format!("{address} is named twice"));
        } else {
            these.push((address, id.map(ResourceId::name)));
        }
    }
    if problems.is_empty() {
        Ok(Wanted::These(these))
    } else {
        Err(problems)
    }
}

/// Each address of the command line, described; a managed, unknown or foreign one refused
/// (an unknown one naming the `region` looked in).
/// What `wanted` finds in AWS, unless a first signal stops the reads (said here).
async fn search(
    aws: &crate::aws::Aws,
    wanted: &Wanted,
    state: &State,
    force: bool,
    parallelism: usize,
) -> Result<Result<Search, AwsError>, crate::signal::Signal> {
    let found = crate::signal::unless_stopped(async {
        let mut search = match wanted {
            Wanted::All(kinds) => all(aws, kinds, state, force, parallelism).await,
            Wanted::These(these) => {
                let region = aws.region().unwrap_or_default();
                named(aws, &region, these, state, force, parallelism).await
            }
        }?;
        // A certificate's body and chain, written as files beside its manifest.
        for f in search
            .found
            .iter_mut()
            .filter(|f| f.address.kind == Kind::Certificate)
        {
            f.pem = aws
                .certificate_pem(&f.live.id)
                .await?
                .map(|(body, chain)| import::Pem { body, chain });
        }
        Ok(search)
    })
    .await;
    found.map_err(|stopped| {
        render::message(&format!("{stopped}; nothing was imported.\n"));
        stopped.0
    })
}

async fn named<A: Observe>(
    aws: &A,
    region: &str,
    these: &[(Address, Option<ResourceId>)],
    state: &State,
    force: bool,
    parallelism: usize,
) -> Result<Search, AwsError> {
    let mut search = Search::default();
    // Resources of kinds known by an AWS id, named without one, are found by their
    // `outbound:name` tag.
    let mut tagged_by_kind: BTreeMap<Kind, Vec<Live>> = BTreeMap::new();
    for (address, _) in these
        .iter()
        .filter(|(a, id)| tagged(a.kind) && id.is_none())
    {
        if let std::collections::btree_map::Entry::Vacant(entry) =
            tagged_by_kind.entry(address.kind)
        {
            let ids = list_ids(aws, address.kind).await?;
            entry.insert(describe_all(aws, address.kind, &ids, parallelism).await?);
        }
    }
    for (address, id) in these {
        let tagged = tagged_by_kind
            .get(&address.kind)
            .map_or(&[][..], Vec::as_slice);
        match describe_named(aws, region, (address, id.as_ref()), tagged, state, force).await? {
            Ok(live) => search.found.push(Found {
                address: address.clone(),
                live,
                pem: None,
            }),
            Err(refused) => search.refused.push(refused),
        }
    }
    Ok(search)
}

/// One address of the command line described, or why it is refused: managed already,
/// unknown to AWS, ambiguous, or another state's.
async fn describe_named<A: Observe>(
    aws: &A,
    region: &str,
    (address, id): (&Address, Option<&ResourceId>),
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
        (kind, Some(id)) => describe_one(aws, kind, id).await?,
        (_, None) => {
            let mut matching = tagged
                .iter()
                .filter(|l| l.tags.get(TAG_NAME) == Some(&address.name));
            match (matching.next(), matching.next()) {
                (Some(_), Some(_)) => {
                    return Ok(Err(format!(
                        "{address}: several {}s are tagged {TAG_NAME}={}; name one with {address}=ID",
                        address.kind.as_str().to_lowercase(),
                        address.name
                    )));
                }
                (one, _) => one.cloned(),
            }
        }
    };
    let Some(live) = live else {
        return Ok(Err(format!(
            "{address}{} does not exist in AWS (region {region})",
            id.map(|i| format!(" ({i})")).unwrap_or_default(),
        )));
    };
    if let Some((a, _)) = managed_by_id(state, address.kind, &live.id)
        && self::tagged(address.kind)
    {
        return Ok(Err(format!(
            "{address}: {} is already managed by this state as {a}",
            live.id
        )));
    }
    if self::tagged(address.kind)
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
async fn all<A: Observe>(
    aws: &A,
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
    // 2. Kinds known by an AWS id (certificates, profiles, connectors), by their
    //    `outbound:name` tag or their id.
    for kind in kinds.iter().copied().filter(|k| tagged(*k)) {
        unmanaged_tagged(aws, kind, state, force, parallelism, &mut search).await?;
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
async fn unmanaged_by_name<A: Observe>(
    aws: &A,
    kind: Kind,
    state: &State,
    parallelism: usize,
) -> Result<Vec<Found>, AwsError> {
    let mut found = Vec::new();
    let managed = managed_ids(state, kind);
    let names: Vec<String> = match kind {
        Kind::Connection => aws.listed_connections().await?,
        _ => aws.listed_api_destinations().await?,
    }
    .into_iter()
    .map(|l| l.name)
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
                address: Address::new(kind, live.id.as_str()),
                live,
                pem: None,
            });
        }
    }
    Ok(found)
}

/// Every resource of `kind` (known by an AWS id) this state does not manage, named by its
/// tag or id; one another state's lineage claims (unless `force`) or whose interrupted
/// creation this state adopts, skipped.
async fn unmanaged_tagged<A: Observe>(
    aws: &A,
    kind: Kind,
    state: &State,
    force: bool,
    parallelism: usize,
    search: &mut Search,
) -> Result<(), AwsError> {
    let managed = managed_ids(state, kind);
    let ids: Vec<ResourceId> = list_ids(aws, kind)
        .await?
        .into_iter()
        .filter(|id| !managed.contains(id.as_str()))
        .collect();
    let mut taken: BTreeSet<Address> = state.resources.keys().cloned().collect();
    let what = kind.as_str().to_lowercase();
    for live in describe_all(aws, kind, &ids, parallelism).await? {
        let tag = live.tags.get(TAG_NAME);
        if let Some(other) = foreign_lineage(&live, state)
            && !force
        {
            search.skipped.push(format!(
                "{what} {} ({TAG_NAME}={}): managed by another outbound state (lineage {other}); import it with --force to take it over",
                live.id,
                tag.map_or("(none)", String::as_str)
            ));
            continue;
        }
        if let Some(name) = tag
            && live.tags.get(TAG_LINEAGE) == Some(&state.lineage)
            && state
                .pending
                .contains_key(&Address::new(kind, name.clone()))
        {
            search.skipped.push(format!(
                "{what} {} ({kind}/{name}): an interrupted creation of this state, adopted by the next plan",
                live.id
            ));
            continue;
        }
        let name = tagged_name(kind, &live, &taken);
        let address = Address::new(kind, name);
        taken.insert(address.clone());
        search.found.push(Found {
            address,
            live,
            pem: None,
        });
    }
    Ok(())
}

/// Whether the kind is known by an id AWS assigns (`=ID` on the command line, found by tags).
fn tagged(kind: Kind) -> bool {
    matches!(kind.rules().identity, Identity::Tagged { .. })
}

/// Every id of a kind known by an AWS id (its List call, all pages).
async fn list_ids<A: Observe>(aws: &A, kind: Kind) -> Result<Vec<ResourceId>, AwsError> {
    match kind {
        Kind::Connector => Ok(aws
            .list_connectors()
            .await?
            .into_iter()
            .map(|c| c.id.into())
            .collect()),
        _ => aws.list_ids(kind).await,
    }
}

/// One resource of a kind known by an AWS id, described (tags included).
async fn describe_one<A: Observe>(
    aws: &A,
    kind: Kind,
    id: &ResourceId,
) -> Result<Option<Live>, AwsError> {
    match kind {
        Kind::Connector => match id.connector() {
            Ok(id) => aws.describe_connector(&id).await,
            Err(_) => Ok(None),
        },
        _ => aws.describe_by_id(kind, id).await,
    }
}

/// Describes resources concurrently (tags included), in the order of `ids`.
async fn describe_all<A: Observe>(
    aws: &A,
    kind: Kind,
    ids: &[ResourceId],
    parallelism: usize,
) -> Result<Vec<Live>, AwsError> {
    let described: Vec<Result<Option<Live>, AwsError>> = stream::iter(ids)
        .map(|id| describe_one(aws, kind, id))
        .buffered(parallelism.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for live in described {
        out.extend(live?);
    }
    Ok(out)
}

/// The `outbound:name` tag when it is a valid, free name; else the resource's id.
fn tagged_name(kind: Kind, live: &Live, taken: &BTreeSet<Address>) -> String {
    let name = &*patterns::NAME_RE;
    live.tags
        .get(TAG_NAME)
        .filter(|n| name.is_match(n))
        .filter(|n| !taken.contains(&Address::new(kind, (*n).clone())))
        .cloned()
        .unwrap_or_else(|| live.id.to_string())
}

/// The lineage of another state that `live`'s tag names, if any.
fn foreign_lineage<'a>(live: &'a Live, state: &State) -> Option<&'a str> {
    live.tags
        .get(TAG_LINEAGE)
        .filter(|l| **l != state.lineage)
        .map(String::as_str)
}

/// The address this state records the `kind` of AWS id `id` under, if any.
fn managed_by_id<'a>(
    state: &'a State,
    kind: Kind,
    id: &ResourceId,
) -> Option<(&'a Address, &'a state::Record)> {
    state
        .resources
        .iter()
        .find(|(a, r)| a.kind == kind && r.id == *id)
}

/// The connections the API destinations of `found` point at whose manifest an earlier import
/// wrote into `dir` (`connection-NAME.yaml`, NAME from the ARN
/// `arn:…:connection/NAME/…`): ARN -> name, so a destination names its connection with
/// `connection:` although the state records neither until they are adopted.
fn imported_earlier(dir: &Path, found: &[Found]) -> BTreeMap<String, String> {
    connections_of(found, |connection| {
        dir.join(import::file_name(connection)).is_file()
    })
}

/// The connections the API destinations of `found` point at that `known` accepts: ARN ->
/// name (NAME from the ARN `arn:…:connection/NAME/…`).
fn connections_of(found: &[Found], known: impl Fn(&Address) -> bool) -> BTreeMap<String, String> {
    found
        .iter()
        .filter(|f| f.address.kind == Kind::ApiDestination)
        .filter_map(|f| f.live.spec.get("connectionArn"))
        .filter_map(|arn| arn.as_str().map(str::to_owned))
        .filter_map(|arn| {
            let name = arn
                .split_once(":connection/")?
                .1
                .split('/')
                .next()?
                .to_owned();
            known(&Address::new(Kind::Connection, name.clone())).then_some((arn, name))
        })
        .collect()
}

/// Writes every manifest into `dir`.
fn write(dir: &Path, imported: &[Imported]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    for i in imported {
        let path = dir.join(&i.file);
        std::fs::write(&path, &i.yaml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        for (file, content) in &i.files {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, content)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        }
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
        let id = if i.record.id == i.address.name.as_str() {
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

/// Warnings, the secrets to set, and what the next plan will show (stderr); `recorded`: the
/// state holds them already (`--write-state`), else the next plan adopts them.
fn next_steps(imported: &[Imported], recorded: bool) -> String {
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
    let to_fill: Vec<(&Imported, &String)> = imported
        .iter()
        .flat_map(|i| i.to_fill.iter().map(move |f| (i, f)))
        .collect();
    if !to_fill.is_empty() {
        out.push_str(
            "\nAWS never returns a private key; the manifests read it from these files, relative to them. Write each before `outbound plan`:\n",
        );
        for (i, file) in to_fill {
            out.push_str(&format!("  {file}  {}\n", i.address));
        }
    }
    let by_kind: BTreeMap<Kind, usize> = imported.iter().fold(BTreeMap::new(), |mut m, i| {
        *m.entry(i.address.kind).or_default() += 1;
        m
    });
    let connections = by_kind.get(&Kind::Connection).copied().unwrap_or(0);
    // Connectors, certificates and profiles: adopted with outbound's `outbound:` tags.
    let tagged_count: usize = by_kind
        .iter()
        .filter(|(k, _)| tagged(**k))
        .map(|(_, n)| n)
        .sum();
    if !recorded {
        out.push_str(&format!(
            "\nThe state was left alone: each manifest carries `metadata.adopt`, and the next `outbound plan` shows {} as `adopt`, with the changes made once ({}fields the manifest sets differently from AWS); `outbound apply` records them in the state. Review and merge the manifests first.\n",
            if imported.len() == 1 { "it" } else { "them" },
            match (connections > 0, tagged_count > 0) {
                (true, true) => "a connection's secrets, the `outbound:` tags of a connector, certificate or profile, ",
                (true, false) => "a connection's secrets, ",
                (false, true) => "the `outbound:` tags of a connector, certificate or profile, ",
                (false, false) => "",
            }
        ));
        return out;
    }
    let owed: Vec<String> = [
        (connections, "that send secrets, one per connection"),
        (
            by_kind.get(&Kind::Connector).copied().unwrap_or(0),
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
    use crate::resource::Arn;

    fn connector(id: &str, tags: &[(&str, &str)]) -> Live {
        Live {
            expires: None,
            id: ConnectorId::parse(id).unwrap().into(),
            arn: Arn::new(format!("arn:aws:transfer:r:1:connector/{id}")),
            spec: serde_json::json!({}).into(),
            status: Some("ACTIVE".into()),
            status_reason: None,
            last_modified: None,
            created: None,
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
            tagged_name(
                Kind::Connector,
                &connector(id, &[(TAG_NAME, "edi")]),
                &taken
            ),
            "edi"
        );
        assert_eq!(
            tagged_name(Kind::Connector, &connector(id, &[]), &taken),
            id
        );
        assert_eq!(
            tagged_name(
                Kind::Connector,
                &connector(id, &[(TAG_NAME, "has space")]),
                &taken
            ),
            id
        );
        assert_eq!(
            tagged_name(
                Kind::Connector,
                &connector(id, &[(TAG_NAME, "used")]),
                &taken
            ),
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

    // ---- the search against the in-process double (crate::aws::fake) --------------------

    use crate::aws::fake::Fake;
    use crate::state::{LiveMarkers, Pending, Record};

    fn connection(name: &str) -> Live {
        Live {
            expires: None,
            id: ResourceId::name(name),
            arn: format!("arn:aws:events:r:1:connection/{name}/1").into(),
            spec: serde_json::json!({"authorizationType": "API_KEY"}).into(),
            status: Some("AUTHORIZED".into()),
            status_reason: None,
            last_modified: Some("2026-12-02T08:00:00Z".into()),
            created: None,
            tags: BTreeMap::new(),
        }
    }

    fn record(live: &Live) -> Record {
        Record {
            id: live.id.clone(),
            arn: live.arn.clone(),
            spec: live.spec.clone(),
            fingerprints: BTreeMap::new(),
            protect: false,
            live: LiveMarkers::default(),
            imported: false,
        }
    }

    fn addresses(search: &Search) -> Vec<String> {
        search.found.iter().map(|f| f.address.to_string()).collect()
    }

    async fn all_of(fake: &Fake, state: &State, force: bool) -> Search {
        all(fake, &Kind::ALL.into_iter().collect(), state, force, 1)
            .await
            .unwrap()
    }

    /// `--all` finds what no state manages (a connector under its `outbound:name` tag) and
    /// leaves out what this state records, another lineage's connector (unless forced), and
    /// a connector whose interrupted creation the next plan adopts.
    #[tokio::test]
    async fn all_leaves_out_managed_foreign_and_pending_connectors() {
        let mut state = State::new();
        let managed = connection("managed");
        state
            .resources
            .insert(Address::new(Kind::Connection, "managed"), record(&managed));
        state.pending.insert(
            Address::new(Kind::Connector, "pending"),
            Pending {
                started: "2026-12-02T08:00:00Z".into(),
                delete: false,
                update: false,
                id: None,
                replaces: None,
            },
        );
        let fake = Fake::default();
        fake.insert(managed);
        fake.insert(connection("new"));
        let lineage = state.lineage.clone();
        fake.insert(connector("c-1", &[(TAG_NAME, "edi")]));
        fake.insert(connector(
            "c-2",
            &[(TAG_NAME, "theirs"), (TAG_LINEAGE, "other")],
        ));
        fake.insert(connector(
            "c-3",
            &[(TAG_NAME, "pending"), (TAG_LINEAGE, &lineage)],
        ));
        let search = all_of(&fake, &state, false).await;
        assert_eq!(addresses(&search), ["Connection/new", "Connector/edi"]);
        assert_eq!(search.skipped.len(), 2, "{:?}", search.skipped);
        assert!(search.skipped[0].contains("another outbound state"));
        assert!(search.skipped[1].contains("adopted by the next plan"));
        assert!(
            !fake
                .calls()
                .contains(&"DescribeConnection managed".to_owned()),
            "{:?}",
            fake.calls()
        );
        let forced = all_of(&fake, &state, true).await;
        assert_eq!(
            addresses(&forced),
            ["Connection/new", "Connector/edi", "Connector/theirs"]
        );
    }

    /// A connector named without an id is found by its tag: refused when several carry it,
    /// when this state manages it already, or when another lineage claims it (unless forced).
    #[tokio::test]
    async fn named_connectors_are_found_by_their_tag_and_refused_when_ambiguous_or_owned() {
        let mut state = State::new();
        let owned = connector("c-1", &[(TAG_NAME, "owned")]);
        state
            .resources
            .insert(Address::new(Kind::Connector, "elsewhere"), record(&owned));
        let fake = Fake::default();
        fake.insert(owned);
        fake.insert(connector("c-2", &[(TAG_NAME, "twice")]));
        fake.insert(connector("c-3", &[(TAG_NAME, "twice")]));
        fake.insert(connector(
            "c-4",
            &[(TAG_NAME, "theirs"), (TAG_LINEAGE, "other")],
        ));
        fake.insert(connector("c-5", &[(TAG_NAME, "edi")]));
        let these: Vec<(Address, Option<ResourceId>)> =
            ["owned", "twice", "theirs", "edi", "absent"]
                .into_iter()
                .map(|n| (Address::new(Kind::Connector, n), None))
                .collect();
        let search = named(&fake, "r", &these, &state, false, 1).await.unwrap();
        assert_eq!(addresses(&search), ["Connector/edi"]);
        let refused = search.refused.join("\n");
        for why in [
            "Connector/owned: c-1 is already managed by this state as Connector/elsewhere",
            "Connector/twice: several connectors are tagged outbound:name=twice",
            "Connector/theirs (c-4) is managed by another outbound state",
            "Connector/absent does not exist in AWS (region r)",
        ] {
            assert!(refused.contains(why), "{why}\n{refused}");
        }
        let forced = named(&fake, "r", &these[2..3], &state, true, 1)
            .await
            .unwrap();
        assert_eq!(addresses(&forced), ["Connector/theirs"]);
    }
}
