//! `GET /v1/reports/{kind}?by=province|regency|district&format=json|csv`
//! (`payouts` also takes `period` and `program`): the analysts' tables, as
//! `tepat report` prints them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use tepat::Store;
use tepat::report::{By, Kind, Report};

use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::query::QueryMap;
use crate::state::{AppState, blocking};

/// The report kinds, by the name the route takes.
const KINDS: [(&str, Option<Kind>); 8] = [
    ("overlap", Some(Kind::Overlap)),
    ("inclusion", Some(Kind::Inclusion)),
    ("exclusion", Some(Kind::Exclusion)),
    ("conflicts", Some(Kind::Conflicts)),
    ("deceased", Some(Kind::Deceased)),
    ("duplicates", Some(Kind::Duplicates)),
    ("summary", None),
    ("payouts", None),
];

/// What a report is asked with.
struct Ask {
    kind: &'static str,
    by: By,
    csv: bool,
    period: Option<String>,
    program: Option<String>,
}

fn ask(kind: &str, query: &HashMap<String, String>) -> ApiResult<Ask> {
    let names = || KINDS.map(|(n, _)| n).join(", ");
    let kind = KINDS
        .iter()
        .find(|(n, _)| *n == kind)
        .map(|(n, _)| *n)
        .ok_or_else(|| {
            ApiError::field("kind", format!("no report {kind:?}; reports: {}", names()))
        })?;
    for key in query.keys() {
        if !["by", "format", "period", "program"].contains(&key.as_str()) {
            return Err(ApiError::field(key, format!("unknown parameter {key:?}")));
        }
    }
    let by = match query.get("by").map_or("province", String::as_str) {
        "province" => By::Province,
        "regency" => By::Regency,
        "district" => By::District,
        other => {
            return Err(ApiError::field(
                "by",
                format!("{other:?}: by is province, regency or district"),
            ));
        }
    };
    let csv = match query.get("format").map_or("json", String::as_str) {
        "json" => false,
        "csv" => true,
        other => {
            return Err(ApiError::field(
                "format",
                format!("{other:?}: format is json or csv"),
            ));
        }
    };
    if kind != "payouts" && (query.contains_key("period") || query.contains_key("program")) {
        let key = if query.contains_key("period") {
            "period"
        } else {
            "program"
        };
        return Err(ApiError::field(
            key,
            "period and program narrow only the payouts report",
        ));
    }
    Ok(Ask {
        kind,
        by,
        csv,
        period: query.get("period").cloned(),
        program: query.get("program").cloned(),
    })
}

/// The handler.
#[utoipa::path(get, path = "/v1/reports/{kind}", tag = "analyst",
    params(("kind" = String, Path, description = "overlap, inclusion, exclusion, conflicts, deceased, duplicates, summary or payouts",
            pattern = "^(overlap|inclusion|exclusion|conflicts|deceased|duplicates|summary|payouts)$"),
        ("by" = Option<String>, Query, description = "province (default), regency or district", pattern = "^(province|regency|district)$"),
        ("format" = Option<String>, Query, description = "json (default) or csv", pattern = "^(json|csv)$"),
        ("period" = Option<String>, Query, description = "payouts only: this period"),
        ("program" = Option<String>, Query, description = "payouts only: this program")),
    security(("bearer" = [])),
    responses((status = 200, description = "The report: a JSON array of tables, or CSV",
            content((Vec<serde_json::Value> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role forbids it", body = crate::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    Path(kind): Path<String>,
    QueryMap(query): QueryMap,
) -> ApiResult<Response> {
    caller.may(Action::Report)?;
    caller.national()?;
    let ask = ask(&kind, &query)?;
    let store = state.store.clone();
    let (text, csv) = blocking(move || {
        let text = if ask.kind == "payouts" {
            payouts(&store, &ask)?
        } else {
            analysis(&store, &ask)?
        };
        Ok((text, ask.csv))
    })
    .await?;
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    Ok(([(CONTENT_TYPE, content_type)], text).into_response())
}

fn analysis(store: &Store, ask: &Ask) -> ApiResult<String> {
    let counts = store.counts(ask.by, 0)?;
    let reports: Vec<Report> = match KINDS.iter().find(|(n, _)| *n == ask.kind) {
        Some((_, Some(kind))) => vec![counts.report(*kind)],
        _ => tepat::report::summary(&counts).into_values().collect(),
    };
    if ask.csv {
        let mut out = Vec::new();
        for (i, r) in reports.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            r.write_csv(&mut out)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        return String::from_utf8(out).map_err(|e| ApiError::internal(e.to_string()));
    }
    let doc = serde_json::to_value(&reports).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(doc.to_string())
}

fn payouts(store: &Store, ask: &Ask) -> ApiResult<String> {
    let mut filter = tepat::store::PayoutsFilter::default();
    if let Some(p) = &ask.period {
        tepat::Period::parse(p)?;
        filter = filter.period(p);
    }
    if let Some(p) = &ask.program {
        store.registry().require(p)?;
        filter = filter.program(p);
    }
    let report = store.payouts_report(ask.by, &filter)?;
    if ask.csv {
        let mut out = Vec::new();
        report
            .write_csv(&mut out)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        return String::from_utf8(out).map_err(|e| ApiError::internal(e.to_string()));
    }
    Ok(crate::report_json::payouts(&report).to_string())
}
