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
//! Any other pointer is a required member and cannot be cleared in place
//! ([`ErrorClass::Invalid`](super::ErrorClass::Invalid)).

use std::collections::BTreeMap;

use aws_sdk_cloudwatchevents::types::ApiDestinationHttpMethod;
use serde_json::{Map, Value};

use super::{Aws, AwsError, Live, absent_as_none, cannot_clear, put, put_str, rfc3339, wire};
use crate::manifest::secret::SecretValue;
use crate::resource::rules::Reset;
use crate::resource::{
    ApiDestinationSpec, Arn, ConnectionSpec, FieldPath, ResourceId, api_destination,
};

mod clear;
mod live;
mod request;

use clear::connection_clears;
use live::auth_parameters_of;
use request::{Wire, arn_of, auth_type};

/// Resolved secrets of a connection by JSON pointer (`/spec/authParameters/…`,
/// [`FieldPath::pointer`]).
pub type Secrets = BTreeMap<String, SecretValue>;

/// What a Create or Update answer carries: enough to record the change without describing
/// the resource again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Empty when the answer has none (an update: the recorded ARN stands).
    pub arn: Arn,
    /// `ConnectionState` or `ApiDestinationState` right after the change.
    pub status: Option<String>,
    /// RFC 3339 `LastModifiedTime` of the change.
    pub last_modified: Option<String>,
}

/// A connection or API destination as its List page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    pub arn: Arn,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    /// RFC 3339.
    pub last_modified: Option<String>,
    /// The fields the page gives, in manifest shape: a connection's `authorizationType`; an
    /// API destination's every field but `description`.
    pub spec: Value,
}

const AUTH: &str = "/spec/authParameters";
const INVOCATION: &str = "/spec/authParameters/invocationHttpParameters";
const OAUTH_HTTP: &str = "/spec/authParameters/oAuthParameters/oAuthHttpParameters";
/// Why a required member cannot be cleared.
const NO_ENCODING: &str = "it is required, and the API has no value that removes it";

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
            expires: None,
            id: ResourceId::name(out.name().unwrap_or(name)),
            arn: Arn::new(out.connection_arn().unwrap_or_default()),
            spec: Value::Object(spec).into(),
            status: out.connection_state().map(|s| s.as_str().to_owned()),
            status_reason: out
                .state_reason()
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
            last_modified: rfc3339(out.last_modified_time()),
            created: rfc3339(out.creation_time()),
            tags: BTreeMap::new(),
        }))
    }

    /// `CreateConnection` with every auth parameter, secrets included; returns the ARN, state
    /// and `LastModifiedTime` of the answer.
    pub async fn create_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
    ) -> Result<Written, AwsError> {
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
            .customize()
            .config_override(
                aws_sdk_cloudwatchevents::Config::builder()
                    .retry_classifier(super::error::LostCreatesAreNotRepeated),
            )
            .send();
        let out = self.call(OP, request).await?;
        Ok(Written {
            arn: arn_of(OP, out.connection_arn())?,
            status: out.connection_state().map(|s| s.as_str().to_owned()),
            last_modified: rfc3339(out.last_modified_time()),
        })
    }

    /// `UpdateConnection` to `spec` (auth parameters re-sent with their secrets); each JSON
    /// pointer in `clear` is a field removed from the manifest, reset with the API's clear
    /// encoding (see the module documentation). Returns what the answer carries.
    ///
    /// A `deauthorized` spec is sent without `AuthorizationType` and `AuthParameters`: both
    /// are optional in `UpdateConnection` (the API model; behaviours.md U1), and sending them
    /// needs the secrets a deauthorized connection does without (and would authorize it
    /// again). Whether AWS accepts such an update of a `DEAUTHORIZED` connection is not
    /// documented: if it refuses, the change fails with AWS's answer and nothing is recorded.
    pub async fn update_connection(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        secrets: &Secrets,
        clear: &[FieldPath],
    ) -> Result<Written, AwsError> {
        const OP: &str = "UpdateConnection";
        let clears = connection_clears(spec, clear)?;
        let description = match &spec.description {
            Some(d) => Some(d.clone()),
            None => clears.description.then(String::new),
        };
        let (auth_type, auth) = if spec.deauthorized {
            (None, None)
        } else {
            let wire = Wire { op: OP, secrets };
            let auth = wire.update_auth(spec, &clears)?;
            (Some(auth_type(spec.authorization_type)), Some(auth))
        };
        let request = self
            .events
            .update_connection()
            .name(name)
            .set_description(description)
            .set_authorization_type(auth_type)
            .set_auth_parameters(auth)
            .send();
        let out = self.call(OP, request).await?;
        Ok(Written {
            arn: Arn::new(out.connection_arn().unwrap_or_default()),
            status: out.connection_state().map(|s| s.as_str().to_owned()),
            last_modified: rfc3339(out.last_modified_time()),
        })
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
        Ok(self
            .listed_connections()
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect())
    }

    /// Every connection in the account and region as the `ListConnections` pages show it:
    /// state, `StateReason`, `authorizationType` and `LastModifiedTime`.
    pub async fn listed_connections(&self) -> Result<Vec<Listed>, AwsError> {
        let mut listed = Vec::new();
        let mut token = None;
        loop {
            let request = self.events.list_connections().set_next_token(token).send();
            let page = self.call("ListConnections", request).await?;
            listed.extend(page.connections().iter().filter_map(|c| {
                let mut spec = Map::new();
                if let Some(t) = c.authorization_type() {
                    spec.insert("authorizationType".into(), t.as_str().into());
                }
                Some(Listed {
                    name: c.name()?.to_owned(),
                    arn: Arn::new(c.connection_arn().unwrap_or_default()),
                    status: c.connection_state().map(|s| s.as_str().to_owned()),
                    status_reason: c
                        .state_reason()
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned),
                    last_modified: rfc3339(c.last_modified_time()),
                    spec: Value::Object(spec),
                })
            }));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(listed);
            }
        }
    }

    /// `DescribeApiDestination`; `None` when absent.
    pub async fn describe_api_destination(&self, name: &str) -> Result<Option<Live>, AwsError> {
        let request = self.events.describe_api_destination().name(name).send();
        let Some(out) = absent_as_none(self.call("DescribeApiDestination", request).await)? else {
            return Ok(None);
        };
        let mut spec = destination_spec(
            out.connection_arn(),
            out.invocation_endpoint(),
            out.http_method(),
            out.invocation_rate_limit_per_second(),
        );
        put_str(&mut spec, "description", out.description());
        Ok(Some(Live {
            expires: None,
            id: ResourceId::name(out.name().unwrap_or(name)),
            arn: Arn::new(out.api_destination_arn().unwrap_or_default()),
            spec: Value::Object(spec).into(),
            status: out.api_destination_state().map(|s| s.as_str().to_owned()),
            status_reason: None,
            last_modified: rfc3339(out.last_modified_time()),
            created: rfc3339(out.creation_time()),
            tags: BTreeMap::new(),
        }))
    }

    /// `CreateApiDestination` pointing at `connection_arn`; returns the ARN, state and
    /// `LastModifiedTime` of the answer.
    pub async fn create_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
    ) -> Result<Written, AwsError> {
        const OP: &str = "CreateApiDestination";
        let request = self
            .events
            .create_api_destination()
            .name(name)
            .set_description(spec.description.clone())
            .connection_arn(connection_arn.as_str())
            .invocation_endpoint(&spec.invocation_endpoint)
            .http_method(ApiDestinationHttpMethod::from(
                wire(&spec.http_method).as_str(),
            ))
            .set_invocation_rate_limit_per_second(spec.invocation_rate_limit_per_second)
            .customize()
            .config_override(
                aws_sdk_cloudwatchevents::Config::builder()
                    .retry_classifier(super::error::LostCreatesAreNotRepeated),
            )
            .send();
        let out = self.call(OP, request).await?;
        Ok(Written {
            arn: arn_of(OP, out.api_destination_arn())?,
            status: out.api_destination_state().map(|s| s.as_str().to_owned()),
            last_modified: rfc3339(out.last_modified_time()),
        })
    }

    /// `UpdateApiDestination` to `spec`; `clear` as in [`Aws::update_connection`]. Returns
    /// what the answer carries.
    pub async fn update_api_destination(
        &self,
        name: &str,
        spec: &ApiDestinationSpec,
        connection_arn: &Arn,
        clear: &[FieldPath],
    ) -> Result<Written, AwsError> {
        const OP: &str = "UpdateApiDestination";
        let mut description = spec.description.clone();
        let mut rate = spec.invocation_rate_limit_per_second;
        for field in clear {
            let path = field.unkeyed();
            match (path.as_str(), api_destination::reset(&path)) {
                (_, Reset::EmptyString) => description = description.or(Some(String::new())),
                ("invocationRateLimitPerSecond", Reset::Default) => {
                    rate = rate.or(api_destination::RULES.default_i32(&path))
                }
                // The ARN a `connection:` resolves to is always sent.
                (_, Reset::NotSent) => {}
                _ => return Err(cannot_clear(OP, &field.pointer(), NO_ENCODING)),
            }
        }
        let request = self
            .events
            .update_api_destination()
            .name(name)
            .set_description(description)
            .connection_arn(connection_arn.as_str())
            .invocation_endpoint(&spec.invocation_endpoint)
            .http_method(ApiDestinationHttpMethod::from(
                wire(&spec.http_method).as_str(),
            ))
            .set_invocation_rate_limit_per_second(rate)
            .send();
        let out = self.call(OP, request).await?;
        Ok(Written {
            arn: Arn::new(out.api_destination_arn().unwrap_or_default()),
            status: out.api_destination_state().map(|s| s.as_str().to_owned()),
            last_modified: rfc3339(out.last_modified_time()),
        })
    }

    /// `DeleteApiDestination`.
    pub async fn delete_api_destination(&self, name: &str) -> Result<(), AwsError> {
        let request = self.events.delete_api_destination().name(name).send();
        self.call("DeleteApiDestination", request).await.map(drop)
    }

    /// Names of every API destination in the account and region (paginated).
    pub async fn list_api_destinations(&self) -> Result<Vec<String>, AwsError> {
        Ok(self
            .listed_api_destinations()
            .await?
            .into_iter()
            .map(|d| d.name)
            .collect())
    }

    /// Every API destination in the account and region as the `ListApiDestinations` pages
    /// show it: every field but the description, the state and `LastModifiedTime`.
    pub async fn listed_api_destinations(&self) -> Result<Vec<Listed>, AwsError> {
        let mut listed = Vec::new();
        let mut token = None;
        loop {
            let request = self
                .events
                .list_api_destinations()
                .set_next_token(token)
                .send();
            let page = self.call("ListApiDestinations", request).await?;
            listed.extend(page.api_destinations().iter().filter_map(|d| {
                let spec = destination_spec(
                    d.connection_arn(),
                    d.invocation_endpoint(),
                    d.http_method(),
                    d.invocation_rate_limit_per_second(),
                );
                Some(Listed {
                    name: d.name()?.to_owned(),
                    arn: Arn::new(d.api_destination_arn().unwrap_or_default()),
                    status: d.api_destination_state().map(|s| s.as_str().to_owned()),
                    status_reason: None,
                    last_modified: rfc3339(d.last_modified_time()),
                    spec: Value::Object(spec),
                })
            }));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(listed);
            }
        }
    }
}

/// An API destination's fields (all but the description) in manifest shape: Describe and
/// the List page give the same members.
fn destination_spec(
    connection_arn: Option<&str>,
    endpoint: Option<&str>,
    method: Option<&ApiDestinationHttpMethod>,
    rate: Option<i32>,
) -> Map<String, Value> {
    let mut spec = Map::new();
    put_str(&mut spec, "connectionArn", connection_arn);
    put_str(&mut spec, "invocationEndpoint", endpoint);
    put_str(&mut spec, "httpMethod", method.map(|m| m.as_str()));
    if let Some(rate) = rate {
        spec.insert("invocationRateLimitPerSecond".into(), rate.into());
    }
    spec
}
