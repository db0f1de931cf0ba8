//! Transfer Family (aws-sdk-transfer): connectors and their tags.

use std::collections::BTreeMap;

use super::{Aws, AwsError, ListedConnector, Live};
use crate::resource::ConnectorSpec;

impl Aws {
    /// `DescribeConnector` (tags included); `None` when the id is unknown.
    pub async fn describe_connector(&self, id: &str) -> Result<Option<Live>, AwsError> {
        let _ = id;
        unimplemented!()
    }

    /// Every connector (`ListConnectors`, paginated).
    pub async fn list_connectors(&self) -> Result<Vec<ListedConnector>, AwsError> {
        unimplemented!()
    }

    /// `CreateConnector` with the spec's tags plus `extra_tags` (`outbound:name`,
    /// `outbound:lineage`); returns the `c-…` id and the ARN.
    pub async fn create_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<(String, String), AwsError> {
        let _ = (spec, extra_tags);
        unimplemented!()
    }

    /// `UpdateConnector` to `spec` (tags excluded); `clear` as in `update_connection`.
    pub async fn update_connector(
        &self,
        id: &str,
        spec: &ConnectorSpec,
        clear: &[String],
    ) -> Result<(), AwsError> {
        let _ = (id, spec, clear);
        unimplemented!()
    }

    /// `TagResource` with `tags` (skipped when empty).
    pub async fn tag_connector(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let _ = (arn, tags);
        unimplemented!()
    }

    /// `UntagResource` of `keys` (skipped when empty).
    pub async fn untag_connector(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        let _ = (arn, keys);
        unimplemented!()
    }

    /// `DeleteConnector`.
    pub async fn delete_connector(&self, id: &str) -> Result<(), AwsError> {
        let _ = id;
        unimplemented!()
    }
}
