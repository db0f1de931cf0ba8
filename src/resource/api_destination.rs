//! `ApiDestination`: an EventBridge API destination, an HTTPS endpoint called through a connection.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;

/// HTTP methods an API destination may use (`ApiDestinationHttpMethod`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Post,
    Get,
    Head,
    Options,
    Put,
    Patch,
    Delete,
}

/// `spec:` of an `ApiDestination`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Editor-only rules (`allOf`; `check` states them in outbound's words).
#[schemars(extend("allOf" = [
    {"oneOf": [{"required": ["connection"]}, {"required": ["connectionArn"]}]},
    {"properties": {
        "invocationEndpoint": {"type": "string", "pattern": patterns::HTTPS_URL},
        "description": {"type": "string", "pattern": patterns::ONE_LINE}
    }}
]))]
pub struct ApiDestinationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub description: Option<String>,
    /// `metadata.name` of a Connection in the manifests (exactly one of `connection` and
    /// `connectionArn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = patterns::NAME))]
    pub connection: Option<String>,
    /// The ARN of a connection managed elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1600), regex(pattern = patterns::CONNECTION_ARN))]
    pub connection_arn: Option<String>,
    /// The HTTPS endpoint to call.
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::HTTPS_ENDPOINT))]
    pub invocation_endpoint: String,
    pub http_method: HttpMethod,
    /// Calls per second at most; no upper bound here (it is an account quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub invocation_rate_limit_per_second: Option<i32>,
}

use super::problem::Problem;

impl ApiDestinationSpec {
    /// Cross-field rules the JSON Schema cannot express.
    pub fn check(&self, out: &mut Vec<Problem>) {
        match (&self.connection, &self.connection_arn) {
            (Some(_), Some(_)) => out.push(
                Problem::new("/spec/connectionArn", "give exactly one of `connection` and `connectionArn`, not both")
                    .hint("`connection` names a Connection in the manifests; `connectionArn` one managed elsewhere"),
            ),
            (None, None) => out.push(
                Problem::new("/spec", "an API destination needs one of `connection` and `connectionArn`")
                    .hint("add `connection: <name of a Connection>`"),
            ),
            _ => {}
        }
        if !patterns::has_scheme(&self.invocation_endpoint, "https") {
            out.push(Problem::new(
                "/spec/invocationEndpoint",
                "the invocation endpoint must start with `https://`",
            ));
        }
    }
}

/// What generic code asks of an API destination (see [`super::rules`]).
pub static RULES: Rules = Rules {
    kind: super::Kind::ApiDestination,
    // EventBridge documentation: the rate when none is given.
    defaults: &[("invocationRateLimitPerSecond", Scalar::Int(300))],
    reset: |path, _| reset(path),
    replaces: |_, _, _| false,
    health,
    secret_slots: &[],
    // `INACTIVE` while its connection is not authorized (AWS-recorded while it is
    // `AUTHORIZING`, docs/testing.md).
    settling: &[("INACTIVE", Some("ACTIVE"))],
    identity: Identity::Name,
    references: &[Reference {
        field: "connection",
        target: super::Kind::Connection,
        sends_in: "connectionArn",
        sends: Sends::Arn,
        list: false,
        target_must: None,
    }],
    check_secrets: super::rules::no_secret_checks,
};

use super::rules::{Health, Identity, Reference, Reset, Rules, Scalar, Sends};

/// How a removed API destination field is reset.
pub fn reset(path: &str) -> Reset {
    match path {
        "description" => Reset::EmptyString,
        "invocationRateLimitPerSecond" => Reset::Default,
        // The ARN a `connection:` resolves to is always sent.
        "connection" | "connectionArn" => Reset::NotSent,
        _ => Reset::Replace {
            why: "it is required, and the API has no value that removes it",
        },
    }
}

/// `ApiDestinationState`: `INACTIVE` while its connection is not authorized (LocalStack's
/// AWS-recorded snapshots, issue 10 item 10).
fn health(status: &str) -> Health {
    match status {
        "ACTIVE" => Health::Healthy,
        "INACTIVE" => Health::Blocked,
        _ => Health::Waiting,
    }
}
