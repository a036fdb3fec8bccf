//! Hand-made inputs, one case per line: the matching rules, the work list's
//! reasons, duplicates, and rules read from a file.

mod common;

use std::path::Path;

use tepat::{Date, Nik, Sex};
use tepat_merge::{Args, parse_source};

const VILLAGE: &str = "3576011001";

fn nik(serial: u16, sex: Sex, birth: (u16, u8, u8)) -> String {
    let date = Date::new(birth.0, birth.1, birth.2).unwrap();
    Nik::from_parts(357601, sex, date, serial)
        .unwrap()
        .to_string()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

struct Case {
    dir: std::path::PathBuf,
    args: Args,
}

/// Civil persons: A and B share name, birth date and village (the same
/// name given twice on 1 January, as unknown birth dates are); C and D are
/// alone with theirs.
fn case(tag: &str, rules: Option<&str>) -> Case {
    let dir = common::temp(tag);
    let a = nik(1, Sex::Female, (1980, 1, 1));
    let b = nik(2, Sex::Female, (1980, 1, 1));
    let c = nik(1, Sex::Male, (1975, 6, 12));
    let d = nik(1, Sex::Male, (1990, 3, 4));
    let civil = [
        "nik,kk,relation,full_name,sex,birth_place,birth_date,village_code,deceased".to_owned(),
        format!(
            "{a},3576011501100001,ISTRI,SITI AMINAH,PEREMPUAN,MOJOKERTO,01-01-1980,{VILLAGE},0"
        ),
        format!(
            "{b},3576011501100002,ISTRI,SITI AMINAH,PEREMPUAN,MOJOKERTO,01-01-1980,{VILLAGE},0"
        ),
        format!(
            "{c},3576011501100003,KEPALA KELUARGA,DJOKO SOESILO,LAKI-LAKI,MOJOKERTO,12-06-1975,{VILLAGE},1"
        ),
        format!(
            "{d},3576011501100004,KEPALA KELUARGA,MUHAMMAD RIZKI,LAKI-LAKI,MOJOKERTO,04-03-1990,{VILLAGE},0"
        ),
    ];
    let mut typo = c.clone().into_bytes();
    typo.swap(14, 15); // the serial's last two digits
    let typo = String::from_utf8(typo).unwrap();
    let dtks = [
        "id_dtks,nik,kk,relation,full_name,sex,birth_date,village_code,decile,programs,updated"
            .to_owned(),
        format!("T1,,,spouse,Siti Aminah,P,1980-01-01,{VILLAGE},2,PKH,2026-05-01"),
        format!(
            "T2,{},,spouse,Siti Aminah,P,1980-01-01,{VILLAGE},2,,2026-05-01",
            nik(3, Sex::Female, (1980, 1, 1))
        ),
        format!("T3,{a},,head,BUDI,L,1971-02-03,{VILLAGE},2,,2026-05-01"),
        format!(
            "T4,{typo},3576011501100003,head,Joko Susilo,L,1975-06-12,{VILLAGE},3,SEMBAKO,2026-05-01"
        ),
        format!("T5,,,head,Moch. Rizki,L,1990-03-04,{VILLAGE},4,,2026-05-01"),
        format!(
            "T6,{d},3576011501100009,head,MUHAMMAD RIZKI,L,1990-03-04,{VILLAGE},5,PBI_JK,2026-06-01"
        ),
        format!("T7,3576019999999999,,head,NOBODY HERE,L,1990-03-04,{VILLAGE},5,,2026-06-01"),
        format!(
            "T8,{typo},3576011501100009,head,DJOKO SOESILO,L,1975-06-12,{VILLAGE},3,,2026-05-01"
        ),
    ];
    let p3ke = [
        "id_p3ke,nik,kk,full_name,birth_date,village_code,desil,extreme_poor,updated".to_owned(),
        format!("P1,{d},,MUHAMAD RIZKI,1990-03-04,{VILLAGE},1,1,2025-01-01"),
    ];
    let civil = write(&dir, "dukcapil.csv", &civil);
    let dtks = write(&dir, "dtks.csv", &dtks);
    let p3ke = write(&dir, "p3ke.csv", &p3ke);
    let rules = rules.map(|text| write(&dir, "merge.toml", &[text.to_owned()]));
    let args = Args {
        civil,
        sources: vec![
            parse_source(&format!("DTKS={}", dtks.display())).unwrap(),
            parse_source(&format!("P3KE={}", p3ke.display())).unwrap(),
        ],
        rules,
        out: dir.join("out"),
        threads: 2,
        links: true,
        ..Args::default()
    };
    Case { dir, args }
}

#[test]
fn each_rule_of_matching_and_each_reason() {
    let c = case("cases", None);
    let summary = tepat_merge::run(&c.args).unwrap();
    let out = &c.args.out;
    let links = common::rows(&out.join("links.csv"));
    let method = |id: &str| {
        links
            .iter()
            .find(|r| r[2] == id)
            .map(|r| (r[4].clone(), r[5].clone()))
    };
    let work = common::rows(&out.join("worklist/357601.csv"));
    let reason = |id: &str| {
        work.iter()
            .find(|r| r[2] == id)
            .map(|r| (r[7].clone(), r[8].clone()))
    };
    let (a, b) = (
        nik(1, Sex::Female, (1980, 1, 1)),
        nik(2, Sex::Female, (1980, 1, 1)),
    );
    let (c_nik, d) = (
        nik(1, Sex::Male, (1975, 6, 12)),
        nik(1, Sex::Male, (1990, 3, 4)),
    );
    let both = format!("{a}|{b}");
    // No NIK, two civil persons fit.
    assert_eq!(reason("T1"), Some(("ambiguous".into(), both.clone())));
    // A NIK one edit from both of them.
    assert_eq!(reason("T2"), Some(("ambiguous".into(), both)));
    // A's NIK with another name and birth date.
    assert_eq!(
        reason("T3"),
        Some(("nik_of_other_person".into(), a.clone()))
    );
    // Swapped digits, old spelling: corrected to C.
    assert_eq!(method("T4"), Some((c_nik.clone(), "nik_neighbour".into())));
    // The same typo on another family card's record: for a verifier.
    assert_eq!(reason("T8"), Some(("kk_differs".into(), c_nik.clone())));
    // No NIK, one civil person: D, and twice in DTKS (once with a stale KK).
    assert_eq!(method("T5"), Some((d.clone(), "without_nik".into())));
    assert_eq!(method("T6"), Some((d.clone(), "padan".into())));
    assert_eq!(method("P1"), Some((d.clone(), "padan".into())));
    // A NIK nobody has, a name nobody has.
    assert_eq!(
        reason("T7"),
        Some(("no_civil_identity".into(), String::new()))
    );
    let dtks = &summary.sources[0].counts;
    assert_eq!(
        (
            dtks.records,
            dtks.padan,
            dtks.corrected,
            dtks.matched_without_nik
        ),
        (8, 1, 1, 1)
    );
    assert_eq!((dtks.ambiguous, dtks.unmatched, dtks.duplicates), (4, 1, 1));
    assert_eq!((dtks.deceased, dtks.kk_corrected), (1, 1));
    // The register, by NIK: D (the newest decile: DTKS's 5 of June over
    // P3KE's 1 of January 2025) and C (deceased, the civil KK).
    let reg = common::rows(&out.join("register.csv"));
    assert_eq!(reg.len(), 2);
    assert_eq!((reg[0][0].as_str(), reg[0][6].as_str()), (d.as_str(), "5"));
    assert_eq!(
        reg[0][10], "PBI_JK",
        "the most recent DTKS record's programs"
    );
    assert_eq!(reg[1][0], c_nik);
    assert_eq!(
        (reg[1][1].as_str(), reg[1][7].as_str()),
        ("3576011501100003", "1")
    );
    std::fs::remove_dir_all(c.dir).unwrap();
}

#[test]
fn rules_from_a_file_decide_the_fields() {
    let rules = "[fields.decile]\nfrom = [\"P3KE\", \"DTKS\"]\n\n[fields.programs]\nfrom = [\"DTKS\"]\ndefault = \"\"\n";
    let c = case("rules", Some(rules));
    let summary = tepat_merge::run(&c.args).unwrap();
    let reg = common::rows(&c.args.out.join("register.csv"));
    // P3KE first: D's decile is 1; C is in DTKS only: 3.
    assert_eq!((reg[0][6].as_str(), reg[1][6].as_str()), ("1", "3"));
    assert_eq!(summary.rules, c.dir.join("merge.toml"));
    assert!(
        summary.warnings.iter().any(|w| w.contains("REGSOSEK")),
        "{:?}",
        summary.warnings
    );
    std::fs::remove_dir_all(c.dir).unwrap();
}

#[test]
fn a_field_nobody_gives_keeps_the_person_for_a_verifier() {
    let rules = "[fields.decile]\nfrom = [\"REGSOSEK\"]\n";
    let c = case("missing", Some(rules));
    let summary = tepat_merge::run(&c.args).unwrap();
    assert_eq!((summary.persons, summary.persons_missing_field), (0, 2));
    let work = common::rows(&c.args.out.join("worklist/357601.csv"));
    let missing: Vec<_> = work.iter().filter(|r| r[7] == "missing_field").collect();
    assert_eq!(missing.len(), 2);
    assert_eq!(missing[0][9], "no source gives decile");
    std::fs::remove_dir_all(c.dir).unwrap();
}
