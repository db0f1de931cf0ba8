//! `Connector`: a Transfer Family connector, AS2 to a trading partner or SFTP to a remote server.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;

/// `spec:` of a `Connector`: every member of `CreateConnector`, tags as a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Editor-only rules (`allOf`; `check` states them in outbound's words): one protocol, the
// url scheme it takes, no egress on AS2, no cleartext AS2 without encryption, tag keys.
#[schemars(extend("allOf" = [
    {"oneOf": [{"required": ["as2Config"]}, {"required": ["sftpConfig"]}]},
    {
        "if": {"required": ["as2Config"]},
        "then": {
            "properties": {"url": {"type": "string", "pattern": patterns::HTTP_OR_HTTPS_URL}},
            "not": {"required": ["egressConfig"]}
        }
    },
    {
        "if": {"required": ["sftpConfig"], "not": {"required": ["as2Config"]}},
        "then": {"properties": {"url": {"type": "string", "pattern": patterns::SFTP_URL}}}
    },
    {
        "if": {
            "properties": {"as2Config": {
                "type": "object",
                "properties": {"encryptionAlgorithm": {"const": "NONE"}},
                "required": ["encryptionAlgorithm"]
            }},
            "required": ["as2Config"]
        },
        "then": {"properties": {"url": {"type": "string", "pattern": patterns::HTTPS_URL}}}
    },
    {"properties": {"tags": {
        "type": "object",
        "propertyNames": {"minLength": 1, "maxLength": 128, "not": {"pattern": "^(outbound|aws):"}},
        "additionalProperties": {"type": "string", "maxLength": 256}
    }}}
]))]
pub struct ConnectorSpec {
    /// `https://…` (or `http://…`) for AS2, `sftp://…` for SFTP.
    #[schemars(length(min = 1, max = 255))]
    pub url: String,
    /// The IAM role the connector acts as.
    #[schemars(length(min = 20, max = 2048), regex(pattern = patterns::ROLE_ARN))]
    pub access_role: String,
    /// The IAM role that writes the connector's CloudWatch logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048), regex(pattern = patterns::ROLE_ARN))]
    pub logging_role: Option<String>,
    /// Exactly one of `as2Config` and `sftpConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as2_config: Option<As2Config>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_config: Option<SftpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), regex(pattern = patterns::SECURITY_POLICY))]
    pub security_policy_name: Option<String>,
    /// Where the connector's traffic leaves AWS (a VPC Lattice resource configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_config: Option<EgressConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<IpAddressType>,
    /// Tags as a map; keys starting with `outbound:` or `aws:` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 48))]
    pub tags: BTreeMap<String, String>,
}

/// `As2ConnectorConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Editor-only rule (`check` states it): `asyncMdnConfig` exactly when `mdnResponse: ASYNC`.
#[schemars(extend("allOf" = [{
    "if": {"properties": {"mdnResponse": {"const": "ASYNC"}}, "required": ["mdnResponse"]},
    "then": {"required": ["asyncMdnConfig"]},
    "else": {"not": {"required": ["asyncMdnConfig"]}}
}]))]
pub struct As2Config {
    /// A LOCAL Profile of the manifests (exactly one of `localProfile` and
    /// `localProfileId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = patterns::NAME))]
    pub local_profile: Option<String>,
    /// The id of a local profile managed elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 19, max = 19), regex(pattern = patterns::PROFILE_ID))]
    pub local_profile_id: Option<String>,
    /// A PARTNER Profile of the manifests (exactly one of `partnerProfile` and
    /// `partnerProfileId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = patterns::NAME))]
    pub partner_profile: Option<String>,
    /// The id of a partner profile managed elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 19, max = 19), regex(pattern = patterns::PROFILE_ID))]
    pub partner_profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = patterns::MESSAGE_SUBJECT))]
    pub message_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// `DEFAULT` uses `signingAlgorithm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdn_signing_algorithm: Option<MdnSigningAlgorithm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdn_response: Option<MdnResponse>,
    /// A Secrets Manager secret id (not a value: AWS reads it) for AS2 basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub basic_auth_secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_content_type: Option<PreserveContentType>,
    /// Required when `mdnResponse: ASYNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_mdn_config: Option<AsyncMdnConfig>,
}

/// `As2AsyncMdnConnectorConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncMdnConfig {
    #[schemars(length(min = 1, max = 255))]
    pub url: String,
    #[schemars(length(min = 1, max = 10), inner(regex(pattern = patterns::SERVER_ID)))]
    pub server_ids: Vec<String>,
}

/// `SftpConnectorConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SftpConfig {
    /// A Secrets Manager secret id holding the SFTP user's credentials (AWS reads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub user_secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 2048)))]
    pub trusted_host_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_connections: Option<i32>,
}

/// `ConnectorEgressConfig`: a union with one member today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressConfig {
    pub vpc_lattice: VpcLatticeEgress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VpcLatticeEgress {
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::RESOURCE_CONFIGURATION_ARN))]
    pub resource_configuration_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port_number: Option<i32>,
}

macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }
    };
}

api_enum!(
    /// `CompressionEnum`.
    Compression { Zlib = "ZLIB", Disabled = "DISABLED" }
);
api_enum!(
    /// `EncryptionAlg`.
    EncryptionAlgorithm {
        Aes128Cbc = "AES128_CBC", Aes192Cbc = "AES192_CBC", Aes256Cbc = "AES256_CBC",
        DesEde3Cbc = "DES_EDE3_CBC", None = "NONE",
    }
);
api_enum!(
    /// `SigningAlg`.
    SigningAlgorithm { Sha256 = "SHA256", Sha384 = "SHA384", Sha512 = "SHA512", Sha1 = "SHA1", None = "NONE" }
);
api_enum!(
    /// `MdnSigningAlg`.
    MdnSigningAlgorithm {
        Sha256 = "SHA256", Sha384 = "SHA384", Sha512 = "SHA512", Sha1 = "SHA1", None = "NONE",
        Default = "DEFAULT",
    }
);
api_enum!(
    /// `MdnResponse`.
    MdnResponse { Sync = "SYNC", None = "NONE", Async = "ASYNC" }
);
api_enum!(
    /// `PreserveContentType`.
    PreserveContentType { Enabled = "ENABLED", Disabled = "DISABLED" }
);
api_enum!(
    /// `ConnectorsIpAddressType`.
    IpAddressType { Ipv4 = "IPV4", Dualstack = "DUALSTACK" }
);

impl ConnectorSpec {
    /// Cross-field rules the JSON Schema cannot express.
    pub fn check(&self, out: &mut Vec<Problem>) {
        use patterns::has_scheme;
        match (&self.as2_config, &self.sftp_config) {
            (Some(_), Some(_)) => out.push(
                Problem::new(
                    "/spec/sftpConfig",
                    "a connector has exactly one of `as2Config` and `sftpConfig`, not both",
                )
                .hint("write one connector per protocol"),
            ),
            (None, None) => out.push(
                Problem::new(
                    "/spec",
                    "a connector needs exactly one of `as2Config` and `sftpConfig`",
                )
                .hint("add `as2Config:` for an AS2 partner or `sftpConfig:` for an SFTP server"),
            ),
            _ => {}
        }
        if let (Some(as2), None) = (&self.as2_config, &self.sftp_config) {
            self.check_as2(as2, out);
        }
        if self.sftp_config.is_some() && self.as2_config.is_none() && !has_scheme(&self.url, "sftp")
        {
            out.push(Problem::new(
                "/spec/url",
                "an SFTP connector's url must start with `sftp://`",
            ));
        }
        if self.egress_config.is_some() && self.sftp_config.is_none() {
            out.push(Problem::new(
                "/spec/egressConfig",
                "VPC Lattice egress is only for SFTP connectors",
            ));
        }
        self.check_tags(out);
    }

    /// An AS2 connector's url scheme, encryption and MDN settings.
    fn check_as2(&self, as2: &As2Config, out: &mut Vec<Problem>) {
        use patterns::has_scheme;
        if !has_scheme(&self.url, "https") && !has_scheme(&self.url, "http") {
            out.push(Problem::new(
                "/spec/url",
                "an AS2 connector's url must start with `https://` or `http://`",
            ));
        } else if as2.encryption_algorithm == Some(EncryptionAlgorithm::None)
            && !has_scheme(&self.url, "https")
        {
            out.push(
                Problem::new(
                    "/spec/as2Config/encryptionAlgorithm",
                    "`NONE` is only allowed with an `https://` url",
                )
                .hint("use an https:// url, or an encryption algorithm such as AES256_CBC"),
            );
        }
        for (name, id, field) in [
            (&as2.local_profile, &as2.local_profile_id, "localProfile"),
            (
                &as2.partner_profile,
                &as2.partner_profile_id,
                "partnerProfile",
            ),
        ] {
            match (name, id) {
                (Some(_), Some(_)) => out.push(Problem::new(
                    format!("/spec/as2Config/{field}Id"),
                    format!("give exactly one of `{field}` and `{field}Id`, not both"),
                )),
                (None, None) => out.push(
                    Problem::new(
                        "/spec/as2Config",
                        format!("an AS2 connector needs one of `{field}` and `{field}Id`"),
                    )
                    .hint(format!("add `{field}: <name of a Profile>`")),
                ),
                _ => {}
            }
        }
        match (as2.mdn_response, &as2.async_mdn_config) {
            (Some(MdnResponse::Async), None) => out.push(
                Problem::new(
                    "/spec/as2Config/mdnResponse",
                    "`ASYNC` needs `asyncMdnConfig`",
                )
                .hint("add `asyncMdnConfig: { url: …, serverIds: [s-…] }`"),
            ),
            (r, Some(_)) if r != Some(MdnResponse::Async) => out.push(Problem::new(
                "/spec/as2Config/asyncMdnConfig",
                "`asyncMdnConfig` is only used with `mdnResponse: ASYNC`",
            )),
            _ => {}
        }
    }

    /// Tag keys outbound or AWS reserve, and AWS's length limits.
    fn check_tags(&self, out: &mut Vec<Problem>) {
        check_tags(&self.tags, out);
    }
}

/// Tag keys outbound or AWS reserve, and AWS's length limits (every Transfer Family kind).
pub fn check_tags(tags: &BTreeMap<String, String>, out: &mut Vec<Problem>) {
    for (key, value) in tags {
        let pointer = format!("/spec/tags/{}", key.replace('~', "~0").replace('/', "~1"));
        if key.starts_with("outbound:") || key.starts_with("aws:") {
            out.push(
                Problem::new(pointer, format!("tag key `{key}` is reserved"))
                    .hint("keys starting with `outbound:` are set by outbound, `aws:` by AWS"),
            );
        } else if key.is_empty() || key.chars().count() > 128 {
            out.push(Problem::new(pointer, "a tag key has 1 to 128 characters"));
        } else if value.chars().count() > 256 {
            out.push(Problem::new(
                pointer,
                "a tag value has at most 256 characters",
            ));
        }
    }
}

use super::problem::Problem;

/// The most tags a manifest gives a connector (the schema's `maxProperties`): AWS allows 50
/// per resource (resources.md §2, `Tags` 1–50), and outbound adds [`TAG_NAME`] and
/// [`TAG_LINEAGE`].
pub const MAX_TAGS: usize = 48;

/// Tag keys outbound sets on connectors it creates (connectors have no name in AWS).
pub const TAG_NAME: &str = "outbound:name";
pub const TAG_LINEAGE: &str = "outbound:lineage";

/// What generic code asks of a connector (see [`super::rules`]).
pub static RULES: Rules = Rules {
    kind: super::Kind::Connector,
    // What Transfer Family reports for members left unset.
    defaults: &[
        ("sftpConfig.maxConcurrentConnections", Scalar::Int(1)),
        ("ipAddressType", Scalar::Str("IPV4")),
        ("as2Config.mdnSigningAlgorithm", Scalar::Str("DEFAULT")),
        ("as2Config.preserveContentType", Scalar::Str("DISABLED")),
        ("egressConfig.vpcLattice.portNumber", Scalar::Int(22)),
    ],
    reset: |path, _| reset(path),
    replaces: |path, desired, live| {
        let protocol = |s: &dyn SpecView| {
            ["as2Config", "sftpConfig"]
                .into_iter()
                .find(|p| s.any_under(p))
        };
        let switch = protocol(live).is_some() && protocol(desired) != protocol(live);
        switch && (is_under(path, "as2Config") || is_under(path, "sftpConfig"))
    },
    health,
    secret_slots: &[],
    settling: &[("PENDING", Some("ACTIVE"))],
    identity: Identity::Tagged {
        name: TAG_NAME,
        lineage: TAG_LINEAGE,
    },
    references: &[
        Reference {
            field: "as2Config.localProfile",
            target: super::Kind::Profile,
            sends_in: "as2Config.localProfileId",
            sends: Sends::Id,
            list: false,
            target_must: Some(("profileType", "LOCAL")),
        },
        Reference {
            field: "as2Config.partnerProfile",
            target: super::Kind::Profile,
            sends_in: "as2Config.partnerProfileId",
            sends: Sends::Id,
            list: false,
            target_must: Some(("profileType", "PARTNER")),
        },
    ],
    check_secrets: super::rules::no_secret_checks,
};

use super::rules::{Health, Identity, Reference, Reset, Rules, Scalar, Sends, SpecView, is_under};

/// How a removed connector field is reset by `UpdateConnector` (or the tag calls); the
/// others force a replacement, and say why.
pub fn reset(path: &str) -> Reset {
    match path {
        p if is_under(p, "tags") => Reset::Untag,
        "as2Config.basicAuthSecretId" => Reset::EmptyString,
        // The id a profile reference resolves to is always sent.
        "as2Config.localProfile"
        | "as2Config.partnerProfile"
        | "as2Config.localProfileId"
        | "as2Config.partnerProfileId" => Reset::NotSent,
        "sftpConfig.trustedHostKeys" => Reset::EmptyList,
        "as2Config.mdnSigningAlgorithm"
        | "as2Config.preserveContentType"
        | "sftpConfig.maxConcurrentConnections"
        | "egressConfig.vpcLattice.portNumber"
        | "ipAddressType" => Reset::Default,
        "loggingRole" => Reset::Replace {
            why: "UpdateConnector's LoggingRole must be a role ARN (20 to 2048 characters), so no value removes it",
        },
        "as2Config.messageSubject" => Reset::Replace {
            why: "MessageSubject must have 1 to 1024 characters, and As2Config members that are not sent are kept",
        },
        "sftpConfig.userSecretId" => Reset::Replace {
            why: "UserSecretId must have 1 to 2048 characters, and SftpConfig members that are not sent are kept",
        },
        "securityPolicyName" => Reset::Replace {
            why: "SecurityPolicyName must name a TransferSFTPConnectorSecurityPolicy-…, so no value removes it",
        },
        "egressConfig" | "egressConfig.vpcLattice" => Reset::Replace {
            why: "UpdateConnector can change a VPC Lattice egress but not remove it",
        },
        p if is_under(p, "as2Config") || is_under(p, "sftpConfig") => Reset::Replace {
            why: "AWS documents no default for it, or the connector's protocol would change",
        },
        _ => Reset::Replace {
            why: "the API has no value that removes it",
        },
    }
}

/// `ConnectorStatus`.
fn health(status: &str) -> Health {
    match status {
        "ACTIVE" => Health::Healthy,
        "ERRORED" => Health::Failed,
        // PENDING, and any new status.
        _ => Health::Waiting,
    }
}
