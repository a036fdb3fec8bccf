//! Ordered parallel map: items are made on worker threads in any order and
//! handed to one consumer strictly in index order.
//!
//! Memory is bounded by a window measured in item weight (persons): a
//! worker does not start item `i` while the items from the consumer's next
//! one up to `i` weigh more than the budget, unless `i` is among the next
//! `threads` items (so every worker always has something to do). Counting
//! weight rather than items keeps both cores busy when one huge district
//! holds up the line, without letting a run of huge districts pile up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

struct State<T> {
    /// Items the consumer has taken.
    taken: usize,
    /// Finished items waiting for the consumer.
    ready: BTreeMap<usize, T>,
    /// The consumer stopped (error) or a worker panicked.
    stop: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A poisoned lock means a worker panicked; the state is still
        // consistent (every update is a single insert or assignment).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }
}

/// Sets `stop` if a worker unwinds, so the consumer does not wait forever.
struct PanicGuard<'a, T>(&'a Shared<T>);

impl<T> Drop for PanicGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stop = true;
            self.0.changed.notify_all();
        }
    }
}

/// Runs `work(i)` for every item on `threads` workers and feeds the
/// results to `sink` in index order on the calling thread. `weights[i]` is
/// item `i`'s size; at most `budget` weight (or `threads` items) is in
/// flight. Stops at the first error of `sink`. With one thread everything
/// runs on the calling thread.
pub fn ordered<T, E>(
    threads: usize,
    weights: &[u64],
    budget: u64,
    work: impl Fn(usize) -> T + Sync,
    mut sink: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    T: Send,
{
    let count = weights.len();
    if threads <= 1 {
        return (0..count).try_for_each(|i| sink(work(i)));
    }
    let mut cumulative = Vec::with_capacity(count + 1);
    cumulative.push(0u64);
    for w in weights {
        cumulative.push(cumulative.last().copied().unwrap_or(0) + w);
    }
    let blocked = |i: usize, taken: usize| {
        i >= taken + threads && cumulative[i + 1] - cumulative[taken] > budget
    };
    let next = AtomicUsize::new(0);
    let shared = Shared {
        state: Mutex::new(State {
            taken: 0,
            ready: BTreeMap::new(),
            stop: false,
        }),
        changed: Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let _guard = PanicGuard(&shared);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return;
                    }
                    let mut state = shared.lock();
                    while blocked(i, state.taken) && !state.stop {
                        state = shared.wait(state);
                    }
                    if state.stop {
                        return;
                    }
                    drop(state);
                    let item = work(i);
                    shared.lock().ready.insert(i, item);
                    shared.changed.notify_all();
                }
            });
        }
        let result = consume(&shared, count, &mut sink);
        shared.lock().stop = true;
        shared.changed.notify_all();
        result
    })
}

fn consume<T, E>(
    shared: &Shared<T>,
    count: usize,
    sink: &mut impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    for i in 0..count {
        let item = {
            let mut state = shared.lock();
            loop {
                if let Some(item) = state.ready.remove(&i) {
                    state.taken = i + 1;
                    break item;
                }
                if state.stop {
                    // Only a panicking worker sets stop before we finish;
                    // the scope re-raises its panic when it joins.
                    return stop_after_panic();
                }
                state = shared.wait(state);
            }
        };
        shared.changed.notify_all();
        sink(item)?;
    }
    Ok(())
}

#[allow(clippy::panic)]
fn stop_after_panic<E>() -> Result<(), E> {
    panic!("a generator worker thread panicked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order_for_any_thread_count() {
        for threads in 1..5 {
            let mut seen = Vec::new();
            // Uneven weights: a heavy item must not stall the others.
            let weights: Vec<u64> = (0..100).map(|i| if i % 10 == 0 { 50 } else { 1 }).collect();
            ordered::<_, ()>(
                threads,
                &weights,
                20,
                |i| i * 2,
                |x| {
                    seen.push(x);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_error_stops_the_run() {
        let r = ordered(
            2,
            &[3; 1000],
            10,
            |i| i,
            |x| if x == 10 { Err(x) } else { Ok(()) },
        );
        assert_eq!(r, Err(10));
    }
}
