//! A described connection in manifest shape: secrets AWS never returns as
//! `{"$sensitive": true}`.

use aws_sdk_cloudwatchevents::types::{ConnectionAuthResponseParameters, ConnectionHttpParameters};
use serde_json::{Map, Value, json};

use crate::aws::{put, put_str};

/// A value AWS never returns.
fn sensitive() -> Value {
    json!({ "$sensitive": true })
}

/// `authParameters` in manifest shape, secrets as `{"$sensitive": true}`.
pub(super) fn auth_parameters_of(p: &ConnectionAuthResponseParameters) -> Value {
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
