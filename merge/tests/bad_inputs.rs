//! Bad inputs stop the merge with an error naming file, line and field,
//! and leave the output directory as it was.

mod common;

use std::path::{Path, PathBuf};

use tepat_merge::{Args, MergeError, parse_source};

const CIVIL: &str = "nik,kk,relation,full_name,sex,birth_place,birth_date,village_code,deceased\n\
3576014101800001,3576011501100001,ISTRI,SITI AMINAH,PEREMPUAN,MOJOKERTO,01-01-1980,3576011001,0\n\
3576011206750001,3576011501100003,KEPALA KELUARGA,JOKO,LAKI-LAKI,MOJOKERTO,12-06-1975,3576011001,0\n";

const DTKS: &str = "id_dtks,nik,full_name,birth_date,village_code,decile\n\
T1,3576014101800001,SITI AMINAH,1980-01-01,3576011001,2\n\
T2,,JOKO,1975-06-12,3576011001,3\n";

fn setup(tag: &str, civil: &str, dtks: &str) -> (PathBuf, Args) {
    let dir = common::temp(tag);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dukcapil.csv"), civil).unwrap();
    std::fs::write(dir.join("dtks.csv"), dtks).unwrap();
    let args = Args {
        civil: dir.join("dukcapil.csv"),
        sources: vec![parse_source(&format!("DTKS={}", dir.join("dtks.csv").display())).unwrap()],
        out: dir.join("out"),
        threads: 2,
        ..Args::default()
    };
    (dir, args)
}

/// The files under `dir`, with their contents.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(snapshot(&p));
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn fails_cleanly(tag: &str, civil: &str, dtks: &str, want: &[&str]) -> MergeError {
    // Once into a fresh directory, once over an earlier merge's output.
    let (dir, args) = setup(tag, CIVIL, DTKS);
    tepat_merge::run(&args).unwrap();
    let before = snapshot(&args.out);
    std::fs::write(dir.join("dukcapil.csv"), civil).unwrap();
    std::fs::write(dir.join("dtks.csv"), dtks).unwrap();
    let err = tepat_merge::run(&args).unwrap_err();
    assert!(
        snapshot(&args.out) == before,
        "{tag}: the old output changed"
    );
    std::fs::remove_dir_all(&args.out).unwrap();
    let again = tepat_merge::run(&args).unwrap_err();
    assert!(
        !args.out.exists(),
        "{tag}: a failed run left {}",
        args.out.display()
    );
    let text = err.to_string();
    assert_eq!(text, again.to_string());
    for w in want {
        assert!(text.contains(w), "{tag}: {text:?} lacks {w:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
    err
}

#[test]
fn a_wrong_header_is_named() {
    let civil = CIVIL.replace("birth_date,", "born,");
    let e = fails_cleanly(
        "header",
        &civil,
        DTKS,
        &["dukcapil.csv, line 1, birth_date: required column missing"],
    );
    assert_eq!(e.line(), Some(1));
    fails_cleanly(
        "empty",
        CIVIL,
        "",
        &["dtks.csv, line 1, header: the file is empty"],
    );
}

#[test]
fn a_column_named_twice_is_named() {
    let dtks = DTKS
        .replace("decile\n", "nik\n")
        .replace(",2\n", ",x\n")
        .replace(",3\n", ",y\n");
    fails_cleanly(
        "twice",
        CIVIL,
        &dtks,
        &["dtks.csv, line 1, nik: column named twice (columns 2 and 6)"],
    );
    let dtks = DTKS
        .replace("decile\n", "decile,desil\n")
        .replace(",2\n", ",2,2\n")
        .replace(",3\n", ",3,3\n");
    fails_cleanly(
        "alias",
        CIVIL,
        &dtks,
        &["dtks.csv, line 1, desil: means the same field as column 6 (decile)"],
    );
}

#[test]
fn bad_rows_are_named_by_line_and_field() {
    let bad_date = DTKS.replace("1975-06-12", "1975-02-30");
    fails_cleanly(
        "date",
        CIVIL,
        &bad_date,
        &["dtks.csv, line 3, birth_date: \"1975-02-30\" is not a date"],
    );
    let short = format!("{DTKS}T3,,ONLY THREE\n");
    fails_cleanly(
        "short",
        CIVIL,
        &short,
        &["dtks.csv, line 4, row: 3 fields, the header has 6"],
    );
    let civil = CIVIL.replace("3576011206750001,", "3576011206750000,");
    fails_cleanly(
        "civil-nik",
        &civil,
        DTKS,
        &["dukcapil.csv, line 3, nik: invalid NIK"],
    );
    let decile = DTKS.replace(",3\n", ",11\n");
    fails_cleanly(
        "decile",
        CIVIL,
        &decile,
        &["dtks.csv, line 3, decile: \"11\" is not a decile 1-10"],
    );
    // Many bad rows over several blocks: always the first is reported.
    let mut many = String::from(DTKS);
    for i in 0..200_000 {
        many.push_str(&format!("X{i},,JOKO,1975-06-12,3576011001,3\n"));
    }
    many.push_str("Y,,JOKO,12-13-1975,3576011001,3\n");
    for _ in 0..1000 {
        many.push_str("Z,,JOKO,1975-06-12,3576011001,0\n");
    }
    fails_cleanly(
        "first",
        CIVIL,
        &many,
        &["dtks.csv, line 200004, birth_date"],
    );
}

#[test]
fn a_nik_twice_in_the_civil_register_is_refused() {
    let civil = format!(
        "{CIVIL}3576014101800001,3576011501100009,ANAK,SITI,PEREMPUAN,MOJOKERTO,01-01-1980,3576011001,0\n"
    );
    fails_cleanly(
        "dup",
        &civil,
        DTKS,
        &["dukcapil.csv, line 4, nik: 3576014101800001 is already on line 2"],
    );
}

#[test]
fn bad_arguments_and_rules() {
    assert!(parse_source("DTKS").is_err());
    assert!(parse_source("dtks=x.csv").is_err());
    assert!(parse_source("DUKCAPIL=x.csv").is_err());
    assert!(parse_source("DTKS=").is_err());
    let (dir, mut args) = setup("args", CIVIL, DTKS);
    args.sources.push(args.sources[0].clone());
    let e = tepat_merge::run(&args).unwrap_err();
    assert!(e.to_string().contains("DTKS given twice"), "{e}");
    args.sources.pop();
    std::fs::write(
        dir.join("merge.toml"),
        "[fields.colour]\nfrom = [\"DTKS\"]\n",
    )
    .unwrap();
    args.rules = Some(dir.join("merge.toml"));
    let e = tepat_merge::run(&args).unwrap_err();
    assert!(
        e.to_string()
            .contains("merge.toml: fields.colour: not a register field"),
        "{e}"
    );
    assert!(!args.out.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_killed_run_leaves_scratch_the_next_run_removes() {
    let (dir, args) = setup("restart", CIVIL, DTKS);
    let scratch = args.out.join(".merge.tmp/scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join("s-3576.1.0.0"), b"half a record").unwrap();
    tepat_merge::run(&args).unwrap();
    assert!(!args.out.join(".merge.tmp").exists());
    let names: Vec<String> = std::fs::read_dir(&args.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        ["register.csv", "report.csv", "summary.json", "worklist"]
    );
    std::fs::remove_dir_all(dir).unwrap();
}
