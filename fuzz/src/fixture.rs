//! A tiny register (a handful of families in three villages) and the
//! snapshot and store built from it, shared by the fuzz targets and by
//! `tests/fuzz_replay.rs`. Built from public API only.

use std::path::Path;
use std::sync::OnceLock;

use tepat::region::{Level, Region, Status};
use tepat::register::{PersonRecord, Relation};
use tepat::snapshot::SnapshotBuilder;
use tepat::{ComponentSet, Date, Kk, Nik, ProgramSet, RegionCode, RegionTable, Registry, Sex};

/// The villages of the tiny register (real codes of Kabupaten Bogor).
pub const VILLAGES: [u64; 3] = [3_201_012_001, 3_201_012_002, 3_201_022_001];

/// The eligibility reference date of every fixture snapshot.
pub fn as_of() -> Date {
    Date::new(2026, 11, 1).unwrap()
}

/// A region table with one province, one regency, two districts and the
/// three villages: enough for the builder, and a snapshot of a few KiB.
pub fn regions() -> &'static RegionTable {
    static TABLE: OnceLock<RegionTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let region = |level, value, name: &str| Region {
            code: RegionCode::new(level, value).unwrap(),
            name: name.to_owned(),
            status: Status::Current,
        };
        RegionTable::from_regions([
            region(Level::Province, 32, "Jawa Barat"),
            region(Level::Regency, 3201, "Kabupaten Bogor"),
            region(Level::District, 320_101, "Cibinong"),
            region(Level::District, 320_102, "Gunung Putri"),
            region(Level::Village, VILLAGES[0], "Pondok Rajeg"),
            region(Level::Village, VILLAGES[1], "Karadenan"),
            region(Level::Village, VILLAGES[2], "Wanaherang"),
        ])
    })
}

/// Six families, 17 persons: poor families enrolled in PKH and SEMBAKO with
/// young children, a better-off family, a deceased member, a civil servant,
/// a person enrolled in PBI_JK, and one NIK recorded twice (a duplicate
/// identity in two families).
pub fn records() -> &'static [PersonRecord] {
    static RECORDS: OnceLock<Vec<PersonRecord>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let registry = Registry::builtin();
        let set = |codes: &str| registry.parse_set(codes).unwrap();
        let date = |y, m, d| Date::new(y, m, d).unwrap();
        // (decile, family programs, members: (sex, birth, extra programs, deceased, civil servant))
        type Member = (Sex, Date, &'static str, bool, bool);
        let families: Vec<(u8, &str, Vec<Member>)> = vec![
            (
                2,
                "PKH|SEMBAKO",
                vec![
                    (Sex::Male, date(1985, 4, 2), "PBI_JK", false, false),
                    (Sex::Female, date(1988, 8, 17), "PBI_JK", false, false),
                    (Sex::Female, date(2022, 1, 9), "", false, false),
                ],
            ),
            (
                3,
                "PKH|SEMBAKO",
                vec![
                    (Sex::Female, date(1970, 12, 31), "", false, false),
                    (Sex::Male, date(2021, 7, 1), "PBI_JK", false, false),
                ],
            ),
            (
                1,
                "SEMBAKO",
                vec![
                    (Sex::Male, date(1950, 1, 1), "PBI_JK", true, false),
                    (Sex::Female, date(1955, 3, 3), "PBI_JK", false, false),
                ],
            ),
            (
                4,
                "PKH|SEMBAKO",
                vec![
                    (Sex::Male, date(1990, 5, 5), "", false, true),
                    (Sex::Female, date(1992, 6, 6), "", false, false),
                    (Sex::Male, date(2023, 2, 28), "", false, false),
                ],
            ),
            (
                8,
                "",
                vec![
                    (Sex::Male, date(1980, 10, 10), "", false, false),
                    (Sex::Female, date(1982, 11, 11), "PBI_JK", false, false),
                    (Sex::Female, date(2010, 9, 9), "", false, false),
                ],
            ),
            (
                2,
                "BLT_DD",
                vec![
                    (Sex::Female, date(1960, 2, 29), "PBI_JK", false, false),
                    (Sex::Male, date(2015, 12, 1), "", false, false),
                    (Sex::Male, date(2019, 4, 4), "", false, false),
                ],
            ),
        ];
        let mut out: Vec<PersonRecord> = Vec::new();
        let mut serial = 0u16;
        for (f, (decile, programs, members)) in families.into_iter().enumerate() {
            let village = VILLAGES[f % VILLAGES.len()];
            let district = (village / 10_000) as u32;
            let kk = Kk::from_parts(district, date(2015, 3, 15), f as u16 + 1).unwrap();
            for (m, (sex, birth, extra, deceased, civil_servant)) in members.into_iter().enumerate()
            {
                serial += 1;
                let mut programs = set(programs);
                if !extra.is_empty() {
                    programs = ProgramSet(programs.0 | set(extra).0);
                }
                out.push(PersonRecord {
                    nik: Nik::from_parts(district, sex, birth, serial).unwrap(),
                    kk,
                    relation: match m {
                        0 => Relation::Head,
                        1 => Relation::Spouse,
                        _ => Relation::Child,
                    },
                    village,
                    sex,
                    birth_date: birth,
                    decile,
                    deceased,
                    civil_servant,
                    components: ComponentSet::default(),
                    programs,
                });
            }
        }
        // A duplicate identity: the last person's NIK again, in family 1.
        let mut dup = out[out.len() - 1].clone();
        dup.kk = out[0].kk;
        dup.relation = Relation::Other;
        dup.village = out[0].village;
        out.push(dup);
        out
    })
}

/// The fixture snapshot's bytes (generation 1).
pub fn snapshot_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut b = SnapshotBuilder::new(Registry::builtin().clone(), regions(), as_of()).unwrap();
        for r in records() {
            b.add(r).unwrap();
        }
        let mut bytes = Vec::new();
        b.write(&mut bytes).unwrap();
        bytes
    })
}

/// Creates a fresh store over the fixture in the empty directory `dir`
/// (from the fixture snapshot, written once per process).
pub fn create_store(dir: &Path) -> tepat::Store {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let t = temp_dir();
        std::fs::write(t.path().join("fixture.tepat"), snapshot_bytes()).unwrap();
        t
    });
    let snapshot = template.path().join("fixture.tepat");
    tepat::Store::create_from_snapshot(dir, &snapshot, options()).unwrap()
}

/// How fuzz stores are opened: on 2026-11-15, so that the periods the
/// targets ask for (2026-Q4, 2026-11, ...) are open whatever the real date.
pub fn options() -> tepat::Options {
    tepat::Options::default().today(Date::new(2026, 11, 15).unwrap())
}

/// The built-in registry with PKH and SEMBAKO swapped (`swapped`) and the
/// `[policy] warn` list `warn`: an error when the store must refuse it.
pub fn registry_variant(swapped: bool, warn: &[&str]) -> tepat::Result<Registry> {
    let text = include_str!("../../data/programs.toml");
    let mut parts: Vec<String> = text.split("[[program]]").map(str::to_owned).collect();
    let head = parts.remove(0);
    if swapped {
        parts.swap(0, 1);
    }
    let quoted: Vec<String> = warn.iter().map(|w| format!("{w:?}")).collect();
    let head = head.replace(
        "warn = [\"not_eligible\", \"duplicate_identity\"]",
        &format!("warn = [{}]", quoted.join(", ")),
    );
    let text = format!("{head}[[program]]{}", parts.join("[[program]]"));
    Registry::from_toml_str(&text, None)
}

/// A builder of the fixture register under `registry` (enrolments carried
/// over by program code).
pub fn builder_for(registry: &Registry) -> SnapshotBuilder<'static> {
    let builtin = Registry::builtin();
    let mut b = SnapshotBuilder::new(registry.clone(), regions(), as_of()).unwrap();
    for r in records() {
        let mut r = r.clone();
        let mut set = tepat::ProgramSet::EMPTY;
        for code in builtin.format_set(r.programs).split('|') {
            if let Some(id) = registry.by_code(code) {
                set.insert(id);
            }
        }
        r.programs = set;
        b.add(&r).unwrap();
    }
    b
}

/// Where fuzz stores go: `TEPAT_FUZZ_TMP` if set (point it at a tmpfs such
/// as /dev/shm for speed: every claim syncs), else the system's temporary
/// directory.
fn base_dir() -> std::path::PathBuf {
    std::env::var_os("TEPAT_FUZZ_TMP")
        .filter(|b| !b.is_empty())
        .map_or_else(std::env::temp_dir, Into::into)
}

/// A fresh temporary directory for one store, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(base_dir()).unwrap()
}

/// A read-only store over the fixture, opened once per process (for
/// targets that never write: payee lists). A static is never dropped, so
/// its directory is named after the process and the directories of
/// processes that are gone are removed here.
pub fn shared_store() -> &'static tepat::Store {
    static STORE: OnceLock<tepat::Store> = OnceLock::new();
    STORE.get_or_init(|| {
        const PREFIX: &str = "tepat-fuzz-shared-";
        let base = base_dir();
        if Path::new("/proc/self").exists()
            && let Ok(entries) = std::fs::read_dir(&base)
        {
            for e in entries.flatten() {
                let name = e.file_name();
                let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("{PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        create_store(&dir)
    })
}

/// The fixture's NIKs as text, in record order.
pub fn nik_texts() -> Vec<String> {
    records().iter().map(|r| r.nik.to_string()).collect()
}
