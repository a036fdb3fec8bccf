//! The claims log's length, written into the live state's witness a tenth
//! of a second after it grows, by a thread beside the claims: an older or
//! cut copy of the claims log is then refused at open (store::open) but for
//! the claims of the last moments before the copy. It costs the claim path
//! nothing: the thread reads an atomic and writes to sled without waiting
//! for a flush (sled flushes on its own, every half second).

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::live::{Live, LiveWrite};
use crate::payouts::ledger::Ledger;

/// How often the thread looks at the claims log's length.
const EVERY: Duration = Duration::from_millis(100);

/// The running thread; dropping it stops and joins it.
pub(crate) struct WitnessThread {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl WitnessThread {
    /// Starts the thread. `lock` serializes every change of the witness
    /// record (a change file and a generation change update it too).
    pub(crate) fn start(
        live: Arc<Live>,
        ledger: Arc<Ledger>,
        lock: Arc<Mutex<()>>,
    ) -> WitnessThread {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("tepat-witness".into())
            .spawn(move || run(&flag, &live, &ledger, &lock))
            .ok();
        WitnessThread { stop, handle }
    }
}

fn run(stop: &(Mutex<bool>, Condvar), live: &Live, ledger: &Ledger, lock: &Mutex<()>) {
    let mut recorded = ledger.synced_bytes();
    let (flag, wake) = stop;
    let mut stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
    while !*stopped {
        stopped = wake
            .wait_timeout(stopped, EVERY)
            .unwrap_or_else(|p| p.into_inner())
            .0;
        let synced = ledger.synced_bytes();
        if synced > recorded && record(live, lock, synced) {
            recorded = synced;
        }
    }
}

/// Raises the witness's claims-log length to `synced`. A failed write is
/// tried again at the next tick: the witness is a check, never a claim's
/// condition.
fn record(live: &Live, lock: &Mutex<()>, synced: u64) -> bool {
    let _one = lock.lock().unwrap_or_else(|p| p.into_inner());
    let Ok(Some(mut w)) = live.witness() else {
        return false;
    };
    if w.log_bytes >= synced {
        return true;
    }
    w.log_bytes = synced;
    let mut write = LiveWrite::default();
    write.put_witness(&w).is_ok() && live.write_unflushed(write).is_ok()
}

impl Drop for WitnessThread {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
