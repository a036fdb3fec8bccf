//! A request's query parameters, with a query that cannot be decoded
//! answered in the service's error shape (axum's own answer is plain
//! text).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::errors::ApiError;

/// The query's parameters by name.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryMap(q))
            .map_err(|e| ApiError::field("query", format!("the query cannot be read: {e}")))
    }
}
