//! Online reservation (`tepat serve --ledger`, [`Store::claim_reserved`]):
//! two payout points claiming one family at the same moment, many times,
//! pay it once; a key another point paid offline and synced is refused; a
//! reversal frees the key once the ledger knows it; a ledger that does not
//! answer refuses or pays offline as the registry's policy says.

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::path::Path;
use std::sync::Barrier;
use std::time::Duration;

use common::TestDb;
use tepat::register::PersonRecord;
use tepat::snapshot::SnapshotBuilder;
use tepat::store::Reserver;
use tepat::{ClaimOutcome, ClaimRequest, Date, ReasonCode, Registry, Store};
use tepat_ledger::reserve::PgReserver;
use tepat_ledger::sync::sync;

const PROGRAM: &str = "SEMBAKO";
const PERIOD: &str = "2026-Q4";

fn request(id: &str, nik: &str) -> ClaimRequest {
    ClaimRequest {
        request_id: id.into(),
        nik: nik.into(),
        program: PROGRAM.into(),
        period: PERIOD.into(),
        ..ClaimRequest::default()
    }
}

fn reserver(db: &TestDb, point: &str, store: &Store) -> PgReserver {
    PgReserver::new(
        &db.url,
        point,
        &store.id().to_string(),
        Duration::from_secs(2),
    )
    .unwrap()
}

/// Families (their members' NIKs, unique NIKs) the store would pay
/// SEMBAKO for 2026-Q4.
fn payable_families(store: &Store, records: &[PersonRecord]) -> Vec<Vec<String>> {
    let unique = |r: &PersonRecord| records.iter().filter(|o| o.nik == r.nik).count() == 1;
    let mut families: Vec<Vec<String>> = Vec::new();
    for r in records.iter().filter(|r| unique(r)) {
        let nik = r.nik.to_string();
        if !store.check_str(&nik, PROGRAM, PERIOD).unwrap().payable {
            continue;
        }
        match families.last_mut() {
            Some(f)
                if records
                    .iter()
                    .any(|o| o.nik.to_string() == f[0] && o.kk == r.kk) =>
            {
                f.push(nik)
            }
            _ => families.push(vec![nik]),
        }
    }
    families
}

fn has(outcome: &ClaimOutcome, reason: ReasonCode) -> bool {
    outcome.verdict.reasons.contains(reason)
}

#[test]
fn two_points_claiming_one_family_at_the_same_moment_pay_it_once() {
    let Some(db) = TestDb::new() else { return };
    db.migrated();
    let records = stores::register(120, 31);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stores = [
        stores::create_store(&records, a.path()),
        stores::create_store(&records, b.path()),
    ];
    let reservers = [
        reserver(&db, "A", &stores[0]),
        reserver(&db, "B", &stores[1]),
    ];
    let families = payable_families(&stores[0], &records);
    assert!(families.len() >= 20, "{} payable families", families.len());
    for (f, members) in families.iter().enumerate() {
        // Two members of one family where it has two: the family's key,
        // not the person's, is what the points contend for.
        let niks = [&members[0], members.last().unwrap()];
        let barrier = Barrier::new(2);
        let outcomes: Vec<ClaimOutcome> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|p| {
                    let (store, central, barrier) = (&stores[p], &reservers[p], &barrier);
                    let req = request(&format!("f{f}-p{p}"), niks[p]);
                    s.spawn(move || {
                        barrier.wait();
                        store.claim_reserved(&req, central).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let paid: Vec<usize> = (0..2).filter(|p| outcomes[*p].paid).collect();
        assert_eq!(paid.len(), 1, "family {f}: {outcomes:?}");
        let refused = &outcomes[1 - paid[0]];
        assert!(has(refused, ReasonCode::ClaimedElsewhere), "{refused:?}");
        let held = refused.elsewhere.as_ref().unwrap();
        assert_eq!(held.point, ["A", "B"][paid[0]]);
        assert_eq!(held.request_id, format!("f{f}-p{}", paid[0]));
    }
    let mut c = db.client();
    let held: i64 = c
        .query_one("SELECT count(*) FROM reservations", &[])
        .unwrap()
        .get(0);
    assert_eq!(held as usize, families.len());
}

#[test]
fn a_retry_replays_and_a_reversal_frees_the_key_once_the_ledger_knows_it() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let records = stores::register(40, 37);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    let store_b = stores::create_store(&records, b.path());
    let (ra, rb) = (reserver(&db, "A", &store_a), reserver(&db, "B", &store_b));
    let nik = payable_families(&store_a, &records)[0][0].clone();

    assert!(
        store_a
            .claim_reserved(&request("a-1", &nik), &ra)
            .unwrap()
            .paid
    );
    let retry = store_a.claim_reserved(&request("a-1", &nik), &ra).unwrap();
    assert!(retry.paid && retry.replayed);
    let at_b = store_b.claim_reserved(&request("b-1", &nik), &rb).unwrap();
    assert!(!at_b.paid && has(&at_b, ReasonCode::ClaimedElsewhere));
    // Reversed at A: B is still refused until the ledger knows it...
    store_a.reverse("a-1-rev", "a-1", "account closed").unwrap();
    let at_b = store_b.claim_reserved(&request("b-2", &nik), &rb).unwrap();
    assert!(!at_b.paid, "{at_b:?}");
    // ...and paid once A's log is synced.
    sync(&mut c, &store_a, "A", 100).unwrap();
    let at_b = store_b.claim_reserved(&request("b-3", &nik), &rb).unwrap();
    assert!(at_b.paid, "{at_b:?}");
    // Now A may not pay it again with a new request.
    let again = store_a.claim_reserved(&request("a-2", &nik), &ra).unwrap();
    assert!(!again.paid && has(&again, ReasonCode::ClaimedElsewhere));
    assert_eq!(again.elsewhere.unwrap().point, "B");
}

#[test]
fn a_key_paid_offline_elsewhere_and_synced_is_refused() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.migrated();
    let records = stores::register(40, 41);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    let store_b = stores::create_store(&records, b.path());
    let nik = payable_families(&store_a, &records)[0][0].clone();
    // A pays without the ledger (offline), then syncs.
    assert!(store_a.claim(&request("a-off", &nik)).unwrap().paid);
    sync(&mut c, &store_a, "A", 100).unwrap();
    let at_b = store_b
        .claim_reserved(&request("b-1", &nik), &reserver(&db, "B", &store_b))
        .unwrap();
    assert!(!at_b.paid && has(&at_b, ReasonCode::ClaimedElsewhere));
    let held = at_b.elsewhere.unwrap();
    assert_eq!(
        (held.point.as_str(), held.request_id.as_str()),
        ("A", "a-off")
    );
}

/// A store whose registry's policy also warns of `warn_also`.
fn store_warning(records: &[PersonRecord], dir: &Path, warn_also: &str) -> Store {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/programs.toml");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "warn = [\"not_eligible\", \"duplicate_identity\"]",
        &format!("warn = [\"not_eligible\", \"duplicate_identity\", \"{warn_also}\"]"),
    );
    let registry = Registry::from_toml_str(&text, None).unwrap();
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b = SnapshotBuilder::new(registry, stores::regions(), as_of).unwrap();
    for r in records {
        b.add(r).unwrap();
    }
    Store::create(dir, b, stores::options()).unwrap()
}

#[test]
fn an_unreachable_ledger_refuses_or_pays_offline_as_the_policy_says() {
    let records = stores::register(30, 43);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let refusing = stores::create_store(&records, a.path());
    let paying = store_warning(&records, b.path(), "ledger_unreachable");
    let nik = payable_families(&refusing, &records)[0][0].clone();
    // Nothing listens on port 1.
    let down = PgReserver::new(
        "postgresql://postgres@127.0.0.1:1/ledger",
        "A",
        &refusing.id().to_string(),
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let refused = refusing
        .claim_reserved(&request("r-1", &nik), &down)
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        !refused.paid && has(&refused, ReasonCode::LedgerUnreachable),
        "{refused:?}"
    );
    let offline = paying.claim_reserved(&request("p-1", &nik), &down).unwrap();
    assert!(offline.paid, "{offline:?}");
    // The warning stays with the claim: the sync ships it, the keeper sees
    // which payments were made offline.
    assert!(has(&offline, ReasonCode::LedgerUnreachable));
    let replay = paying.claim_reserved(&request("p-1", &nik), &down).unwrap();
    assert!(replay.replayed && has(&replay, ReasonCode::LedgerUnreachable));
    // A policy may not let claimed_elsewhere through.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/programs.toml"),
    )
    .unwrap()
    .replace(
        "warn = [\"not_eligible\", \"duplicate_identity\"]",
        "warn = [\"claimed_elsewhere\"]",
    );
    assert!(Registry::from_toml_str(&text, None).is_err());
    let _: &dyn Reserver = &down;
}

#[test]
fn a_point_is_one_stores_and_another_store_under_its_name_is_refused() {
    let Some(db) = TestDb::new() else { return };
    db.migrated();
    let records = stores::register(10, 53);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    let store_b = stores::create_store(&records, b.path());
    drop(reserver(&db, "A", &store_a));
    let again = PgReserver::new(
        &db.url,
        "A",
        &store_b.id().to_string(),
        Duration::from_secs(2),
    );
    let Err(e) = again else {
        panic!("a second store took point A's reservations");
    };
    assert!(e.to_string().contains("point \"A\""), "{e}");
}

#[test]
fn tepat_claim_with_a_ledger_is_refused_what_another_point_holds() {
    let Some(db) = TestDb::new() else { return };
    db.migrated();
    let records = stores::register(40, 61);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store_a = stores::create_store(&records, a.path());
    drop(stores::create_store(&records, b.path()));
    let nik = payable_families(&store_a, &records)[0][0].clone();
    let ra = reserver(&db, "A", &store_a);
    assert!(
        store_a
            .claim_reserved(&request("a-1", &nik), &ra)
            .unwrap()
            .paid
    );
    let claim = |id: &str| {
        std::process::Command::new(common::tepat_bin())
            .args(["claim", "--today", "2026-11-15", "--json", "--request", id])
            .args(["--ledger", &db.url, "--point", "B", "--store"])
            .arg(b.path())
            .args([nik.as_str(), PROGRAM, PERIOD])
            .output()
            .unwrap()
    };
    let out = claim("b-1");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes = answer["reasons"].to_string();
    assert!(codes.contains("claimed_elsewhere"), "{answer}");
    assert_eq!(answer["elsewhere"]["point"], "A");
    assert_eq!(answer["elsewhere"]["request_id"], "a-1");
}

/// `tepat ledger unclaimed`: a reservation whose claim never arrived (the
/// point died between the two) is listed, with its point and request; a
/// claim paid but not yet synced is listed until the sync ships it; a
/// younger reservation than asked for is not.
#[test]
fn a_reservation_whose_claim_never_arrived_is_listed_until_it_does() {
    let Some(db) = TestDb::new() else { return };
    let mut client = db.migrated();
    let dir = tempfile::tempdir().unwrap();
    let records = stores::register(60, 61);
    let store = stores::create_store(&records, dir.path());
    let families = payable_families(&store, &records);
    assert!(families.len() >= 2, "{} payable families", families.len());
    let a = reserver(&db, "A", &store);
    let paid = store
        .claim_reserved(&request("u-paid", &families[0][0]), &a)
        .unwrap();
    assert!(paid.paid, "{:?}", paid.verdict);
    // The point reserved this family and died before it recorded a claim.
    let payee: &PersonRecord = records
        .iter()
        .find(|r| r.nik.to_string() == families[1][0])
        .unwrap();
    let orphan = tepat::store::CentralKey {
        request_id: "u-orphan".into(),
        program: PROGRAM.into(),
        period: PERIOD.into(),
        family: true,
        key: payee.kk.get(),
        nik: payee.nik.get(),
    };
    assert!(matches!(
        a.reserve(&orphan),
        tepat::store::Reserved::Granted
    ));
    let listed = |client: &mut postgres::Client, secs: u64| -> Vec<String> {
        tepat_ledger::report::unclaimed(client, Duration::from_secs(secs))
            .unwrap()
            .into_iter()
            .map(|u| format!("{}/{}/{}", u.point, u.request_id, u.nik))
            .collect()
    };
    assert_eq!(
        listed(&mut client, 0),
        [
            format!("A/u-paid/{}", families[0][0]),
            format!("A/u-orphan/{}", families[1][0])
        ]
    );
    assert!(listed(&mut client, 3600).is_empty(), "younger than an hour");
    sync(&mut client, &store, "A", 100).unwrap();
    assert_eq!(
        listed(&mut client, 0),
        [format!("A/u-orphan/{}", families[1][0])],
        "the synced claim arrived; the orphan's never will"
    );
}

/// A keyed point reserves the NIK and KK behind its pseudonyms: a plain
/// point and a keyed one refuse each other's families.
#[test]
fn a_keyed_point_and_a_plain_one_refuse_each_others_reservations() {
    let Some(db) = TestDb::new() else { return };
    let _c = db.migrated();
    let records = stores::register(40, 41);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let key = tepat::snapshot::IdentityKey::from_bytes([5; 16]);
    let mut builder = SnapshotBuilder::new(
        Registry::builtin().clone(),
        stores::regions(),
        Date::new(2026, 11, 1).unwrap(),
    )
    .unwrap();
    for r in &records {
        builder.add(r).unwrap();
    }
    let keyed =
        Store::create(a.path(), builder, stores::options().identity_key(Some(key))).unwrap();
    assert!(keyed.is_keyed());
    let plain = stores::create_store(&records, b.path());
    let (rk, rp) = (reserver(&db, "K", &keyed), reserver(&db, "P", &plain));
    let families = payable_families(&plain, &records);
    let (first, second) = (&families[0][0], &families[1][0]);
    assert!(
        keyed
            .claim_reserved(&request("k-1", first), &rk)
            .unwrap()
            .paid
    );
    let at_plain = plain.claim_reserved(&request("p-1", first), &rp).unwrap();
    assert!(
        !at_plain.paid && has(&at_plain, ReasonCode::ClaimedElsewhere),
        "{at_plain:?}"
    );
    assert!(
        plain
            .claim_reserved(&request("p-2", second), &rp)
            .unwrap()
            .paid
    );
    let at_keyed = keyed.claim_reserved(&request("k-2", second), &rk).unwrap();
    assert!(
        !at_keyed.paid && has(&at_keyed, ReasonCode::ClaimedElsewhere),
        "{at_keyed:?}"
    );
}
