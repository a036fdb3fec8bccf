//! The service as a process of its own: `kill -9` under concurrent HTTP
//! claims (every claim answered 200 is in the store after a restart with
//! its outcome, nobody is paid twice, every retry replays), SIGTERM
//! (in-flight requests finish, exit 0), and concurrent claims sharing
//! flushes.
//!
//! The child is this test binary run again on `child_service` (the same
//! `tepat_server::run` that `tepat serve` calls): a package's tests cannot
//! name another package's binary. `TEPAT_SERVE_KILL9_ROUNDS` sets the
//! rounds (default 20).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{Client, Fixture, common};
use tepat::Store;

/// The child: serves until SIGTERM, when `TEPAT_SERVE_CHILD_STORE` is set.
#[test]
fn child_service() {
    let Ok(store) = std::env::var("TEPAT_SERVE_CHILD_STORE") else {
        return;
    };
    let today = std::env::var("TEPAT_SERVE_CHILD_TODAY").unwrap();
    let config = tepat_server::Config {
        store: store.into(),
        options: tepat::Options::default().today(tepat::Date::parse_iso(&today).unwrap()),
        listen: "127.0.0.1:0".parse().unwrap(),
        tokens: std::env::var("TEPAT_SERVE_CHILD_TOKENS").unwrap().into(),
        access_log: None,
        limits: tepat_server::Limits::default(),
        tls: None,
        ledger: None,
    };
    // The address goes to a file: the test harness owns the child's
    // stdout.
    let addr_file = std::env::var("TEPAT_SERVE_CHILD_ADDR").unwrap();
    let result = tepat_server::run(&config, |addr| {
        let tmp = format!("{addr_file}.tmp");
        std::fs::write(&tmp, addr.to_string()).unwrap();
        std::fs::rename(&tmp, &addr_file).unwrap();
    });
    std::process::exit(if result.is_ok() { 0 } else { 3 });
}

/// Starts the child on the fixture's store, on `today`.
fn spawn(f: &Fixture, today: &str) -> (Child, SocketAddr) {
    let addr_file = f.dir.path().join("child.addr");
    let _ = std::fs::remove_file(&addr_file);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_service",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("TEPAT_SERVE_CHILD_STORE", f.store_dir())
        .env("TEPAT_SERVE_CHILD_TOKENS", f.tokens_file())
        .env("TEPAT_SERVE_CHILD_TODAY", today)
        .env("TEPAT_SERVE_CHILD_ADDR", &addr_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&addr_file) {
            return (child, text.parse().unwrap());
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the service exited before listening: {status:?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the service did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The quarter of a round: each round pays its own.
fn quarter_of(round: usize) -> (usize, usize) {
    (2000 + round / 4, round % 4 + 1)
}

/// The store's date in a round: within its quarter's first month.
fn today_of(round: usize) -> String {
    let (year, q) = quarter_of(round);
    format!("{year}-{:02}-15", (q - 1) * 3 + 1)
}

/// A round's claims: PKH for the quarter and PBI_JK for its first month,
/// for the first 160 persons (families overlap: many are refused).
fn work(f: &Fixture, round: usize) -> Vec<(String, &'static str, String)> {
    let (year, q) = quarter_of(round);
    f.records
        .iter()
        .take(160)
        .flat_map(|r| {
            [
                (r.nik.to_string(), "PKH", format!("{year}-Q{q}")),
                (
                    r.nik.to_string(),
                    "PBI_JK",
                    format!("{year}-{:02}", (q - 1) * 3 + 1),
                ),
            ]
        })
        .collect()
}

/// Claims from `threads` connections until the service goes away;
/// returns every request answered 200, with whether it paid.
fn claim_until_gone(
    addr: SocketAddr,
    token: &str,
    work: &[(String, &'static str, String)],
    prefix: &str,
    threads: usize,
    stop: &AtomicBool,
) -> Vec<(String, bool)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let c = Client::new(addr);
                    let mut acked = Vec::new();
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) && i < 100_000 {
                        let (nik, program, period) = &work[i % work.len()];
                        let id = format!("{prefix}-{t}-{i}");
                        let body = json!({"request_id": id, "nik": nik, "program": program, "period": period});
                        let sent = c
                            .agent
                            .post(format!("{}/v1/claim", c.base))
                            .header("Authorization", format!("Bearer {token}"))
                            .send(body.to_string());
                        let Ok(mut resp) = sent else { break };
                        let status = resp.status().as_u16();
                        let Ok(text) = resp.body_mut().read_to_string() else { break };
                        assert_eq!(status, 200, "{id}: {text}");
                        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
                        acked.push((id, doc["outcome"] == json!("paid")));
                        i += threads;
                    }
                    acked
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Every acknowledged request is in the store with its outcome, and no
/// family (PKH) or person (PBI_JK) is paid twice for a period.
fn check_store(
    dir: &Path,
    acked: &BTreeMap<String, bool>,
    kk_of: &HashMap<u64, u64>,
    round: usize,
) {
    let store = Store::open(dir).unwrap();
    for (id, paid) in acked {
        let rec = store
            .request(id)
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: {id} was answered 200 and is lost"));
        assert_eq!(rec.done, *paid, "round {round}: {id} changed its outcome");
    }
    let mut paid: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in store.audit(None, None).unwrap() {
        if e.outcome == "paid" && e.op == "claim" && e.reverses.is_none() {
            let nik = e.nik.unwrap();
            let program = e.program.clone().unwrap();
            let subject = if program == "PKH" { kk_of[&nik] } else { nik };
            *paid
                .entry((format!("{program}/{subject}"), e.period.clone().unwrap()))
                .or_default() += 1;
        }
    }
    for (key, n) in &paid {
        assert_eq!(*n, 1, "round {round}: {key:?} paid {n} times");
    }
}

#[test]
fn claims_answered_200_survive_kill_9_of_the_service() {
    let rounds: usize = std::env::var("TEPAT_SERVE_KILL9_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let f = Fixture::new(60, 31);
    let kk_of: HashMap<u64, u64> = f
        .records
        .iter()
        .map(|r| (r.nik.get(), r.kk.get()))
        .collect();
    let mut acked: BTreeMap<String, bool> = BTreeMap::new();
    let mut rng = common::Rng(7);
    let mut last_round = Vec::new();
    for round in 0..rounds {
        let (mut child, addr) = spawn(&f, &today_of(round));
        let work = work(&f, round);
        let stop = AtomicBool::new(false);
        let wait = Duration::from_millis(80 + rng.below(200));
        let round_acked = std::thread::scope(|s| {
            let clients = s.spawn(|| {
                claim_until_gone(
                    addr,
                    &f.tokens.payout,
                    &work,
                    &format!("r{round}"),
                    8,
                    &stop,
                )
            });
            std::thread::sleep(wait);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            stop.store(true, Ordering::Relaxed);
            clients.join().unwrap()
        });
        last_round = round_acked.clone();
        acked.extend(round_acked);
        check_store(&f.store_dir(), &acked, &kk_of, round);
    }
    let paid = acked.values().filter(|p| **p).count();
    assert!(
        paid > rounds,
        "too few claims paid ({paid}) to test anything"
    );
    // Every retry replays the first answer, after all those restarts.
    let (mut child, addr) = spawn(&f, &today_of(rounds - 1));
    let c = Client::new(addr);
    let work = work(&f, rounds - 1);
    for (id, was_paid) in last_round.iter().take(200) {
        // The id says which work item it was: `r{round}-{thread}-{i}`.
        let i: usize = id.rsplit('-').next().unwrap().parse().unwrap();
        let (nik, program, period) = &work[i % work.len()];
        let a = c.post_json(
            "/v1/claim",
            &f.tokens.payout,
            &json!({"request_id": id, "nik": nik, "program": program, "period": period}),
        );
        assert_eq!(a.body["replayed"], json!(true), "{id}: {}", a.text);
        assert_eq!(a.body["outcome"] == json!("paid"), *was_paid, "{id}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!(
        "kill -9: {rounds} rounds, {} requests answered 200 survived ({paid} paid)",
        acked.len()
    );
}

#[test]
fn sigterm_finishes_in_flight_claims_and_exits_0() {
    let f = Fixture::new(60, 32);
    let (child, addr) = spawn(&f, "2026-11-15");
    let pid = child.id();
    let child = Arc::new(std::sync::Mutex::new(child));
    let work = work(&f, 0)
        .into_iter()
        .map(|(n, p, _)| {
            (
                n,
                p,
                if p == "PKH" {
                    "2026-Q4".into()
                } else {
                    "2026-11".into()
                },
            )
        })
        .collect::<Vec<_>>();
    let stop = AtomicBool::new(false);
    let (acked, status) = std::thread::scope(|s| {
        let clients = s.spawn(|| claim_until_gone(addr, &f.tokens.payout, &work, "t", 8, &stop));
        std::thread::sleep(Duration::from_millis(300));
        let term = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let status = child.lock().unwrap().wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        (clients.join().unwrap(), status)
    });
    assert!(status.success(), "the service exited with {status:?}");
    assert!(!acked.is_empty());
    let kk_of: HashMap<u64, u64> = f
        .records
        .iter()
        .map(|r| (r.nik.get(), r.kk.get()))
        .collect();
    let acked: BTreeMap<String, bool> = acked.into_iter().collect();
    check_store(&f.store_dir(), &acked, &kk_of, 0);
    // A clean stop leaves no torn record.
    assert_eq!(Store::open(&f.store_dir()).unwrap().torn_claim_bytes(), 0);
}

#[test]
fn concurrent_http_claims_share_flushes() {
    let f = Fixture::new(120, 33);
    let s = f.start();
    let c = Client::new(s.addr);
    let flushes = |c: &Client| -> u64 {
        let m = c.get("/metrics", None).text;
        m.lines()
            .find_map(|l| l.strip_prefix("tepat_store_flushes_total ")?.parse().ok())
            .unwrap()
    };
    let before = flushes(&c);
    let work: Vec<_> = f
        .records
        .iter()
        .map(|r| (r.nik.to_string(), "PBI_JK", "2026-11".to_owned()))
        .collect();
    let addr = s.addr;
    let acked: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|t| {
                let (work, token) = (&work, &f.tokens.payout);
                scope.spawn(move || {
                    let c = Client::new(addr);
                    for i in 0..20 {
                        let (nik, program, period) = &work[(t * 20 + i) % work.len()];
                        let a = c.post_json(
                            "/v1/claim",
                            token,
                            &json!({"request_id": format!("g{t}-{i}"), "nik": nik, "program": program, "period": period}),
                        );
                        assert_eq!(a.status, 200, "{}", a.text);
                    }
                    20
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let after = flushes(&c);
    assert!(acked >= 16 * 20);
    assert!(
        after - before < acked as u64,
        "{acked} claims took {} flushes: none shared",
        after - before
    );
    eprintln!("{acked} concurrent claims, {} flushes", after - before);
}
