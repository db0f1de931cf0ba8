//! A described connector in manifest shape: tags without reserved keys in the spec, all of
//! them beside it.

use std::collections::BTreeMap;

use aws_sdk_transfer::types::{DescribedConnector, Tag};
use serde_json::{Map, Value};

use super::RESERVED_TAG_PREFIXES;
use crate::aws::{Live, put, put_str};
use crate::resource::{Arn, ConnectorId};

/// A described connector as plain data: spec in manifest shape (tags without reserved
/// keys), every tag in `tags`.
pub(super) fn live(id: &ConnectorId, c: &DescribedConnector) -> Live {
    let mut spec = Map::new();
    put_str(&mut spec, "url", c.url());
    put_str(&mut spec, "accessRole", c.access_role());
    put_str(&mut spec, "loggingRole", c.logging_role());
    if let Some(a) = c.as2_config() {
        spec.insert("as2Config".into(), Value::Object(as2(a)));
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
    let (tags, own) = split_tags(c.tags());
    put(&mut spec, "tags", own);
    Live {
        expires: None,
        id: c
            .connector_id()
            .and_then(|i| ConnectorId::parse(i).ok())
            .unwrap_or_else(|| id.clone())
            .into(),
        arn: Arn::new(c.arn()),
        spec: Value::Object(spec).into(),
        status: Some(c.status().as_str().to_owned()),
        status_reason: c
            .error_message()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        last_modified: None,
        created: None,
        tags,
    }
}

/// Every tag of a Transfer resource, and its own (without reserved keys) as the manifest's
/// `tags` map.
pub(super) fn split_tags(all: &[Tag]) -> (BTreeMap<String, String>, Value) {
    let tags: BTreeMap<String, String> = all
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    let own: Map<String, Value> = tags
        .iter()
        .filter(|(k, _)| !RESERVED_TAG_PREFIXES.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    (tags, Value::Object(own))
}

/// A connector's `As2Config` in manifest shape.
fn as2(a: &aws_sdk_transfer::types::As2ConnectorConfig) -> Map<String, Value> {
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
    m
}
