//! The payout point's routes: `POST /v1/check`, `POST /v1/claim` (answered
//! once durable; a retry replays), `POST /v1/reverse`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tepat::store::ReverseRequest;
use tepat::{ClaimOutcome, ClaimRequest, Nik, Store};

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::state::{AppState, blocking};
use crate::verdict_json::{self, Asked};

/// `POST /v1/check`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// The NIK, 16 digits, as a string.
    #[schema(pattern = "^[0-9]{16}$", example = "3201015708900001")]
    nik: String,
    /// The program's code (PKH, SEMBAKO, PBI_JK, ...).
    #[schema(pattern = "^[A-Z][A-Z0-9_]{0,31}$", example = "PKH")]
    program: String,
    /// The period: 2026-11, 2026-Q4, 2026 or once.
    #[schema(
        pattern = "^([0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?|once)$",
        example = "2026-Q4"
    )]
    period: String,
}

/// `POST /v1/claim`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// The caller's id for this request (1-128 characters); a retry
    /// reuses it.
    #[schema(min_length = 1, max_length = 128)]
    request_id: String,
    /// The NIK to pay, as a string.
    #[schema(pattern = "^[0-9]{16}$", example = "3201015708900001")]
    nik: String,
    /// The program's code.
    #[schema(pattern = "^[A-Z][A-Z0-9_]{0,31}$", example = "PKH")]
    program: String,
    /// The period.
    #[schema(
        pattern = "^([0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?|once)$",
        example = "2026-Q4"
    )]
    period: String,
    /// The amount paid, in rupiah (left out: the entitlement).
    #[serde(default)]
    amount: Option<u64>,
    /// Who pays (default: the token's id).
    #[serde(default)]
    operator: Option<String>,
    /// Free text recorded with the claim.
    #[serde(default)]
    meta: String,
}

/// `POST /v1/reverse`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    /// This reversal's id; a retry reuses it.
    #[schema(min_length = 1, max_length = 128)]
    request_id: String,
    /// The request id of the claim to reverse.
    #[schema(min_length = 1, max_length = 128)]
    original: String,
    /// Why the payout failed.
    #[serde(default)]
    reason: String,
    /// Who reverses (default: the token's id).
    #[serde(default)]
    operator: Option<String>,
}

/// 403 when the person with this NIK lives outside the caller's regions.
/// A NIK that is not valid or not registered has no region: its verdict
/// says so, and says nothing about anyone.
fn within_regions(store: &Store, caller: &Authed, nik: &str) -> ApiResult<()> {
    if caller.0.regions.is_empty() {
        return Ok(());
    }
    let Ok(nik) = Nik::parse(nik) else {
        return Ok(());
    };
    let snap = store.snapshot();
    match store.person(&snap, nik.get())? {
        Some(p) => caller.covers(&format!("{:010}", p.to_live().village)),
        None => Ok(()),
    }
}

/// The library refuses a bad request id as a ledger refusal; at the
/// service it is the caller's field.
fn valid_request_id(field: &str, id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "a request id is 1-128 characters without control characters",
        ));
    }
    Ok(())
}

/// `POST /v1/check`.
#[utoipa::path(post, path = "/v1/check", tag = "payout", request_body = CheckBody,
    security(("bearer" = [])),
    responses((status = 200, description = "The verdict, as `tepat check --json` prints it", body = crate::openapi::CheckAnswer),
        (status = 400, description = "A field is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role or the region forbids it", body = crate::openapi::ErrorBody)))]
pub async fn check(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Check)?;
    let body: CheckBody = body.parse()?;
    let nik = body.nik.clone();
    // On the runtime's thread, not the blocking pool: a check is a few
    // microseconds of reads from the mapped snapshot and the live state's
    // cache, and handing it to the pool and back cost more than the check
    // (docs/BENCHMARKS-service.md). A cold snapshot's page fault stalls
    // this thread for one read; `--resident` keeps the snapshot in memory.
    let answer = (|| {
        let store = &state.store;
        within_regions(store, &caller, &body.nik)?;
        let v = store.check_str(&body.nik, &body.program, &body.period)?;
        let entitled = store.entitlement(&body.nik, &body.program, &body.period)?;
        let asked = Asked {
            nik: &body.nik,
            program: &body.program,
            period: &body.period,
        };
        Ok(verdict_json::check(&store.registry(), &asked, &v, entitled))
    })();
    state.log_nik(&caller.0, "/v1/check", &nik, &answer);
    answer.map(Json)
}

/// `POST /v1/claim`: the answer comes only once the claim is durable.
#[utoipa::path(post, path = "/v1/claim", tag = "payout", request_body = ClaimBody,
    security(("bearer" = [])),
    responses((status = 200, description = "Paid or refused, durable; a retry replays", body = crate::openapi::ClaimAnswer),
        (status = 400, description = "A field is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role or the region forbids it", body = crate::openapi::ErrorBody),
        (status = 409, description = "The request id was used with other content", body = crate::openapi::ErrorBody)))]
pub async fn claim(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Claim)?;
    let body: ClaimBody = body.parse()?;
    valid_request_id("request_id", &body.request_id)?;
    // Who paid: as the payout point says, else the token's id (a retry
    // from the same token then asks the same).
    let operator = body.operator.unwrap_or_else(|| caller.0.id.clone());
    let req = ClaimRequest {
        request_id: body.request_id,
        nik: body.nik,
        program: body.program,
        period: body.period,
        amount: body.amount,
        operator,
        meta: body.meta,
    };
    let answer = match within_regions(&state.store, &caller, &req.nik) {
        Ok(()) => pay(&state, &req).await,
        Err(e) => Err(e),
    };
    let answer = answer.map(|out| {
        state.metrics.claim(out.paid, out.replayed);
        let asked = Asked {
            nik: &req.nik,
            program: &req.program,
            period: &req.period,
        };
        verdict_json::claim(&state.store.registry(), &asked, &out)
    });
    state.log_nik(&caller.0, "/v1/claim", &req.nik, &answer);
    answer.map(Json)
}

/// Decides and records a claim, and returns once it is durable.
///
/// Decided on this runtime thread, then awaited while the syncer covers
/// it ([`crate::claim_sync`]): no thread is held per claim. A claim
/// reserved centrally waits on the network, and one that comes while a
/// change file or a generation switch has the store to itself waits for
/// that: both on the blocking pool.
async fn pay(state: &Arc<AppState>, req: &ClaimRequest) -> ApiResult<ClaimOutcome> {
    if let Some(central) = state.central.clone() {
        let (store, req) = (state.store.clone(), req.clone());
        return blocking(move || Ok(store.claim_reserved(&req, central.as_ref())?)).await;
    }
    match state.store.try_claim_unsynced(req)? {
        Some(decided) => state.claim_sync.durable(decided).await,
        None => {
            let (store, req) = (state.store.clone(), req.clone());
            blocking(move || Ok(store.claim(&req)?)).await
        }
    }
}

/// `POST /v1/reverse`.
#[utoipa::path(post, path = "/v1/reverse", tag = "payout", request_body = ReverseBody,
    security(("bearer" = [])),
    responses((status = 200, description = "Reversed; a retry replays", body = crate::openapi::ReverseAnswer),
        (status = 400, description = "A field is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role or the region forbids it", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such claim", body = crate::openapi::ErrorBody),
        (status = 409, description = "Not paid, or already reversed", body = crate::openapi::ErrorBody)))]
pub async fn reverse(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Reverse)?;
    let body: ReverseBody = body.parse()?;
    valid_request_id("request_id", &body.request_id)?;
    valid_request_id("original", &body.original)?;
    let store = state.store.clone();
    blocking(move || {
        let Some(first) = store.request(&body.original)? else {
            return Err(ApiError {
                field: Some("original".into()),
                ..ApiError::not_found(format!("no request {:?} to reverse", body.original))
            });
        };
        if !caller.0.regions.is_empty() {
            // The NIK the claim recorded (a keyed store's pseudonym).
            let nik = first
                .nik
                .ok_or_else(|| ApiError::forbidden("the request is not a claim of a person"))?;
            let snap = store.snapshot();
            if let Some(p) = store.person(&snap, nik)? {
                caller.covers(&format!("{:010}", p.to_live().village))?;
            }
        }
        let operator = body.operator.unwrap_or_else(|| caller.0.id.clone());
        let out = store.reverse_request(&ReverseRequest {
            request_id: body.request_id,
            original: body.original,
            reason: body.reason,
            operator,
        })?;
        Ok(Json(json!({
            "outcome": "reversed", "request_id": out.request_id,
            "reversed": out.reversed, "replayed": out.replayed,
        })))
    })
    .await
}
