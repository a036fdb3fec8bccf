//! The service's own routes: `GET /v1/info`, `/healthz` (the process
//! answers), `/readyz` (the store is open and the service not draining),
//! `/metrics`, and the answers for unknown routes and methods.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::metrics::StoreGauges;
use crate::state::AppState;

/// `GET /v1/info`: the store's generation, counts, date and programs.
#[utoipa::path(get, path = "/v1/info", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "The store and the caller", body = Object),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody)))]
pub async fn info(State(state): State<Arc<AppState>>, caller: Authed) -> ApiResult<Json<Value>> {
    caller.may(Action::Info)?;
    let store = &state.store;
    let snap = store.snapshot();
    let programs: Vec<Value> = snap
        .registry()
        .programs()
        .iter()
        .map(|p| json!({ "code": p.code, "name": p.name, "unit": p.unit.name(), "period": p.period.name() }))
        .collect();
    Ok(Json(json!({
        "service": "tepat",
        "version": env!("CARGO_PKG_VERSION"),
        "store_id": store.id().to_string(),
        "generation": snap.generation(),
        "as_of": snap.as_of().to_string(),
        "today": store.today().to_string(),
        "persons": snap.person_count(),
        "families": snap.family_count(),
        "programs": programs,
        "caller": { "id": caller.0.id, "role": caller.0.role.name(), "regions": caller.0.regions },
    })))
}

/// `GET /healthz`.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The process answers", body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 503 once shutdown began, so that a balancer sends no
/// new work while in-flight requests finish.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, description = "Ready", body = Object),
        (status = 503, description = "Stopping", body = crate::openapi::ErrorBody)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    if state.draining.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the service is shutting down",
        ));
    }
    Ok(Json(
        json!({ "ready": true, "generation": state.store.snapshot().generation() }),
    ))
}

/// `GET /metrics`, Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let gauges = StoreGauges {
        flushes: state.store.flushes(),
        generation: state.store.snapshot().generation(),
    };
    let mut text = state.metrics.render(&gauges);
    if let Some(sync) = &state.ledger_sync {
        sync.counters.render(&mut text);
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Any route the service does not have.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A route the service has, with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method",
    )
}
