//! `GET /status`: the self-service page (*Cek Bansos*), Bahasa Indonesia
//! first and English beside it. A person enters their NIK and birth date;
//! the page's script asks `POST /v1/self-status` (the same answer, the
//! same per-address limit) and shows the programs they are enrolled in and
//! whether this period's payout was made. Nothing is fetched from anywhere
//! else: a village office's connection may reach this service and nothing
//! more, and the Content-Security-Policy says so.

use axum::http::header;
use axum::response::IntoResponse;

/// The page.
const PAGE: &str = include_str!("status.html");
/// Its script, served apart so that the policy can forbid inline scripts.
const SCRIPT: &str = include_str!("status.js");
/// Only this service's own script; styles inline; no frames, no forms
/// posted elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                      connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'";

/// `GET /status`.
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}

/// `GET /status.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
}
