//! Errors of the DCI routes that are not the envelope's (no token, a role
//! that may not, a body that is not an envelope): the service's usual
//! status and `{"error": {code, message, field}}` shape, with the spec's
//! `HttpErrorResponse` list beside it (`"errors": [{code, message}]`,
//! codes from the spec's `Error` enum), so that both kinds of client read
//! the answer: the spec's schema requires neither key.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::errors::ApiError;

/// The spec's `Error` code for a service error.
pub fn dci_code(e: &ApiError) -> &'static str {
    match (e.status, e.field.as_deref()) {
        (_, Some("header.sender_id")) => "err.sender_id.invalid",
        (_, Some("header.is_msg_encrypted")) => "err.encryption.invalid",
        (StatusCode::UNAUTHORIZED, _) => "err.request.unauthorized",
        (StatusCode::FORBIDDEN, _) => "err.request.forbidden",
        (StatusCode::NOT_FOUND, _) => "err.request.not_found",
        (StatusCode::TOO_MANY_REQUESTS, _) => "err.request.too_many_requests",
        (StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR, _) => {
            "err.service.unavailable"
        }
        _ => "err.request.bad",
    }
}

/// The answer to a DCI route's error.
pub fn response(e: &ApiError) -> Response {
    let mut body = e.body();
    body["errors"] = json!([{ "code": dci_code(e), "message": e.message }]);
    (e.status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_gets_a_code_of_the_spec() {
        assert_eq!(
            dci_code(&ApiError::unauthorized("x")),
            "err.request.unauthorized"
        );
        assert_eq!(dci_code(&ApiError::forbidden("x")), "err.request.forbidden");
        assert_eq!(
            dci_code(&ApiError::field("header.sender_id", "x")),
            "err.sender_id.invalid"
        );
        assert_eq!(dci_code(&ApiError::field("body", "x")), "err.request.bad");
        assert_eq!(
            dci_code(&ApiError::internal("x")),
            "err.service.unavailable"
        );
    }
}
