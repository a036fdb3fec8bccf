//! What every request shares: the store, the tokens, the access log, the
//! counters, and the limits.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tepat::Store;
use tepat::batch::BatchSummary;

use crate::access_log::{AccessLog, Entry};
use crate::claim_sync::ClaimSync;
use crate::errors::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use crate::tokens::{Caller, Tokens};

/// Limits on what a request may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest JSON body, bytes.
    pub json_body: usize,
    /// Largest payee list, bytes.
    pub batch_body: u64,
    /// Longest a request (other than a payee list) may take.
    pub request_timeout: Duration,
    /// Self-service requests per client address and minute.
    pub self_service_per_minute: u32,
    /// Longest a connection may take to send a request's headers, and
    /// stay idle between requests: a slow or silent client is closed.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            json_body: 64 * 1024,
            batch_body: 4 << 30,
            request_timeout: Duration::from_secs(30),
            self_service_per_minute: 10,
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// How many payee-list summaries `GET /v1/batch/{id}` keeps.
const KEPT_SUMMARIES: usize = 1000;

/// The state every handler gets.
pub struct AppState {
    /// The store, owned by this process.
    pub store: Arc<Store>,
    /// Who may call.
    pub tokens: Tokens,
    /// Lookups of NIKs.
    pub access: AccessLog,
    /// The claims log's syncer: claims decided on the runtime's threads
    /// wait for it.
    pub claim_sync: ClaimSync,
    /// The counters of `/metrics`.
    pub metrics: Metrics,
    /// Set once shutdown began: `/readyz` says 503.
    pub draining: AtomicBool,
    /// Limits.
    pub limits: Limits,
    /// The self-service's per-address limit.
    pub self_service: RateLimit,
    /// The central ledger claims are reserved in (`--ledger`), if any.
    pub central: Option<Arc<dyn tepat::store::Reserver>>,
    /// The central ledger's URL (`--ledger`): payee lists are checked
    /// against it too.
    pub ledger_url: Option<String>,
    /// The background sync to the central ledger (`--ledger`, unless
    /// `--sync-every 0`).
    pub ledger_sync: Option<crate::ledger_sync::LedgerSync>,
    /// Set while a compaction or refresh runs: a second one is answered
    /// 503 at once rather than queued for minutes behind the first.
    switching: Arc<AtomicBool>,
    batch_ids: AtomicU64,
    batches: Mutex<VecDeque<(u64, String, BatchSummary)>>,
}

impl AppState {
    /// The state of a service on `store` (fails only when the claims
    /// log's syncer thread cannot be started).
    pub fn new(
        store: Arc<Store>,
        tokens: Tokens,
        access: AccessLog,
        limits: Limits,
    ) -> std::io::Result<AppState> {
        Ok(AppState {
            claim_sync: ClaimSync::start(&store)?,
            store,
            tokens,
            access,
            metrics: Metrics::default(),
            draining: AtomicBool::new(false),
            limits,
            self_service: RateLimit::new(limits.self_service_per_minute, Duration::from_secs(60)),
            central: None,
            ledger_sync: None,
            ledger_url: None,
            switching: Arc::new(AtomicBool::new(false)),
            batch_ids: AtomicU64::new(1),
            batches: Mutex::new(VecDeque::new()),
        })
    }

    /// Logs a request naming `nik` (its status from the answer).
    /// At a keyed point's store the NIK is logged as its pseudonym (and
    /// an input that is not a NIK not at all): the log, like the claims
    /// log, then names nobody even to whoever holds its HMAC key.
    pub fn log_nik<T>(&self, caller: &Caller, route: &str, nik: &str, answer: &ApiResult<T>) {
        let status = match answer {
            Ok(_) => 200,
            Err(e) => e.status.as_u16(),
        };
        let keyed = self.store.is_keyed().then(|| {
            tepat::Nik::parse(nik)
                .ok()
                .map(|n| self.store.key_nik(n).to_string())
        });
        let nik = match &keyed {
            Some(pseudonym) => pseudonym.as_deref(),
            None => Some(nik),
        };
        self.access.log(&Entry {
            token: &caller.id,
            route,
            status,
            nik,
            rows: None,
        });
    }

    /// Takes the one generation switch a service runs at a time, or
    /// answers 503 (`switch_in_progress`) while another holds it.
    pub fn begin_switch(&self) -> ApiResult<SwitchGuard> {
        self.switching
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "switch_in_progress",
                    "a compaction or refresh is running; retry when it has finished",
                )
            })?;
        Ok(SwitchGuard(self.switching.clone()))
    }

    /// A new payee-list id.
    pub fn next_batch_id(&self) -> u64 {
        self.batch_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps a payee list's summary (past `KEPT_SUMMARIES`, the oldest go).
    pub fn keep_summary(&self, id: u64, caller: &str, summary: BatchSummary) {
        let mut kept = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT_SUMMARIES {
            kept.pop_front();
        }
        kept.push_back((id, caller.to_owned(), summary));
    }

    /// A payee list's summary, if this caller sent it (a keeper sees all).
    pub fn summary(&self, id: u64, caller: &Caller) -> Option<BatchSummary> {
        let kept = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .find(|(i, by, _)| {
                *i == id && (by == &caller.id || caller.role == crate::tokens::Role::Keeper)
            })
            .map(|(_, _, s)| s.clone())
    }
}

/// The generation switch taken by [`AppState::begin_switch`], given back
/// when dropped (the switch finished, failed or its task ended).
pub struct SwitchGuard(Arc<AtomicBool>);

impl Drop for SwitchGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Runs a blocking store call on tokio's blocking pool, so that no
/// runtime thread waits on a flush, a page fault or a scan. Claims on
/// many pool threads at once share the claims log's flushes (the
/// library's group commit).
pub async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal("a store call panicked"))?
}
