//! Which removed connection fields an `UpdateConnection` resets (the encodings are in the
//! parent module's documentation).

use super::{INVOCATION, NO_ENCODING, OAUTH_HTTP};
use crate::aws::{AwsError, cannot_clear, under, wire};
use crate::resource::ConnectionSpec;
use crate::resource::FieldPath;
use crate::resource::connection;
use crate::resource::rules::Reset;

/// Which of the three HTTP parameter lists of a block to send even when the spec has none.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lists {
    pub(super) header: bool,
    pub(super) query: bool,
    pub(super) body: bool,
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
pub(super) struct ConnectionClears {
    pub(super) description: bool,
    pub(super) invocation: Lists,
    pub(super) oauth: Lists,
}

/// Reads `clear` as the connection's rules say ([`connection::reset`]): description, HTTP
/// lists, blocks of another authorization type (dropped by the type change, which
/// `UpdateConnection` makes in place); any other pointer cannot be cleared in place.
pub(super) fn connection_clears(
    spec: &ConnectionSpec,
    clear: &[FieldPath],
) -> Result<ConnectionClears, AwsError> {
    const OP: &str = "UpdateConnection";
    let auth = wire(&spec.authorization_type);
    let mut out = ConnectionClears::default();
    for path in clear {
        let pointer = path.pointer();
        let p = pointer.as_str();
        let marked = match connection::reset(&path.unkeyed(), Some(&auth)) {
            Reset::EmptyString => {
                out.description = true;
                true
            }
            Reset::EmptyList => match (under(p, INVOCATION), under(p, OAUTH_HTTP)) {
                (Some(rest), _) => out.invocation.mark(rest),
                (_, Some(rest)) => out.oauth.mark(rest),
                _ => false,
            },
            // The auth parameters (and the type) are always sent.
            Reset::DroppedWithAuthType | Reset::NotSent => true,
            Reset::Default | Reset::Untag | Reset::Replace { .. } => false,
        };
        if !marked {
            return Err(cannot_clear(OP, p, NO_ENCODING));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ErrorClass;
    use serde_json::{Value, json};

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
        ]
        .map(|p| FieldPath::from_pointer(&p));
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
        let all = connection_clears(&api_key(), &[FieldPath::from_pointer(INVOCATION)]).unwrap();
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
            &[FieldPath::from_pointer(
                "/spec/authParameters/apiKeyAuthParameters/apiKeyName",
            )],
        )
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Invalid);
        assert!(
            err.message.contains("cannot be cleared in place"),
            "{}",
            err.message
        );
        // OAuth HTTP parameters of a connection that is not OAuth are not ours to clear.
        assert!(connection_clears(&api_key(), &[FieldPath::from_pointer(OAUTH_HTTP)]).is_ok());
        assert!(under("/spec/descriptionX", "/spec/description").is_none());
    }
}
