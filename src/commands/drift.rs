//! `outbound drift`: validate -> state -> observe -> diff -> plan -> drift report -> render.
//! Run from cron beside applies: it changes nothing, saves nothing and takes no lock.

use super::context::{Context, contexts};
use super::plan::{each, finish, section};
use super::{Gathered, NotPrepared, Outcome, gather, refused, runtime};
use crate::aws::{Aws, AwsError};
use crate::cli::{DriftArgs, Format, GlobalArgs};
use crate::drift::{self, Unmanaged, Verdict};
use crate::plan::{self, Plan, PlanError};
use crate::render;
use crate::resource::{Kind, ResourceId};

/// Reports drift; a report that could not be made is also rendered on stdout (Markdown,
/// JSON), so the issue a bot opens is never empty.
pub fn run(args: &DriftArgs, global: &GlobalArgs) -> anyhow::Result<Outcome> {
    let contexts = match contexts(global, &args.paths.paths, &args.aws, "drift", true) {
        Ok(c) => c,
        Err(e) => return finish("drift", args.format, Err(e)),
    };
    if global.env.as_deref() == Some(crate::project::ALL) {
        return Ok(each("drift", args.format, &contexts, |ctx| {
            drift(ctx, args, global.verbose)
        }));
    }
    let Some(ctx) = contexts.first() else {
        return Ok(Outcome::Failed);
    };
    let (out, outcome) = section(
        "drift",
        args.format,
        ctx.name(),
        drift(ctx, args, global.verbose),
    );
    render::out(&out);
    outcome
}

fn drift(
    ctx: &Context,
    args: &DriftArgs,
    verbose: u8,
) -> anyhow::Result<Result<(String, Outcome), NotPrepared>> {
    runtime()?.block_on(async {
        // 1. Manifests, state and AWS; what AWS could not be read for is kept, not fatal.
        let mut g = match gather(ctx, Default::default(), args.secrets, verbose).await? {
            Ok(g) => g,
            Err(n) => return Ok(Err(n)),
        };
        let mut not_checked: std::collections::BTreeMap<_, _> = g
            .unreadable
            .iter()
            .map(|(a, e)| (a.clone(), drift::unreadable_reason(e)))
            .collect();
        // 2. The plan of what could be read.
        let plan = match plan_readable(&mut g, &mut not_checked) {
            Ok(p) => p,
            Err(e) => return Ok(Err(refused(e))),
        };
        // 3. Resources nobody names, when asked.
        let unmanaged = if args.include_unmanaged {
            let listed = list(&g.aws).await;
            Some(drift::unmanaged(listed, &g.desired, &g.state, &g.observed))
        } else {
            None
        };
        if verbose > 0 {
            render::message(&format!("drift: {}\n", g.aws.calls));
        }
        // 4. The report.
        let asked = drift::deauthorize_asked(&g.desired, &g.state);
        let report = drift::report(drift::Inputs {
            plan: &plan,
            not_checked: &not_checked,
            state: &g.state,
            deauthorize_asked: &asked,
            now: std::time::SystemTime::now(),
            expiry_warning_days: args.expiry_warning,
            unmanaged,
        });
        let out = match args.format {
            Format::Text => render::drift::text(&report),
            Format::Json => render::drift::json(&report),
            Format::Markdown => render::drift::markdown(&report),
        };
        // `--secrets skip`: which secret fields the report could not compare.
        let skipped = render::text::not_compared(&plan);
        if !skipped.is_empty() {
            render::message(&skipped);
        }
        let outcome = match report.verdict() {
            Verdict::InSync => Outcome::Success,
            Verdict::Drift => Outcome::Changes,
            Verdict::Incomplete => Outcome::Incomplete,
        };
        Ok(Ok((out, outcome)))
    })
}

/// The plan of every resource that could be read. What stops `plan` does not stop a report:
/// protection guards deletes, and drift deletes nothing; a name the manifests want that AWS
/// has but the state does not is not outbound's to compare, so it is not checked.
fn plan_readable(
    g: &mut Gathered,
    not_checked: &mut std::collections::BTreeMap<crate::resource::Address, String>,
) -> Result<Plan, PlanError> {
    for r in g.desired.resources.values_mut() {
        r.protect = false;
    }
    // In place, not a copy: a state at account scale is tens of MB as JSON values, and the
    // report reads no protect flag.
    for r in g.state.resources.values_mut() {
        r.protect = false;
    }
    loop {
        match plan::build(&g.desired, &g.state, &g.observed, &g.fingerprints) {
            Err(PlanError::Unmanaged(taken)) => {
                for address in taken {
                    g.observed.remove(&address);
                    not_checked.insert(
                        address,
                        "it exists in AWS but not in outbound's state; adopt it with \
                         `outbound import`, or rename it in the manifest"
                            .to_owned(),
                    );
                }
            }
            result => return result,
        }
    }
}

/// One List call per kind of the registry (paginated), concurrently.
async fn list(aws: &Aws) -> drift::Listed {
    let lists = Kind::ALL.map(|kind| async move { (kind, list_kind(aws, kind).await) });
    futures::future::join_all(lists).await.into_iter().collect()
}

/// Every resource of `kind` as its List call shows it: by name for the kinds known by
/// their name, by id for the others.
async fn list_kind(aws: &Aws, kind: Kind) -> Result<Vec<Unmanaged>, AwsError> {
    let listed = |id: ResourceId| Unmanaged {
        kind,
        id,
        arn: None,
        url: None,
    };
    Ok(match kind {
        Kind::Connection => aws
            .list_connections()
            .await?
            .into_iter()
            .map(ResourceId::name)
            .map(listed)
            .collect(),
        Kind::ApiDestination => aws
            .list_api_destinations()
            .await?
            .into_iter()
            .map(ResourceId::name)
            .map(listed)
            .collect(),
        Kind::Connector => aws
            .list_connectors()
            .await?
            .into_iter()
            .map(|c| Unmanaged {
                kind,
                id: c.id.into(),
                arn: Some(c.arn).filter(|a| !a.is_empty()),
                url: c.url,
            })
            .collect(),
        _ => aws.list_ids(kind).await?.into_iter().map(listed).collect(),
    })
}
