//! `Connection`: an EventBridge connection, the authorization an API destination calls with.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::patterns;
use super::secret::{ParamValue, SecretRef};

/// `ConnectionAuthorizationType`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationType {
    Basic,
    OauthClientCredentials,
    ApiKey,
}

/// `ConnectionOAuthHttpMethod`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum OAuthHttpMethod {
    Get,
    Post,
    Put,
}

/// `spec:` of a `Connection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Editor-only rules (`allOf`; `check` states them in outbound's words): the auth block
// matches `authorizationType` and is the only one, the description is one line.
#[schemars(extend("allOf" = [
    {"properties": {"description": {"type": "string", "pattern": patterns::ONE_LINE}}},
    {
        "if": {"properties": {"authorizationType": {"const": "BASIC"}}, "required": ["authorizationType"]},
        "then": {"properties": {"authParameters": {"type": "object", "required": ["basicAuthParameters"],
            "properties": {"oAuthParameters": false, "apiKeyAuthParameters": false}}}}
    },
    {
        "if": {"properties": {"authorizationType": {"const": "OAUTH_CLIENT_CREDENTIALS"}}, "required": ["authorizationType"]},
        "then": {"properties": {"authParameters": {"type": "object", "required": ["oAuthParameters"],
            "properties": {"basicAuthParameters": false, "apiKeyAuthParameters": false}}}}
    },
    {
        "if": {"properties": {"authorizationType": {"const": "API_KEY"}}, "required": ["authorizationType"]},
        "then": {"properties": {"authParameters": {"type": "object", "required": ["apiKeyAuthParameters"],
            "properties": {"basicAuthParameters": false, "oAuthParameters": false}}}}
    }
]))]
pub struct ConnectionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub description: Option<String>,
    pub authorization_type: AuthorizationType,
    pub auth_parameters: AuthParameters,
    /// `true` plans `DeauthorizeConnection`; the secrets then need not resolve.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deauthorized: bool,
}

/// `authParameters:`: exactly one auth block, matching `authorizationType`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth_parameters: Option<BasicAuthParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "oAuthParameters")]
    pub oauth_parameters: Option<OAuthParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_auth_parameters: Option<ApiKeyAuthParameters>,
    /// Sent with every invocation; each list at most 100 items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_http_parameters: Option<HttpParameters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuthParameters {
    #[schemars(length(min = 1, max = 512), regex(pattern = patterns::AUTH_HEADER))]
    pub username: String,
    pub password: SecretRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyAuthParameters {
    #[schemars(length(min = 1, max = 512), regex(pattern = patterns::AUTH_HEADER))]
    pub api_key_name: String,
    pub api_key_value: SecretRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Editor-only rules (`check` states them): client parameters, an https token endpoint.
#[schemars(extend("allOf" = [
    {"required": ["clientParameters"]},
    {"properties": {"authorizationEndpoint": {"type": "string", "pattern": patterns::HTTPS_URL}}}
]))]
pub struct OAuthParameters {
    /// Required for `OAUTH_CLIENT_CREDENTIALS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_parameters: Option<OAuthClientParameters>,
    /// The token endpoint (https).
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::HTTPS_ENDPOINT))]
    pub authorization_endpoint: String,
    pub http_method: OAuthHttpMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "oAuthHttpParameters")]
    pub oauth_http_parameters: Option<HttpParameters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientParameters {
    #[serde(rename = "clientID")]
    #[schemars(length(min = 1, max = 512), regex(pattern = patterns::AUTH_HEADER))]
    pub client_id: String,
    #[serde(rename = "clientSecret")]
    pub client_secret: SecretRef,
}

/// `ConnectionHttpParameters`: compared by key, never by position.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpParameters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub header_parameters: Vec<HeaderParameter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub query_string_parameters: Vec<QueryStringParameter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub body_parameters: Vec<BodyParameter>,
}

impl HttpParameters {
    pub fn is_empty(&self) -> bool {
        self.header_parameters.is_empty()
            && self.query_string_parameters.is_empty()
            && self.body_parameters.is_empty()
    }
}

/// A header sent with each call; a secret reference makes it `isValueSecret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderParameter {
    #[schemars(length(min = 1, max = 512), regex(pattern = patterns::HEADER_KEY))]
    pub key: String,
    pub value: ParamValue,
}

/// A query-string parameter sent with each call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryStringParameter {
    #[schemars(length(min = 1, max = 512), regex(pattern = patterns::QUERY_KEY))]
    pub key: String,
    pub value: ParamValue,
}

/// A body parameter sent with each call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyParameter {
    #[schemars(length(min = 1))]
    pub key: String,
    pub value: ParamValue,
}

use super::problem::Problem;

/// What AWS requires of a secret's value once resolved (its pattern), by where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSlot {
    /// password, apiKeyValue, clientSecret: `AuthHeaderParametersSensitive`.
    AuthHeader,
    Header,
    QueryString,
    Body,
}

impl ConnectionSpec {
    /// Every secret reference with its JSON pointer (the key of its fingerprint in state).
    pub fn secrets(&self) -> Vec<(String, &SecretRef, SecretSlot)> {
        let mut out = Vec::new();
        let p = &self.auth_parameters;
        if let Some(b) = &p.basic_auth_parameters {
            out.push((
                "/spec/authParameters/basicAuthParameters/password".to_owned(),
                &b.password,
                SecretSlot::AuthHeader,
            ));
        }
        if let Some(k) = &p.api_key_auth_parameters {
            out.push((
                "/spec/authParameters/apiKeyAuthParameters/apiKeyValue".to_owned(),
                &k.api_key_value,
                SecretSlot::AuthHeader,
            ));
        }
        if let Some(o) = &p.oauth_parameters {
            if let Some(c) = &o.client_parameters {
                out.push((
                    "/spec/authParameters/oAuthParameters/clientParameters/clientSecret".to_owned(),
                    &c.client_secret,
                    SecretSlot::AuthHeader,
                ));
            }
            if let Some(h) = &o.oauth_http_parameters {
                h.secrets(
                    "/spec/authParameters/oAuthParameters/oAuthHttpParameters",
                    &mut out,
                );
            }
        }
        if let Some(h) = &p.invocation_http_parameters {
            h.secrets("/spec/authParameters/invocationHttpParameters", &mut out);
        }
        out
    }

    /// Cross-field rules the JSON Schema cannot express.
    pub fn check(&self, out: &mut Vec<Problem>) {
        let p = &self.auth_parameters;
        let blocks = [
            (
                AuthorizationType::Basic,
                "basicAuthParameters",
                p.basic_auth_parameters.is_some(),
            ),
            (
                AuthorizationType::OauthClientCredentials,
                "oAuthParameters",
                p.oauth_parameters.is_some(),
            ),
            (
                AuthorizationType::ApiKey,
                "apiKeyAuthParameters",
                p.api_key_auth_parameters.is_some(),
            ),
        ];
        let wanted = blocks
            .iter()
            .find(|b| b.0 == self.authorization_type)
            .map_or("", |b| b.1);
        for (ty, block, present) in blocks {
            if ty == self.authorization_type && !present {
                out.push(
                    Problem::new(
                        "/spec/authParameters",
                        format!("authorizationType {} needs `{block}`", auth_type_str(ty)),
                    )
                    .hint(format!("add `{block}:` under `authParameters:`")),
                );
            } else if ty != self.authorization_type && present {
                out.push(
                    Problem::new(
                        format!("/spec/authParameters/{block}"),
                        format!(
                            "`{block}` does not match authorizationType {}",
                            auth_type_str(self.authorization_type)
                        ),
                    )
                    .hint(format!("use `{wanted}`, or change authorizationType")),
                );
            }
        }
        if let Some(o) = &p.oauth_parameters {
            let base = "/spec/authParameters/oAuthParameters";
            if o.client_parameters.is_none() {
                out.push(
                    Problem::new(base, "OAuth needs `clientParameters`").hint(
                        "add `clientParameters: { clientID: …, clientSecret: { fromEnv: … } }`",
                    ),
                );
            }
            if !patterns::has_scheme(&o.authorization_endpoint, "https") {
                out.push(Problem::new(
                    format!("{base}/authorizationEndpoint"),
                    "the authorization endpoint must start with `https://`",
                ));
            }
            if let Some(h) = &o.oauth_http_parameters {
                h.check(&format!("{base}/oAuthHttpParameters"), out);
            }
        }
        if let Some(h) = &p.invocation_http_parameters {
            h.check("/spec/authParameters/invocationHttpParameters", out);
        }
    }
}

fn auth_type_str(t: AuthorizationType) -> &'static str {
    match t {
        AuthorizationType::Basic => "BASIC",
        AuthorizationType::OauthClientCredentials => "OAUTH_CLIENT_CREDENTIALS",
        AuthorizationType::ApiKey => "API_KEY",
    }
}

/// One list of HTTP parameters: its field name, the slot its values fill, and its items.
type ParamList<'a> = (&'static str, SecretSlot, Vec<(&'a str, &'a ParamValue)>);

impl HttpParameters {
    fn lists(&self) -> [ParamList<'_>; 3] {
        [
            (
                "headerParameters",
                SecretSlot::Header,
                self.header_parameters
                    .iter()
                    .map(|p| (p.key.as_str(), &p.value))
                    .collect(),
            ),
            (
                "queryStringParameters",
                SecretSlot::QueryString,
                self.query_string_parameters
                    .iter()
                    .map(|p| (p.key.as_str(), &p.value))
                    .collect(),
            ),
            (
                "bodyParameters",
                SecretSlot::Body,
                self.body_parameters
                    .iter()
                    .map(|p| (p.key.as_str(), &p.value))
                    .collect(),
            ),
        ]
    }

    fn secrets<'a>(&'a self, base: &str, out: &mut Vec<(String, &'a SecretRef, SecretSlot)>) {
        for (list, slot, items) in self.lists() {
            for (i, (_, value)) in items.into_iter().enumerate() {
                if let ParamValue::Secret(r) = value {
                    out.push((format!("{base}/{list}/{i}/value"), r, slot));
                }
            }
        }
    }

    fn check(&self, base: &str, out: &mut Vec<Problem>) {
        for (list, slot, items) in self.lists() {
            let mut seen = std::collections::BTreeMap::new();
            for (i, (key, value)) in items.into_iter().enumerate() {
                let pointer = format!("{base}/{list}/{i}");
                if let Some(first) = seen.insert(key, i) {
                    out.push(
                        Problem::new(format!("{pointer}/key"), format!("duplicate key `{key}`"))
                            .hint(format!(
                                "it is also item {first}; parameters are matched by key"
                            )),
                    );
                }
                if let ParamValue::Literal(v) = value
                    && let Some(why) = slot.check_value(v)
                {
                    out.push(Problem::new(format!("{pointer}/value"), why));
                }
            }
        }
    }
}

impl SecretSlot {
    /// Why `value` is not acceptable to AWS in this slot; never quotes the value.
    pub fn check_value(self, value: &str) -> Option<String> {
        let (max, re) = match self {
            SecretSlot::AuthHeader => (512, Some(&*patterns::AUTH_HEADER_RE)),
            SecretSlot::Header => (512, Some(&*patterns::HEADER_VALUE_RE)),
            SecretSlot::QueryString => (512, Some(&*patterns::QUERY_VALUE_RE)),
            SecretSlot::Body => (usize::MAX, None),
        };
        let len = value.chars().count();
        if len == 0 || len > max {
            return Some(format!(
                "the value must have 1 to {max} characters, it has {len}"
            ));
        }
        match re {
            Some(re) if !re.is_match(value) => Some(format!(
                "the value has characters AWS does not accept here (pattern `{}`)",
                re.as_str()
            )),
            _ => None,
        }
    }
}

/// What generic code asks of a connection (see [`super::rules`]).
pub static RULES: Rules = Rules {
    kind: super::Kind::Connection,
    defaults: &[],
    reset: |path, desired| {
        reset(
            path,
            desired.value("authorizationType").and_then(Value::as_str),
        )
    },
    // `UpdateConnection` changes the authorization type in place, with the new type's
    // parameters (the AWS research notes, item U2).
    replaces: |_, _, _| false,
    health,
    identity: Identity::Name,
    secret_slots: &[
        "authParameters.basicAuthParameters.password",
        "authParameters.apiKeyAuthParameters.apiKeyValue",
        "authParameters.oAuthParameters.clientParameters.clientSecret",
        "authParameters.invocationHttpParameters.headerParameters.value",
        "authParameters.invocationHttpParameters.queryStringParameters.value",
        "authParameters.invocationHttpParameters.bodyParameters.value",
        "authParameters.oAuthParameters.oAuthHttpParameters.headerParameters.value",
        "authParameters.oAuthParameters.oAuthHttpParameters.queryStringParameters.value",
        "authParameters.oAuthParameters.oAuthHttpParameters.bodyParameters.value",
    ],
    settling: &[
        ("AUTHORIZING", Some("AUTHORIZED")),
        ("DEAUTHORIZING", None),
        ("CREATING", None),
        ("UPDATING", None),
    ],
    references: &[],
    check_secrets: super::rules::no_secret_checks,
};

use serde_json::Value;

use super::rules::{Health, Identity, Reset, Rules, is_under};

/// The three auth blocks, in `authParameters`.
const AUTH_BLOCKS: [&str; 3] = [
    "basicAuthParameters",
    "oAuthParameters",
    "apiKeyAuthParameters",
];

/// How a removed connection field is reset, for a connection whose desired
/// `authorizationType` is `auth_type` (wire form, `BASIC`…). `path` has no list keys.
pub fn reset(path: &str, auth_type: Option<&str>) -> Reset {
    let current = auth_type.map(|t| match t {
        "BASIC" => "basicAuthParameters",
        "API_KEY" => "apiKeyAuthParameters",
        _ => "oAuthParameters",
    });
    let other_block = AUTH_BLOCKS
        .into_iter()
        .any(|b| Some(b) != current && is_under(path, &format!("authParameters.{b}")));
    if path == "description" {
        Reset::EmptyString
    } else if path == "deauthorized" {
        Reset::NotSent
    } else if other_block {
        Reset::DroppedWithAuthType
    } else if is_under(path, "authParameters.invocationHttpParameters")
        || is_under(path, "authParameters.oAuthParameters.oAuthHttpParameters")
    {
        Reset::EmptyList
    } else {
        Reset::Replace {
            why: "it is required, and the API has no value that removes it",
        }
    }
}

/// The states the plan shows a connection's authorization moving between.
pub const STATE_AUTHORIZED: &str = "AUTHORIZED";
pub const STATE_DEAUTHORIZED: &str = "DEAUTHORIZED";

/// `ConnectionState`, by its string: the SDK does not know `ACTIVE` and
/// `FAILED_CONNECTIVITY` (newer EventBridge states), which arrive as unknown variants.
fn health(status: &str) -> Health {
    match status {
        STATE_AUTHORIZED | "ACTIVE" => Health::Healthy,
        STATE_DEAUTHORIZED => Health::Off,
        "FAILED_CONNECTIVITY" => Health::Failed,
        // CREATING, UPDATING, DELETING, AUTHORIZING, DEAUTHORIZING, and any new state.
        _ => Health::Waiting,
    }
}

#[cfg(test)]
mod rules_tests {
    use super::*;

    #[test]
    fn switching_the_auth_type_resets_the_old_block_in_place() {
        let basic = Some("BASIC");
        assert_eq!(
            reset("authParameters.apiKeyAuthParameters.apiKeyName", basic),
            Reset::DroppedWithAuthType
        );
        assert_eq!(
            reset(
                "authParameters.oAuthParameters.oAuthHttpParameters.headerParameters.value",
                basic
            ),
            Reset::DroppedWithAuthType
        );
        assert_eq!(
            reset(
                "authParameters.oAuthParameters.oAuthHttpParameters.headerParameters.value",
                Some("OAUTH_CLIENT_CREDENTIALS")
            ),
            Reset::EmptyList
        );
        assert_eq!(reset("description", basic), Reset::EmptyString);
        assert!(!reset("authParameters.basicAuthParameters.username", basic).in_place());
    }

    /// The secret slots of `RULES` are exactly where `secrets()` finds references.
    #[test]
    fn every_secret_reference_sits_in_a_declared_secret_slot() {
        let secret = || serde_json::json!({"fromEnv": "S"});
        let params = || {
            serde_json::json!({
                "headerParameters": [{"key": "h", "value": secret()}],
                "queryStringParameters": [{"key": "q", "value": secret()}],
                "bodyParameters": [{"key": "b", "value": secret()}],
            })
        };
        let all = |auth: serde_json::Value| -> ConnectionSpec {
            serde_json::from_value(serde_json::json!({
                "authorizationType": "BASIC",
                "authParameters": auth,
            }))
            .unwrap()
        };
        let specs = [
            all(serde_json::json!({
                "basicAuthParameters": {"username": "u", "password": secret()},
                "invocationHttpParameters": params(),
            })),
            all(serde_json::json!({
                "apiKeyAuthParameters": {"apiKeyName": "k", "apiKeyValue": secret()},
            })),
            all(serde_json::json!({"oAuthParameters": {
                "authorizationEndpoint": "https://a", "httpMethod": "POST",
                "clientParameters": {"clientID": "c", "clientSecret": secret()},
                "oAuthHttpParameters": params(),
            }})),
        ];
        let mut found = std::collections::BTreeSet::new();
        for spec in &specs {
            for (pointer, _, _) in spec.secrets() {
                found.insert(super::super::FieldPath::from_pointer(&pointer).unkeyed());
            }
        }
        let declared: std::collections::BTreeSet<String> =
            RULES.secret_slots.iter().map(|s| s.to_string()).collect();
        assert_eq!(found, declared);
    }

    #[test]
    fn states_the_sdk_does_not_know_are_read_by_their_string() {
        assert_eq!(health("ACTIVE"), Health::Healthy);
        assert_eq!(health("FAILED_CONNECTIVITY"), Health::Failed);
        assert_eq!(health("AUTHORIZING"), Health::Waiting);
        assert_eq!(health("DEAUTHORIZING"), Health::Waiting);
        assert_eq!(health("DEAUTHORIZED"), Health::Off);
    }
}
