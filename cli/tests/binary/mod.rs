//! Running the `tepat` binary in the crash tests: a command with or
//! without a fault point, its success, a store built from a register, and
//! a store directory copied.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `tepat ARGS`, aborting at `fault` (`TEPAT_FAULT_AT`) if given.
pub fn tepat(args: &[&str], fault: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tepat"));
    cmd.args(args);
    match fault {
        Some(point) => cmd.env("TEPAT_FAULT_AT", point),
        None => cmd.env_remove("TEPAT_FAULT_AT"),
    };
    cmd.output().unwrap()
}

/// Asserts the command succeeded, showing its stderr if not.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tepat build` of `register` into `store`, as of 2026-11-01.
pub fn build(register: &Path, store: &Path) {
    ok(&tepat(
        &[
            "build",
            "--register",
            register.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
        ],
        None,
    ));
}

/// Copies a directory tree (a store, to crash a copy of it).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
