//! Transfer Family (aws-sdk-transfer): connectors and their tags.
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
    As2AsyncMdnConnectorConfig, As2ConnectorConfig, CompressionEnum, ConnectorEgressConfig,
    ConnectorVpcLatticeEgressConfig, ConnectorsIpAddressType, DescribedConnector, EncryptionAlg,
    MdnResponse, MdnSigningAlg, PreserveContentType, SftpConnectorConfig, SigningAlg, Tag,
    UpdateConnectorEgressConfig, UpdateConnectorVpcLatticeEgressConfig,
};
use serde_json::{Map, Value};

use super::{
    Aws, AwsError, ListedConnector, Live, absent_as_none, built, cannot_clear, invalid, put,
    put_str, under,
};
use crate::resource::ConnectorSpec;
use crate::resource::connector::{As2Config, IpAddressType, SftpConfig};

/// Tag keys that are not part of a spec: AWS's own and outbound's.
const RESERVED_TAG_PREFIXES: [&str; 2] = ["aws:", "outbound:"];
/// `SftpPort` when none is given (Transfer Family documentation).
const DEFAULT_SFTP_PORT: i32 = 22;
/// `MaxConcurrentConnections` when none is given (the API model's default).
const DEFAULT_MAX_CONCURRENT_CONNECTIONS: i32 = 1;

impl Aws {
    /// `DescribeConnector` (tags included); `None` when the id is unknown.
    pub async fn describe_connector(&self, id: &str) -> Result<Option<Live>, AwsError> {
        let request = self.transfer.describe_connector().connector_id(id).send();
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
                    id: c.connector_id()?.to_owned(),
                    arn: c.arn().unwrap_or_default().to_owned(),
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
    ) -> Result<(String, String), AwsError> {
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
            .send();
        let id = self.call(OP, request).await?.connector_id().to_owned();

        let request = self.transfer.describe_connector().connector_id(&id).send();
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
            Some(arn) => Ok((id, arn.to_owned())),
            None => Err(invalid(
                "DescribeConnector",
                format!("connector {id} was created, but AWS describes it without an ARN"),
            )),
        }
    }

    /// `UpdateConnector` to `spec` (tags excluded); `clear` as in `update_connection`, with
    /// the encodings in the module documentation.
    pub async fn update_connector(
        &self,
        id: &str,
        spec: &ConnectorSpec,
        clear: &[String],
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateConnector";
        let clears = connector_clears(spec, clear)?;
        let egress = spec.egress_config.as_ref().map(|e| {
            let port = e
                .vpc_lattice
                .port_number
                .or(clears.port_number.then_some(DEFAULT_SFTP_PORT));
            UpdateConnectorEgressConfig::VpcLattice(
                UpdateConnectorVpcLatticeEgressConfig::builder()
                    .resource_configuration_arn(&e.vpc_lattice.resource_configuration_arn)
                    .set_port_number(port)
                    .build(),
            )
        });
        let ip = spec
            .ip_address_type
            .or(clears.ip_address_type.then_some(IpAddressType::Ipv4));
        let request = self
            .transfer
            .update_connector()
            .connector_id(id)
            .url(&spec.url)
            .access_role(&spec.access_role)
            .set_logging_role(spec.logging_role.clone())
            .set_as2_config(spec.as2_config.as_ref().map(|a| as2_config(a, &clears)))
            .set_sftp_config(spec.sftp_config.as_ref().map(|s| sftp_config(s, &clears)))
            .set_security_policy_name(spec.security_policy_name.clone())
            .set_egress_config(egress)
            .set_ip_address_type(ip.map(ip_address_type))
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `TagResource` with `tags` (skipped when empty).
    pub async fn tag_connector(
        &self,
        arn: &str,
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
            .arn(arn)
            .set_tags(Some(list))
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `UntagResource` of `keys` (skipped when empty).
    pub async fn untag_connector(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        let request = self
            .transfer
            .untag_resource()
            .arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send();
        self.call("UntagResource", request).await.map(drop)
    }

    /// `DeleteConnector`.
    pub async fn delete_connector(&self, id: &str) -> Result<(), AwsError> {
        let request = self.transfer.delete_connector().connector_id(id).send();
        self.call("DeleteConnector", request).await.map(drop)
    }
}

// ---- clears ---------------------------------------------------------------------------

/// Which removed fields an `UpdateConnector` resets, and to what (module documentation).
#[derive(Debug, Default)]
struct ConnectorClears {
    basic_auth_secret_id: bool,
    mdn_signing_algorithm: bool,
    preserve_content_type: bool,
    trusted_host_keys: bool,
    max_concurrent_connections: bool,
    port_number: bool,
    ip_address_type: bool,
}

/// 1. tags are not this call's; 2. a field still in the spec is sent as it is; 3. a field
/// with a clear encoding gets it; 4. anything else cannot be cleared in place.
fn connector_clears(spec: &ConnectorSpec, clear: &[String]) -> Result<ConnectorClears, AwsError> {
    const OP: &str = "UpdateConnector";
    let shape = serde_json::to_value(spec)
        .map_err(|e| invalid(OP, format!("could not read the spec: {e}")))?;
    let (as2, sftp) = (spec.as2_config.is_some(), spec.sftp_config.is_some());
    let mut out = ConnectorClears::default();
    for pointer in clear {
        let p = pointer.as_str();
        if under(p, "/spec/tags").is_some() {
            continue;
        }
        let in_spec = p
            .strip_prefix("/spec")
            .and_then(|inner| shape.pointer(inner))
            .is_some_and(|v| !v.is_null());
        if in_spec {
            continue;
        }
        match p {
            "/spec/as2Config/basicAuthSecretId" if as2 => out.basic_auth_secret_id = true,
            "/spec/as2Config/mdnSigningAlgorithm" if as2 => out.mdn_signing_algorithm = true,
            "/spec/as2Config/preserveContentType" if as2 => out.preserve_content_type = true,
            "/spec/sftpConfig/trustedHostKeys" if sftp => out.trusted_host_keys = true,
            "/spec/sftpConfig/maxConcurrentConnections" if sftp => {
                out.max_concurrent_connections = true
            }
            "/spec/egressConfig/vpcLattice/portNumber" if spec.egress_config.is_some() => {
                out.port_number = true
            }
            "/spec/ipAddressType" => out.ip_address_type = true,
            other => return Err(cannot_clear(OP, other, why_not(other))),
        }
    }
    Ok(out)
}

/// Why a connector field has no clear encoding.
fn why_not(pointer: &str) -> &'static str {
    match pointer {
        "/spec/loggingRole" => {
            "UpdateConnector's LoggingRole must be a role ARN (20 to 2048 characters), so no value removes it"
        }
        "/spec/as2Config/messageSubject" => {
            "MessageSubject must have 1 to 1024 characters, and As2Config members that are not sent are kept"
        }
        "/spec/sftpConfig/userSecretId" => {
            "UserSecretId must have 1 to 2048 characters, and SftpConfig members that are not sent are kept"
        }
        "/spec/securityPolicyName" => {
            "SecurityPolicyName must name a TransferSFTPConnectorSecurityPolicy-…, so no value removes it"
        }
        "/spec/egressConfig" | "/spec/egressConfig/vpcLattice" => {
            "UpdateConnector can change a VPC Lattice egress but not remove it"
        }
        p if under(p, "/spec/as2Config").is_some() || under(p, "/spec/sftpConfig").is_some() => {
            "AWS documents no default for it, or the connector's protocol would change"
        }
        _ => "the API has no value that removes it",
    }
}

// ---- requests -------------------------------------------------------------------------

fn as2_config(a: &As2Config, clears: &ConnectorClears) -> As2ConnectorConfig {
    let basic_auth = a
        .basic_auth_secret_id
        .clone()
        .or(clears.basic_auth_secret_id.then(String::new));
    let mdn_signing = a
        .mdn_signing_algorithm
        .map(|m| MdnSigningAlg::from(m.as_str()))
        .or(clears
            .mdn_signing_algorithm
            .then_some(MdnSigningAlg::Default));
    let preserve = a
        .preserve_content_type
        .map(|p| PreserveContentType::from(p.as_str()))
        .or(clears
            .preserve_content_type
            .then_some(PreserveContentType::Disabled));
    let async_mdn = a.async_mdn_config.as_ref().map(|m| {
        As2AsyncMdnConnectorConfig::builder()
            .url(&m.url)
            .set_server_ids(Some(m.server_ids.clone()))
            .build()
    });
    As2ConnectorConfig::builder()
        .local_profile_id(&a.local_profile_id)
        .partner_profile_id(&a.partner_profile_id)
        .set_message_subject(a.message_subject.clone())
        .set_compression(a.compression.map(|c| CompressionEnum::from(c.as_str())))
        .set_encryption_algorithm(
            a.encryption_algorithm
                .map(|e| EncryptionAlg::from(e.as_str())),
        )
        .set_signing_algorithm(a.signing_algorithm.map(|s| SigningAlg::from(s.as_str())))
        .set_mdn_signing_algorithm(mdn_signing)
        .set_mdn_response(a.mdn_response.map(|m| MdnResponse::from(m.as_str())))
        .set_basic_auth_secret_id(basic_auth)
        .set_preserve_content_type(preserve)
        .set_async_mdn_config(async_mdn)
        .build()
}

/// Note: the SDK always sends `MaxConcurrentConnections` with an `SftpConfig` (its model
/// default, 1, when unset), so an update without it resets the value to 1.
fn sftp_config(s: &SftpConfig, clears: &ConnectorClears) -> SftpConnectorConfig {
    let keys = (!s.trusted_host_keys.is_empty() || clears.trusted_host_keys)
        .then(|| s.trusted_host_keys.clone());
    let max = s.max_concurrent_connections.or(clears
        .max_concurrent_connections
        .then_some(DEFAULT_MAX_CONCURRENT_CONNECTIONS));
    SftpConnectorConfig::builder()
        .set_user_secret_id(s.user_secret_id.clone())
        .set_trusted_host_keys(keys)
        .set_max_concurrent_connections(max)
        .build()
}

fn ip_address_type(t: IpAddressType) -> ConnectorsIpAddressType {
    ConnectorsIpAddressType::from(t.as_str())
}

// ---- live specs -----------------------------------------------------------------------

/// A described connector as plain data: spec in manifest shape (tags without reserved
/// keys), every tag in `tags`.
fn live(id: &str, c: &DescribedConnector) -> Live {
    let mut spec = Map::new();
    put_str(&mut spec, "url", c.url());
    put_str(&mut spec, "accessRole", c.access_role());
    put_str(&mut spec, "loggingRole", c.logging_role());
    if let Some(a) = c.as2_config() {
        let mut m = Map::new();
        put_str(&mut m, "localProfileId", a.local_profile_id());
        put_str(&mut m, "partnerProfileId", a.partner_profile_id());
        put_str(&mut m, "messageSubject", a.message_subject());
        put_str(&mut m, "compression", a.compression().map(|v| v.as_str()));
        put_str(
            &mut m,
            "encryptionAlgorithm",
            a.encryption_algorithm().map(|v| v.as_str()),
        );
        put_str(
            &mut m,
            "signingAlgorithm",
            a.signing_algorithm().map(|v| v.as_str()),
        );
        put_str(
            &mut m,
            "mdnSigningAlgorithm",
            a.mdn_signing_algorithm().map(|v| v.as_str()),
        );
        put_str(&mut m, "mdnResponse", a.mdn_response().map(|v| v.as_str()));
        put_str(&mut m, "basicAuthSecretId", a.basic_auth_secret_id());
        put_str(
            &mut m,
            "preserveContentType",
            a.preserve_content_type().map(|v| v.as_str()),
        );
        if let Some(mdn) = a.async_mdn_config() {
            let mut async_mdn = Map::new();
            put_str(&mut async_mdn, "url", mdn.url());
            put(&mut async_mdn, "serverIds", mdn.server_ids().into());
            put(&mut m, "asyncMdnConfig", Value::Object(async_mdn));
        }
        spec.insert("as2Config".into(), Value::Object(m));
    }
    if let Some(s) = c.sftp_config() {
        let mut m = Map::new();
        put_str(&mut m, "userSecretId", s.user_secret_id());
        put(&mut m, "trustedHostKeys", s.trusted_host_keys().into());
        m.insert(
            "maxConcurrentConnections".into(),
            s.max_concurrent_connections().into(),
        );
        spec.insert("sftpConfig".into(), Value::Object(m));
    }
    put_str(&mut spec, "securityPolicyName", c.security_policy_name());
    if let Some(lattice) = c.egress_config().and_then(|e| e.as_vpc_lattice().ok()) {
        let mut m = Map::new();
        put_str(
            &mut m,
            "resourceConfigurationArn",
            Some(lattice.resource_configuration_arn()),
        );
        if let Some(port) = lattice.port_number() {
            m.insert("portNumber".into(), port.into());
        }
        spec.insert(
            "egressConfig".into(),
            serde_json::json!({ "vpcLattice": m }),
        );
    }
    put_str(
        &mut spec,
        "ipAddressType",
        c.ip_address_type().map(|v| v.as_str()),
    );
    let tags: BTreeMap<String, String> = c
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let own: Map<String, Value> = tags
        .iter()
        .filter(|(k, _)| !RESERVED_TAG_PREFIXES.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    put(&mut spec, "tags", Value::Object(own));
    Live {
        id: c.connector_id().unwrap_or(id).to_owned(),
        arn: c.arn().to_owned(),
        spec: Value::Object(spec),
        status: Some(c.status().as_str().to_owned()),
        status_reason: c
            .error_message()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        last_modified: None,
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorClass;
    use serde_json::json;

    fn sftp() -> ConnectorSpec {
        serde_json::from_value(json!({
            "url": "sftp://example.com",
            "accessRole": "arn:aws:iam::111122223333:role/R",
            "sftpConfig": {"userSecretId": "s", "trustedHostKeys": ["k"]},
            "tags": {"team": "edi"}
        }))
        .unwrap()
    }

    #[test]
    fn clears_with_an_encoding_are_marked_and_fields_still_in_the_spec_are_sent() {
        let clears = connector_clears(
            &sftp(),
            &[
                "/spec/sftpConfig/maxConcurrentConnections".into(),
                "/spec/sftpConfig/trustedHostKeys".into(),
                "/spec/ipAddressType".into(),
                "/spec/tags/old".into(),
            ],
        )
        .unwrap();
        assert!(clears.max_concurrent_connections && clears.ip_address_type);
        assert!(
            !clears.trusted_host_keys,
            "the spec still has trustedHostKeys"
        );
    }

    #[test]
    fn fields_without_an_encoding_cannot_be_cleared() {
        for pointer in [
            "/spec/loggingRole",
            "/spec/as2Config/basicAuthSecretId",
            "/spec/securityPolicyName",
        ] {
            let err = connector_clears(&sftp(), &[pointer.to_owned()]).unwrap_err();
            assert_eq!(err.class, ErrorClass::Invalid, "{pointer}");
            assert!(
                err.message.contains("cannot be cleared in place"),
                "{}",
                err.message
            );
        }
    }
}
