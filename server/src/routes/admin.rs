//! The register keeper's routes: `POST /v1/admin/apply` (a change file as
//! the body, applied whole or not at all), `POST /v1/admin/compact` (fold
//! the pending changes into the next generation) and `POST
//! /v1/admin/refresh` (a new register export as the body, built into the
//! next generation under the refresh guards). All run while clients check
//! and claim: the library switches generations under its own locks, so no
//! request fails for them. One compaction or refresh runs at a time; a
//! second is answered 503 at once.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use serde_json::{Value, json};
use tepat::Date;
use tepat::generations::GenerationChange;
use tepat::snapshot::SnapshotBuilder;
use tepat::store::RefreshGuard;

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::query::QueryMap;
use crate::routes::body_reader::{Streamed, stream};
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
    let Streamed { reader, too_large } = stream(body, state.limits.batch_body, 8);
    let store = state.store.clone();
    blocking(move || {
        let applied = store
            .apply_csv(BufReader::new(reader), &file)
            .map_err(|e| Streamed::error(&too_large, "the change file", e.into()))?;
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
        (status = 403, description = "Only a keeper may", body = crate::openapi::ErrorBody),
        (status = 503, description = "A compaction or refresh is already running", body = crate::openapi::ErrorBody)))]
pub async fn compact(State(state): State<Arc<AppState>>, caller: Authed) -> ApiResult<Json<Value>> {
    caller.may(Action::Admin)?;
    let switch = state.begin_switch()?;
    let store = state.store.clone();
    blocking(move || {
        let change = store.compact().map_err(ApiError::from)?;
        drop(switch);
        Ok(Json(change_json(&change)))
    })
    .await
}

/// What a generation switch did.
fn change_json(change: &GenerationChange) -> Value {
    json!({
        "from": change.from, "to": change.to, "switched": change.switched,
        "persons": change.persons, "families": change.families,
        "folded": change.folded, "carried": change.carried,
    })
}

/// The refresh guard a request's query asks for (the CLI's defaults: at
/// most 1 % of rows rejected, the person count moved by at most 5 %).
fn guard(query: &HashMap<String, String>) -> ApiResult<RefreshGuard> {
    let flag = |name: &str| match query.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::field(name, format!("{other:?}: true or false"))),
    };
    let percent = |name: &str, default: f64| match query.get(name) {
        None => Ok(default / 100.0),
        Some(v) => match v.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
            _ => Err(ApiError::field(
                name,
                format!("{v:?}: a percentage in 0..=100"),
            )),
        },
    };
    let guard = if flag("force")? {
        RefreshGuard::force()
    } else {
        let mut guard = RefreshGuard::default();
        guard.max_rejected = percent("max_rejected", 1.0)?;
        guard.max_change = percent("max_change", 5.0)?;
        guard
    };
    Ok(guard.dry_run(flag("dry_run")?))
}

/// `POST /v1/admin/refresh`: a new register export as the body, built into
/// the next generation under the refresh guards while clients check and
/// claim. Rejected rows go to `STORE/rejects-GENERATION.csv`.
#[utoipa::path(post, path = "/v1/admin/refresh", tag = "keeper",
    params(("file" = Option<String>, Query, description = "The export's name, as errors and rejects name it"),
        ("max_rejected" = Option<f64>, Query, description = "Refuse when more than this percentage of rows is rejected (default 1)"),
        ("max_change" = Option<f64>, Query, description = "Refuse when the person count moves by more than this percentage (default 5)"),
        ("force" = Option<bool>, Query, description = "Switch whatever the guards say"),
        ("dry_run" = Option<bool>, Query, description = "Build and compare, switch nothing")),
    request_body(content = String, content_type = "text/csv", description = "A register export (the build's CSV)"),
    security(("bearer" = [])),
    responses((status = 200, description = "The new generation, or the dry run's comparison", body = Object),
        (status = 400, description = "The export cannot be read, or a query field is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "Only a keeper may", body = crate::openapi::ErrorBody),
        (status = 409, description = "The refresh guards refuse the export; nothing switched", body = crate::openapi::ErrorBody),
        (status = 413, description = "The export is larger than the service accepts", body = crate::openapi::ErrorBody),
        (status = 503, description = "A compaction or refresh is already running", body = crate::openapi::ErrorBody)))]
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    QueryMap(query): QueryMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Admin)?;
    if state.store.is_keyed() {
        // Before anything is written: a rejects file would hold the
        // export's rows, NIKs in clear, in the point's directory.
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "keyed_store",
            "a keyed payout point's store takes the register only as a new cut from the \
             register keeper (tepat subset --key), never as an export with NIKs in clear",
        ));
    }
    let guard = guard(&query)?;
    let file = query
        .get("file")
        .cloned()
        .unwrap_or_else(|| "request body".into());
    let switch = state.begin_switch()?;
    let Streamed { reader, too_large } = stream(body, state.limits.batch_body, 8);
    let store = state.store.clone();
    blocking(move || {
        let fail = |e: tepat::Error| Streamed::error(&too_large, "the export", e.into());
        let current = store.snapshot();
        let registry = current.registry().clone();
        let regions = current.regions().clone();
        let next = current.generation() + 1;
        drop(current);
        let as_of = month_start(store.today());
        let mut builder = SnapshotBuilder::new(registry, &regions, as_of).map_err(fail)?;
        let rejects_name = format!("rejects-{next:06}.csv");
        let rejects_path = store.dir().join(&rejects_name);
        let mut rejects = std::fs::File::create(&rejects_path)
            .map(std::io::BufWriter::new)
            .map_err(|e| ApiError::internal(format!("{}: {e}", rejects_path.display())))?;
        let report = builder
            .add_csv(
                BufReader::with_capacity(1 << 20, reader),
                &file,
                &mut rejects,
                |_| {},
            )
            .map_err(fail)?;
        rejects
            .flush()
            .map_err(|e| ApiError::internal(format!("{}: {e}", rejects_path.display())))?;
        let change = store
            .refresh_guarded(builder, &guard.ingest(report.clone()))
            .map_err(ApiError::from)?;
        drop(switch);
        let mut answer = change_json(&change);
        answer["rows"] = json!({
            "read": report.rows, "accepted": report.accepted, "rejected": report.rejected,
            "rejects": rejects_name,
        });
        Ok(Json(answer))
    })
    .await
}

/// Ages are reckoned on the first day of the month, as `tepat build` does.
fn month_start(today: Date) -> Date {
    Date::new(today.year(), today.month(), 1).unwrap_or(today)
}
