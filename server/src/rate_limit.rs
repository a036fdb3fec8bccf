//! A per-address limit for the public routes (the self-service status): a
//! fixed window of requests per client address, so that no one walks the
//! register through them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered before the stale ones are forgotten.
const MAX_ADDRESSES: usize = 100_000;

/// Requests allowed per address and window.
pub struct RateLimit {
    per_window: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimit {
    /// `per_window` requests per `window` and address.
    pub fn new(per_window: u32, window: Duration) -> RateLimit {
        RateLimit {
            per_window,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `addr` may make one more request now (and counts it).
    pub fn allow(&self, addr: IpAddr) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = seen.entry(addr).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_window_and_no_more() {
        let limit = RateLimit::new(3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| limit.allow(a)));
        assert!(!limit.allow(a));
        assert!(limit.allow(b));
    }
}
