//! The routes, and the middleware every request goes through: the
//! counters of `/metrics`, the request timeout, the body size limits.

pub(crate) mod admin;
pub(crate) mod batch;
pub(crate) mod body_reader;
pub(crate) mod dci;
pub(crate) mod payout;
pub(crate) mod persons;
pub(crate) mod reports;
pub(crate) mod self_status;
pub(crate) mod service;
pub(crate) mod status_page;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::errors::ApiError;
use crate::state::AppState;

/// The service's router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let json_routes = Router::new()
        .route("/v1/persons/{nik}", get(persons::get))
        .route("/v1/check", post(payout::check))
        .route("/v1/claim", post(payout::claim))
        .route("/v1/reverse", post(payout::reverse))
        .route("/v1/reports/{kind}", get(reports::get))
        .route("/v1/batch/{id}", get(batch::summary))
        .route("/v1/self-status", post(self_status::post))
        .route("/v1/info", get(service::info))
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/status", get(status_page::page))
        .route("/status.js", get(status_page::script))
        .merge(dci::routes())
        .layer(DefaultBodyLimit::max(state.limits.json_body))
        .route_layer(middleware::from_fn_with_state(state.clone(), timeout));
    // A payee list, a change file or a compaction may take minutes and
    // gigabytes: their own limit (counted as they stream), no request
    // timeout.
    let batch_routes = Router::new()
        .route("/v1/batch", post(batch::post))
        .route("/v1/admin/apply", post(admin::apply))
        .route("/v1/admin/compact", post(admin::compact))
        .route("/v1/admin/refresh", post(admin::refresh))
        .layer(DefaultBodyLimit::disable());
    json_routes
        .merge(batch_routes)
        .fallback(service::not_found)
        .method_not_allowed_fallback(service::method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts every request by route and status, and times it.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    state.metrics.started();
    let response = next.run(req).await;
    state
        .metrics
        .finished(&route, response.status().as_u16(), started.elapsed());
    response
}

/// Answers 503 past the request timeout. A claim already handed to the
/// store still completes (its blocking call is not cancelled): a retry
/// with the same request id then replays its outcome.
async fn timeout(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took longer than the service allows; retry with the same request id",
        )
        .into_response(),
    }
}
