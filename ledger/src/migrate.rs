//! The ledger's schema: versioned migrations (`ledger/migrations/NNN_name.sql`),
//! applied in order inside one transaction and recorded in
//! `schema_migrations`.
//!
//! Re-running is a no-op. A database that records a version this code does
//! not have (a newer tepat migrated it) is refused rather than written by
//! code that does not know its schema; so is one whose applied migration's
//! text differs from the repository's (a migration is never edited once
//! released: a change is a new file).

use postgres::Client;

use crate::error::{DbContext, Error, Result};

/// One migration: its version (the file's `NNN`), name and SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The version, from 1, without gaps.
    pub version: i32,
    /// The file's name after the number.
    pub name: &'static str,
    /// The SQL, run as one batch.
    pub sql: &'static str,
}

impl Migration {
    /// A checksum of the SQL, recorded when applied.
    pub fn checksum(&self) -> i64 {
        xxhash_rust::xxh3::xxh3_64(self.sql.as_bytes()) as i64
    }
}

/// Every migration, in order. A test checks this list against the files in
/// `ledger/migrations/`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "reservations",
        sql: include_str!("../migrations/002_reservations.sql"),
    },
    Migration {
        version: 3,
        name: "claims_by_request",
        sql: include_str!("../migrations/003_claims_by_request.sql"),
    },
];

/// The schema version this code reads and writes.
pub fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Serialises concurrent `tepat ledger init` runs (a transaction-scoped
/// advisory lock: the number is "tepat" in ASCII).
const MIGRATION_LOCK: i64 = 0x0074_6570_6174;

/// What [`migrate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// The version before.
    pub from: i32,
    /// The version after.
    pub to: i32,
    /// The migrations applied now, by version.
    pub applied: Vec<i32>,
}

/// Brings the database to [`MIGRATIONS`]' version.
pub fn migrate(client: &mut Client) -> Result<Migrated> {
    migrate_with(client, MIGRATIONS)
}

/// Brings the database to the last of `migrations` (in order, from 1),
/// in one transaction: all applied or none.
pub fn migrate_with(client: &mut Client, migrations: &[Migration]) -> Result<Migrated> {
    check_list(migrations)?;
    let mut tx = client
        .transaction()
        .db(|| "starting the migration transaction".into())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .db(|| "taking the migration lock".into())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             checksum   bigint NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .db(|| "creating schema_migrations".into())?;
    let recorded = recorded(&mut tx)?;
    check_recorded(&recorded, migrations)?;
    let from = recorded.last().map_or(0, |r| r.0);
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > from) {
        tx.batch_execute(m.sql)
            .db(|| format!("applying migration {:03}_{}.sql", m.version, m.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum()],
        )
        .db(|| format!("recording migration {:03}", m.version))?;
        applied.push(m.version);
    }
    tx.commit().db(|| "committing the migrations".into())?;
    let to = migrations.last().map_or(0, |m| m.version).max(from);
    Ok(Migrated { from, to, applied })
}

/// The version the database records (0: none, or no `schema_migrations`).
pub fn version(client: &mut Client) -> Result<i32> {
    let what = || "reading the ledger's schema version".to_string();
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .db(what)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .db(what)?;
    Ok(row.get(0))
}

/// Refuses a database whose schema is not exactly this code's: what
/// `tepat sync` and `tepat ledger report` check before they touch it.
pub fn require_current(client: &mut Client) -> Result<()> {
    let found = version(client)?;
    let want = current_version();
    match found.cmp(&want) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Error::Schema(format!(
            "the database is at version {found}, this tepat needs {want}: run `tepat ledger init --db URL`"
        ))),
        std::cmp::Ordering::Greater => Err(newer(found, want)),
    }
}

fn newer(found: i32, known: i32) -> Error {
    Error::Schema(format!(
        "the database is at version {found}, newer than this tepat knows ({known}): \
         a newer tepat migrated it; use that one"
    ))
}

/// (version, name, checksum) of every applied migration, in order.
fn recorded(tx: &mut postgres::Transaction<'_>) -> Result<Vec<(i32, String, i64)>> {
    let rows = tx
        .query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .db(|| "reading schema_migrations".into())?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

fn check_recorded(recorded: &[(i32, String, i64)], migrations: &[Migration]) -> Result<()> {
    let known = migrations.last().map_or(0, |m| m.version);
    for (version, name, checksum) in recorded {
        let Some(m) = migrations.iter().find(|m| m.version == *version) else {
            return Err(newer(*version, known));
        };
        if m.name != name || m.checksum() != *checksum {
            return Err(Error::Schema(format!(
                "migration {version:03} was applied as {name:?} with other SQL than this \
                 tepat's {:03}_{}.sql: the database's schema is not the one this code knows",
                m.version, m.name
            )));
        }
    }
    Ok(())
}

fn check_list(migrations: &[Migration]) -> Result<()> {
    for (i, m) in migrations.iter().enumerate() {
        if m.version != i as i32 + 1 {
            return Err(Error::Schema(format!(
                "migration {:03}_{} is at place {} of the list: versions run from 1 without gaps",
                m.version,
                m.name,
                i + 1
            )));
        }
    }
    Ok(())
}
