//! The service's claims-log syncer: one thread that syncs the claims log
//! for every claim decided since its last sync, and wakes the requests
//! waiting for it.
//!
//! A claim is decided on the runtime thread that received it
//! ([`tepat::Store::try_claim_unsynced`]: a few microseconds under the
//! ledger's lock) and its request then waits, as a future, for a sync that
//! covers its record. The one thread here runs those syncs back to back:
//! whatever was decided while one sync ran is covered by the next. Before
//! it, each claim took a blocking-pool thread that parked in the library's
//! group commit, and the handoffs to and from the pool cost as much as the
//! claims themselves (docs/BENCHMARKS-service.md).

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;

use tepat::Store;
use tepat::store::Unsynced;
use tokio::sync::watch;

use crate::errors::{ApiError, ApiResult};

/// What the syncer has done: the bytes its last sync covers, or why a
/// sync failed (the store then refuses every claim until it is reopened).
#[derive(Clone, Debug, Default)]
struct Synced {
    bytes: u64,
    failed: Option<Arc<str>>,
}

/// The syncer's thread and the channel it tells the waiting requests on.
pub struct ClaimSync {
    /// Set when a request waits for a sync; `stop` ends the thread.
    wanted: Arc<(Mutex<Wants>, Condvar)>,
    synced: watch::Receiver<Synced>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Wants {
    sync: bool,
    stop: bool,
}

impl ClaimSync {
    /// Starts the syncer of `store`'s claims log. It holds the store
    /// weakly: it ends when the store is gone or at [`ClaimSync::close`].
    pub fn start(store: &Arc<Store>) -> std::io::Result<ClaimSync> {
        let wanted = Arc::new((Mutex::new(Wants::default()), Condvar::new()));
        let (tx, synced) = watch::channel(Synced {
            bytes: store.synced_claims_bytes(),
            failed: None,
        });
        let store = Arc::downgrade(store);
        let thread_wants = wanted.clone();
        let thread = std::thread::Builder::new()
            .name("tepat-claim-sync".into())
            .spawn(move || run(&store, &thread_wants, &tx))?;
        Ok(ClaimSync {
            wanted,
            synced,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The value of `decided` once a sync covers it: at once when one
    /// already does, else after the syncer's next sync.
    pub async fn durable<T>(&self, decided: Unsynced<T>) -> ApiResult<T> {
        let mut synced = self.synced.clone();
        let mut decided = match decided.synced_by(synced.borrow().bytes) {
            Ok(value) => return Ok(value),
            Err(decided) => decided,
        };
        self.want_sync();
        loop {
            // `changed` also sees a value sent between the check above and
            // this call: the receiver marks what it has seen.
            if synced.changed().await.is_err() {
                return Err(ApiError::internal("the claims log's syncer stopped"));
            }
            let now = synced.borrow_and_update().clone();
            decided = match decided.synced_by(now.bytes) {
                Ok(value) => return Ok(value),
                Err(decided) => decided,
            };
            if let Some(why) = now.failed {
                return Err(ApiError::internal(format!(
                    "the claims log could not be synced ({why}); the claim's outcome is \
                     unknown until the store is reopened"
                )));
            }
        }
    }

    fn want_sync(&self) {
        let (wants, wake) = &*self.wanted;
        let mut w = wants.lock().unwrap_or_else(|p| p.into_inner());
        if !w.sync {
            w.sync = true;
            wake.notify_one();
        }
    }

    /// Stops the thread (after the sync it is running, if any).
    pub fn close(&self) {
        {
            let (wants, wake) = &*self.wanted;
            wants.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
            wake.notify_one();
        }
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for ClaimSync {
    fn drop(&mut self) {
        self.close();
    }
}

/// The thread: waits until a sync is wanted, syncs everything decided so
/// far, tells the waiters, again.
fn run(store: &Weak<Store>, wanted: &(Mutex<Wants>, Condvar), tx: &watch::Sender<Synced>) {
    let (wants, wake) = wanted;
    loop {
        {
            let mut w = wants.lock().unwrap_or_else(|p| p.into_inner());
            while !w.sync && !w.stop {
                w = wake.wait(w).unwrap_or_else(|p| p.into_inner());
            }
            if w.stop {
                return;
            }
            // Cleared before the sync starts: a claim decided during it
            // asks again, and is covered by the next.
            w.sync = false;
        }
        let Some(store) = store.upgrade() else {
            return;
        };
        let result = store.sync_claims();
        drop(store);
        tx.send_modify(|s| match result {
            Ok(bytes) => s.bytes = s.bytes.max(bytes),
            Err(e) => s.failed = Some(e.to_string().into()),
        });
    }
}
