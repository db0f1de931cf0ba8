//! Patterns and limits from the AWS API shapes (the service models), anchored, shared by the
//! JSON Schema (through schemars attributes) and the validator.

/// Names of connections, API destinations, and (by choice, for safe addresses) connectors.
pub const NAME: &str = r"^[.\-_A-Za-z0-9]{1,64}$";
/// `Role`: access and logging roles of a connector.
pub const ROLE_ARN: &str = r"^arn:.*role/\S+$";
/// `ProfileId`.
pub const PROFILE_ID: &str = r"^p-([0-9a-f]{17})$";
/// `ServerId`.
pub const SERVER_ID: &str = r"^s-([0-9a-f]{17})$";
/// `MessageSubject`.
pub const MESSAGE_SUBJECT: &str = r"^[\u0020-\u007E\t]+$";
/// `ConnectorSecurityPolicyName`.
pub const SECURITY_POLICY: &str = r"^TransferSFTPConnectorSecurityPolicy-[A-Za-z0-9-]+$";
/// `VpcLatticeResourceConfigurationArn`.
pub const RESOURCE_CONFIGURATION_ARN: &str =
    r"^arn:[a-z0-9\-]+:vpc-lattice:[a-zA-Z0-9\-]+:\d{12}:resourceconfiguration/rcfg-[0-9a-z]{17}$";
/// `AuthHeaderParameters` (usernames, client ids, API key names) and their sensitive twin.
pub const AUTH_HEADER: &str = r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$";
/// `HttpsEndpoint` (the AWS pattern; `https://` is checked as a cross-field rule).
pub const HTTPS_ENDPOINT: &str =
    r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$";
/// `ConnectionArn`. The AWS model writes `([a-z]|\-)*`; a `\-` outside a character class is
/// an invalid escape for ECMAScript regexes in unicode mode (Ajv, check-jsonschema), which
/// then refuse the whole schema: written `-` here, the same language for every engine.
pub const CONNECTION_ARN: &str = r"^arn:aws([a-z]|-)*:events:([a-z]|\d|-)*:([0-9]{12})?:connection/[\.\-_A-Za-z0-9]+/[\-A-Za-z0-9]+$";
/// Editor-only rules of the schema (`manifest::schema`): an `https://` url (any case, with
/// something after it, as `has_scheme` reads it), an AS2 url, an SFTP url.
pub const HTTPS_URL: &str = "^[hH][tT][tT][pP][sS]://.";
pub const HTTP_OR_HTTPS_URL: &str = "^[hH][tT][tT][pP][sS]?://.";
pub const SFTP_URL: &str = "^[sS][fF][tT][pP]://.";
/// A value AWS takes on one line (`ConnectionDescription`, `.*`: no line terminator).
pub const ONE_LINE: &str = r"^[^\n\r\u0085\u2028\u2029]*$";
/// `HeaderKey`.
pub const HEADER_KEY: &str = r"^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$";
/// `HeaderValueSensitive`.
pub const HEADER_VALUE: &str = r"^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$";
/// `QueryStringKey`.
pub const QUERY_KEY: &str = r"^[^\x00-\x1F\x7F]+$";
/// `QueryStringValueSensitive`.
pub const QUERY_VALUE: &str = r"^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+$";
/// `CertificateId`.
pub const CERTIFICATE_ID: &str = r"^cert-([0-9a-f]{17})$";
/// `Description` of a certificate (printable ASCII, no spaces) and, by outbound's choice, an
/// AS2 id (`As2Id`: "This ID cannot include spaces").
pub const PRINTABLE_NO_SPACE: &str = r"^[\u0021-\u007E]+$";
/// Timestamps in manifests: RFC 3339 in UTC, to the second (the form AWS's answers are
/// written back in, so a date never diffs by its spelling).
pub const UTC_SECONDS: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$";
/// Environment variable names behind `fromEnv`.
pub const ENV_VAR: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";

use std::sync::LazyLock;

use regex::Regex;

/// The patterns the validator checks itself (values the schema cannot see: HTTP parameter
/// literals, and resolved secrets), compiled once.
pub static HEADER_VALUE_RE: LazyLock<Regex> = LazyLock::new(|| compile(HEADER_VALUE));
pub static QUERY_VALUE_RE: LazyLock<Regex> = LazyLock::new(|| compile(QUERY_VALUE));
pub static AUTH_HEADER_RE: LazyLock<Regex> = LazyLock::new(|| compile(AUTH_HEADER));
pub static NAME_RE: LazyLock<Regex> = LazyLock::new(|| compile(NAME));

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this file, covered by tests: failing here is a bug.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

/// True when `url` starts with `scheme://` (case-insensitive) and has something after it.
/// Compared as bytes: `url` is user input, and a multi-byte character inside its first
/// `scheme.len()` bytes must not be sliced through.
pub fn has_scheme(url: &str, scheme: &str) -> bool {
    let (url, scheme) = (url.as_bytes(), scheme.as_bytes());
    url.len() > scheme.len() + 3
        && url[..scheme.len()].eq_ignore_ascii_case(scheme)
        && url[scheme.len()..].starts_with(b"://")
}

#[cfg(test)]
mod tests {
    use super::has_scheme;

    #[test]
    fn has_scheme_is_case_insensitive_and_needs_something_after_the_scheme() {
        assert!(has_scheme("HTTPS://x", "https"));
        assert!(!has_scheme("https://", "https"));
        assert!(!has_scheme("sftp://x", "https"));
    }

    /// Issue 10 item 4: `htt€://x` made validate, plan, apply and drift panic (exit 101).
    #[test]
    fn has_scheme_does_not_panic_on_a_multi_byte_character_in_the_scheme() {
        for url in [
            "htt€://x",
            "€://xxxxx",
            "h€",
            "ht\u{1F600}ps://x",
            "sftp€//xx",
        ] {
            assert!(!has_scheme(url, "https"), "{url}");
            assert!(!has_scheme(url, "sftp"), "{url}");
        }
        assert!(!has_scheme("https€//x", "https"));
    }
}
