//! The AWS operations observe and apply make, as two traits: the real [`Aws`] clients
//! implement them, and the in-process double of the unit tests (`aws::fake`) does too, so
//! observation (List pages, describes, adoption) and the engine's sequencing, waiting and
//! partial failures are tested in milliseconds.
//!
//! [`Observe`] holds the reads, [`Cloud`] adds the writes: `observe` is generic over the
//! first, so a plan or a drift report cannot change AWS by construction.

use std::collections::BTreeMap;
use std::future::Future;

use super::events::{Listed, Secrets, Written};
use super::{Aws, AwsError, ListedConnector, Live};
use crate::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath, Kind,
    ResourceId, SpecJson,
};

type Answer<T> = Result<T, AwsError>;

/// What observe asks of AWS (apply describes too); each call as the `Aws` method of the same
/// name.
pub trait Observe: Send + Sync {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send;
    fn describe_api_destination(
        &self,
        name: &str,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send;
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send;
    /// Every connection as the `ListConnections` pages show it (all pages).
    fn listed_connections(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send;
    /// Every API destination as the `ListApiDestinations` pages show it (all pages).
    fn listed_api_destinations(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send;
    /// Every connector (`ListConnectors`, all pages).
    fn list_connectors(&self) -> impl Future<Output = Answer<Vec<ListedConnector>>> + Send;
    /// The Describe of a kind known by an id AWS assigns (connectors, certificates,
    /// profiles); `None` when AWS has no such id (or, for a connector, no such id can be).
    fn describe_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send;
    /// Every id of such a kind (its List call, all pages).
    fn list_ids(&self, kind: Kind) -> impl Future<Output = Answer<Vec<ResourceId>>> + Send;
}

impl Observe for Aws {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send {
        Aws::describe_connection(self, name)
    }
    fn describe_api_destination(
        &self,
        name: &str,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        Aws::describe_api_destination(self, name)
    }
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        Aws::describe_connector(self, id)
    }
    fn listed_connections(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send {
        Aws::listed_connections(self)
    }
    fn listed_api_destinations(&self) -> impl Future<Output = Answer<Vec<Listed>>> + Send {
        Aws::listed_api_destinations(self)
    }
    fn list_connectors(&self) -> impl Future<Output = Answer<Vec<ListedConnector>>> + Send {
        Aws::list_connectors(self)
    }
    async fn describe_by_id(&self, kind: Kind, id: &ResourceId) -> Answer<Option<Live>> {
        Aws::describe_by_id(self, kind, id).await
    }
    async fn list_ids(&self, kind: Kind) -> Answer<Vec<ResourceId>> {
        Aws::list_ids(self, kind).await
    }
}

/// What apply asks of AWS, besides the reads of [`Observe`]; each call as the `Aws` method
/// of the same name.
pub trait Cloud: Observe + 'static {
    fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
    ) -> impl Future<Output = Answer<Written>> + Send;
    fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send;
    fn deauthorize_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send;
    fn delete_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send;
    fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
    ) -> impl Future<Output = Answer<Written>> + Send;
    fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send;
    fn delete_api_destination(&self, name: &str) -> impl Future<Output = Answer<()>> + Send;
    /// `CreateConnector` alone: the `c-…` id (apply saves it as pending, as the id of any
    /// kind AWS assigns ids to, before reading the connector).
    fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ResourceId>> + Send;
    fn update_connector(
        &self,
        id: &ConnectorId,
        spec: &ConnectorSpec,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<()>> + Send;
    fn tag_connector(
        &self,
        arn: &Arn,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<()>> + Send;
    fn untag_connector(
        &self,
        arn: &Arn,
        keys: &[String],
    ) -> impl Future<Output = Answer<()>> + Send;
    fn delete_connector(&self, id: &ConnectorId) -> impl Future<Output = Answer<()>> + Send;
    /// The create call of a kind known by an AWS-assigned id (certificates, profiles) with
    /// the spec's tags and `extra_tags` (`outbound:name`, `outbound:lineage`): its id. `spec`
    /// has its references resolved; `secrets` its secret values by JSON pointer.
    fn create_by_id(
        &self,
        kind: Kind,
        spec: &SpecJson,
        secrets: &Secrets,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ResourceId>> + Send;
    /// Its update call (tags excluded: [`Cloud::tag_connector`] tags any Transfer ARN).
    fn update_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
        spec: &SpecJson,
    ) -> impl Future<Output = Answer<()>> + Send;
    fn delete_by_id(&self, kind: Kind, id: &ResourceId) -> impl Future<Output = Answer<()>> + Send;
}

impl Cloud for Aws {
    fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
    ) -> impl Future<Output = Answer<Written>> + Send {
        Aws::create_connection(self, name, spec, secrets)
    }
    fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send {
        Aws::update_connection(self, name, spec, secrets, clear)
    }
    fn deauthorize_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        Aws::deauthorize_connection(self, name)
    }
    fn delete_connection(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        Aws::delete_connection(self, name)
    }
    fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
    ) -> impl Future<Output = Answer<Written>> + Send {
        Aws::create_api_destination(self, name, spec, connection_arn)
    }
    fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<Written>> + Send {
        Aws::update_api_destination(self, name, spec, connection_arn, clear)
    }
    fn delete_api_destination(&self, name: &str) -> impl Future<Output = Answer<()>> + Send {
        Aws::delete_api_destination(self, name)
    }
    async fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> Answer<ResourceId> {
        Aws::start_connector(self, spec, extra_tags)
            .await
            .map(ResourceId::from)
    }
    fn update_connector(
        &self,
        id: &ConnectorId,
        spec: &ConnectorSpec,
        clear: &[FieldPath],
    ) -> impl Future<Output = Answer<()>> + Send {
        Aws::update_connector(self, id, spec, clear)
    }
    fn tag_connector(
        &self,
        arn: &Arn,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<()>> + Send {
        Aws::tag_connector(self, arn, tags)
    }
    fn untag_connector(
        &self,
        arn: &Arn,
        keys: &[String],
    ) -> impl Future<Output = Answer<()>> + Send {
        Aws::untag_connector(self, arn, keys)
    }
    fn delete_connector(&self, id: &ConnectorId) -> impl Future<Output = Answer<()>> + Send {
        Aws::delete_connector(self, id)
    }
    async fn create_by_id(
        &self,
        kind: Kind,
        spec: &SpecJson,
        secrets: &Secrets,
        extra_tags: &BTreeMap<String, String>,
    ) -> Answer<ResourceId> {
        Aws::create_by_id(self, kind, spec, secrets, extra_tags).await
    }
    async fn update_by_id(&self, kind: Kind, id: &ResourceId, spec: &SpecJson) -> Answer<()> {
        Aws::update_by_id(self, kind, id, spec).await
    }
    async fn delete_by_id(&self, kind: Kind, id: &ResourceId) -> Answer<()> {
        Aws::delete_by_id(self, kind, id).await
    }
}
