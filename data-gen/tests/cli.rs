//! The command line: good runs, and clear errors with exit status 2.

use std::process::Command;

fn tepat_gen_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tepat-gen"))
}

#[test]
fn a_small_run_writes_every_file() {
    let dir = std::env::temp_dir().join(format!("tepat-gen-cli-{}", std::process::id()));
    let out = tepat_gen_cmd()
        .args([
            "--persons",
            "5000",
            "--seed",
            "3",
            "--threads",
            "2",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in tepat_gen::output::FILES {
        assert!(dir.join(f).exists(), "{f}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("persons/s"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let cases: [&[&str]; 6] = [
        &["--persons", "0", "--out", "/tmp/x"],
        &["--persons", "abc", "--out", "/tmp/x"],
        &[
            "--persons",
            "10",
            "--as-of",
            "2026-02-30",
            "--out",
            "/tmp/x",
        ],
        &[
            "--persons",
            "10",
            "--as-of",
            "1990-01-01",
            "--out",
            "/tmp/x",
        ],
        &["--persons", "10", "--threads", "0", "--out", "/tmp/x"],
        &["--persons", "10"],
    ];
    for args in cases {
        let out = tepat_gen_cmd().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn an_unwritable_output_exits_2() {
    let file = std::env::temp_dir().join(format!("tepat-gen-notadir-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let out = tepat_gen_cmd()
        .args(["--persons", "100", "--out"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write"), "{stderr}");
    std::fs::remove_file(file).unwrap();
}
