//! One change against AWS: its calls, waits and the record it leaves.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::aws::cloud::Cloud;
use crate::aws::events::Written;
use crate::aws::{AwsError, ErrorClass, Live};
use crate::manifest::DesiredState;
use crate::plan::{Action, Change};
use crate::resource::rules::{Health, Sends};
use crate::resource::{
    Address, ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath, Kind,
    ResourceId, SpecJson,
};
use crate::state::{LiveMarkers, Record, State};

use super::wait::wait_for;
use super::{Effect, progress};

/// The planned spec of `change` with each reference resolved to the id or ARN of its
/// target in `arns`: what a job sends, and what the state records of an unchanged resource.
pub(super) fn resolved_spec(
    change: &Change,
    arns: &BTreeMap<Address, (ResourceId, Arn)>,
) -> SpecJson {
    let mut spec = change.desired.as_ref().map_or(Value::Null, SpecJson::value);
    crate::resource::resolve_references(change.address.kind, &mut spec, &|a, sends| {
        let (id, arn) = arns.get(a)?;
        Some(match sends {
            Sends::Id => id.as_str().to_owned(),
            Sends::Arn => arn.as_str().to_owned(),
        })
    });
    SpecJson::from(spec)
}

/// What a job created, of a kind AWS assigns the ids of: the loop saves its id in
/// `state.pending`, then answers.
pub(super) struct Created {
    pub(super) address: Address,
    pub(super) id: ResourceId,
    pub(super) saved: tokio::sync::oneshot::Sender<()>,
}

/// Everything one change needs, owned, so it can run on its own task.
pub(super) struct Job {
    pub(super) change: Change,
    /// The planned spec, with `connectionArn` filled in for an API destination from the
    /// connection the plan names; it is also what the state records.
    spec: SpecJson,
    secrets: crate::aws::events::Secrets,
    lineage: String,
    /// Its progress on stderr: its end, and what it waits on.
    pub(super) step: Arc<progress::Step>,
    /// Whether a write of this change went through (AWS answered it).
    wrote: std::sync::atomic::AtomicBool,
}

impl Job {
    pub(super) fn new(
        change: &Change,
        desired: &DesiredState,
        state: &State,
        arns: &BTreeMap<Address, (ResourceId, Arn)>,
    ) -> Job {
        // Only the secret values come from `desired`: what to send is the plan's. Each
        // reference is resolved to the id or ARN of its target as it is now (created or
        // replaced earlier in this run).
        Job {
            change: change.clone(),
            spec: resolved_spec(change, arns),
            secrets: desired
                .resources
                .get(&change.address)
                .map(|r| r.secrets.clone())
                .unwrap_or_default(),
            lineage: state.lineage.clone(),
            step: Arc::new(progress::Step::start(&change.address, change.action)),
            wrote: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A write's answer, noting when it went through.
    fn wrote<T>(&self, answer: Result<T, AwsError>) -> Result<T, AwsError> {
        if answer.is_ok() {
            self.wrote.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        answer
    }

    /// Whether the change failed with `error` before anything changed in AWS: no write went
    /// through, and the failing one (if any) was refused, an answer that proves it was not
    /// carried out (validation, already exists, access denied, quota, throttled, not found),
    /// not a lost answer or a server error, which may hide a change that happened.
    pub(super) fn nothing_done(&self, error: &AwsError) -> bool {
        !self.wrote.load(std::sync::atomic::Ordering::Relaxed) && error.class != ErrorClass::Other
    }

    /// Runs the change: the AWS calls of its kind and action, each in its own method.
    pub(super) async fn run<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        // Copies an interrupted create or replacement left go first (issue 10 item 1).
        for leftover in &c.leftovers {
            self.wrote(delete_leftover(aws, c.address.kind, leftover).await)?;
        }
        let by_id = c.address.kind != Kind::Connector && c.address.kind.assigns_ids();
        match (c.address.kind, c.action) {
            (_, Action::Noop) => unreachable!("no-ops are not run"),
            (_, Action::Create | Action::Replace) if by_id => self.create_by_id(aws, created).await,
            (_, Action::Update | Action::Adopt) if by_id => self.update_by_id(aws).await,
            (_, Action::Forget) => Ok(Effect::Remove),
            // An adoption with nothing to change is only recorded.
            (_, Action::Adopt) if c.fields.is_empty() => self.adopt(aws).await,
            (_, Action::Deauthorize) => self.deauthorize(aws, timeout).await,
            (_, Action::Delete) => self.delete(aws).await,
            // A named resource cannot be created anew before the old one is gone, and its
            // rules reset every optional field in place: a replacement is never planned.
            (Kind::Connection | Kind::ApiDestination, Action::Replace) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!(
                    "{} cannot be replaced: AWS names it, so the old one would have to be deleted first",
                    c.address
                ),
            }),
            (Kind::Connection, _) => self.connection(aws, timeout).await,
            (Kind::ApiDestination, _) => self.api_destination(aws).await,
            (Kind::Connector, Action::Create | Action::Replace) => {
                self.create_connector(aws, timeout, created).await
            }
            (Kind::Connector, Action::Update | Action::Adopt) => {
                self.update_connector(aws, timeout).await
            }
            // Every other kind is known by an id AWS assigns (`by_id`), handled above.
            (_, _) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: no calls for this kind", c.address),
            }),
        }
    }

    /// Records a resource the manifest adopts, as a Describe shows it now (its drift marker
    /// from a read); gone from AWS since the plan, it is not recorded.
    async fn adopt<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id =
            c.id.clone()
                .unwrap_or_else(|| ResourceId::name(&c.address.name));
        let live = match c.address.kind {
            Kind::Connection => aws.describe_connection(id.as_str()).await?,
            Kind::ApiDestination => aws.describe_api_destination(id.as_str()).await?,
            kind => aws.describe_by_id(kind, &id).await?,
        };
        let Some(live) = live else {
            return Err(AwsError {
                operation: "apply",
                class: ErrorClass::NotFound,
                code: None,
                message: format!("{} ({id}) to adopt is no longer in AWS", c.address),
            });
        };
        Ok(Effect::Record(self.record(
            id,
            live.arn.clone(),
            Some(&live),
        )))
    }

    /// `UpdateConnection` of its other fields when they change (without auth parameters: the
    /// spec says `deauthorized`), `DeauthorizeConnection`, then wait until AWS reports it
    /// switched off.
    async fn deauthorize<C: Cloud>(&self, aws: &C, timeout: Duration) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        if c.fields.iter().any(|f| f.path != "connectionState") {
            let spec: ConnectionSpec = typed(&self.spec)?;
            self.wrote(
                aws.update_connection(name, &spec, &self.secrets, &c.clear)
                    .await,
            )?;
        }
        self.wrote(aws.deauthorize_connection(name).await)?;
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connection(name),
            c.address.kind,
            Health::Off,
        )
        .await?;
        let arn = live
            .as_ref()
            .map(|l| l.arn.clone())
            .or(c.arn.clone())
            .unwrap_or_default();
        Ok(Effect::Record(self.record(
            ResourceId::name(name),
            arn,
            live.as_ref(),
        )))
    }

    /// Deletes it; already gone counts as done.
    async fn delete<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id =
            c.id.clone()
                .unwrap_or_else(|| ResourceId::name(&c.address.name));
        let deleted = match c.address.kind {
            Kind::Connection => aws.delete_connection(id.as_str()).await,
            Kind::ApiDestination => aws.delete_api_destination(id.as_str()).await,
            kind => aws.delete_by_id(kind, &id).await,
        };
        match self.wrote(deleted) {
            Ok(()) => Ok(Effect::Remove),
            Err(e) if e.class == ErrorClass::NotFound => Ok(Effect::Remove),
            Err(e) => Err(e),
        }
    }

    /// Creates or updates a connection, then waits until it is ready.
    async fn connection<C: Cloud>(&self, aws: &C, timeout: Duration) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let spec: ConnectionSpec = typed(&self.spec)?;
        let written = self.wrote(if c.action == Action::Create {
            aws.create_connection(name, &spec, &self.secrets).await
        } else {
            aws.update_connection(name, &spec, &self.secrets, &c.clear)
                .await
        })?;
        // The markers recorded (`LastModifiedTime`, state) come from a Describe, never from
        // the write's answer (issue 15 item 11): the first one when the state is final,
        // more while it is not (an OAuth connection `AUTHORIZING`). A deauthorized one
        // (updated without its authorization) stays switched off.
        let arn = self.arn_of(&written);
        let want = if spec.deauthorized {
            Health::Off
        } else {
            Health::Healthy
        };
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connection(name),
            Kind::Connection,
            want,
        )
        .await?;
        Ok(Effect::Record(self.record(
            ResourceId::name(name),
            live.as_ref().map_or(arn, |l| l.arn.clone()),
            live.as_ref(),
        )))
    }

    /// Creates or updates an API destination (on its connection's ARN).
    async fn api_destination<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let name = c.address.name.as_str();
        let spec: ApiDestinationSpec = typed(&self.spec)?;
        let connection_arn = Arn::new(spec.connection_arn.clone().unwrap_or_default());
        let written = self.wrote(if c.action == Action::Create {
            aws.create_api_destination(name, &spec, &connection_arn)
                .await
        } else {
            aws.update_api_destination(name, &spec, &connection_arn, &c.clear)
                .await
        })?;
        // Never waited for: `INACTIVE` follows its connection (recorded as it is). One
        // Describe gives the markers recorded, never the write's answer (issue 15 item 11).
        let arn = self.arn_of(&written);
        let live = aws.describe_api_destination(name).await?;
        Ok(Effect::Record(self.record(
            ResourceId::name(name),
            live.as_ref().map_or(arn, |l| l.arn.clone()),
            live.as_ref(),
        )))
    }

    /// Creates a connector tagged with its name and lineage, has its id saved as pending,
    /// waits until it is ready, and deletes the one it replaces.
    async fn create_connector<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        let spec: ConnectorSpec = typed(&self.spec)?;
        let tags = self.ownership_tags();
        let new_id = self.wrote(aws.start_connector(&spec, &tags).await)?;
        self.saved_as_pending(&new_id, created).await;
        let new_id = new_id.connector().map_err(|e| AwsError {
            operation: "CreateConnector",
            class: ErrorClass::Other,
            code: None,
            message: format!("AWS answered with {e}"),
        })?;
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connector(&new_id),
            Kind::Connector,
            Health::Healthy,
        )
        .await?;
        // The wait's Describe gives the ARN (CreateConnector answers with the id only).
        let arn = match &live {
            Some(l) if !l.arn.is_empty() => l.arn.clone(),
            _ => {
                return Err(AwsError {
                    operation: "DescribeConnector",
                    class: ErrorClass::Other,
                    code: None,
                    message: format!(
                        "connector {new_id} was created, but AWS does not describe it with an ARN"
                    ),
                });
            }
        };
        if c.action == Action::Replace && c.id.is_some() {
            self.wrote(delete_connector(aws, &self.connector_id()?).await)?;
        }
        Ok(Effect::Record(self.record(
            new_id.into(),
            arn,
            live.as_ref(),
        )))
    }

    /// Creates a resource known by an AWS-assigned id (certificate, profile), tagged with its
    /// name and lineage, reads it back for its ARN, and deletes the one it replaces unless
    /// others still name it (the engine deletes that one once they are repointed).
    async fn create_by_id<C: Cloud>(
        &self,
        aws: &C,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        let kind = c.address.kind;
        let tags = self.ownership_tags();
        let new_id = self.wrote(
            aws.create_by_id(kind, &self.spec, &self.secrets, &tags)
                .await,
        )?;
        self.saved_as_pending(&new_id, created).await;
        let live = aws.describe_by_id(kind, &new_id).await?;
        let arn = match &live {
            Some(l) if !l.arn.is_empty() => l.arn.clone(),
            _ => {
                return Err(AwsError {
                    operation: "Describe",
                    class: ErrorClass::Other,
                    code: None,
                    message: format!(
                        "{kind} {new_id} was created, but AWS does not describe it with an ARN"
                    ),
                });
            }
        };
        if c.action == Action::Replace
            && c.retire_after.is_empty()
            && let Some(old) = &c.id
        {
            match self.wrote(aws.delete_by_id(kind, old).await) {
                Err(e) if e.class != ErrorClass::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(Effect::Record(self.record(new_id, arn, live.as_ref())))
    }

    /// Updates a resource known by an AWS-assigned id in place: its members, then its tags.
    async fn update_by_id<C: Cloud>(&self, aws: &C) -> Result<Effect, AwsError> {
        let c = &self.change;
        let kind = c.address.kind;
        let Some(id) = c.id.clone() else {
            return Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: the plan names no id", c.address),
            });
        };
        let arn = c.arn.clone().unwrap_or_default();
        let (tag_changes, other): (Vec<_>, Vec<_>) =
            c.fields.iter().partition(|f| f.path.tag_key().is_some());
        if !other.is_empty() {
            self.wrote(aws.update_by_id(kind, &id, &self.spec).await)?;
        }
        let spec_tags: BTreeMap<String, String> = self
            .spec
            .get("tags")
            .and_then(|t| serde_json::from_value(t).ok())
            .unwrap_or_default();
        let (set, unset) = tag_updates(&tag_changes, &spec_tags);
        // Removed before added, as for connectors.
        if !unset.is_empty() {
            self.wrote(aws.untag_connector(&arn, &unset).await)?;
        }
        if !set.is_empty() {
            self.wrote(aws.tag_connector(&arn, &set).await)?;
        }
        let live = aws.describe_by_id(kind, &id).await?;
        Ok(Effect::Record(self.record(id, arn, live.as_ref())))
    }

    /// Updates a connector in place: its members, then its tags; waits until it is ready.
    async fn update_connector<C: Cloud>(
        &self,
        aws: &C,
        timeout: Duration,
    ) -> Result<Effect, AwsError> {
        let c = &self.change;
        let id = self.connector_id()?;
        let spec: ConnectorSpec = typed(&self.spec)?;
        let arn = c.arn.clone().unwrap_or_default();
        let (tag_changes, other): (Vec<_>, Vec<_>) =
            c.fields.iter().partition(|f| f.path.tag_key().is_some());
        if !other.is_empty() {
            let clear: Vec<FieldPath> = c
                .clear
                .iter()
                .filter(|p| !p.pointer().starts_with("/spec/tags"))
                .cloned()
                .collect();
            self.wrote(aws.update_connector(&id, &spec, &clear).await)?;
        }
        let (set, unset) = tag_updates(&tag_changes, &spec.tags);
        // Removed before added: a connector at AWS's limit of 50 tags can rename one.
        if !unset.is_empty() {
            self.wrote(aws.untag_connector(&arn, &unset).await)?;
        }
        if !set.is_empty() {
            self.wrote(aws.tag_connector(&arn, &set).await)?;
        }
        let live = wait_for(
            &self.step,
            timeout,
            || aws.describe_connector(&id),
            Kind::Connector,
            Health::Healthy,
        )
        .await?;
        Ok(Effect::Record(self.record(id.into(), arn, live.as_ref())))
    }

    /// Has the loop save `id`, which AWS just assigned to what this change created, in its
    /// pending mark, and waits until it is: a run that dies or fails from here on leaves a
    /// pending entry naming the copy it made (issue 10 item 1), whatever the kind.
    async fn saved_as_pending(
        &self,
        id: &ResourceId,
        created: &tokio::sync::mpsc::UnboundedSender<Created>,
    ) {
        let (saved, is_saved) = tokio::sync::oneshot::channel();
        let report = Created {
            address: self.change.address.clone(),
            id: id.clone(),
            saved,
        };
        if created.send(report).is_ok() {
            let _ = is_saved.await;
        }
    }

    /// The tags that say who made what this change creates: its `metadata.name` and the
    /// state's lineage, under its kind's ownership tag keys.
    fn ownership_tags(&self) -> BTreeMap<String, String> {
        let address = &self.change.address;
        address
            .kind
            .ownership_tags()
            .map(|(name, lineage)| {
                BTreeMap::from([
                    (name.to_owned(), address.name.clone()),
                    (lineage.to_owned(), self.lineage.clone()),
                ])
            })
            .unwrap_or_default()
    }

    /// The id of the connector this change is about (the plan's, from the state or AWS).
    fn connector_id(&self) -> Result<ConnectorId, AwsError> {
        let c = &self.change;
        let id = c.id.as_ref().map(ResourceId::connector);
        match id {
            Some(Ok(id)) => Ok(id),
            Some(Err(e)) => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: {e}", c.address),
            }),
            None => Err(AwsError {
                operation: "apply",
                class: ErrorClass::Invalid,
                code: None,
                message: format!("{}: the plan names no connector id", c.address),
            }),
        }
    }

    /// The ARN of a Create or Update answer, else the one the plan knew.
    fn arn_of(&self, written: &Written) -> Arn {
        if written.arn.is_empty() {
            self.change.arn.clone().unwrap_or_default()
        } else {
            written.arn.clone()
        }
    }

    fn record(&self, id: ResourceId, arn: Arn, live: Option<&Live>) -> Record {
        Record {
            id,
            arn,
            spec: self.spec.clone(),
            fingerprints: self.change.fingerprints.clone(),
            protect: self.change.protect,
            live: LiveMarkers {
                last_modified: live.and_then(|l| l.last_modified.clone()),
                status: live.and_then(|l| l.status.clone()),
            },
            imported: false,
        }
    }
}

/// The tags to set and the keys to remove, from a change's tag fields; `outbound:` tags are
/// not in the spec (`spec_tags`): the plan carries their value.
fn tag_updates(
    tag_changes: &[&crate::diff::FieldChange],
    spec_tags: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = tag_changes
        .iter()
        .filter(|f| f.after.is_some())
        .filter_map(|f| {
            let key = f.path.tag_key()?;
            let value = spec_tags.get(key).cloned().or_else(|| match &f.after {
                Some(crate::diff::Leaf::Value(Value::String(v))) => Some(v.clone()),
                _ => None,
            })?;
            Some((key.to_owned(), value))
        })
        .collect();
    let unset = tag_changes
        .iter()
        .filter(|f| f.after.is_none())
        .filter_map(|f| f.path.tag_key().map(str::to_owned))
        .collect();
    (set, unset)
}

/// `DeleteConnector`; a connector already gone counts as deleted.
async fn delete_connector<C: Cloud>(aws: &C, id: &ConnectorId) -> Result<(), AwsError> {
    match aws.delete_connector(id).await {
        Err(e) if e.class != ErrorClass::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Deletes a copy of `kind` an interrupted create or replacement left (any kind AWS assigns
/// the ids of); one already gone counts as deleted.
async fn delete_leftover<C: Cloud>(aws: &C, kind: Kind, id: &ResourceId) -> Result<(), AwsError> {
    match aws.delete_by_id(kind, id).await {
        Err(e) if e.class != ErrorClass::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn typed<T: serde::de::DeserializeOwned>(spec: &SpecJson) -> Result<T, AwsError> {
    spec.typed().map_err(|e| AwsError {
        operation: "apply",
        class: ErrorClass::Invalid,
        code: None,
        message: format!("the planned spec does not fit its kind: {e}"),
    })
}
