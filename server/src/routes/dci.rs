//! The DCI (Digital Convergence Initiative) Integrated Beneficiary
//! Registry API, v1.0.0: `POST /registry/sync/enrolled` and
//! `POST /registry/sync/search` (the messages are [`crate::dci`]'s).
//!
//! Every message goes the same way: the token and its role (401, 403),
//! the envelope read (400 naming the field), the header's rules (an
//! answer with `rjct.*` in its header), the message read (400), its
//! `total_count` and the message id against those seen lately (`rjct.*`),
//! then the requests on the blocking pool, each identifier looked up
//! appended to the access log. The routes are not in `/openapi.json`:
//! they follow the DCI spec's own document.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::dci::envelope::{self, Envelope, Reject};
use crate::dci::seen::{Key, SeenIds};
use crate::dci::{Enrolled, Route, SEEN_MESSAGE_IDS, Search, http_error};
use crate::errors::{ApiError, ApiResult};
use crate::json_body::JsonBody;
use crate::state::{AppState, blocking};

/// The DCI IBR routes, with the message ids this service has seen.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    // One set per router, that is per service: two services in one
    // process (the tests) do not share it.
    let seen = Arc::new(SeenIds::new(SEEN_MESSAGE_IDS));
    Router::new()
        .route(Enrolled::PATH, post(handle::<Enrolled>))
        .route(Search::PATH, post(handle::<Search>))
        .layer(Extension(seen))
}

/// A DCI route's handler: the answer's envelope, or an error with the
/// spec's `err.*` code beside the service's own.
async fn handle<R: Route>(
    State(state): State<Arc<AppState>>,
    Extension(seen): Extension<Arc<SeenIds>>,
    caller: Result<Authed, ApiError>,
    body: Result<JsonBody, ApiError>,
) -> Response {
    match exchange::<R>(&state, &seen, caller, body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => http_error::response(&e),
    }
}

async fn exchange<R: Route>(
    state: &AppState,
    seen: &SeenIds,
    caller: Result<Authed, ApiError>,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Value> {
    // The role before the body: a 403 before a 400 or a 413.
    let caller = caller?;
    caller.may(R::ACCESS)?;
    let body = body?;
    // The header before the message: a message of another version or
    // route is rejected as the spec says, whatever its message holds.
    let Envelope {
        header, message, ..
    } = body.parse::<Envelope<Value>>()?;
    header.check_fields()?;
    let stated = header.stated_count().unwrap_or(0);
    if let Err(r) = header.check(R::ACTIONS) {
        return envelope::rejected(&header, R::ANSWER_ACTION, stated, &r);
    }
    let message: R::Message = envelope::read_message(&message)?;
    envelope::check_transaction_id(R::transaction_id(&message))?;
    let requests = R::requests(&message);
    if let Err(r) = header.check_count(requests) {
        return envelope::rejected(&header, R::ANSWER_ACTION, requests, &r);
    }
    // Last, so that only a message otherwise accepted uses up its id.
    let key = Key::new(&caller.0.id, &header.message_id);
    if !seen.first_time(key) {
        let r = Reject {
            code: "rjct.message_id.duplicate",
            message: format!("message {:?} was received before", header.message_id),
        };
        return envelope::rejected(&header, R::ANSWER_ACTION, requests, &r);
    }
    let (store, who) = (state.store.clone(), caller.0.clone());
    let done = blocking(move || {
        let mut named = Vec::new();
        let answer = R::answer(&store, &who, &message, &mut named);
        Ok((answer, named))
    })
    .await;
    let (answer, named) = done.unwrap_or_else(|e| (Err(e), Vec::new()));
    for nik in &named {
        state.log_nik(&caller.0, R::PATH, nik, &answer);
    }
    let message = answer.inspect_err(|_| {
        // Not answered, so not acknowledged: a retry with this id is taken.
        seen.forget(key);
    })?;
    Ok(json!({
        "header": envelope::answer_header(&header, R::ANSWER_ACTION, requests, None)?,
        "message": message,
    }))
}
