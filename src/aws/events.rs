//! EventBridge (aws-sdk-cloudwatchevents): connections and API destinations.
//!
//! Clear encodings (a JSON pointer in `clear` is a field removed from the manifest):
//!
//! | pointer | sent |
//! | --- | --- |
//! | `/spec/description` (both kinds) | `Description: ""` (ConnectionDescription/ApiDestinationDescription allow length 0; AWS stores no description) |
//! | `/spec/authParameters/invocationHttpParameters[/…]` | the three lists of `InvocationHttpParameters`, each as in the spec or `[]` (a list that is sent replaces the stored one) |
//! | `/spec/authParameters/oAuthParameters/oAuthHttpParameters[/…]` | the same for `OAuthHttpParameters` |
//! | `/spec/invocationRateLimitPerSecond` | `InvocationRateLimitPerSecond: 300`, the documented default (the member has no "unset") |
//! | `/spec/authParameters/<block of another authorizationType>/…`, `/spec/deauthorized`, `/spec/connection`, `/spec/connectionArn` | nothing: changing `AuthorizationType` drops the old block; the auth parameters and the connection ARN are always sent |
//!
//! Any other pointer is a required member and cannot be cleared in place ([`ErrorClass::Invalid`]).

use std::collections::BTreeMap;

use aws_sdk_cloudwatchevents::types::{
    ApiDestinationHttpMethod, ConnectionAuthResponseParameters, ConnectionAuthorizationType,
    ConnectionBodyParameter, ConnectionHeaderParameter, ConnectionHttpParameters,
    ConnectionOAuthHttpMethod, ConnectionQueryStringParameter,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    CreateConnectionBasicAuthRequestParameters, CreateConnectionOAuthClientRequestParameters,
    CreateConnectionOAuthRequestParameters, UpdateConnectionApiKeyAuthRequestParameters,
    UpdateConnectionAuthRequestParameters, UpdateConnectionBasicAuthRequestParameters,
    UpdateConnectionOAuthClientRequestParameters, UpdateConnectionOAuthRequestParameters,
};
use serde_json::{Map, Value, json};

use super::{
    Aws, AwsError, ErrorClass, Live, absent_as_none, built, cannot_clear, invalid, put, put_str,
    rfc3339, under, wire,
};
use crate::manifest::secret::{ParamValue, SecretRef, SecretValue};
use crate::resource::connection::{AuthorizationType, HttpParameters};
use crate::resource::{ApiDestinationSpec, ConnectionSpec};

/// Resolved secrets of a connection by JSON pointer (`/spec/authParameters/…`).
pub type Secrets = BTreeMap<String, SecretValue>;

const AUTH: &str = "/spec/authParameters";
const INVOCATION: &str = "/spec/authParameters/invocationHttpParameters";
const OAUTH_HTTP: &str = "/spec/authParameters/oAuthParameters/oAuthHttpParameters";
/// Why a required member cannot be cleared.
const NO_ENCODING: &str = "it is required, and the API has no value that removes it";
/// What `InvocationRateLimitPerSecond` is when none was given (EventBridge documentation).
const DEFAULT_RATE_LIMIT: i32 = 300;

impl Aws {
    /// `DescribeConnection`; `None` when AWS has no connection of that name.
    pub async fn describe_connection(&self, name: &str) -> Result<Option<Live>, AwsError> {
        let request = self.events.describe_connection().name(name).send();
        let Some(out) = absent_as_none(self.call("DescribeConnection", request).await)? else {
            return Ok(None);
        };
        let mut spec = Map::new();
        put_str(&mut spec, "description", out.description());
        if let Some(t) = out.authorization_type() {
            spec.insert("authorizationType".into(), t.as_str().into());
        }
        if let Some(auth) = out.auth_parameters() {
            put(&mut spec, "authParameters", auth_parameters_of(auth));
        }
        Ok(Some(Live {
            id: out.name().unwrap_or(name).to_owned(),
            arn: out.connection_arn().unwrap_or_default().to_owned(),
            spec: Value::Object(spec),
            status: out.connection_state().map(|s| s.as_str().to_owned()),
            status_reason: out
                .state_reason()
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            last_modified: rfc3339(out.last_modified_time()),
            tags: BTreeMap::new(),
        }))
    }

    /// `CreateConnection` with every auth parameter, secrets included; returns the ARN.
    pub async fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
    ) -> Result<String, AwsError> {
        const OP: &str = "CreateConnection";
        let wire = Wire { op: OP, secrets };
        let auth = wire.create_auth(spec)?;
        let request = self
            .events
            .create_connection()
            .name(name)
            .set_description(spec.description.clone())
            .authorization_type(auth_type(spec.authorization_type))
            .auth_parameters(auth)
            .send();
        let out = self.call(OP, request).await?;
        arn_of(OP, out.connection_arn())
    }

    /// `UpdateConnection` to `spec` (auth parameters re-sent with their secrets); each JSON
    /// pointer in `clear` is a field removed from the manifest, reset with the API's clear
    /// encoding (see the module documentation).
    pub async fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
        clear: &[String],
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateConnection";
        let clears = connection_clears(spec, clear)?;
        let wire = Wire { op: OP, secrets };
        let auth = wire.update_auth(spec, &clears)?;
        let description = match &spec.description {
            Some(d) => Some(d.clone()),
            None => clears.description.then(String::new),
        };
        let request = self
            .events
            .update_connection()
            .name(name)
            .set_description(description)
            .authorization_type(auth_type(spec.authorization_type))
            .auth_parameters(auth)
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `DeauthorizeConnection`.
    pub async fn deauthorize_connection(&self, name: &str) -> Result<(), AwsError> {
        let request = self.events.deauthorize_connection().name(name).send();
        self.call("DeauthorizeConnection", request).await.map(drop)
    }

    /// `DeleteConnection`.
    pub async fn delete_connection(&self, name: &str) -> Result<(), AwsError> {
        let request = self.events.delete_connection().name(name).send();
        self.call("DeleteConnection", request).await.map(drop)
    }

    /// Names of every connection in the account and region (`ListConnections`, paginated).
    pub async fn list_connections(&self) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let request = self.events.list_connections().set_next_token(token).send();
            let page = self.call("ListConnections", request).await?;
            names.extend(
                page.connections()
                    .iter()
                    .filter_map(|c| c.name())
                    .map(str::to_owned),
            );
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(names);
            }
        }
    }

    /// `DescribeApiDestination`; `None` when absent.
    pub async fn describe_api_destination(&self, name: &str) -> Result<Option<Live>, AwsError> {
        let request = self.events.describe_api_destination().name(name).send();
        let Some(out) = absent_as_none(self.call("DescribeApiDestination", request).await)? else {
            return Ok(None);
        };
        let mut spec = Map::new();
        put_str(&mut spec, "description", out.description());
        put_str(&mut spec, "connectionArn", out.connection_arn());
        put_str(&mut spec, "invocationEndpoint", out.invocation_endpoint());
        put_str(
            &mut spec,
            "httpMethod",
            out.http_method().map(|m| m.as_str()),
        );
        if let Some(rate) = out.invocation_rate_limit_per_second() {
            spec.insert("invocationRateLimitPerSecond".into(), rate.into());
        }
        Ok(Some(Live {
            id: out.name().unwrap_or(name).to_owned(),
            arn: out.api_destination_arn().unwrap_or_default().to_owned(),
            spec: Value::Object(spec),
            status: out.api_destination_state().map(|s| s.as_str().to_owned()),
            status_reason: None,
            last_modified: rfc3339(out.last_modified_time()),
            tags: BTreeMap::new(),
        }))
    }

    /// `CreateApiDestination` pointing at `connection_arn`; returns the ARN.
    pub async fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &str,
    ) -> Result<String, AwsError> {
        const OP: &str = "CreateApiDestination";
        let request = self
            .events
            .create_api_destination()
            .name(name)
            .set_description(spec.description.clone())
            .connection_arn(connection_arn)
            .invocation_endpoint(&spec.invocation_endpoint)
            .http_method(ApiDestinationHttpMethod::from(
                wire(&spec.http_method).as_str(),
            ))
            .set_invocation_rate_limit_per_second(spec.invocation_rate_limit_per_second)
            .send();
        let out = self.call(OP, request).await?;
        arn_of(OP, out.api_destination_arn())
    }

    /// `UpdateApiDestination` to `spec`; `clear` as in [`Aws::update_connection`].
    pub async fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &str,
        clear: &[String],
    ) -> Result<(), AwsError> {
        const OP: &str = "UpdateApiDestination";
        let mut description = spec.description.clone();
        let mut rate = spec.invocation_rate_limit_per_second;
        for pointer in clear {
            match pointer.as_str() {
                "/spec/description" => description = description.or(Some(String::new())),
                "/spec/invocationRateLimitPerSecond" => rate = rate.or(Some(DEFAULT_RATE_LIMIT)),
                // The ARN a `connection:` resolves to is always sent.
                "/spec/connection" | "/spec/connectionArn" => {}
                other => return Err(cannot_clear(OP, other, NO_ENCODING)),
            }
        }
        let request = self
            .events
            .update_api_destination()
            .name(name)
            .set_description(description)
            .connection_arn(connection_arn)
            .invocation_endpoint(&spec.invocation_endpoint)
            .http_method(ApiDestinationHttpMethod::from(
                wire(&spec.http_method).as_str(),
            ))
            .set_invocation_rate_limit_per_second(rate)
            .send();
        self.call(OP, request).await.map(drop)
    }

    /// `DeleteApiDestination`.
    pub async fn delete_api_destination(&self, name: &str) -> Result<(), AwsError> {
        let request = self.events.delete_api_destination().name(name).send();
        self.call("DeleteApiDestination", request).await.map(drop)
    }

    /// Names of every API destination in the account and region (paginated).
    pub async fn list_api_destinations(&self) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let request = self
                .events
                .list_api_destinations()
                .set_next_token(token)
                .send();
            let page = self.call("ListApiDestinations", request).await?;
            names.extend(
                page.api_destinations()
                    .iter()
                    .filter_map(|d| d.name())
                    .map(str::to_owned),
            );
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(names);
            }
        }
    }
}

// ---- clears ---------------------------------------------------------------------------

/// Which of the three HTTP parameter lists of a block to send even when the spec has none.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Lists {
    header: bool,
    query: bool,
    body: bool,
}

impl Lists {
    /// Marks the list `rest` (what follows the block's pointer) names, or all three for the
    /// block itself; `false` for a pointer that names no list.
    fn mark(&mut self, rest: &str) -> bool {
        match rest
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
        {
            "" => {
                *self = Lists {
                    header: true,
                    query: true,
                    body: true,
                }
            }
            "headerParameters" => self.header = true,
            "queryStringParameters" => self.query = true,
            "bodyParameters" => self.body = true,
            _ => return false,
        }
        true
    }
}

/// What `clear` asks of an `UpdateConnection`.
#[derive(Debug, Default)]
struct ConnectionClears {
    description: bool,
    invocation: Lists,
    oauth: Lists,
}

fn connection_clears(
    spec: &ConnectionSpec,
    clear: &[String],
) -> Result<ConnectionClears, AwsError> {
    const OP: &str = "UpdateConnection";
    let current = block_name(spec.authorization_type);
    let mut out = ConnectionClears::default();
    for pointer in clear {
        let p = pointer.as_str();
        let marked = if p == "/spec/description" {
            out.description = true;
            true
        } else if p == "/spec/deauthorized" {
            true // the auth parameters are re-sent anyway
        } else if let Some(rest) = under(p, INVOCATION) {
            out.invocation.mark(rest)
        } else if let Some(rest) = under(p, OAUTH_HTTP).filter(|_| current == "oAuthParameters") {
            out.oauth.mark(rest)
        } else {
            // A block of another authorization type: changing the type drops it.
            [
                "basicAuthParameters",
                "oAuthParameters",
                "apiKeyAuthParameters",
            ]
            .into_iter()
            .any(|block| block != current && under(p, &format!("{AUTH}/{block}")).is_some())
        };
        if !marked {
            return Err(cannot_clear(OP, p, NO_ENCODING));
        }
    }
    Ok(out)
}

// ---- requests -------------------------------------------------------------------------

/// Builds the auth parameters of a request, reading secrets by their JSON pointers.
struct Wire<'a> {
    op: &'static str,
    secrets: &'a Secrets,
}

impl Wire<'_> {
    /// The resolved value of the secret at `pointer`, or an error that names the reference
    /// (never a value).
    fn secret(&self, pointer: &str, reference: &SecretRef) -> Result<String, AwsError> {
        match self.secrets.get(pointer) {
            Some(value) => Ok(value.expose().to_owned()),
            None => Err(invalid(
                self.op,
                format!(
                    "the secret for `{pointer}` ({reference}) was not resolved, so it cannot be sent"
                ),
            )),
        }
    }

    /// The auth block `authorizationType` names, or an error if the spec lacks it.
    fn missing_block(&self, t: AuthorizationType) -> AwsError {
        invalid(
            self.op,
            format!("authorizationType {} needs `{}`", wire(&t), block_name(t)),
        )
    }

    fn create_auth(
        &self,
        spec: &ConnectionSpec,
    ) -> Result<CreateConnectionAuthRequestParameters, AwsError> {
        let (op, p) = (self.op, &spec.auth_parameters);
        let mut auth = CreateConnectionAuthRequestParameters::builder()
            .set_invocation_http_parameters(self.http(
                p.invocation_http_parameters.as_ref(),
                INVOCATION,
                Lists::default(),
            )?);
        auth = match spec.authorization_type {
            AuthorizationType::Basic => {
                let b = p
                    .basic_auth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let password =
                    self.secret(&format!("{AUTH}/basicAuthParameters/password"), &b.password)?;
                auth.basic_auth_parameters(built(
                    op,
                    CreateConnectionBasicAuthRequestParameters::builder()
                        .username(&b.username)
                        .password(password)
                        .build(),
                )?)
            }
            AuthorizationType::ApiKey => {
                let k = p
                    .api_key_auth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let value = self.secret(
                    &format!("{AUTH}/apiKeyAuthParameters/apiKeyValue"),
                    &k.api_key_value,
                )?;
                auth.api_key_auth_parameters(built(
                    op,
                    CreateConnectionApiKeyAuthRequestParameters::builder()
                        .api_key_name(&k.api_key_name)
                        .api_key_value(value)
                        .build(),
                )?)
            }
            AuthorizationType::OauthClientCredentials => {
                let o = p
                    .oauth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let client = match &o.client_parameters {
                    Some(c) => {
                        let secret = self.secret(
                            &format!("{AUTH}/oAuthParameters/clientParameters/clientSecret"),
                            &c.client_secret,
                        )?;
                        Some(built(
                            op,
                            CreateConnectionOAuthClientRequestParameters::builder()
                                .client_id(&c.client_id)
                                .client_secret(secret)
                                .build(),
                        )?)
                    }
                    None => None,
                };
                auth.o_auth_parameters(built(
                    op,
                    CreateConnectionOAuthRequestParameters::builder()
                        .set_client_parameters(client)
                        .authorization_endpoint(&o.authorization_endpoint)
                        .http_method(ConnectionOAuthHttpMethod::from(
                            wire(&o.http_method).as_str(),
                        ))
                        .set_o_auth_http_parameters(self.http(
                            o.oauth_http_parameters.as_ref(),
                            OAUTH_HTTP,
                            Lists::default(),
                        )?)
                        .build(),
                )?)
            }
        };
        Ok(auth.build())
    }

    fn update_auth(
        &self,
        spec: &ConnectionSpec,
        clears: &ConnectionClears,
    ) -> Result<UpdateConnectionAuthRequestParameters, AwsError> {
        let p = &spec.auth_parameters;
        let mut auth = UpdateConnectionAuthRequestParameters::builder()
            .set_invocation_http_parameters(self.http(
                p.invocation_http_parameters.as_ref(),
                INVOCATION,
                clears.invocation,
            )?);
        auth = match spec.authorization_type {
            AuthorizationType::Basic => {
                let b = p
                    .basic_auth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let password =
                    self.secret(&format!("{AUTH}/basicAuthParameters/password"), &b.password)?;
                auth.basic_auth_parameters(
                    UpdateConnectionBasicAuthRequestParameters::builder()
                        .username(&b.username)
                        .password(password)
                        .build(),
                )
            }
            AuthorizationType::ApiKey => {
                let k = p
                    .api_key_auth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let value = self.secret(
                    &format!("{AUTH}/apiKeyAuthParameters/apiKeyValue"),
                    &k.api_key_value,
                )?;
                auth.api_key_auth_parameters(
                    UpdateConnectionApiKeyAuthRequestParameters::builder()
                        .api_key_name(&k.api_key_name)
                        .api_key_value(value)
                        .build(),
                )
            }
            AuthorizationType::OauthClientCredentials => {
                let o = p
                    .oauth_parameters
                    .as_ref()
                    .ok_or_else(|| self.missing_block(spec.authorization_type))?;
                let client = match &o.client_parameters {
                    Some(c) => {
                        let secret = self.secret(
                            &format!("{AUTH}/oAuthParameters/clientParameters/clientSecret"),
                            &c.client_secret,
                        )?;
                        Some(
                            UpdateConnectionOAuthClientRequestParameters::builder()
                                .client_id(&c.client_id)
                                .client_secret(secret)
                                .build(),
                        )
                    }
                    None => None,
                };
                auth.o_auth_parameters(
                    UpdateConnectionOAuthRequestParameters::builder()
                        .set_client_parameters(client)
                        .authorization_endpoint(&o.authorization_endpoint)
                        .http_method(ConnectionOAuthHttpMethod::from(
                            wire(&o.http_method).as_str(),
                        ))
                        .set_o_auth_http_parameters(self.http(
                            o.oauth_http_parameters.as_ref(),
                            OAUTH_HTTP,
                            clears.oauth,
                        )?)
                        .build(),
                )
            }
        };
        Ok(auth.build())
    }

    /// `ConnectionHttpParameters` with each list the spec has, plus `[]` for each list in
    /// `clear`; `None` when there is nothing to send. A literal value is sent with
    /// `IsValueSecret: false`, a secret reference with its value and `IsValueSecret: true`.
    fn http(
        &self,
        spec: Option<&HttpParameters>,
        base: &str,
        clear: Lists,
    ) -> Result<Option<ConnectionHttpParameters>, AwsError> {
        let empty = HttpParameters::default();
        let p = spec.unwrap_or(&empty);
        let value = |list: &str, i: usize, v: &ParamValue| -> Result<(String, bool), AwsError> {
            match v {
                ParamValue::Literal(s) => Ok((s.clone(), false)),
                ParamValue::Secret(r) => {
                    Ok((self.secret(&format!("{base}/{list}/{i}/value"), r)?, true))
                }
            }
        };
        let mut out = ConnectionHttpParameters::builder();
        let mut any = false;
        if !p.header_parameters.is_empty() || clear.header {
            let mut items = Vec::new();
            for (i, h) in p.header_parameters.iter().enumerate() {
                let (v, secret) = value("headerParameters", i, &h.value)?;
                items.push(
                    ConnectionHeaderParameter::builder()
                        .key(&h.key)
                        .value(v)
                        .is_value_secret(secret)
                        .build(),
                );
            }
            out = out.set_header_parameters(Some(items));
            any = true;
        }
        if !p.query_string_parameters.is_empty() || clear.query {
            let mut items = Vec::new();
            for (i, q) in p.query_string_parameters.iter().enumerate() {
                let (v, secret) = value("queryStringParameters", i, &q.value)?;
                items.push(
                    ConnectionQueryStringParameter::builder()
                        .key(&q.key)
                        .value(v)
                        .is_value_secret(secret)
                        .build(),
                );
            }
            out = out.set_query_string_parameters(Some(items));
            any = true;
        }
        if !p.body_parameters.is_empty() || clear.body {
            let mut items = Vec::new();
            for (i, b) in p.body_parameters.iter().enumerate() {
                let (v, secret) = value("bodyParameters", i, &b.value)?;
                items.push(
                    ConnectionBodyParameter::builder()
                        .key(&b.key)
                        .value(v)
                        .is_value_secret(secret)
                        .build(),
                );
            }
            out = out.set_body_parameters(Some(items));
            any = true;
        }
        Ok(any.then(|| out.build()))
    }
}

fn block_name(t: AuthorizationType) -> &'static str {
    match t {
        AuthorizationType::Basic => "basicAuthParameters",
        AuthorizationType::OauthClientCredentials => "oAuthParameters",
        AuthorizationType::ApiKey => "apiKeyAuthParameters",
    }
}

fn auth_type(t: AuthorizationType) -> ConnectionAuthorizationType {
    ConnectionAuthorizationType::from(wire(&t).as_str())
}

fn arn_of(operation: &'static str, arn: Option<&str>) -> Result<String, AwsError> {
    match arn {
        Some(arn) if !arn.is_empty() => Ok(arn.to_owned()),
        _ => Err(AwsError {
            operation,
            class: ErrorClass::Other,
            code: None,
            message: "AWS answered without the new resource's ARN".to_owned(),
        }),
    }
}

// ---- live specs -----------------------------------------------------------------------

/// A value AWS never returns.
fn sensitive() -> Value {
    json!({ "$sensitive": true })
}

/// `authParameters` in manifest shape, secrets as `{"$sensitive": true}`.
fn auth_parameters_of(p: &ConnectionAuthResponseParameters) -> Value {
    let mut auth = Map::new();
    if let Some(b) = p.basic_auth_parameters() {
        let mut m = Map::new();
        put_str(&mut m, "username", b.username());
        m.insert("password".into(), sensitive());
        auth.insert("basicAuthParameters".into(), Value::Object(m));
    }
    if let Some(k) = p.api_key_auth_parameters() {
        let mut m = Map::new();
        put_str(&mut m, "apiKeyName", k.api_key_name());
        m.insert("apiKeyValue".into(), sensitive());
        auth.insert("apiKeyAuthParameters".into(), Value::Object(m));
    }
    if let Some(o) = p.o_auth_parameters() {
        let mut m = Map::new();
        if let Some(c) = o.client_parameters() {
            let mut client = Map::new();
            put_str(&mut client, "clientID", c.client_id());
            client.insert("clientSecret".into(), sensitive());
            m.insert("clientParameters".into(), Value::Object(client));
        }
        put_str(&mut m, "authorizationEndpoint", o.authorization_endpoint());
        put_str(&mut m, "httpMethod", o.http_method().map(|h| h.as_str()));
        if let Some(h) = o.o_auth_http_parameters() {
            put(&mut m, "oAuthHttpParameters", http_parameters_of(h));
        }
        auth.insert("oAuthParameters".into(), Value::Object(m));
    }
    if let Some(h) = p.invocation_http_parameters() {
        put(&mut auth, "invocationHttpParameters", http_parameters_of(h));
    }
    Value::Object(auth)
}

/// `ConnectionHttpParameters` in manifest shape: secret values as `{"$sensitive": true}`.
fn http_parameters_of(h: &ConnectionHttpParameters) -> Value {
    fn item(key: Option<&str>, value: Option<&str>, secret: bool) -> Value {
        let mut m = Map::new();
        m.insert("key".into(), key.unwrap_or_default().into());
        if secret {
            m.insert("value".into(), sensitive());
        } else if let Some(v) = value {
            m.insert("value".into(), v.into());
        }
        Value::Object(m)
    }
    let mut out = Map::new();
    let headers = h
        .header_parameters()
        .iter()
        .map(|p| item(p.key(), p.value(), p.is_value_secret()));
    put(&mut out, "headerParameters", headers.collect());
    let query = h
        .query_string_parameters()
        .iter()
        .map(|p| item(p.key(), p.value(), p.is_value_secret()));
    put(&mut out, "queryStringParameters", query.collect());
    let body = h
        .body_parameters()
        .iter()
        .map(|p| item(p.key(), p.value(), p.is_value_secret()));
    put(&mut out, "bodyParameters", body.collect());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> ConnectionSpec {
        serde_json::from_value(v).unwrap()
    }

    fn api_key() -> ConnectionSpec {
        spec(json!({
            "authorizationType": "API_KEY",
            "authParameters": {"apiKeyAuthParameters": {"apiKeyName": "k", "apiKeyValue": {"fromEnv": "K"}}}
        }))
    }

    #[test]
    fn clears_of_http_lists_mark_the_lists_named() {
        let pointers = [
            format!("{INVOCATION}/queryStringParameters"),
            "/spec/description".to_owned(),
            "/spec/authParameters/basicAuthParameters/username".to_owned(),
        ];
        let clears = connection_clears(&api_key(), &pointers).unwrap();
        assert!(clears.description);
        assert_eq!(
            clears.invocation,
            Lists {
                header: false,
                query: true,
                body: false
            }
        );
        let all = connection_clears(&api_key(), &[INVOCATION.to_owned()]).unwrap();
        assert_eq!(
            all.invocation,
            Lists {
                header: true,
                query: true,
                body: true
            }
        );
    }

    #[test]
    fn required_fields_cannot_be_cleared() {
        let err = connection_clears(
            &api_key(),
            &["/spec/authParameters/apiKeyAuthParameters/apiKeyName".to_owned()],
        )
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(
            err.message.contains("cannot be cleared in place"),
            "{}",
            err.message
        );
        // OAuth HTTP parameters of a connection that is not OAuth are not ours to clear.
        assert!(connection_clears(&api_key(), &[OAUTH_HTTP.to_owned()]).is_ok());
        assert!(under("/spec/descriptionX", "/spec/description").is_none());
    }
}
