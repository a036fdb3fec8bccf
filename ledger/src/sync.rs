//! `tepat sync`: ships a store's claims log to the ledger from its point's
//! high-water mark, one batch per transaction (docs/LEDGER.md, "Sync").
//!
//! A batch is read from the store at the high-water mark (locked `FOR
//! UPDATE`), copied into a staging table, inserted into `claims` and
//! `reversals` with its double payments flagged, and the mark moved past
//! it — all in one transaction. So a crash anywhere loses nothing (the
//! mark did not move, the rows went with it) and a resend inserts nothing
//! twice (it starts at the moved mark; `UNIQUE (point, log_offset)`
//! backs that up). Claims and reversals are applied in log order.

use postgres::Client;
use postgres::error::SqlState;
use tepat::Store;
use tepat::snapshot::IdentityKey;
use tepat::store::LogRecord;

use crate::apply::apply;
use crate::error::{DbContext, Error, Result};
use crate::migrate::require_current;
use crate::stage;

/// The default number of records per batch (per transaction).
pub const DEFAULT_BATCH: usize = 10_000;

/// How often a batch is tried again after it lost a race with another
/// point's sync (see [`retryable`]).
const RETRIES: usize = 10;

/// What a sync shipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Synced {
    /// The high-water mark before (a byte offset in the log).
    pub from: u64,
    /// The high-water mark after.
    pub to: u64,
    /// Batches committed.
    pub batches: u64,
    /// Claims inserted.
    pub claims: u64,
    /// Reversals inserted.
    pub reversals: u64,
    /// Paid claims flagged as cross-point double payments.
    pub double_payments: u64,
    /// Batches tried again after losing a race with another point's sync.
    pub retries: u64,
}

/// Ships every record of `store`'s claims log past `point`'s high-water
/// mark, `batch` records per transaction. The point is registered at its
/// first sync, bound to the store's identity: a store that is not the
/// point's is refused, as is a database at another schema version.
pub fn sync(client: &mut Client, store: &Store, point: &str, batch: usize) -> Result<Synced> {
    sync_revealing(client, store, point, batch, None)
}

/// [`sync`] of a keyed point's store (docs/FORMAT.md, "Keyed snapshots")
/// with the point's identity key: the claims reach the ledger with the NIK
/// and KK behind their pseudonyms, so that a double payment between this
/// point and any other is found. Without the key (`None`) a keyed point's
/// claims are kept keyed: the ledger holds them, but matches them with no
/// other point's.
pub fn sync_revealing(
    client: &mut Client,
    store: &Store,
    point: &str,
    batch: usize,
    reveal: Option<&IdentityKey>,
) -> Result<Synced> {
    if batch == 0 {
        return Err(Error::Usage("a batch holds at least one record".into()));
    }
    require_current(client)?;
    register_point(client, point, &store.id().to_string())?;
    let mut total = Synced::default();
    let mut first = true;
    loop {
        let shipped = with_retries(point, &mut total.retries, || {
            ship_batch(client, store, point, batch, reveal)
        })
        .map_err(|e| interrupted(e, point, &total))?;
        let Some(b) = shipped else { break };
        if first {
            total.from = b.from;
            first = false;
        }
        total.to = b.to;
        total.batches += 1;
        total.claims += b.claims;
        total.reversals += b.reversals;
        total.double_payments += b.double_payments;
    }
    if first {
        total.from = high_water_mark(client, point)?;
        total.to = total.from;
    }
    Ok(total)
}

/// A database error in the middle of a sync, with what it leaves: the
/// batches committed before it stay, and the next sync resumes after them.
fn interrupted(e: Error, point: &str, done: &Synced) -> Error {
    match e {
        Error::Db { what, source } => Error::Db {
            what: format!(
                "{what} (point {point:?}: {} batch(es) of this sync committed before it, \
                 kept; nothing of the failed batch is; the next sync resumes from the \
                 point's high-water mark)",
                done.batches
            ),
            source,
        },
        other => other,
    }
}

/// The point's high-water mark: the byte offset just past its last shipped
/// record (0 when nothing was shipped).
pub fn high_water_mark(client: &mut Client, point: &str) -> Result<u64> {
    let row = client
        .query_opt(
            "SELECT log_offset FROM high_water_marks WHERE point = $1",
            &[&point],
        )
        .db(|| format!("reading point {point:?}'s high-water mark"))?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}

/// Registers `point` for `store_id`, or checks that it is registered for
/// it; refuses a store registered under another point's name.
pub(crate) fn register_point(client: &mut Client, point: &str, store_id: &str) -> Result<()> {
    if point.is_empty() {
        return Err(Error::Usage("--point must name the payout point".into()));
    }
    let mut tx = client
        .transaction()
        .db(|| format!("registering point {point:?}"))?;
    tx.execute(
        "INSERT INTO points (id, store_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&point, &store_id],
    )
    .db(|| format!("registering point {point:?}"))?;
    let row = tx
        .query_opt("SELECT store_id FROM points WHERE id = $1", &[&point])
        .db(|| format!("reading point {point:?}"))?;
    match row.map(|r| r.get::<_, String>(0)) {
        Some(known) if known == store_id => {}
        Some(known) => {
            return Err(Error::Point {
                point: point.into(),
                message: format!(
                    "it is store {known}'s, and this store is {store_id}: a point ships its own \
                     store's claims log only"
                ),
            });
        }
        None => {
            let other: Option<String> = tx
                .query_opt("SELECT id FROM points WHERE store_id = $1", &[&store_id])
                .db(|| format!("reading the point of store {store_id}"))?
                .map(|r| r.get(0));
            return Err(Error::Point {
                point: point.into(),
                message: format!(
                    "store {store_id} already ships as point {:?}: one store, one point",
                    other.unwrap_or_default()
                ),
            });
        }
    }
    tx.execute(
        "INSERT INTO high_water_marks (point) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&point],
    )
    .db(|| format!("creating point {point:?}'s high-water mark"))?;
    tx.commit().db(|| format!("registering point {point:?}"))
}

/// Runs `f` again when it lost a race that a retry resolves.
fn with_retries<T>(point: &str, retries: &mut u64, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(Error::Db { source, .. }) if tries < RETRIES && retryable(&source) => {
                tries += 1;
                *retries += 1;
            }
            Err(Error::Db { what, source }) if retryable(&source) => {
                return Err(Error::Db {
                    what: format!("{what} (point {point:?}, after {RETRIES} retries)"),
                    source,
                });
            }
            other => return other,
        }
    }
}

/// A batch that lost to another point's sync: both inserted the first
/// holder of one key (the unique index `claims_key_holder` lets one win;
/// the retry sees it and flags), or a deadlock between them.
fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || (*c == SqlState::UNIQUE_VIOLATION
                && e.as_db_error().and_then(|d| d.constraint()) == Some("claims_key_holder"))
    })
}

/// One shipped batch.
struct Batch {
    from: u64,
    to: u64,
    claims: u64,
    reversals: u64,
    double_payments: u64,
}

/// Ships up to `batch` records from the high-water mark in one
/// transaction; `None` when there was nothing past it.
fn ship_batch(
    client: &mut Client,
    store: &Store,
    point: &str,
    batch: usize,
    reveal: Option<&IdentityKey>,
) -> Result<Option<Batch>> {
    let mut tx = client
        .transaction()
        .db(|| format!("starting a batch of point {point:?}"))?;
    tx.batch_execute(stage::CREATE_STAGE)
        .db(|| "creating the staging table".into())?;
    let row = tx
        .query_one(
            "SELECT log_offset FROM high_water_marks WHERE point = $1 FOR UPDATE",
            &[&point],
        )
        .db(|| format!("locking point {point:?}'s high-water mark"))?;
    let from = row.get::<_, i64>(0) as u64;
    let mut records = read_batch(store, point, from, batch)?;
    if let Some(key) = reveal {
        records.iter_mut().for_each(|r| r.reveal(key));
    }
    let Some(last) = records.last() else {
        return Ok(None);
    };
    let (to, last_seq) = (last.end, last.seq);
    stage::copy(&mut tx, &records)?;
    let (claims, double_payments) = apply(&mut tx, point)?;
    let reversals = records.len() as u64 - claims;
    let moved = tx
        .execute(
            "UPDATE high_water_marks SET log_offset = $2, last_seq = $3,
                 records = records + $4, updated_at = now()
             WHERE point = $1 AND log_offset = $5",
            &[
                &point,
                &(to as i64),
                &(last_seq as i64),
                &(records.len() as i64),
                &(from as i64),
            ],
        )
        .db(|| format!("moving point {point:?}'s high-water mark to {to}"))?;
    if moved != 1 {
        return Err(Error::Point {
            point: point.into(),
            message: format!("its high-water mark moved away from {from} during the batch"),
        });
    }
    tx.commit()
        .db(|| format!("committing point {point:?}'s records {from}..{to}"))?;
    Ok(Some(Batch {
        from,
        to,
        claims,
        reversals,
        double_payments,
    }))
}

/// Up to `batch` records of the store's log from byte `from`.
fn read_batch(store: &Store, point: &str, from: u64, batch: usize) -> Result<Vec<LogRecord>> {
    let at = |source| Error::Store {
        what: format!(
            "reading store {}'s claims log from point {point:?}'s high-water mark {from}",
            store.id()
        ),
        source: Box::new(source),
    };
    store
        .claims_log_from(from)
        .map_err(at)?
        .take(batch)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(at)
}

/// The floor a sync is measured against (benches/ledger): every record of
/// `store`'s claims log read and `COPY`'d into the session's staging
/// table in batches of `batch`, each in a transaction of its own, as a
/// sync stages them, and nothing more: no insert into `claims`, no index,
/// no high-water mark. Returns the records copied.
pub fn copy_floor(client: &mut Client, store: &Store, batch: usize) -> Result<u64> {
    if batch == 0 {
        return Err(Error::Usage("a batch holds at least one record".into()));
    }
    let (mut from, mut copied) = (0, 0);
    loop {
        let records = read_batch(store, "floor", from, batch)?;
        let Some(last) = records.last() else {
            return Ok(copied);
        };
        from = last.end;
        let mut tx = client
            .transaction()
            .db(|| "starting a floor batch".into())?;
        tx.batch_execute(stage::CREATE_STAGE)
            .db(|| "creating the staging table".into())?;
        stage::copy(&mut tx, &records)?;
        tx.commit().db(|| "committing a floor batch".into())?;
        copied += records.len() as u64;
    }
}
