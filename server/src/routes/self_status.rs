//! `POST /v1/self-status` `{nik, birth_date}`: the public self-service
//! (*Cek Bansos*). It answers only the programs the person is enrolled in
//! and whether this period's payout was made — no family member, decile or
//! component. A wrong birth date answers exactly as an unknown NIK does,
//! and each client address gets a few tries a minute.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tepat::{Date, Nik, Period, ReasonCode, Store};

use crate::errors::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::state::{AppState, blocking};
use crate::tokens::{Caller, Role};

/// The route.
pub const ROUTE: &str = "/v1/self-status";

/// The body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfStatusBody {
    /// The NIK, as a string.
    #[schema(pattern = "^[0-9]{16}$", example = "3201015708900001")]
    nik: String,
    /// The birth date as registered, YYYY-MM-DD.
    #[schema(format = Date, example = "1990-08-17")]
    birth_date: String,
}

/// The one answer for "no such person" and "not this birth date".
fn no_match() -> ApiError {
    ApiError {
        code: "no_match",
        ..ApiError::not_found("no person with this NIK and birth date is in the register")
    }
}

/// The handler.
#[utoipa::path(post, path = "/v1/self-status", tag = "public", request_body = SelfStatusBody,
    responses((status = 200, description = "The enrolled programs and this period's payouts", body = Object),
        (status = 400, description = "A field is wrong", body = crate::openapi::ErrorBody),
        (status = 404, description = "No person with this NIK and birth date", body = crate::openapi::ErrorBody),
        (status = 429, description = "Too many requests from this address", body = crate::openapi::ErrorBody)))]
pub async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    if !state.self_service.allow(client.ip()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; try again in a minute",
        ));
    }
    let body: SelfStatusBody = body.parse()?;
    let nik =
        Nik::parse(&body.nik).map_err(|e| ApiError::field("nik", format!("invalid NIK: {e}")))?;
    let birth = Date::parse_iso(&body.birth_date)
        .map_err(|e| ApiError::field("birth_date", e.to_string()))?;
    let store = state.store.clone();
    let answer = blocking(move || status(&store, nik, birth)).await;
    let public = Caller {
        id: "public".into(),
        role: Role::Analyst,
        regions: Vec::new(),
    };
    state.log_nik(&public, ROUTE, &body.nik, &answer);
    answer.map(Json)
}

/// The person's enrolled programs and this period's payouts.
fn status(store: &Store, nik: Nik, birth: Date) -> ApiResult<Value> {
    let snap = store.snapshot();
    let person = store.person(&snap, nik.get())?.ok_or_else(no_match)?;
    let live = person.to_live();
    if live.birth_days != birth.to_unix_days() || person.duplicate() {
        return Err(no_match());
    }
    let registry = snap.registry();
    let today = store.today();
    let mut programs = Vec::new();
    for id in person.enrolled().iter() {
        let Some(p) = registry.get(id) else { continue };
        let period = Period::containing(p.period, today);
        let verdict = store.check(nik, id, period)?;
        programs.push(json!({
            "program": p.code,
            "name": p.name,
            "period": period.to_string(),
            "paid": verdict.reasons.contains(ReasonCode::AlreadyClaimed),
        }));
    }
    Ok(json!({ "nik": nik.to_string(), "programs": programs }))
}
