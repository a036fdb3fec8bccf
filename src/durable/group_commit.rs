//! Group commit: many committed writes, one flush.
//!
//! A writer commits its write (to sled's memory, or to the claims log's
//! buffer), takes a ticket, and waits. Whoever finds no flush running starts
//! one for everything committed so far; everyone whose ticket it covers
//! returns when it ends. So N concurrent writers pay for about one flush
//! instead of N, and no writer returns before a flush covers its write.
//!
//! Waiters wait on one of two condition variables: those the running flush
//! covers on the flush's own, those that came after it started on the
//! other. A flush's end wakes only the writers it covers, and one of the
//! others to start the next flush. With one condition variable every flush
//! woke every waiter: at 256 clients on 2 cores ≈ 230 of them per flush
//! woke only to wait again, and that CPU is what a flush's batch is made
//! of (docs/BENCHMARKS-payouts.md, "Durable claims/s").

use std::sync::{Arc, Condvar, Mutex};

use crate::error::{Error, Result};

/// Group commit: many committed writes, one flush.
pub(crate) struct GroupCommit {
    /// What is flushed (for errors).
    what: &'static str,
    state: Mutex<CommitState>,
    /// Indexed by flush number modulo 2: the waiters of that flush.
    flushed: [Condvar; 2],
}

#[derive(Default)]
struct CommitState {
    /// Tickets handed out: every write committed before ticket `t` was taken
    /// is covered by a flush that starts after `t`.
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    flushing: bool,
    /// The running flush covers tickets up to this one.
    flushing_upto: u64,
    /// Flushes started (the running one's number, while one runs).
    flushes: u64,
    /// The last flush failed for tickets up to this one...
    failed_upto: u64,
    /// ...with this error.
    failure: Option<Arc<Error>>,
}

impl GroupCommit {
    /// Group commit for flushes of `what` (named in errors).
    pub(crate) fn new(what: &'static str) -> GroupCommit {
        GroupCommit {
            what,
            state: Mutex::new(CommitState::default()),
            flushed: [Condvar::new(), Condvar::new()],
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CommitState> {
        // A panic while holding this lock leaves plain counters behind; they
        // stay consistent, so recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A ticket for a write that has just committed.
    pub(crate) fn ticket(&self) -> u64 {
        let mut s = self.lock();
        s.issued += 1;
        s.issued
    }

    pub(crate) fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    pub(crate) fn count_flush(&self) {
        self.lock().flushes += 1;
    }

    /// Returns once a flush that started after `ticket` was issued has ended.
    pub(crate) fn wait(&self, ticket: u64, flush: impl Fn() -> Result<()>) -> Result<()> {
        let mut s = self.lock();
        loop {
            if s.durable >= ticket {
                return Ok(());
            }
            if s.failed_upto >= ticket
                && let Some(failure) = &s.failure
            {
                return Err(Error::Flush {
                    what: self.what,
                    source: failure.clone(),
                });
            }
            if !s.flushing {
                return self.run_flush(s, &flush);
            }
            // Covered by the running flush: its condition variable; else
            // the next flush's.
            let next = u64::from(ticket > s.flushing_upto);
            let cv = &self.flushed[((s.flushes + next) % 2) as usize];
            s = cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Runs one flush for every ticket issued so far (the caller's among
    /// them), then wakes the writers it covered and one writer waiting for
    /// the next flush, who starts it.
    fn run_flush(
        &self,
        mut s: std::sync::MutexGuard<'_, CommitState>,
        flush: &impl Fn() -> Result<()>,
    ) -> Result<()> {
        s.flushing = true;
        s.flushes += 1;
        let upto = s.issued;
        s.flushing_upto = upto;
        let number = s.flushes;
        drop(s);
        let result = flush();
        let mut s = self.lock();
        s.flushing = false;
        let result = match result {
            Ok(()) => {
                s.durable = s.durable.max(upto);
                Ok(())
            }
            Err(e) => {
                // The flusher gets the error itself; the writers it
                // covered get it as the source of theirs.
                let e = Arc::new(e);
                s.failed_upto = s.failed_upto.max(upto);
                s.failure = Some(e.clone());
                Err(Error::Flush {
                    what: self.what,
                    source: e,
                })
            }
        };
        let waiting = s.issued > upto;
        drop(s);
        self.flushed[(number % 2) as usize].notify_all();
        if waiting {
            self.flushed[((number + 1) % 2) as usize].notify_one();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commit_shares_flushes() {
        let gc = std::sync::Arc::new(GroupCommit::new("test"));
        let flushes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                let gc = gc.clone();
                let flushes = flushes.clone();
                s.spawn(move || {
                    for _ in 0..200 {
                        let t = gc.ticket();
                        gc.wait(t, || {
                            flushes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            Ok(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        let n = flushes.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(gc.flushes(), n);
        // 1,600 writes; with 8 writers sharing, far fewer flushes.
        assert!(n < 1_000, "{n} flushes for 1600 writes");
    }

    /// Every write committed before a ticket is covered by the flush its
    /// wait returns after, under 64 writers and flushes of random length
    /// (the two condition variables must never strand or release a writer
    /// early).
    #[test]
    fn a_wait_returns_only_after_a_flush_that_covers_the_write() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let gc = GroupCommit::new("test");
        let written = AtomicU64::new(0);
        let flushed = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..64u64 {
                let (gc, written, flushed) = (&gc, &written, &flushed);
                s.spawn(move || {
                    for i in 0..300u64 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        let ticket = gc.ticket();
                        gc.wait(ticket, || {
                            let covered = written.load(Ordering::SeqCst);
                            let pause = (t * 7 + i * 13) % 50;
                            std::thread::sleep(std::time::Duration::from_micros(pause));
                            flushed.fetch_max(covered, Ordering::SeqCst);
                            Ok(())
                        })
                        .unwrap();
                        assert!(flushed.load(Ordering::SeqCst) >= mine, "released early");
                    }
                });
            }
        });
        assert_eq!(flushed.load(Ordering::SeqCst), 64 * 300);
    }

    #[test]
    fn a_failed_flush_fails_its_waiters() {
        let gc = GroupCommit::new("test");
        let t = gc.ticket();
        assert!(
            gc.wait(t, || Err(Error::Live {
                message: "disk gone".into()
            }))
            .is_err()
        );
        let t2 = gc.ticket();
        assert!(gc.wait(t2, || Ok(())).is_ok());
    }
}
