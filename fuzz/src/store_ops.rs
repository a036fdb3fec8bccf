//! Sequences of store operations — check, claim, retry, reused request id,
//! reverse (any family's claim), retried reverse, a change file (deaths,
//! moves, enrolments, deciles), a refresh under another registry (programs
//! reordered, another policy, a policy the store must refuse), reopen —
//! decoded from the fuzz
//! input and run on a fresh store of the fixture register (one temporary
//! directory per input, so every input replays exactly). Proves, without a
//! full model:
//! - no sequence panics;
//! - a claim pays exactly when `check_str` just before says payable, with
//!   the same reasons, and afterwards `check_str` says `already_claimed`;
//! - a retried request id returns the first outcome with `replayed = true`
//!   (also after a reopen); the same id with other content is refused
//!   (`RequestConflict`);
//! - nobody is paid twice: no claim pays a (program, period, family) or a
//!   (program, period, person) that a claim not reversed already paid, nor
//!   a payee covered by another family's claim; `Store::claims` holds
//!   exactly the paid, unreversed claims, once each;
//! - a reversal succeeds once per paid claim and reopens the period;
//! - a person whose death was applied is never paid;
//! - every claim and reversal is in `Store::audit` exactly once, with the
//!   outcome it returned.

use std::collections::{HashMap, HashSet};

use tepat::change::HEADER as CHANGE_HEADER;
use tepat::store::ClaimSubject;
use tepat::{ClaimOutcome, ClaimRequest, Date, Error, Nik, Registry, Sex, Store, Unit};

use super::fixture;

/// At most this many operations per input.
const MAX_OPS: usize = 24;

const PERIODS: [&str; 9] = [
    "2026-Q4", "2026-Q3", "2026-11", "2026-12", "2026", "once", "2027-Q1", "2026-13", "",
];

/// Reads the input a byte at a time (zero once it runs out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.byte() as usize % items.len()].clone()
    }
}

/// A verdict with its programs named by code, for comparing verdicts
/// across registries: (payable, reasons, sorted (conflict, level), claim).
type ByCode = (
    bool,
    u16,
    Vec<(String, String)>,
    Option<tepat::verdict::ClaimInfo>,
);

fn by_code(registry: &Registry, v: &tepat::Verdict) -> ByCode {
    let mut conflicts: Vec<(String, String)> = v
        .conflicts
        .iter()
        .map(|c| {
            let code = registry.get(c.program).map_or("?", |p| p.code.as_str());
            (code.to_owned(), format!("{:?}", c.level))
        })
        .collect();
    conflicts.sort();
    (v.payable, v.reasons.0, conflicts, v.claimed.clone())
}

/// A claim as sent and answered.
struct Sent {
    req: ClaimRequest,
    outcome: ClaimOutcome,
    /// The outcome's verdict by program code, as the registry then named them.
    verdict_codes: ByCode,
    /// (program, period, family card or NIK) it paid, when it paid.
    paid_key: Option<(String, String, u64)>,
    /// Persons its family claim covers.
    covered: Vec<u64>,
    reversed_by: Option<String>,
}

/// The check run on every input.
pub fn check(data: &[u8]) {
    let mut input = Input(data);
    let dir = fixture::temp_dir();
    let mut store = fixture::create_store(dir.path());
    let registry = Registry::builtin();
    let mut niks = fixture::nik_texts();
    niks.push(
        Nik::from_parts(320_101, Sex::Female, Date::new(1990, 8, 17).unwrap(), 9999)
            .unwrap()
            .to_string(),
    );
    niks.push("320101570890000".into());
    niks.push("not a nik".into());
    let mut programs: Vec<String> = registry.programs().iter().map(|p| p.code.clone()).collect();
    programs.push("NOPE".into());

    let mut sent: Vec<Sent> = Vec::new();
    // Reversals: (request id, original, reason).
    let mut reversals: Vec<(String, String, String)> = Vec::new();
    let mut dead: HashSet<String> = HashSet::new();
    let mut next_id = 0u32;
    let mut fresh_id = || {
        next_id += 1;
        format!("REQ-{next_id}")
    };

    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        match input.byte() % 10 {
            // check
            0 => {
                let (nik, program, period) = (
                    input.pick(&niks),
                    input.pick(&programs),
                    input.pick(&PERIODS),
                );
                if let Ok(v) = store.check_str(&nik, &program, period) {
                    assert_eq!(v.payable, v.blocking(&store.registry()).next().is_none());
                }
            }
            // claim, with a fresh request id
            1 | 2 => {
                let req = ClaimRequest {
                    request_id: fresh_id(),
                    nik: input.pick(&niks),
                    program: input.pick(&programs),
                    period: input.pick(&PERIODS).to_owned(),
                    meta: format!("m{}", input.byte() % 4),
                    ..Default::default()
                };
                claim(&store, registry, &req, &mut sent, &dead);
            }
            // retry a request as sent
            3 => {
                if sent.is_empty() {
                    continue;
                }
                let i = input.byte() as usize % sent.len();
                let first = &sent[i];
                let again = store
                    .claim(&first.req)
                    .unwrap_or_else(|e| panic!("retry of {:?} failed: {e}", first.req));
                assert!(again.replayed, "a retry was not answered as a replay");
                assert_eq!(again.paid, first.outcome.paid);
                // The first verdict, its programs by code (a refresh may
                // have reordered the registry since).
                assert_eq!(
                    by_code(&store.registry(), &again.verdict),
                    first.verdict_codes
                );
                assert_eq!(again.request_id, first.req.request_id);
            }
            // reuse a request id for other content
            4 => {
                if sent.is_empty() {
                    continue;
                }
                let i = input.byte() as usize % sent.len();
                let mut other = sent[i].req.clone();
                match input.byte() % 3 {
                    0 => other.meta.push('x'),
                    1 => other.period.push('x'),
                    _ => other.nik.push('0'),
                }
                match store.claim(&other) {
                    Err(Error::RequestConflict { .. }) => {}
                    Err(e) => panic!("reused id {:?}: expected a conflict, got {e}", other),
                    Ok(o) => panic!("reused id {:?} answered {o:?}", other),
                }
            }
            // reverse a claim
            5 => {
                if sent.is_empty() {
                    continue;
                }
                let i = input.byte() as usize % sent.len();
                let id = fresh_id();
                let reason = format!("r{}", input.byte() % 3);
                let original = sent[i].req.request_id.clone();
                let result = store.reverse(&id, &original, &reason);
                let s = &mut sent[i];
                match (&result, s.outcome.paid, &s.reversed_by) {
                    (Ok(o), true, None) => {
                        assert!(!o.replayed);
                        assert_eq!(o.reversed, original);
                        s.reversed_by = Some(id.clone());
                        reversals.push((id, original, reason));
                    }
                    (Err(_), true, Some(_)) | (Err(_), false, _) => {}
                    (r, paid, by) => panic!(
                        "reverse {id} of {original} (paid {paid}, reversed by {by:?}): {r:?}"
                    ),
                }
            }
            // retry a reversal
            6 => {
                if reversals.is_empty() {
                    continue;
                }
                let (id, original, reason) = &reversals[input.byte() as usize % reversals.len()];
                let again = store
                    .reverse(id, original, reason)
                    .unwrap_or_else(|e| panic!("retry of reversal {id} failed: {e}"));
                assert!(again.replayed);
                assert_eq!(&again.reversed, original);
            }
            // a one-row change file
            7 => {
                let row = change_row(&mut input, &niks, &programs);
                let text = format!("{CHANGE_HEADER}\n{row}\n");
                if store.apply_csv(text.as_bytes(), "changes.csv").is_ok()
                    && let Some(nik) = row.strip_prefix("death,")
                {
                    dead.insert(nik[..16].to_owned());
                }
            }
            // a refresh under another registry
            8 => refresh(&store, &mut input),
            // reopen (a restart)
            _ => {
                drop(store);
                store = Store::open_with(dir.path(), fixture::options()).unwrap();
            }
        }
    }
    invariants(&store, registry, &sent, &reversals);
}

fn claim(
    store: &Store,
    registry: &Registry,
    req: &ClaimRequest,
    sent: &mut Vec<Sent>,
    dead: &HashSet<String>,
) {
    let before = store.check_str(&req.nik, &req.program, &req.period);
    let snap = store.snapshot();
    let unit = registry
        .by_code(&req.program)
        .map(|id| registry.program(id).unit);
    // The family card and members the claim would pay for, as of now.
    let (kk, members) = match (Nik::parse(&req.nik), unit) {
        (Ok(nik), Some(Unit::Family)) => {
            let kk = store.person(&snap, nik.get()).unwrap().and_then(|s| s.kk());
            let members = kk.map_or(Vec::new(), |kk| {
                store
                    .members(&snap, kk)
                    .unwrap()
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect()
            });
            (kk, members)
        }
        _ => (None, Vec::new()),
    };
    let result = store.claim(req);
    let outcome = match (before, result) {
        (Err(_), Err(_)) => return,
        (Ok(v), Ok(o)) => {
            assert!(!o.replayed, "a fresh request id was answered as a replay");
            // A check reads no amounts: the claim adds `wrong_amount` exactly
            // when the entitlement it recorded is nothing.
            let mut reasons = o.verdict.reasons;
            let wrong = reasons.contains(tepat::ReasonCode::WrongAmount);
            reasons.remove(tepat::ReasonCode::WrongAmount);
            assert_eq!(
                wrong,
                o.entitled == Some(0),
                "claim {req:?}: wrong_amount {wrong} but entitled {:?}",
                o.entitled
            );
            assert_eq!(
                (o.paid, reasons),
                (v.payable && !wrong, v.reasons),
                "claim {req:?} and the check just before disagree"
            );
            o
        }
        (b, r) => panic!("check {b:?} but claim {r:?} for {req:?}"),
    };
    if outcome.paid {
        assert!(
            !dead.contains(&req.nik),
            "paid {} after their death",
            req.nik
        );
        let after = store
            .check_str(&req.nik, &req.program, &req.period)
            .unwrap();
        assert!(
            !after.payable && after.reasons.contains(tepat::ReasonCode::AlreadyClaimed),
            "after paying {req:?} the check says {after:?}"
        );
        let nik = Nik::parse(&req.nik).unwrap().get();
        let subject = if unit == Some(Unit::Family) {
            kk.unwrap_or(nik)
        } else {
            nik
        };
        let key = (req.program.clone(), req.period.clone(), subject);
        let live = |s: &&Sent| s.reversed_by.is_none() && s.outcome.paid;
        if let Some(twice) = sent
            .iter()
            .filter(live)
            .find(|s| s.paid_key == Some(key.clone()))
        {
            panic!(
                "{req:?} paid {key:?} again (first by {})",
                twice.req.request_id
            );
        }
        if let Some(cover) = sent.iter().filter(live).find(|s| {
            s.req.program == req.program && s.req.period == req.period && s.covered.contains(&nik)
        }) {
            panic!("{req:?} paid {nik}, covered by {}", cover.req.request_id);
        }
        sent.push(Sent {
            req: req.clone(),
            verdict_codes: by_code(&store.registry(), &outcome.verdict),
            outcome,
            paid_key: Some(key),
            covered: if unit == Some(Unit::Family) {
                members
            } else {
                Vec::new()
            },
            reversed_by: None,
        });
    } else {
        sent.push(Sent {
            req: req.clone(),
            verdict_codes: by_code(&store.registry(), &outcome.verdict),
            outcome,
            paid_key: None,
            covered: Vec::new(),
            reversed_by: None,
        });
    }
}

/// The policies a refresh can bring: the default, two that let a reason
/// warn, and one the store must refuse (already_claimed always blocks).
const POLICIES: [&[&str]; 4] = [
    &["not_eligible", "duplicate_identity"],
    &["not_eligible", "duplicate_identity", "not_enrolled"],
    &["not_eligible", "civil_servant"],
    &["not_eligible", "already_claimed"],
];

/// Refreshes the store with the fixture register under a registry variant.
/// Claims keep their programs by code whatever the order (the checks after
/// it prove it: nobody is paid twice), and a refused policy changes nothing.
fn refresh(store: &Store, input: &mut Input<'_>) {
    let swapped = input.byte() % 2 == 1;
    let policy = input.byte() as usize % POLICIES.len();
    match fixture::registry_variant(swapped, POLICIES[policy]) {
        Ok(registry) => {
            // The fixture export is older than the change files: forced
            // (the guards are tests/operations.rs's).
            let forced = tepat::store::RefreshGuard::force();
            store
                .refresh_guarded(fixture::builder_for(&registry), &forced)
                .unwrap();
        }
        Err(e) => assert_eq!(policy, 3, "policy {policy} refused: {e}"),
    }
}

/// One row of a change file: death, enrolment, removal, decile or move of
/// a fixture person.
fn change_row(input: &mut Input<'_>, niks: &[String], programs: &[String]) -> String {
    let nik = input.pick(niks);
    let records = fixture::records();
    let kk = records[input.byte() as usize % records.len()]
        .kk
        .to_string();
    let date = "2026-11-05";
    match input.byte() % 5 {
        0 => format!("death,{nik},,,,,,,,,,,,{date}"),
        1 => format!("enrol,{nik},,,,,,,,,,,{},{date}", input.pick(programs)),
        2 => format!("remove,{nik},,,,,,,,,,,{},{date}", input.pick(programs)),
        3 => format!("decile,,{kk},,,,,{},,,,,,{date}", 1 + input.byte() % 11),
        _ => format!(
            "move,{nik},{kk},{},{},,,{},,,,,,{date}",
            input.pick(&["head", "spouse", "child", "other"]),
            input.pick(&fixture::VILLAGES),
            1 + input.byte() % 10
        ),
    }
}

fn invariants(
    store: &Store,
    registry: &Registry,
    sent: &[Sent],
    reversals: &[(String, String, String)],
) {
    let live: HashSet<&str> = sent
        .iter()
        .filter(|s| s.outcome.paid && s.reversed_by.is_none())
        .map(|s| s.req.request_id.as_str())
        .collect();
    // Claims on record: exactly the paid, unreversed ones; one payee per
    // (program, period) and NIK.
    let mut primary: HashMap<&str, usize> = HashMap::new();
    let mut payees: HashMap<(String, u32, u64), String> = HashMap::new();
    let claims = store.claims().unwrap();
    for c in &claims {
        let rid = c.record.request_id.as_str();
        assert!(
            live.contains(rid),
            "claim on record for {rid}, which did not pay or was reversed"
        );
        if matches!(c.subject, ClaimSubject::Family(_) | ClaimSubject::Person(_)) {
            *primary.entry(rid).or_default() += 1;
            let paid = (c.program.clone(), c.period, c.record.nik);
            if let Some(first) = payees.insert(paid, rid.to_owned()) {
                panic!(
                    "NIK {} paid twice in one period: {first} and {rid}",
                    c.record.nik
                );
            }
        }
    }
    for rid in &live {
        assert_eq!(
            primary.get(rid),
            Some(&1),
            "paid claim {rid} is not on record once"
        );
    }
    // The audit log: every answered request once, with its outcome.
    let audit = store.audit(None, None).unwrap();
    let mut by_request: HashMap<&str, Vec<&tepat::store::AuditRecord>> = HashMap::new();
    for e in &audit {
        if let Some(r) = &e.request_id {
            by_request.entry(r.as_str()).or_default().push(e);
        }
    }
    for s in sent {
        let rid = s.req.request_id.as_str();
        let entries = by_request.get(rid).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            entries.len(),
            1,
            "request {rid} has {} audit entries",
            entries.len()
        );
        assert_eq!(entries[0].op, "claim");
        assert_eq!(
            entries[0].outcome == "paid",
            s.outcome.paid,
            "{:?}",
            entries[0]
        );
        assert!(store.request(rid).unwrap().is_some());
    }
    for (rid, original, _) in reversals {
        let entries = by_request.get(rid.as_str()).map_or(&[][..], Vec::as_slice);
        assert_eq!(
            entries.len(),
            1,
            "reversal {rid} has {} audit entries",
            entries.len()
        );
        assert_eq!(entries[0].op, "reverse");
        assert_eq!(entries[0].outcome, "reversed");
        assert_eq!(entries[0].reverses.as_deref(), Some(original.as_str()));
    }
    let _ = registry;
}
