//! `/metrics` in the Prometheus text format: requests by route and status,
//! latency histograms by route, claims by outcome, the store's flushes
//! (claims per flush is the group commit's batch size), generation and
//! open connections.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    connections: std::sync::Arc<AtomicI64>,
    claims_paid: AtomicU64,
    claims_refused: AtomicU64,
    claims_replayed: AtomicU64,
}

/// What the store says at the time of a scrape.
pub struct StoreGauges {
    /// Flushes run (claims-log syncs and live-state flushes).
    pub flushes: u64,
    /// The current snapshot generation.
    pub generation: u64,
}

impl Metrics {
    /// A connection was accepted; it counts as open until the guard is
    /// dropped (when its task ends, however it ends).
    pub fn connection(&self) -> OpenConnection {
        self.connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.connections.clone())
    }

    /// A request started.
    pub fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request ended with `status` after `took`.
    pub fn finished(&self, route: &str, status: u16, took: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        *lock(&self.requests)
            .entry((route.to_owned(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency.entry(route.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// A claim answered: paid or refused, first answer or replay.
    pub fn claim(&self, paid: bool, replayed: bool) {
        let counter = match (replayed, paid) {
            (true, _) => &self.claims_replayed,
            (false, true) => &self.claims_paid,
            (false, false) => &self.claims_refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The text a scrape gets.
    pub fn render(&self, store: &StoreGauges) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        let _ = writeln!(
            out,
            "# HELP tepat_http_requests_in_flight Requests being answered.\n\
             # TYPE tepat_http_requests_in_flight gauge\n\
             tepat_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tepat_http_connections_open Client connections open.\n\
             # TYPE tepat_http_connections_open gauge\n\
             tepat_http_connections_open {}",
            self.connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tepat_claims_total Claims answered, by outcome.\n# TYPE tepat_claims_total counter"
        );
        for (outcome, c) in [
            ("paid", &self.claims_paid),
            ("refused", &self.claims_refused),
            ("replayed", &self.claims_replayed),
        ] {
            let _ = writeln!(
                out,
                "tepat_claims_total{{outcome=\"{outcome}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tepat_store_flushes_total Durable flushes (claims-log syncs and live-state \
             flushes); claims per flush is the group commit's batch size.\n\
             # TYPE tepat_store_flushes_total counter\ntepat_store_flushes_total {}\n\
             # HELP tepat_store_generation The current snapshot generation.\n\
             # TYPE tepat_store_generation gauge\ntepat_store_generation {}",
            store.flushes, store.generation
        );
        out
    }

    fn render_requests(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP tepat_http_requests_total Requests answered, by route and status.\n\
             # TYPE tepat_http_requests_total counter"
        );
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "tepat_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tepat_http_request_duration_seconds Time to answer, by route.\n\
             # TYPE tepat_http_request_duration_seconds histogram"
        );
        for (route, h) in lock(&self.latency).iter() {
            let name = "tepat_http_request_duration_seconds";
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {c}\n\
                 {name}_sum{{route=\"{route}\"}} {s}\n{name}_count{{route=\"{route}\"}} {c}",
                c = h.count,
                s = h.sum
            );
        }
    }
}

/// An open connection, counted by [`Metrics::connection`].
pub struct OpenConnection(std::sync::Arc<AtomicI64>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
