//! `tepat nik` as a user runs it: keys, values and exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn tepat(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn json_keys_for_valid_and_invalid() {
    let out = tepat(
        &[
            "nik",
            "--json",
            "--today",
            "2026-11-26",
            "3201015708900001",
            "32010157089a0001",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    let valid = &lines[0];
    assert_eq!(
        keys(valid),
        [
            "birth_date",
            "district",
            "district_code",
            "former",
            "nik",
            "province",
            "province_code",
            "regency",
            "regency_code",
            "serial",
            "sex",
            "valid"
        ]
    );
    assert_eq!(valid["nik"], "3201015708900001");
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["sex"], "F");
    assert_eq!(valid["birth_date"], "1990-08-17");
    assert_eq!(valid["province_code"], "32");
    assert_eq!(valid["regency_code"], "3201");
    assert_eq!(valid["district_code"], "320101");
    assert_eq!(valid["serial"], "0001");
    assert_eq!(valid["province"], "Jawa Barat");
    assert_eq!(valid["regency"], "Kabupaten Bogor");
    assert_eq!(valid["district"], "Cibinong");
    assert_eq!(valid["former"], false);

    let invalid = &lines[1];
    assert_eq!(keys(invalid), ["error", "nik", "valid"]);
    assert_eq!(invalid["nik"], "32010157089a0001");
    assert_eq!(invalid["valid"], false);
    assert!(invalid["error"].as_str().unwrap().contains("character 12"));
}

#[test]
fn papua_niks_are_strings_and_former_codes_are_flagged() {
    // 9101...: above 2^53, and regency 9101 was retired in 2022.
    let out = tepat(&["nik", "--json", "9101015708900001"], None);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert!(v["nik"].is_string());
    assert_eq!(v["former"], true);
    assert_eq!(v["district"], "Merauke");
}

#[test]
fn unknown_district_names_are_null() {
    // Province 32 exists; district 329999 is on no list.
    let out = tepat(&["nik", "--json", "3299995708900001"], None);
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert_eq!(v["valid"], true);
    assert!(v["regency"].is_null());
    assert!(v["district"].is_null());
    assert_eq!(v["former"], false);
}

#[test]
fn stdin_one_per_line_and_exit_status() {
    let out = tepat(
        &["nik", "--json"],
        Some("3201015708900001\r\n3201015708900002\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out).len(), 2);

    let out = tepat(&["nik"], Some("3201015708900001\nnope\n"));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("valid: female, born"), "{text}");
    assert!(text.contains("nope  invalid"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(tepat(&["nik", "--bogus"], None).status.code(), Some(2));
    assert_eq!(
        tepat(&["nik", "--today", "2026-02-30", "3201015708900001"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(tepat(&["frobnicate"], None).status.code(), Some(2));
}
