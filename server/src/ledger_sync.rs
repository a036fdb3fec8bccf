//! The background sync of `tepat serve --ledger URL --point ID`: every
//! `--sync-every` seconds, and once more when the service stops, the
//! point's claims log is shipped to the central ledger from the point's
//! high-water mark (`tepat_ledger::sync::sync`, what `tepat sync` runs),
//! so that a point online never waits for an operator to sync it.
//!
//! A failed round (PostgreSQL down, the network cut) is printed and
//! counted, and the next round resumes from the high-water mark: the sync
//! commits each batch with its mark, so nothing is lost or sent twice.
//! The sync runs on a thread of its own: the synchronous `postgres` client
//! must not run on the runtime's threads, and a slow database must not
//! hold a request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tepat::Store;

/// What the background sync has done, for `/metrics`.
#[derive(Default)]
pub struct SyncCounters {
    /// Rounds that shipped everything there was.
    pub ok: AtomicU64,
    /// Rounds that failed.
    pub failed: AtomicU64,
    /// Claims and reversals shipped.
    pub records: AtomicU64,
    /// The point's high-water mark after the last good round.
    pub high_water_mark: AtomicU64,
}

impl SyncCounters {
    /// The counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP tepat_ledger_sync_rounds_total Background ledger syncs, by outcome.\n\
             # TYPE tepat_ledger_sync_rounds_total counter\n\
             tepat_ledger_sync_rounds_total{{outcome=\"ok\"}} {}\n\
             tepat_ledger_sync_rounds_total{{outcome=\"failed\"}} {}\n\
             # HELP tepat_ledger_synced_records_total Claims and reversals shipped to the ledger.\n\
             # TYPE tepat_ledger_synced_records_total counter\n\
             tepat_ledger_synced_records_total {}\n\
             # HELP tepat_ledger_high_water_mark The point's high-water mark after the last good sync.\n\
             # TYPE tepat_ledger_high_water_mark gauge\n\
             tepat_ledger_high_water_mark {}",
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.records.load(Ordering::Relaxed),
            self.high_water_mark.load(Ordering::Relaxed),
        );
    }
}

/// The background sync's thread.
pub struct LedgerSync {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// What it has done.
    pub counters: Arc<SyncCounters>,
}

/// Where and how often to sync.
#[derive(Clone, Debug)]
pub struct SyncTarget {
    /// The ledger's PostgreSQL URL.
    pub url: String,
    /// This point's id in it.
    pub point: String,
    /// Time between rounds.
    pub every: Duration,
}

impl LedgerSync {
    /// Starts the rounds for `store` (held weakly: the thread ends with
    /// the store or at [`LedgerSync::close`]).
    pub fn start(store: &Arc<Store>, target: SyncTarget) -> std::io::Result<LedgerSync> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let counters = Arc::new(SyncCounters::default());
        let store = Arc::downgrade(store);
        let (thread_stop, thread_counters) = (stop.clone(), counters.clone());
        let thread = std::thread::Builder::new()
            .name("tepat-ledger-sync".into())
            .spawn(move || run(&store, &target, &thread_stop, &thread_counters))?;
        Ok(LedgerSync {
            stop,
            thread: Mutex::new(Some(thread)),
            counters,
        })
    }

    /// Stops the rounds after one last sync of what the service recorded.
    pub fn close(&self) {
        {
            let (stopped, wake) = &*self.stop;
            *stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
            wake.notify_one();
        }
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for LedgerSync {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(
    store: &Weak<Store>,
    target: &SyncTarget,
    stop: &(Mutex<bool>, Condvar),
    counters: &SyncCounters,
) {
    let mut client = None;
    loop {
        let stopping = {
            let (stopped, wake) = stop;
            let guard = stopped.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) = wake
                .wait_timeout_while(guard, target.every, |s| !*s)
                .unwrap_or_else(|p| p.into_inner());
            *guard
        };
        let Some(store) = store.upgrade() else {
            return;
        };
        round(&store, target, &mut client, counters);
        if stopping {
            return;
        }
    }
}

/// One sync; the connection is kept for the next round, dropped after a
/// failure (the next round connects again).
fn round(
    store: &Store,
    target: &SyncTarget,
    client: &mut Option<tepat_ledger::Client>,
    counters: &SyncCounters,
) {
    let result = (|| {
        let c = match client {
            Some(c) => c,
            None => client.insert(tepat_ledger::connect(&target.url)?),
        };
        // A keyed point ships the NIKs behind its pseudonyms (over the
        // ledger's connection): the ledger matches them with other points'.
        tepat_ledger::sync::sync_revealing(
            c,
            store,
            &target.point,
            tepat_ledger::sync::DEFAULT_BATCH,
            store.identity_key(),
        )
    })();
    match result {
        Ok(done) => {
            counters.ok.fetch_add(1, Ordering::Relaxed);
            counters
                .records
                .fetch_add(done.claims + done.reversals, Ordering::Relaxed);
            counters.high_water_mark.store(done.to, Ordering::Relaxed);
        }
        Err(e) => {
            *client = None;
            counters.failed.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "tepat serve: the ledger sync of point {:?} failed ({e}); the next round, in {} s, \
                 resumes from the point's high-water mark",
                target.point,
                target.every.as_secs()
            );
        }
    }
}
