//! Parallel passes over partitions: `threads` workers take partitions from
//! a shared counter; each result is kept at its partition's index, so what
//! a pass returns does not depend on which thread did what.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::{MergeError, Result};

/// Runs `work(&mut state, i)` for `i` in `0..n` on `threads` workers, each
/// with its own `state` from `init(worker)`, handed to `finish` at the end.
/// Returns the results in index order and what each `finish` returned (in
/// no particular order), or the error of the lowest index: items are taken
/// in index order, so every item below a failing one has run; items above
/// it are skipped.
pub fn run<S, T: Send, R: Send>(
    threads: usize,
    n: usize,
    init: impl Fn(usize) -> S + Sync,
    work: impl Fn(&mut S, usize) -> Result<T> + Sync,
    finish: impl Fn(S) -> Result<R> + Sync,
) -> Result<(Vec<T>, Vec<R>)> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..n).map(|_| None).collect());
    let finished: Mutex<Vec<Result<R>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for worker in 0..threads.max(1) {
            let (next, failed, results, finished) = (&next, &failed, &results, &finished);
            let (init, work, finish) = (&init, &work, &finish);
            scope.spawn(move || {
                let mut state = init(worker);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = work(&mut state, i);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    lock(results)[i] = Some(r);
                }
                let r = finish(state);
                lock(finished).push(r);
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(n);
    for r in results {
        match r {
            Some(r) => out.push(r?),
            // Skipped after an error at a lower or higher index: a lower
            // one was returned above; a higher one comes next.
            None => continue,
        }
    }
    let mut states = Vec::new();
    for r in finished.into_inner().unwrap_or_else(|e| e.into_inner()) {
        states.push(r?);
    }
    if out.len() != n {
        // Only a panicking worker leaves an item without a result.
        return Err(MergeError::Args("a worker thread stopped".into()));
    }
    Ok((out, states))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked leaves the vector consistent (one store).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_index_and_the_lowest_error_wins() {
        for threads in 1..4 {
            let (out, states) = run(threads, 50, |w| w, |_, i| Ok(i * 3), Ok).unwrap();
            assert_eq!(out, (0..50).map(|i| i * 3).collect::<Vec<_>>());
            assert_eq!(states.len(), threads);
            let err = run(
                threads,
                50,
                |_| (),
                |_, i| {
                    if i == 7 || i == 30 {
                        Err(MergeError::Args(format!("{i}")))
                    } else {
                        Ok(i)
                    }
                },
                |_| Ok(()),
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "invalid argument: 7");
        }
    }
}
