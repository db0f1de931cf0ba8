//! The AWS operations apply makes, as a trait: the real [`Aws`] clients implement it, and
//! the in-process double of the unit tests (`aws::fake`) does too, so the engine's
//! sequencing, waiting and partial failures are tested in milliseconds.

use std::collections::BTreeMap;
use std::future::Future;

use super::events::{Secrets, Written};
use super::{Aws, AwsError, Live};
use crate::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, ConnectorId, ConnectorSpec, FieldPath,
};

type Answer<T> = Result<T, AwsError>;

/// What apply asks of AWS; each call as the `Aws` method of the same name.
pub trait Cloud: Send + Sync + 'static {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send;
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
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send;
    /// `CreateConnector` alone: the `c-…` id (apply saves it before reading the connector).
    fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ConnectorId>> + Send;
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
}

impl Cloud for Aws {
    fn describe_connection(&self, name: &str) -> impl Future<Output = Answer<Option<Live>>> + Send {
        Aws::describe_connection(self, name)
    }
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
    fn describe_connector(
        &self,
        id: &ConnectorId,
    ) -> impl Future<Output = Answer<Option<Live>>> + Send {
        Aws::describe_connector(self, id)
    }
    fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Answer<ConnectorId>> + Send {
        Aws::start_connector(self, spec, extra_tags)
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
}
