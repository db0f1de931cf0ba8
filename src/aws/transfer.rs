//! Transfer Family (aws-sdk-transfer): connectors and their tags; certificates and AS2
//! profiles in their own files (`transfer/certificate.rs`, `transfer/profile.rs`).
//!
//! `UpdateConnector` updates the members that are sent; inside `As2Config`/`SftpConfig`,
//! members left out are kept (the documented way to remove Basic auth sends only
//! `BasicAuthSecretId: ""`). So a removed field needs a value that means "none". Clear
//! encodings (a JSON pointer in `clear` is a field removed from the manifest):
//!
//! | pointer | sent |
//! | --- | --- |
//! | `/spec/as2Config/basicAuthSecretId` | `""` (documented: disables Basic authentication) |
//! | `/spec/as2Config/mdnSigningAlgorithm` | `DEFAULT` (documented: "DEFAULT, or not set at all", uses `SigningAlgorithm`) |
//! | `/spec/as2Config/preserveContentType` | `DISABLED` (documented default for connectors created through the API) |
//! | `/spec/sftpConfig/trustedHostKeys` | `[]` (the list allows 0 items) |
//! | `/spec/sftpConfig/maxConcurrentConnections` | `1` (the model's default) |
//! | `/spec/egressConfig/vpcLattice/portNumber` | `22` (documented default) |
//! | `/spec/ipAddressType` | `IPV4` (the default) |
//! | `/spec/tags/…` | nothing: tags change through [`Aws::tag_connector`]/[`Aws::untag_connector`] |
//!
//! No encoding exists, so these are [`ErrorClass::Invalid`](super::ErrorClass::Invalid)
//! ("cannot be cleared in place"): `loggingRole` (`Role` has length 20–2048, `""` is
//! rejected), `as2Config.messageSubject` (length 1–1024), `sftpConfig.userSecretId`
//! (length 1–2048), `securityPolicyName` (must match `TransferSFTPConnectorSecurityPolicy-…`),
//! `as2Config.compression`/`encryptionAlgorithm`/`signingAlgorithm`/`mdnResponse` (no
//! documented default), `as2Config.asyncMdnConfig`, `egressConfig` (the update union has no
//! "service managed" member), and a whole `as2Config`/`sftpConfig` (the protocol is fixed).

use std::collections::BTreeMap;

use aws_sdk_transfer::types::{
    ConnectorEgressConfig, ConnectorVpcLatticeEgressConfig, Tag, UpdateConnectorEgressConfig,
    UpdateConnectorVpcLatticeEgressConfig,
};

use super::events::Secrets;
use super::{Aws, AwsError, ErrorClass, ListedConnector, Live, absent_as_none, built, invalid};
use crate::resource::connector::{self, IpAddressType};
use crate::resource::{Arn, ConnectorId, ConnectorSpec, FieldPath, Kind, ResourceId, SpecJson};

mod certificate;
mod live;
mod profile;
mod request;

use live::live;
use request::{
    ConnectorClears, as2_config, connector_clears, drop_member, ip_address_type, sftp_config,
};

/// Tag keys that are not part of a spec: AWS's own and outbound's.
const RESERVED_TAG_PREFIXES: [&str; 2] = ["aws:", "outbound:"];

/// The client settings of a create call: an answer lost after AWS may have acted is not
/// retried (a second create would make a second resource); the next run finds the first by
/// its tags.
fn creates_not_repeated() -> aws_sdk_transfer::config::Builder {
    aws_sdk_transfer::Config::builder().retry_classifier(super::error::LostCreatesAreNotRepeated)
}

impl Aws {
    /// `DescribeConnector` (tags included); `None` when the id is unknown.
    pub async fn describe_connector(&self, id: &ConnectorId) -> Result<Option<Live>, AwsError> {
        let request = self
            .transfer
            .describe_connector()
            .connector_id(id.as_str())
            .send();
        let Some(out) = absent_as_none(self.call("DescribeConnector", request).await)? else {
            return Ok(None);
        };
        match out.connector() {
            Some(connector) => Ok(Some(live(id, connector))),
            None => Ok(None),
        }
    }

    /// Every connector (`ListConnectors`, paginated).
    pub async fn list_connectors(&self) -> Result<Vec<ListedConnector>, AwsError> {
        let mut connectors = Vec::new();
        let mut token = None;
        loop {
            let request = self.transfer.list_connectors().set_next_token(token).send();
            let page = self.call("ListConnectors", request).await?;
            connectors.extend(page.connectors().iter().filter_map(|c| {
                Some(ListedConnector {
                    id: ConnectorId::parse(c.connector_id()?).ok()?,
                    arn: Arn::new(c.arn().unwrap_or_default()),
                    url: c.url().map(str::to_owned),
                })
            }));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(connectors);
            }
        }
    }

    /// `CreateConnector` with the spec's tags plus `extra_tags` (`outbound:name`,
    /// `outbound:lineage`); returns the `c-…` id and the ARN. `CreateConnector` answers with
    /// the id only, so a `DescribeConnector` follows for the ARN.
    pub async fn create_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<(ConnectorId, Arn), AwsError> {
        let id = self.start_connector(spec, extra_tags).await?;
        let request = self
            .transfer
            .describe_connector()
            .connector_id(id.as_str())
            .send();
        let described = self
            .call("DescribeConnector", request)
            .await
            .map_err(|err| AwsError {
                message: format!(
                    "connector {id} was created, but reading its ARN failed: {}",
                    err.message
                ),
                ..err
            })?;
        match described
            .connector()
            .map(|c| c.arn())
            .filter(|a| !a.is_empty())
        {
            Some(arn) => Ok((id, Arn::new(arn))),
            None => Err(invalid(
                "DescribeConnector",
                format!("connector {id} was created, but AWS describes it without an ARN"),
            )),
        }
    }

    /// `CreateConnector` alone (tags as in [`Self::create_connector`]): the `c-…` id, for a
    /// caller that records it before reading the connector back (apply, issue 10 item 1).
    pub async fn start_connector(
        &self,
        spec: &ConnectorSpec,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<ConnectorId, AwsError> {
        const OP: &str = "CreateConnector";
        let none = ConnectorClears::default();
        let mut tags = Vec::new();
        for (key, value) in spec.tags.iter().chain(extra_tags) {
            tags.push(built(OP, Tag::builder().key(key).value(value).build())?);
        }
        let egress = match &spec.egress_config {
            Some(e) => Some(ConnectorEgressConfig::VpcLattice(built(
                OP,
                ConnectorVpcLatticeEgressConfig::builder()
                    .resource_configuration_arn(&e.vpc_lattice.resource_configuration_arn)
                    .set_port_number(e.vpc_lattice.port_number)
                    .build(),
            )?)),
            None => None,
        };
        let request = self
            .transfer
            .create_connector()
            .url(&spec.url)
            .access_role(&spec.access_role)
            .set_logging_role(spec.logging_role.clone())
            .set_as2_config(spec.as2_config.as_ref().map(|a| as2_config(a, &none)))
            .set_sftp_config(spec.sftp_config.as_ref().map(|s| sftp_config(s, &none)))
            .set_security_policy_name(spec.security_policy_name.clone())
            .set_egress_config(egress)
            .set_ip_address_type(spec.ip_address_type.map(ip_address_type))
            .set_tags((!tags.is_empty()).then_some(tags))
            .customize()
            .config_override(creates_not_repeated())
            .send();
        let out = self.call(OP, request).await?;
        ConnectorId::parse(out.connector_id()).map_err(|e| AwsError {
            operation: OP,
            class: ErrorClass::Other,
            code: None,
            message: format!("AWS answered with {e}"),
        })
    }

    /// `UpdateConnector` to `spec` (tags excluded); `clear` as in `update_connection`, with
    /// the encodings in the module documentation.
    pub async fn update_connector(
        &self,
        id: &ConnectorId,
        spec: &ConnectorSpec,
        clear: &[FieldPath],
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateConnector";
        let clears = connector_clears(spec, clear)?;
        let egress = spec.egress_config.as_ref().map(|e| {
            let port = e.vpc_lattice.port_number.or(clears
                .port_number
                .then(|| connector::RULES.default_i32("egressConfig.vpcLattice.portNumber"))
                .flatten());
            UpdateConnectorEgressConfig::VpcLattice(
                UpdateConnectorVpcLatticeEgressConfig::builder()
                    .resource_configuration_arn(&e.vpc_lattice.resource_configuration_arn)
                    .set_port_number(port)
                    .build(),
            )
        });
        // The SDK writes `MaxConcurrentConnections` (its default, 1) into every `SftpConfig`: a
        // value the manifest does not manage must not be reset by it.
        let unmanaged_max = !clears.max_concurrent_connections
            && spec
                .sftp_config
                .as_ref()
                .is_some_and(|s| s.max_concurrent_connections.is_none());
        let ip = spec
            .ip_address_type
            .or(clears.ip_address_type.then_some(IpAddressType::Ipv4));
        let request = self
            .transfer
            .update_connector()
            .connector_id(id.as_str())
            .url(&spec.url)
            .access_role(&spec.access_role)
            .set_logging_role(spec.logging_role.clone())
            .set_as2_config(spec.as2_config.as_ref().map(|a| as2_config(a, &clears)))
            .set_sftp_config(spec.sftp_config.as_ref().map(|s| sftp_config(s, &clears)))
            .set_security_policy_name(spec.security_policy_name.clone())
            .set_egress_config(egress)
            .set_ip_address_type(ip.map(ip_address_type))
            .customize()
            .mutate_request(move |request| {
                if unmanaged_max {
                    drop_member(request, "SftpConfig", "MaxConcurrentConnections");
                }
            })
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `TagResource` with `tags` (skipped when empty).
    pub async fn tag_connector(
        &self,
        arn: &Arn,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        const OP: &str = "TagResource";
        if tags.is_empty() {
            return Ok(());
        }
        let mut list = Vec::new();
        for (key, value) in tags {
            list.push(built(OP, Tag::builder().key(key).value(value).build())?);
        }
        let request = self
            .transfer
            .tag_resource()
            .arn(arn.as_str())
            .set_tags(Some(list))
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `UntagResource` of `keys` (skipped when empty).
    pub async fn untag_connector(&self, arn: &Arn, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        let request = self
            .transfer
            .untag_resource()
            .arn(arn.as_str())
            .set_tag_keys(Some(keys.to_vec()))
            .send();
        self.call("UntagResource", request).await.map(drop)
    }

    /// `DeleteConnector`.
    pub async fn delete_connector(&self, id: &ConnectorId) -> Result<(), AwsError> {
        let request = self
            .transfer
            .delete_connector()
            .connector_id(id.as_str())
            .send();
        self.call("DeleteConnector", request).await.map(drop)
    }
}

/// The calls of the kinds known by an AWS-assigned id, by kind: the one place a new kind of
/// this sort adds its adapter's methods (`transfer/<kind>.rs`). Connectors are here for the
/// generic reads and deletes (observe's tag search, the leftovers of interrupted creates);
/// their create and update keep their own calls (`start_connector`, `update_connector`).
impl Aws {
    pub async fn describe_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
    ) -> Result<Option<Live>, AwsError> {
        match kind {
            // Not a connector id: AWS has no connector by it.
            Kind::Connector => match id.connector() {
                Ok(id) => self.describe_connector(&id).await,
                Err(_) => Ok(None),
            },
            Kind::Certificate => self.describe_certificate(id).await,
            Kind::Profile => self.describe_profile(id).await,
            _ => Err(not_by_id("Describe", kind)),
        }
    }

    pub async fn list_ids(&self, kind: Kind) -> Result<Vec<ResourceId>, AwsError> {
        match kind {
            Kind::Connector => Ok(self
                .list_connectors()
                .await?
                .into_iter()
                .map(|c| c.id.into())
                .collect()),
            Kind::Certificate => self.list_certificates().await,
            Kind::Profile => self.list_profiles().await,
            _ => Err(not_by_id("List", kind)),
        }
    }

    /// The create call, tagged with the spec's tags and `extra_tags`: the new id.
    pub async fn create_by_id(
        &self,
        kind: Kind,
        spec: &SpecJson,
        secrets: &Secrets,
        extra_tags: &BTreeMap<String, String>,
    ) -> Result<ResourceId, AwsError> {
        match kind {
            Kind::Certificate => {
                let spec = typed("ImportCertificate", spec)?;
                self.import_certificate(&spec, secrets, extra_tags).await
            }
            Kind::Profile => {
                let spec = typed("CreateProfile", spec)?;
                self.create_profile(&spec, extra_tags).await
            }
            _ => Err(not_by_id("Create", kind)),
        }
    }

    /// The update call (tags excluded: [`Aws::tag_connector`] tags any Transfer ARN).
    pub async fn update_by_id(
        &self,
        kind: Kind,
        id: &ResourceId,
        spec: &SpecJson,
    ) -> Result<(), AwsError> {
        match kind {
            Kind::Certificate => {
                let spec = typed("UpdateCertificate", spec)?;
                self.update_certificate(id, &spec).await
            }
            Kind::Profile => {
                let spec = typed("UpdateProfile", spec)?;
                self.update_profile(id, &spec).await
            }
            _ => Err(not_by_id("Update", kind)),
        }
    }

    pub async fn delete_by_id(&self, kind: Kind, id: &ResourceId) -> Result<(), AwsError> {
        match kind {
            Kind::Connector => match id.connector() {
                Ok(id) => self.delete_connector(&id).await,
                Err(e) => Err(invalid("DeleteConnector", e.to_string())),
            },
            Kind::Certificate => self.delete_certificate(id).await,
            Kind::Profile => self.delete_profile(id).await,
            _ => Err(not_by_id("Delete", kind)),
        }
    }
}

/// A kind these calls do not cover (a bug of the caller).
fn not_by_id(operation: &'static str, kind: Kind) -> AwsError {
    invalid(
        operation,
        format!("{kind} is not a kind these calls know by an AWS-assigned id"),
    )
}

fn typed<T: serde::de::DeserializeOwned>(op: &'static str, spec: &SpecJson) -> Result<T, AwsError> {
    spec.typed()
        .map_err(|e| invalid(op, format!("the spec does not fit its kind: {e}")))
}
