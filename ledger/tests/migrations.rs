//! `tepat ledger init`: versioned migrations, applied in order in one
//! transaction, recorded, idempotent; a newer or edited schema refused.

mod common;

use common::TestDb;
use tepat_ledger::Error;
use tepat_ledger::migrate::{
    MIGRATIONS, Migration, current_version, migrate, migrate_with, version,
};

fn tables(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn migrations_apply_once_and_record_their_version() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.client();
    assert_eq!(version(&mut c).unwrap(), 0);
    let first = migrate(&mut c).unwrap();
    assert_eq!((first.from, first.to), (0, current_version()));
    assert_eq!(first.applied, (1..=current_version()).collect::<Vec<_>>());
    assert_eq!(
        tables(&mut c),
        [
            "claims",
            "high_water_marks",
            "points",
            "reservations",
            "reversals",
            "schema_migrations"
        ]
    );
    let again = migrate(&mut c).unwrap();
    assert!(
        again.applied.is_empty(),
        "a second run applied {:?}",
        again.applied
    );
    assert_eq!(version(&mut c).unwrap(), current_version());
    let recorded: i64 = c
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(recorded, MIGRATIONS.len() as i64);
}

#[test]
fn a_later_migration_applies_on_top_and_a_newer_database_is_refused() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.client();
    migrate(&mut c).unwrap();
    let mut next = MIGRATIONS.to_vec();
    next.push(Migration {
        version: current_version() + 1,
        name: "test_extra",
        sql: "CREATE TABLE test_extra (x integer)",
    });
    let done = migrate_with(&mut c, &next).unwrap();
    assert_eq!(done.applied, vec![current_version() + 1]);
    assert!(tables(&mut c).contains(&"test_extra".to_string()));
    // This code's list is now older than the database: refused, untouched.
    let err = migrate(&mut c).unwrap_err();
    assert!(matches!(err, Error::Schema(_)), "{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    let err = tepat_ledger::migrate::require_current(&mut c).unwrap_err();
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn an_edited_migration_is_refused() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.client();
    migrate(&mut c).unwrap();
    let edited = [Migration {
        version: 1,
        name: MIGRATIONS[0].name,
        sql: "CREATE TABLE points (id text)",
    }];
    let err = migrate_with(&mut c, &edited).unwrap_err();
    assert!(err.to_string().contains("other SQL"), "{err}");
}

#[test]
fn a_failing_migration_leaves_nothing_behind() {
    let Some(db) = TestDb::new() else { return };
    let mut c = db.client();
    let mut broken = MIGRATIONS.to_vec();
    broken.push(Migration {
        version: current_version() + 1,
        name: "broken",
        sql: "CREATE TABLE fine (x integer); SELECT no_such_function()",
    });
    let err = migrate_with(&mut c, &broken).unwrap_err();
    assert!(err.to_string().contains("_broken.sql"), "{err}");
    assert_eq!(version(&mut c).unwrap(), 0);
    assert!(tables(&mut c).is_empty(), "{:?}", tables(&mut c));
}

#[test]
fn the_list_matches_the_migration_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let listed: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:03}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(files, listed);
    for m in MIGRATIONS {
        let text = std::fs::read_to_string(dir.join(format!("{:03}_{}.sql", m.version, m.name)));
        assert_eq!(text.unwrap(), m.sql);
    }
}

#[test]
fn the_init_command_migrates_then_does_nothing() {
    let Some(db) = TestDb::new() else { return };
    let run = || {
        let out = std::process::Command::new(common::tepat_bin())
            .args(["ledger", "init", "--db", &db.url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("applied 001"), "{first}");
    let second = run();
    assert!(second.contains("nothing to do"), "{second}");
    assert_eq!(version(&mut db.client()).unwrap(), current_version());
}
