//! `POST /v1/batch`: a payee CSV as the body, streamed in, and the verdict
//! CSV (or JSON lines) streamed out as [`tepat::batch::verify_csv`] writes
//! it, so that a list of millions is never held in memory: the body goes
//! through a small channel into a reader on a thread of its own, the output
//! through another channel into the response. A service started with
//! `--ledger` checks the list against the central ledger as well
//! ([`tepat::batch::verify_csv_central`]). The summary is at
//! `GET /v1/batch/{id}` once the list is done (the id is in the response's
//! `x-tepat-batch-id` header).

use std::io::{self, Write};
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tepat::batch::{BatchSummary, CentralLookup, OutputFormat, verify_csv_central};
use tokio::sync::mpsc::{Receiver, Sender, channel};

use crate::access_log::Entry;
use crate::auth::{Action, Authed};
use crate::errors::{ApiError, ApiResult};
use crate::query::QueryMap;
use crate::routes::body_reader::{ChannelReader, Streamed, stream, too_large_error};
use crate::state::AppState;

/// Chunks in flight each way: the memory a list holds is this many
/// chunks, whatever its length.
const CHANNEL: usize = 8;
/// Output bytes sent together.
const OUT_CHUNK: usize = 64 * 1024;

/// What the verifying thread sends back.
enum Piece {
    Data(Bytes),
    Done(Result<(), ApiError>),
}

/// The handler.
#[utoipa::path(post, path = "/v1/batch", tag = "bank",
    params(("format" = Option<String>, Query, description = "csv (default) or jsonl")),
    request_body(content = String, content_type = "text/csv", description = "A payee list with at least nik, program, period"),
    security(("bearer" = [])),
    responses((status = 200, description = "One verdict row per input row, streamed; the summary's id in x-tepat-batch-id", body = String, content_type = "text/csv"),
        (status = 400, description = "The header cannot be used", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role forbids it", body = crate::openapi::ErrorBody),
        (status = 413, description = "Larger than the service accepts", body = crate::openapi::ErrorBody),
        (status = 503, description = "Started with --ledger, and the central ledger cannot be asked (ledger_unreachable)", body = crate::openapi::ErrorBody)))]
pub async fn post(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    QueryMap(query): QueryMap,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    caller.may(Action::Batch)?;
    caller.national()?;
    // A list whose stated length is over the limit is refused before a
    // byte is read; one sent without a length is counted as it streams.
    if stated_length(&headers).is_some_and(|n| n > state.limits.batch_body) {
        return Err(too_large_error(LIST));
    }
    let (format, content_type) = match query.get("format").map_or("csv", String::as_str) {
        "csv" => (OutputFormat::Csv, "text/csv; charset=utf-8"),
        "jsonl" => (OutputFormat::JsonLines, "application/x-ndjson"),
        other => {
            return Err(ApiError::field(
                "format",
                format!("{other:?}: format is csv or jsonl"),
            ));
        }
    };
    let Streamed { reader, too_large } = stream(body, state.limits.batch_body, CHANNEL);
    let (out_tx, mut out_rx) = channel(CHANNEL);
    let id = state.next_batch_id();
    {
        let state = state.clone();
        let caller = caller.0.id.clone();
        // A thread of its own, not the blocking pool: a list takes minutes,
        // and the ledger's synchronous client must not run inside the
        // runtime's context.
        std::thread::Builder::new()
            .name("tepat-batch".into())
            .spawn(move || verify(&state, &caller, id, format, reader, out_tx))
            .map_err(|e| ApiError::internal(format!("no thread for the payee list: {e}")))?;
    }
    // Nothing is sent before the first output: a list whose header cannot
    // be read, or a body too large, still gets a proper error answer.
    let first = match out_rx.recv().await {
        Some(Piece::Done(Err(e))) => return Err(Streamed::error(&too_large, LIST, e)),
        Some(piece) => piece,
        None => return Err(ApiError::internal("the payee list's verifier stopped")),
    };
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                HeaderName::from_static("x-tepat-batch-id"),
                HeaderValue::from(id),
            ),
        ],
        verdict_stream(first, out_rx),
    )
        .into_response())
}

/// The response body: the verifier's pieces from `first` on.
fn verdict_stream(first: Piece, rx: Receiver<Piece>) -> Body {
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        let piece = match first {
            Some(p) => p,
            None => rx.recv().await?,
        };
        match piece {
            Piece::Data(bytes) => Some((Ok(bytes), (None, rx))),
            Piece::Done(Ok(())) => None,
            // Cut the response off: a client must not take a truncated
            // list for a whole one.
            Piece::Done(Err(e)) => Some((Err(io::Error::other(e.message)), (None, rx))),
        }
    });
    Body::from_stream(stream)
}

/// The body's length as the request states it.
fn stated_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// What a 413 calls the body.
const LIST: &str = "the payee list";

/// The verifying thread: the list from `input`, the verdicts to `output`.
fn verify(
    state: &AppState,
    caller: &str,
    id: u64,
    format: OutputFormat,
    input: ChannelReader,
    output: Sender<Piece>,
) {
    let reader = io::BufReader::with_capacity(OUT_CHUNK, input);
    let mut writer = ChannelWriter {
        tx: output.clone(),
        buf: Vec::with_capacity(OUT_CHUNK),
    };
    let result = central_lookup(state)
        .and_then(|lookup| {
            let central = lookup.as_ref().map(|l| l as &dyn CentralLookup);
            verify_csv_central(
                &state.store,
                reader,
                "request body",
                &mut writer,
                format,
                central,
                |_| {},
            )
            .map_err(ApiError::from)
        })
        .and_then(|summary| {
            writer
                .send()
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(summary)
        });
    let status = result.as_ref().map_or_else(|e| e.status.as_u16(), |_| 200);
    let rows = result.as_ref().ok().map(|s: &BatchSummary| s.rows);
    state.access.log(&Entry {
        token: caller,
        route: "/v1/batch",
        status,
        nik: None,
        rows,
    });
    let done = result.map(|summary| state.keep_summary(id, caller, summary));
    let _ = output.blocking_send(Piece::Done(done));
}

/// The central ledger a service started with `--ledger` checks every list
/// against: a payment any point made (synced) or reserved is refused
/// `claimed_elsewhere`. A ledger that cannot be asked refuses the list
/// (503 `ledger_unreachable`): a bank's list is never passed unchecked.
fn central_lookup(state: &AppState) -> ApiResult<Option<tepat_ledger::lookup::PgLookup>> {
    let Some(url) = &state.ledger_url else {
        return Ok(None);
    };
    let client = tepat_ledger::connect(url).map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ledger_unreachable",
            format!("the central ledger cannot be asked ({e}); the list is not verified"),
        )
    })?;
    Ok(Some(tepat_ledger::lookup::PgLookup::new(client)))
}

/// A blocking writer into the response's channel.
struct ChannelWriter {
    tx: Sender<Piece>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let bytes = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(OUT_CHUNK),
        ));
        self.tx
            .blocking_send(Piece::Data(bytes))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= OUT_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// `GET /v1/batch/{id}`: a done list's summary, for the token that sent it.
#[utoipa::path(get, path = "/v1/batch/{id}", tag = "bank",
    params(("id" = String, Path, description = "The x-tepat-batch-id of the list")),
    security(("bearer" = [])),
    responses((status = 200, description = "The list's summary", body = Object),
        (status = 400, description = "Not a list's id (a number)", body = crate::openapi::ErrorBody),
        (status = 401, description = "No token or an unknown one", body = crate::openapi::ErrorBody),
        (status = 403, description = "The role forbids it", body = crate::openapi::ErrorBody),
        (status = 404, description = "No finished list of this id for this token", body = crate::openapi::ErrorBody)))]
pub async fn summary(
    State(state): State<Arc<AppState>>,
    caller: Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<BatchSummary>> {
    caller.may(Action::Batch)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::field("id", "a payee list's id is a number"))?;
    state
        .summary(id, &caller.0)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no finished payee list of this id for this token"))
}
