//! The check of `plan::in_use` with what it needs from AWS: when the plan deletes what a
//! kind known by an AWS-assigned id can name (a certificate, a profile), the resources of
//! that kind this state does not manage are listed and described, and a delete one of them
//! still names refuses the plan (before apply asks or changes anything).

use futures::stream::{self, StreamExt};

use super::{NotPrepared, Prepared};
use crate::aws::cloud::Observe;
use crate::aws::{AwsError, Live};
use crate::plan::in_use::{self, InUseError};
use crate::render;
use crate::resource::{Kind, ResourceId};

/// The refusal (printed here), if the plan deletes what resources outside the state name;
/// `None` when it may go on.
pub async fn refuse(p: &Prepared, parallelism: usize) -> Option<NotPrepared> {
    match check(p.aws.as_ref(), &p.plan, &p.state, parallelism).await {
        Ok(None) => None,
        Ok(Some(e)) => {
            let hint = e.hint();
            let e = anyhow::Error::new(e);
            render::error(&e);
            render::message(&format!("  hint: {hint}\n"));
            Some(NotPrepared::Failed(render::failure::Failure::error(
                &e,
                Some(hint),
            )))
        }
        Err(e) => {
            let e = anyhow::Error::new(e).context(
                "cannot check whether resources outside outbound use what the plan deletes",
            );
            render::error(&e);
            Some(NotPrepared::Incomplete(render::failure::Failure::error(
                &e, None,
            )))
        }
    }
}

/// The plan's deletes in use outside the state, reading only what the check needs.
pub async fn check<A: Observe>(
    aws: &A,
    plan: &crate::plan::Plan,
    state: &crate::state::State,
    parallelism: usize,
) -> Result<Option<InUseError>, AwsError> {
    let mut outside: Vec<(Kind, Live)> = Vec::new();
    for (kind, managed) in in_use::wanted(plan, state) {
        let ids: Vec<ResourceId> = match kind {
            Kind::Connector => aws
                .list_connectors()
                .await?
                .into_iter()
                .map(|c| c.id.into())
                .collect(),
            _ => aws.list_ids(kind).await?,
        };
        let described: Vec<Result<Option<Live>, AwsError>> =
            stream::iter(ids.into_iter().filter(|id| !managed.contains(id)))
                .map(|id| async move {
                    match kind {
                        Kind::Connector => match id.connector() {
                            Ok(id) => aws.describe_connector(&id).await,
                            Err(_) => Ok(None),
                        },
                        _ => aws.describe_by_id(kind, &id).await,
                    }
                })
                .buffered(parallelism.max(1))
                .collect()
                .await;
        for live in described {
            outside.extend(live?.map(|l| (kind, l)));
        }
    }
    let found = in_use::refusals(plan, &outside);
    Ok((!found.is_empty()).then_some(InUseError(found)))
}
