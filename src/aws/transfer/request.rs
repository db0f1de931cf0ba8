//! Connector requests: the spec's members, and the clear encodings of removed fields (listed
//! in the parent module's documentation).

use aws_sdk_transfer::types::{
    As2AsyncMdnConnectorConfig, As2ConnectorConfig, CompressionEnum, ConnectorsIpAddressType,
    EncryptionAlg, MdnResponse, MdnSigningAlg, PreserveContentType, SftpConnectorConfig,
    SigningAlg,
};

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use crate::aws::{AwsError, cannot_clear, invalid};
use crate::resource::ConnectorSpec;
use crate::resource::FieldPath;
use crate::resource::connector;
use crate::resource::connector::{As2Config, IpAddressType, SftpConfig};
use crate::resource::rules::Reset;

/// Which removed fields an `UpdateConnector` resets, and to what (module documentation).
#[derive(Debug, Default)]
pub(super) struct ConnectorClears {
    pub(super) basic_auth_secret_id: bool,
    pub(super) mdn_signing_algorithm: bool,
    pub(super) preserve_content_type: bool,
    pub(super) trusted_host_keys: bool,
    pub(super) max_concurrent_connections: bool,
    pub(super) port_number: bool,
    pub(super) ip_address_type: bool,
}

/// Per pointer:
/// 1. tags are not this call's;
/// 2. a field still in the spec is sent as it is;
/// 3. a field the connector's rules reset in place ([`connector::reset`]) gets its encoding;
/// 4. anything else cannot be cleared in place, for the reason the rules give.
pub(super) fn connector_clears(
    spec: &ConnectorSpec,
    clear: &[FieldPath],
) -> Result<ConnectorClears, AwsError> {
    const OP: &str = "UpdateConnector";
    let shape = serde_json::to_value(spec)
        .map_err(|e| invalid(OP, format!("could not read the spec: {e}")))?;
    let (as2, sftp) = (spec.as2_config.is_some(), spec.sftp_config.is_some());
    let mut out = ConnectorClears::default();
    for path in clear {
        let pointer = path.pointer();
        let p = pointer.as_str();
        let in_spec = p
            .strip_prefix("/spec")
            .and_then(|inner| shape.pointer(inner))
            .is_some_and(|v| !v.is_null());
        let reset = connector::reset(&path.unkeyed());
        if reset == Reset::Untag || in_spec {
            continue;
        }
        let flag = match p {
            "/spec/as2Config/basicAuthSecretId" if as2 => &mut out.basic_auth_secret_id,
            "/spec/as2Config/mdnSigningAlgorithm" if as2 => &mut out.mdn_signing_algorithm,
            "/spec/as2Config/preserveContentType" if as2 => &mut out.preserve_content_type,
            "/spec/sftpConfig/trustedHostKeys" if sftp => &mut out.trusted_host_keys,
            "/spec/sftpConfig/maxConcurrentConnections" if sftp => {
                &mut out.max_concurrent_connections
            }
            "/spec/egressConfig/vpcLattice/portNumber" if spec.egress_config.is_some() => {
                &mut out.port_number
            }
            "/spec/ipAddressType" => &mut out.ip_address_type,
            _ => {
                let why = match reset {
                    Reset::Replace { why } => why,
                    _ => "the connector's protocol would change",
                };
                return Err(cannot_clear(OP, p, why));
            }
        };
        if !reset.in_place() {
            return Err(cannot_clear(
                OP,
                p,
                "the connector's rules say it forces a replacement",
            ));
        }
        *flag = true;
    }
    Ok(out)
}

pub(super) fn as2_config(a: &As2Config, clears: &ConnectorClears) -> As2ConnectorConfig {
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
        .set_local_profile_id(a.local_profile_id.clone())
        .set_partner_profile_id(a.partner_profile_id.clone())
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
/// default, 1, when unset); [`drop_member`] takes it out of an update that does not manage it.
pub(super) fn sftp_config(s: &SftpConfig, clears: &ConnectorClears) -> SftpConnectorConfig {
    let keys = (!s.trusted_host_keys.is_empty() || clears.trusted_host_keys)
        .then(|| s.trusted_host_keys.clone());
    let max = s.max_concurrent_connections.or(clears
        .max_concurrent_connections
        .then(|| connector::RULES.default_i32("sftpConfig.maxConcurrentConnections"))
        .flatten());
    SftpConnectorConfig::builder()
        .set_user_secret_id(s.user_secret_id.clone())
        .set_trusted_host_keys(keys)
        .set_max_concurrent_connections(max)
        .build()
}

/// Removes `member` of the object `parent` from a JSON request body (and fixes its length):
/// for what the SDK sends although the manifest does not say it.
pub(super) fn drop_member(request: &mut HttpRequest, parent: &str, member: &str) {
    let Some(mut body) = request
        .body()
        .bytes()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
    else {
        return;
    };
    let removed = body
        .get_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(member))
        .is_some();
    if removed {
        let bytes = body.to_string().into_bytes();
        request
            .headers_mut()
            .insert("Content-Length", bytes.len().to_string());
        *request.body_mut() = SdkBody::from(bytes);
    }
}

pub(super) fn ip_address_type(t: IpAddressType) -> ConnectorsIpAddressType {
    ConnectorsIpAddressType::from(t.as_str())
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
                FieldPath::from_pointer("/spec/sftpConfig/maxConcurrentConnections"),
                FieldPath::from_pointer("/spec/sftpConfig/trustedHostKeys"),
                FieldPath::from_pointer("/spec/ipAddressType"),
                FieldPath::from_pointer("/spec/tags/old"),
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
            let err = connector_clears(&sftp(), &[FieldPath::from_pointer(pointer)]).unwrap_err();
            assert_eq!(err.class, ErrorClass::Invalid, "{pointer}");
            assert!(
                err.message.contains("cannot be cleared in place"),
                "{}",
                err.message
            );
        }
    }
}
