//! The JSON body of a request, read so that every failure is an answer in
//! the service's error shape: 413 past the size limit, 400 naming the field
//! that is missing or of the wrong type, 400 for JSON that does not parse.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// A request body, read whole within the route's size limit, to be parsed
/// as JSON once the caller is known to be allowed (a 403 before a 400).
pub struct JsonBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Ok(JsonBody(bytes))
    }
}

impl JsonBody {
    /// The body as a `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse(&self.0)
    }
}

fn body_rejection(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is larger than this route accepts",
        )
    } else {
        ApiError::new(r.status(), "bad_body", r.body_text())
    }
}

/// Parses a JSON document, naming the field at fault when there is one.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would take a struct from an array too: every body here is an
    // object, so anything else is the body's fault, not a field's.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::field("body", "the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError {
                code: "malformed_json",
                ..ApiError::field("body", format!("the body is not JSON: {message}"))
            };
        }
        // serde names a missing field only in its message; its path is the
        // object that lacks it.
        let field = missing_field(&message).unwrap_or(path);
        let field = if field == "." {
            "body".to_owned()
        } else {
            field
        };
        ApiError::field(&field, format!("{field}: {message}"))
    })?;
    de.end().map_err(|e| ApiError {
        code: "malformed_json",
        ..ApiError::field("body", format!("the body is not one JSON document: {e}"))
    })?;
    Ok(value)
}

/// The field of serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Ask {
        nik: String,
        program: String,
    }

    #[test]
    fn names_the_missing_and_the_mistyped_field() {
        let e = parse::<Ask>(br#"{"nik":"1"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("program"));
        let e = parse::<Ask>(br#"{"nik":3201,"program":"PKH"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("nik"));
        let e = parse::<Ask>(br#"{"nik":"1","#).unwrap_err();
        assert_eq!(e.code, "malformed_json");
        let e = parse::<Ask>(br#"[1]"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
    }
}
