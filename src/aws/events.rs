//! EventBridge (aws-sdk-cloudwatchevents): connections and API destinations.

use std::collections::BTreeMap;

use super::{Aws, AwsError, Live};
use crate::manifest::secret::SecretValue;
use crate::resource::{ApiDestinationSpec, ConnectionSpec};

/// Resolved secrets of a connection by JSON pointer (`/spec/authParameters/…`).
pub type Secrets = BTreeMap<String, SecretValue>;

impl Aws {
    /// `DescribeConnection`; `None` when AWS has no connection of that name.
    pub async fn describe_connection(&self, name: &str) -> Result<Option<Live>, AwsError> {
        let _ = name;
        unimplemented!()
    }

    /// `CreateConnection` with every auth parameter, secrets included; returns the ARN.
    pub async fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
    ) -> Result<String, AwsError> {
        let _ = (name, spec, secrets);
        unimplemented!()
    }

    /// `UpdateConnection` to `spec` (auth parameters re-sent with their secrets); each JSON
    /// pointer in `clear` is a field removed from the manifest, reset with the API's clear
    /// encoding.
    pub async fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
        clear: &[String],
    ) -> Result<(), AwsError> {
        let _ = (name, spec, secrets, clear);
        unimplemented!()
    }

    /// `DeauthorizeConnection`.
    pub async fn deauthorize_connection(&self, name: &str) -> Result<(), AwsError> {
        let _ = name;
        unimplemented!()
    }

    /// `DeleteConnection`.
    pub async fn delete_connection(&self, name: &str) -> Result<(), AwsError> {
        let _ = name;
        unimplemented!()
    }

    /// Names of every connection in the account and region (`ListConnections`, paginated).
    pub async fn list_connections(&self) -> Result<Vec<String>, AwsError> {
        unimplemented!()
    }

    /// `DescribeApiDestination`; `None` when absent.
    pub async fn describe_api_destination(&self, name: &str) -> Result<Option<Live>, AwsError> {
        let _ = name;
        unimplemented!()
    }

    /// `CreateApiDestination` pointing at `connection_arn`; returns the ARN.
    pub async fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &str,
    ) -> Result<String, AwsError> {
        let _ = (name, spec, connection_arn);
        unimplemented!()
    }

    /// `UpdateApiDestination` to `spec`; `clear` as in [`Aws::update_connection`].
    pub async fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &str,
        clear: &[String],
    ) -> Result<(), AwsError> {
        let _ = (name, spec, connection_arn, clear);
        unimplemented!()
    }

    /// `DeleteApiDestination`.
    pub async fn delete_api_destination(&self, name: &str) -> Result<(), AwsError> {
        let _ = name;
        unimplemented!()
    }

    /// Names of every API destination in the account and region (paginated).
    pub async fn list_api_destinations(&self) -> Result<Vec<String>, AwsError> {
        unimplemented!()
    }
}
