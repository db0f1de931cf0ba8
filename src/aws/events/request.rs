//! Connection requests: the auth block of `authorizationType` with its secrets, and the
//! HTTP parameter lists.

use aws_sdk_cloudwatchevents::types::{
    ConnectionAuthorizationType, ConnectionBodyParameter, ConnectionHeaderParameter,
    ConnectionHttpParameters, ConnectionOAuthHttpMethod, ConnectionQueryStringParameter,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    CreateConnectionBasicAuthRequestParameters, CreateConnectionOAuthClientRequestParameters,
    CreateConnectionOAuthRequestParameters, UpdateConnectionApiKeyAuthRequestParameters,
    UpdateConnectionAuthRequestParameters, UpdateConnectionBasicAuthRequestParameters,
    UpdateConnectionOAuthClientRequestParameters, UpdateConnectionOAuthRequestParameters,
};

use super::clear::{ConnectionClears, Lists};
use super::{AUTH, INVOCATION, OAUTH_HTTP, Secrets};
use crate::aws::{AwsError, ErrorClass, built, invalid, wire};
use crate::manifest::secret::{ParamValue, SecretRef};
use crate::resource::connection::{AuthorizationType, HttpParameters};
use crate::resource::{Arn, ConnectionSpec};

/// Builds the auth parameters of a request, reading secrets by their JSON pointers.
pub(super) struct Wire<'a> {
    pub(super) op: &'static str,
    pub(super) secrets: &'a Secrets,
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

    pub(super) fn create_auth(
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

    pub(super) fn update_auth(
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

pub(super) fn block_name(t: AuthorizationType) -> &'static str {
    match t {
        AuthorizationType::Basic => "basicAuthParameters",
        AuthorizationType::OauthClientCredentials => "oAuthParameters",
        AuthorizationType::ApiKey => "apiKeyAuthParameters",
    }
}

pub(super) fn auth_type(t: AuthorizationType) -> ConnectionAuthorizationType {
    ConnectionAuthorizationType::from(wire(&t).as_str())
}

pub(super) fn arn_of(operation: &'static str, arn: Option<&str>) -> Result<Arn, AwsError> {
    match arn {
        Some(arn) if !arn.is_empty() => Ok(Arn::new(arn)),
        _ => Err(AwsError {
            operation,
            class: ErrorClass::Other,
            code: None,
            message: "AWS answered without the new resource's ARN".to_owned(),
        }),
    }
}
