//! The one error shape of every answer that is not a success:
//! `{"error": {"code", "message", "field"}}` with the status that says who
//! must act (the caller: 4xx; the service: 5xx).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`invalid_field`, `forbidden`, ...).
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
}

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400: the named field is wrong.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.to_owned()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message)
        }
    }

    /// 401: no token, or one the service does not know.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: a known token that may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500: the service failed (the message says what; nothing personal).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The error as its JSON document.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": { "code": self.code, "message": self.message, "field": self.field } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// The library's errors as answers: bad input names its field, a reused
/// request id is a conflict, the rest is the service's failure.
impl From<tepat::Error> for ApiError {
    fn from(e: tepat::Error) -> ApiError {
        let message = e.to_string();
        match e {
            tepat::Error::Nik { .. } => ApiError::field("nik", message),
            tepat::Error::Period { .. } | tepat::Error::PeriodKind { .. } => {
                ApiError::field("period", message)
            }
            tepat::Error::UnknownProgram { .. } => ApiError::field("program", message),
            tepat::Error::RequestConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "request_conflict", message)
            }
            // A reversal of a claim that did not pay or is already
            // reversed: the request is well formed, the ledger's state
            // refuses it.
            tepat::Error::Request { .. } => {
                ApiError::new(StatusCode::CONFLICT, "request_refused", message)
            }
            // An export the refresh guards refuse (it lost too many
            // persons, too many rows were rejected, it is older than the
            // changes applied): nothing switched; the keeper decides.
            tepat::Error::RefreshRefused { .. } => {
                ApiError::new(StatusCode::CONFLICT, "refresh_refused", message)
            }
            tepat::Error::Input { .. } | tepat::Error::Row { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
            }
            _ => ApiError::internal(message),
        }
    }
}

/// The service's results.
pub type ApiResult<T> = Result<T, ApiError>;
