//! `Profile`: a Transfer Family AS2 profile, the local party or a trading partner, with the
//! certificates that sign and encrypt its messages.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;
use super::problem::Problem;
use super::rules::{Health, Identity, Reference, Reset, Rules, Sends, is_under};

/// `ProfileType`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProfileType {
    Local,
    Partner,
}

impl ProfileType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileType::Local => "LOCAL",
            ProfileType::Partner => "PARTNER",
        }
    }
}

/// `spec:` of a `Profile`: the members of `CreateProfile`, certificates by name or id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileSpec {
    /// `LOCAL` (this organisation) or `PARTNER` (a trading partner); a change replaces.
    pub profile_type: ProfileType,
    /// The AS2 name (`AS2-From`/`AS2-To`): 1-128 printable characters, no spaces; a change
    /// replaces.
    #[schemars(length(min = 1, max = 128), regex(pattern = patterns::PRINTABLE_NO_SPACE))]
    pub as2_id: String,
    /// `metadata.name`s of Certificate documents (dependency edges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1, max = 64), regex(pattern = patterns::NAME)))]
    pub certificates: Vec<String>,
    /// Ids of certificates managed elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 22, max = 22), regex(pattern = patterns::CERTIFICATE_ID)))]
    pub certificate_ids: Vec<String>,
    /// Tags as a map; keys starting with `outbound:` or `aws:` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 48))]
    pub tags: BTreeMap<String, String>,
}

impl ProfileSpec {
    /// Cross-field rules the JSON Schema cannot express.
    pub fn check(&self, out: &mut Vec<Problem>) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, name) in self.certificates.iter().enumerate() {
            if !seen.insert(name) {
                out.push(Problem::new(
                    format!("/spec/certificates/{i}"),
                    format!("certificate `{name}` is listed twice"),
                ));
            }
        }
        // A partner profile holds at most 10 certificates (AS2 limits: not adjustable).
        let count = self.certificates.len() + self.certificate_ids.len();
        if self.profile_type == ProfileType::Partner && count > 10 {
            out.push(Problem::new(
                "/spec/certificates",
                format!("a partner profile holds at most 10 certificates, this one lists {count}"),
            ));
        }
        super::connector::check_tags(&self.tags, out);
    }
}

/// What generic code asks of a profile (see [`super::rules`]).
pub static RULES: Rules = Rules {
    kind: super::Kind::Profile,
    defaults: &[],
    reset: |path, _| reset(path),
    // `UpdateProfile` takes only the certificate ids (aws-research P6).
    replaces: |path, _, _| path == "profileType" || path == "as2Id",
    health: |_| Health::Healthy,
    identity: Identity::Tagged {
        name: super::connector::TAG_NAME,
        lineage: super::connector::TAG_LINEAGE,
    },
    secret_slots: &[],
    settling: &[],
    references: &[Reference {
        field: "certificates",
        target: super::Kind::Certificate,
        sends_in: "certificateIds",
        sends: Sends::Id,
        list: true,
        target_must: None,
    }],
    check_secrets: super::rules::no_secret_checks,
};

/// How a removed profile field is reset.
pub fn reset(path: &str) -> Reset {
    match path {
        p if is_under(p, "tags") => Reset::Untag,
        // `UpdateProfile` replaces the whole list (aws-research P7).
        "certificateIds" | "certificates" => Reset::EmptyList,
        _ => Reset::Replace {
            why: "UpdateProfile changes only the certificates",
        },
    }
}
