//! `GET /v1/persons/{nik}`: a person's current state (the snapshot plus
//! pending changes) and their family's current members.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tepat::live::LivePerson;
use tepat::register::Relation;
use tepat::store::PersonState;
use tepat::{ComponentSet, Date, Nik, ProgramSet, Registry, Store};

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The route, as the access log and the metrics name it.
pub const ROUTE: &str = "/v1/persons/{nik}";

/// The handler.
#[utoipa::path(get, path = "/v1/persons/{nik}", tag = "payout",
    params(("nik" = String, Path, description = "The NIK, 16 digits", pattern = "^[0-9]{16}$")),
    security(("bearer" = [])),
    responses((status = 200, description = "The person's current state and family", body = Object),
        (status = 400, description = "Not a valid NIK", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role or the region forbids it", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person", body = crate::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    Path(nik): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.may(Action::Person)?;
    let answer = {
        let (store, nik, caller) = (state.store.clone(), nik.clone(), caller.0.clone());
        blocking(move || {
            let doc = describe(&store, &nik)?;
            Authed(caller).covers(doc["village_code"].as_str().unwrap_or(""))?;
            Ok(doc)
        })
        .await
    };
    state.log_nik(&caller.0, ROUTE, &nik, &answer);
    answer.map(Json)
}

/// The current state of the person with this NIK, with their family.
pub fn describe(store: &Store, input: &str) -> ApiResult<Value> {
    let nik = Nik::parse(input).map_err(|e| ApiError::field("nik", format!("invalid NIK: {e}")))?;
    let snap = store.snapshot();
    let Some(state) = store.person(&snap, nik.get())? else {
        return Err(ApiError {
            code: "unknown_nik",
            ..ApiError::not_found("no person with this NIK is in the register")
        });
    };
    let pending = matches!(state, PersonState::Live(_));
    let now = state.to_live();
    let registry = snap.registry();
    let family: Vec<Value> = match state.kk() {
        Some(kk) => store
            .members(&snap, kk)?
            .iter()
            .map(|(nik, m)| member(registry, *nik, m))
            .collect(),
        None => Vec::new(),
    };
    let mut doc = member(registry, nik.get(), &now);
    doc["kk"] = json!(tepat::nik::identity_text(now.kk));
    doc["village_code"] = json!(format!("{:010}", now.village));
    doc["village"] = json!(snap.regions().village(now.village).map(|r| r.name.clone()));
    doc["decile"] = json!(now.decile);
    doc["civil_servant"] = json!(now.civil_servant);
    doc["duplicate"] = json!(now.duplicate);
    doc["components"] = json!(ComponentSet(now.components).to_string());
    doc["eligible"] = json!(codes(registry, ProgramSet(now.eligible)));
    doc["pending"] = json!(pending);
    doc["family"] = Value::Array(family);
    Ok(doc)
}

/// What a family member's entry shows.
fn member(registry: &Registry, nik: u64, m: &LivePerson) -> Value {
    json!({
        "nik": tepat::nik::identity_text(nik),
        "relation": Relation::from_code(m.relation).name(),
        "sex": if m.female { "F" } else { "M" },
        "birth_date": Date::from_unix_days(m.birth_days).map(|d| d.to_string()),
        "deceased": m.deceased,
        "enrolled": codes(registry, ProgramSet(m.enrolled)),
    })
}

/// Program codes of a set.
pub fn codes(registry: &Registry, set: ProgramSet) -> Vec<String> {
    set.iter()
        .filter_map(|id| registry.get(id))
        .map(|p| p.code.clone())
        .collect()
}
