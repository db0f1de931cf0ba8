//! `Certificate`: a Transfer Family certificate (AS2 signing, encryption or TLS), imported
//! from PEM files; its private key, when given, is a secret.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expiry::{expiry, seconds_left};
use super::patterns;
use super::problem::Problem;
use super::rules::{Finding, Health, Identity, Reset, Rules, SecretValues, is_under};
use super::secret::SecretRef;

/// `CertificateUsageType`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Usage {
    Signing,
    Encryption,
    Tls,
}

impl Usage {
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Signing => "SIGNING",
            Usage::Encryption => "ENCRYPTION",
            Usage::Tls => "TLS",
        }
    }
}

/// `spec:` of a `Certificate`: the members of `ImportCertificate`, tags as a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateSpec {
    pub usage: Usage,
    /// The certificate, PEM (`{ fromFile: certs/x.pem }`); compared by its fingerprint.
    pub certificate: SecretRef,
    /// The chain, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<SecretRef>,
    /// The private key, PEM (PKCS#8 or PKCS#1): for a local certificate only. A secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<SecretRef>,
    /// From when the certificate is used (default: its NotBefore), RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::UTC_SECONDS))]
    pub active_date: Option<String>,
    /// Until when it is used (default: its NotAfter), RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = patterns::UTC_SECONDS))]
    pub inactive_date: Option<String>,
    /// 1-200 printable characters, no spaces (AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = patterns::PRINTABLE_NO_SPACE))]
    pub description: Option<String>,
    /// Tags as a map; keys starting with `outbound:` or `aws:` are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 48))]
    pub tags: BTreeMap<String, String>,
}

pub const CERTIFICATE: &str = "/spec/certificate";
pub const CHAIN: &str = "/spec/certificateChain";
pub const PRIVATE_KEY: &str = "/spec/privateKey";

impl CertificateSpec {
    /// Cross-field rules the JSON Schema cannot express.
    pub fn check(&self, out: &mut Vec<Problem>) {
        if let (Some(a), Some(i)) = (&self.active_date, &self.inactive_date)
            && a >= i
        {
            // Same fixed format: the strings order as the times do.
            out.push(Problem::new(
                "/spec/inactiveDate",
                "`inactiveDate` must be after `activeDate`",
            ));
        }
        for (field, date) in [
            ("activeDate", &self.active_date),
            ("inactiveDate", &self.inactive_date),
        ] {
            if let Some(d) = date
                && humantime::parse_rfc3339(d).is_err()
            {
                out.push(Problem::new(
                    format!("/spec/{field}"),
                    "not a valid date and time (RFC 3339, e.g. 2026-12-01T00:00:00Z)",
                ));
            }
        }
        super::connector::check_tags(&self.tags, out);
    }

    /// Every secret reference with its JSON pointer.
    pub fn secrets(&self) -> Vec<(String, &SecretRef)> {
        let mut out = vec![(CERTIFICATE.to_owned(), &self.certificate)];
        if let Some(c) = &self.certificate_chain {
            out.push((CHAIN.to_owned(), c));
        }
        if let Some(k) = &self.private_key {
            out.push((PRIVATE_KEY.to_owned(), k));
        }
        out
    }
}

/// What generic code asks of a certificate (see [`super::rules`]).
pub static RULES: Rules = Rules {
    kind: super::Kind::Certificate,
    defaults: &[],
    reset: |path, _| reset(path),
    // A new body, chain, key or usage is a new import (`UpdateCertificate` takes only the
    // dates and the description): aws-research as2-certificates-profiles.md C12.
    replaces: |path, _, _| {
        ["usage", "certificate", "certificateChain", "privateKey"].contains(&path)
    },
    health,
    identity: Identity::Tagged {
        name: super::connector::TAG_NAME,
        lineage: super::connector::TAG_LINEAGE,
    },
    secret_slots: &["certificate", "certificateChain", "privateKey"],
    settling: &[],
    references: &[],
    check_secrets: check_pem,
};

/// How a removed certificate field is reset.
pub fn reset(path: &str) -> Reset {
    match path {
        p if is_under(p, "tags") => Reset::Untag,
        "description" => Reset::Replace {
            why: "Description must have 1 to 200 characters, so no value removes it",
        },
        "activeDate" | "inactiveDate" => Reset::Replace {
            why: "UpdateCertificate has no way to set a date back to its default",
        },
        _ => Reset::Replace {
            why: "a certificate's body, chain, key and usage are fixed at import",
        },
    }
}

/// `CertificateStatusType`: `ACTIVE`, `PENDING_ROTATION` (it will replace the current one),
/// `INACTIVE` (outside its active dates: before them is a rotation prepared, after them
/// its expiry, which drift and plan report from the dates, see [`expiry`]). None of them is
/// a transition to wait for or a failure of the resource itself.
fn health(_status: &str) -> Health {
    Health::Healthy
}

/// The certificate's PEM parses, its dates are in order and not past, the chain parses, and
/// the private key matches the certificate's public key. Messages never quote key material.
pub fn check_pem(values: SecretValues<'_>, now: SystemTime, warn_days: u64) -> Vec<Finding> {
    use x509_parser::prelude::*;
    let mut out = Vec::new();
    let error = |pointer: &str, message: String| Finding {
        problem: Problem::new(pointer, message),
        warning: false,
    };
    let Some(body) = values(CERTIFICATE) else {
        return out;
    };
    let pem = match parse_x509_pem(body.as_bytes()) {
        Ok((_, pem)) if pem.label == "CERTIFICATE" => pem,
        Ok((_, pem)) => {
            out.push(error(
                CERTIFICATE,
                format!(
                    "the file holds a PEM `{}` block, not a `CERTIFICATE`",
                    pem.label
                ),
            ));
            return out;
        }
        Err(_) => {
            out.push(error(
                CERTIFICATE,
                "the certificate is not PEM (-----BEGIN CERTIFICATE-----)".into(),
            ));
            return out;
        }
    };
    let cert = match pem.parse_x509() {
        Ok(c) => c,
        Err(e) => {
            out.push(error(
                CERTIFICATE,
                format!("the certificate's X.509 content does not parse: {e}"),
            ));
            return out;
        }
    };
    let validity = cert.validity();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    if not_before >= not_after {
        out.push(error(
            CERTIFICATE,
            "the certificate's NotAfter is not after its NotBefore".into(),
        ));
    }
    let end = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(not_after).unwrap_or(0));
    let end_text = humantime::format_rfc3339_seconds(end).to_string();
    match seconds_left(&end_text, now) {
        Some(d) if d < 0 => out.push(error(
            CERTIFICATE,
            format!("the certificate expired on {end_text}: it cannot be imported"),
        )),
        _ => {
            if let Some(why) = expiry(&end_text, now, warn_days) {
                out.push(Finding {
                    problem: Problem::new(CERTIFICATE, format!("the certificate {why}"))
                        .hint("import its successor and list both in the profile"),
                    warning: true,
                });
            }
        }
    }
    if let Some(chain) = values(CHAIN) {
        let parsed: Vec<_> = Pem::iter_from_buffer(chain.as_bytes()).collect();
        if parsed.is_empty() || parsed.iter().any(|p| p.is_err()) {
            out.push(error(
                CHAIN,
                "the chain is not a list of PEM certificates".into(),
            ));
        }
    }
    if let Some(key) = values(PRIVATE_KEY) {
        let spki = cert.public_key().subject_public_key.data.as_ref();
        if let Some(why) = key_mismatch(key, spki) {
            out.push(error(PRIVATE_KEY, why));
        }
    }
    out
}

/// Why the PEM private key `key` is not the one of the certificate's public key `spki`
/// (the subjectPublicKey bits), if it is not; `None` when it matches.
fn key_mismatch(key: &str, spki: &[u8]) -> Option<String> {
    use ring::signature::{self, KeyPair};
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(key.as_bytes()) else {
        return Some("the private key is not PEM (-----BEGIN PRIVATE KEY-----)".into());
    };
    let der = pem.contents.as_slice();
    let public: Option<Vec<u8>> = match pem.label.as_str() {
        "PRIVATE KEY" => signature::RsaKeyPair::from_pkcs8(der)
            .map(|k| k.public_key().as_ref().to_vec())
            .ok()
            .or_else(|| {
                let rng = ring::rand::SystemRandom::new();
                [
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                ]
                .into_iter()
                .find_map(|alg| signature::EcdsaKeyPair::from_pkcs8(alg, der, &rng).ok())
                .map(|k| k.public_key().as_ref().to_vec())
            }),
        "RSA PRIVATE KEY" => signature::RsaKeyPair::from_der(der)
            .map(|k| k.public_key().as_ref().to_vec())
            .ok(),
        "ENCRYPTED PRIVATE KEY" => {
            return Some(
                "the private key is encrypted; ImportCertificate takes no passphrase".into(),
            );
        }
        other => {
            return Some(format!(
                "the file holds a PEM `{other}` block, not a private key"
            ));
        }
    };
    match public {
        None => Some(
            "the private key does not parse as an RSA (2048 to 4096 bits) or ECDSA P-256/P-384 key"
                .into(),
        ),
        Some(p) if p != spki => {
            Some("the private key does not match the certificate's public key".into())
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(days: u64) -> (String, String) {
        let mut params = rcgen::CertificateParams::new(vec!["acme.example".into()]).unwrap();
        let now = rcgen::date_time_ymd(2026, 1, 1);
        params.not_before = now;
        params.not_after = now + Duration::from_secs(days * 86_400);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn at(y: i32, m: u8, d: u8) -> SystemTime {
        let t = rcgen::date_time_ymd(y, m, d);
        SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().try_into().unwrap())
    }

    fn run(cert: &str, key: Option<&str>, now: SystemTime) -> Vec<Finding> {
        let values = |p: &str| match p {
            CERTIFICATE => Some(cert),
            PRIVATE_KEY => key,
            _ => None,
        };
        check_pem(&values, now, 30)
    }

    #[test]
    fn a_matching_key_and_a_valid_certificate_pass() {
        let (cert, key) = pair(365);
        assert!(run(&cert, Some(&key), at(2026, 2, 1)).is_empty());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_without_quoting_it() {
        let (cert, _) = pair(365);
        let (_, other) = pair(365);
        let found = run(&cert, Some(&other), at(2026, 2, 1));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].problem.pointer, PRIVATE_KEY);
        assert!(found[0].problem.message.contains("does not match"));
        assert!(!found[0].problem.message.contains("BEGIN"));
    }

    #[test]
    fn expired_is_an_error_and_expiring_a_warning() {
        let (cert, _) = pair(40);
        let found = run(&cert, None, at(2026, 3, 1));
        assert!(!found[0].warning && found[0].problem.message.contains("expired"));
        let found = run(&cert, None, at(2026, 1, 20));
        assert!(found[0].warning, "{found:?}");
        assert!(found[0].problem.message.contains("expires in 21 days"));
        assert!(run(&cert, None, at(2026, 1, 2)).is_empty());
    }

    #[test]
    fn not_pem_is_refused() {
        let found = run("hello", None, at(2026, 1, 2));
        assert!(found[0].problem.message.contains("not PEM"));
    }
}
