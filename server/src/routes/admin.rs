//! The register keeper's routes: `POST /v1/admin/apply` (a change file as
//! the body, applied whole or not at all) and `POST /v1/admin/compact`
//! (fold the pending changes into the next generation). Both run while
//! clients check and claim: the library switches generations under its
//! own locks, so no request fails for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use serde_json::{Value, json};
use tokio::sync::mpsc::channel;

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::query::QueryMap;
use crate::routes::body_reader::{ChannelReader, forward};
use crate::state::{AppState, blocking};

/// `POST /v1/admin/apply?file=NAME`.
#[utoipa::path(post, path = "/v1/admin/apply", tag = "keeper",
    params(("file" = Option<String>, Query, description = "The change file's name, as the audit records it")),
    request_body(content = String, content_type = "text/csv", description = "A change file (tepat::change::HEADER)"),
    security(("bearer" = [])),
    responses((status = 200, description = "Applied, or recognised as applied before", body = Object),
        (status = 400, description = "Rows that cannot be applied (nothing was)", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "Only a keeper may", body = crate::openapi::ErrorBody)))]
pub async fn apply(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    QueryMap(query): QueryMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Admin)?;
    let file = query
        .get("file")
        .cloned()
        .unwrap_or_else(|| "request body".into());
    let too_large = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel(8);
    tokio::spawn(forward(
        body,
        tx,
        state.limits.batch_body,
        too_large.clone(),
    ));
    let store = state.store.clone();
    blocking(move || {
        let reader = std::io::BufReader::new(ChannelReader::new(rx));
        let applied = store.apply_csv(reader, &file).map_err(|e| {
            if too_large.load(Ordering::Relaxed) {
                ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the change file is larger than the service accepts",
                )
            } else {
                ApiError::from(e)
            }
        })?;
        Ok(Json(json!({
            "file": file,
            "rows": applied.rows,
            "applied_before": applied.before.map(|b| json!({
                "file": b.file, "rows": b.rows, "at": tepat::date::iso_utc(b.at_ms),
            })),
        })))
    })
    .await
}

/// `POST /v1/admin/compact`.
#[utoipa::path(post, path = "/v1/admin/compact", tag = "keeper",
    security(("bearer" = [])),
    responses((status = 200, description = "The new generation", body = Object),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "Only a keeper may", body = crate::openapi::ErrorBody)))]
pub async fn compact(State(state): State<Arc<AppState>>, caller: Authed) -> ApiResult<Json<Value>> {
    caller.may(Action::Admin)?;
    let store = state.store.clone();
    blocking(move || {
        let change = store.compact().map_err(ApiError::from)?;
        Ok(Json(json!({
            "from": change.from, "to": change.to,
            "persons": change.persons, "families": change.families,
            "folded": change.folded, "carried": change.carried,
        })))
    })
    .await
}
