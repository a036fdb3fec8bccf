//! The store commands as an operator runs them: `tepat build` into a new
//! directory, `tepat apply`, and `tepat get`, which shows the current state
//! of a person (the snapshot plus pending changes) and agrees with `check`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use tepat::Registry;
use tepat::register::{HEADER, PersonRecord};

fn tepat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tepat"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Writes `records` as a register export and builds a store from it with
/// `tepat build`.
fn build(records: &[PersonRecord], dir: &Path) -> std::path::PathBuf {
    build_with(records, dir, &[])
}

/// [`build`] with more arguments to `tepat build`.
fn build_with(records: &[PersonRecord], dir: &Path, more: &[&str]) -> std::path::PathBuf {
    let mut csv = format!("{HEADER}\n").into_bytes();
    for r in records {
        r.write_csv(Registry::builtin(), &mut csv).unwrap();
    }
    let register = dir.join("register.csv");
    std::fs::write(&register, csv).unwrap();
    let store = dir.join("store");
    let mut args = vec![
        "build",
        "--register",
        register.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ];
    args.extend_from_slice(more);
    let out = tepat(&args);
    assert!(out.status.success(), "build: {}", text(&out.stderr));
    store
}

fn get_json(store: &Path, nik: &str) -> serde_json::Value {
    let out = tepat(&["get", "--store", store.to_str().unwrap(), "--json", nik]);
    assert!(out.status.success(), "get: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn get_shows_a_pending_death_and_agrees_with_check() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(30, 5);
    let person = records
        .iter()
        .find(|r| !r.deceased && !r.programs.is_empty())
        .unwrap();
    let nik = person.nik.to_string();
    let store = build(&records, dir.path());

    let before = get_json(&store, &nik);
    assert_eq!(before["deceased"], false, "{before}");
    assert_eq!(before["pending"], false, "{before}");

    let changes = dir.path().join("changes.csv");
    std::fs::write(
        &changes,
        format!(
            "{}\ndeath,{nik},,,,,,,,,,,,2026-11-20\n",
            tepat::change::HEADER
        ),
    )
    .unwrap();
    let applied = tepat(&[
        "apply",
        "--store",
        store.to_str().unwrap(),
        changes.to_str().unwrap(),
    ]);
    assert!(applied.status.success(), "{}", text(&applied.stderr));

    let after = get_json(&store, &nik);
    assert_eq!(after["deceased"], true, "{after}");
    assert_eq!(after["pending"], true, "{after}");
    assert_eq!(after["new"], false, "{after}");
    assert!(
        after["changed"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("deceased")),
        "{after}"
    );
    // The readable form says so too.
    let out = tepat(&["get", "--store", store.to_str().unwrap(), &nik]);
    let shown = text(&out.stdout);
    assert!(shown.contains("DECEASED"), "{shown}");
    assert!(shown.contains("pending change"), "{shown}");
    // And check agrees: the person is refused as deceased.
    let program = Registry::builtin()
        .format_set(person.programs)
        .split('|')
        .next()
        .unwrap()
        .to_owned();
    let period = if program == "PBI_JK" {
        "2026-11"
    } else {
        "2026-Q4"
    };
    let check = tepat(&[
        "check",
        "--store",
        store.to_str().unwrap(),
        "--json",
        &nik,
        &program,
        period,
    ]);
    let verdict: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let codes: Vec<&str> = verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert!(codes.contains(&"deceased"), "{verdict}");
}

#[test]
fn build_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(5, 9);
    let store = build(&records, dir.path());
    // A second first build into the same store: refused, nothing changed.
    let register = dir.path().join("register.csv");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let out = tepat(&[
        "build",
        "--register",
        register.to_str().unwrap(),
        "--store",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    // The real store still answers.
    let nik = records[0].nik.to_string();
    assert_eq!(get_json(&store, &nik)["found"], true);
}

/// Runs `tepat ARGS | head -c 0`-like: stdout closed before the command
/// writes. The command must end quietly (exit 0, nothing on stderr about a
/// panic), never exit 101.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tepat"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away
    child.wait_with_output().unwrap()
}

/// Finding 11: a closed pipe made `claim --json | true`, `info | head -1`,
/// `check` and `verify` panic (exit 101). Now they end quietly, and the
/// claim is recorded all the same.
#[test]
fn a_closed_pipe_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(30, 5);
    let store = build(&records, dir.path());
    let s = store.to_str().unwrap();
    let nik = records
        .iter()
        .find(|r| !r.deceased && !r.programs.is_empty())
        .unwrap()
        .nik
        .to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["info", "--store", s],
        vec!["verify", "--store", s],
        vec![
            "check",
            "--store",
            s,
            "--today",
            "2026-11-15",
            &nik,
            "PBI_JK",
            "2026-11",
        ],
        vec!["get", "--store", s, &nik],
        vec![
            "claim",
            "--store",
            s,
            "--today",
            "2026-11-15",
            "--request",
            "pipe-1",
            "--json",
            &nik,
            "PBI_JK",
            "2026-11",
        ],
        vec!["audit", "--store", s],
    ];
    for _ in 0..5 {
        for args in &runs {
            let out = with_closed_stdout(args);
            let stderr = text(&out.stderr);
            assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    }
    // The claim whose answer nobody read is on record.
    let out = tepat(&["audit", "--store", s, "--request", "pipe-1"]);
    assert!(
        text(&out.stdout).contains("pipe-1"),
        "{}",
        text(&out.stdout)
    );
}

/// Finding 13: two first builds into one new directory raced, and the one
/// that exited 0 could describe the other's register. Now exactly one
/// creates the store, and the store is that one's register.
#[test]
fn two_first_builds_into_one_directory_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (common::register(5, 1), common::register(40, 2));
    let write = |name: &str, records: &[PersonRecord]| {
        let mut csv = format!("{HEADER}\n").into_bytes();
        for r in records {
            r.write_csv(Registry::builtin(), &mut csv).unwrap();
        }
        let path = dir.path().join(name);
        std::fs::write(&path, csv).unwrap();
        path
    };
    let (a, b) = (write("a.csv", &small), write("b.csv", &large));
    for round in 0..8 {
        let store = dir.path().join(format!("store-{round}"));
        let spawn = |register: &Path| {
            Command::new(env!("CARGO_BIN_EXE_tepat"))
                .arg("build")
                .arg("--register")
                .arg(register)
                .arg("--store")
                .arg(&store)
                .output()
        };
        let (out_a, out_b) = std::thread::scope(|s| {
            let ta = s.spawn(|| spawn(&a).unwrap());
            let tb = s.spawn(|| spawn(&b).unwrap());
            (ta.join().unwrap(), tb.join().unwrap())
        });
        let ok: Vec<bool> = [&out_a, &out_b]
            .iter()
            .map(|o| o.status.success())
            .collect();
        assert_eq!(
            ok.iter().filter(|x| **x).count(),
            1,
            "round {round}: {ok:?}"
        );
        let winner = if ok[0] { &small } else { &large };
        let loser = if ok[0] { &out_b } else { &out_a };
        assert!(
            text(&loser.stderr).contains("store"),
            "{}",
            text(&loser.stderr)
        );
        let info = tepat(&["info", "--store", store.to_str().unwrap()]);
        let persons = format!("persons     {} ", winner.len());
        assert!(
            text(&info.stdout).contains(&persons),
            "round {round}: {}",
            text(&info.stdout)
        );
    }
}

/// Finding 10: `tepat verify` checked the snapshot alone and said ok on a
/// store whose claims log stopped every check.
#[test]
fn verify_names_a_damaged_claims_log() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(30, 5);
    let store = build(&records, dir.path());
    let s = store.to_str().unwrap();
    let nik = records
        .iter()
        .find(|r| !r.deceased && !r.programs.is_empty())
        .unwrap()
        .nik
        .to_string();
    for (i, period) in ["2026-11", "2026-10"].iter().enumerate() {
        let id = format!("v-{i}");
        tepat(&[
            "claim",
            "--store",
            s,
            "--today",
            "2026-11-15",
            "--request",
            &id,
            &nik,
            "PBI_JK",
            period,
        ]);
    }
    let ok = tepat(&["verify", "--store", s]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("claims log 2 records"),
        "{}",
        text(&ok.stdout)
    );
    // A flipped byte in the first record.
    let log = store.join("claims.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[40] ^= 0x10;
    std::fs::write(&log, &bytes).unwrap();
    let bad = tepat(&["verify", "--store", s]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("claims.log"),
        "{}",
        text(&bad.stderr)
    );
    // The snapshot alone still verifies (it is not what is damaged).
    let snap = tepat(&["verify", "--store", s, "--snapshot-only"]);
    assert!(snap.status.success());
}

/// Issue findings 1 and 3 as an operator meets them: an export whose every
/// row is rejected makes no store and refreshes none; a refresh goes
/// through, prints its difference, and `tepat rollback` undoes it; the
/// same change file applied twice is recognised.
#[test]
fn guarded_builds_refreshes_rollback_and_a_change_file_twice() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(30, 5);
    let garbage = dir.path().join("garbage.csv");
    std::fs::write(&garbage, format!("{HEADER}\n1,2,3\nx,y,z\n")).unwrap();
    let first = dir.path().join("first");
    let out = tepat(&[
        "build",
        "--register",
        garbage.to_str().unwrap(),
        "--store",
        first.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rejected"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !first.join("CURRENT").exists(),
        "a store was made of nothing"
    );

    let store = build(&records, dir.path());
    let s = store.to_str().unwrap();
    let refresh = |register: &Path, extra: &[&str]| {
        let mut args = vec![
            "build",
            "--register",
            register.to_str().unwrap(),
            "--store",
            s,
            "--as-of",
            "2026-11-01",
        ];
        args.extend_from_slice(extra);
        tepat(&args)
    };
    let out = refresh(&garbage, &[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
    let info = text(&tepat(&["info", "--store", s]).stdout);
    assert!(info.contains("generation  1"), "{info}");

    let register = dir.path().join("register.csv");
    let out = refresh(&register, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("difference from the current generation"),
        "{}",
        text(&out.stderr)
    );
    let out = tepat(&["rollback", "--store", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&tepat(&["info", "--store", s]).stdout);
    assert!(info.contains("generation  1"), "{info}");

    let nik = records
        .iter()
        .find(|r| !r.deceased)
        .unwrap()
        .nik
        .to_string();
    let changes = dir.path().join("changes.csv");
    std::fs::write(
        &changes,
        format!(
            "{}\ndeath,{nik},,,,,,,,,,,,2026-11-20\n",
            tepat::change::HEADER
        ),
    )
    .unwrap();
    let apply = || tepat(&["apply", "--store", s, changes.to_str().unwrap()]);
    assert!(apply().status.success());
    let again = apply();
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("applied before"),
        "{}",
        text(&again.stderr)
    );
}

/// `tepat batch payees.csv` writes `payees.verdicts.csv` and
/// `payees.summary.json` beside the list, and reads a `;`-separated
/// spreadsheet export.
#[test]
fn batch_names_its_outputs_after_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(20, 3);
    let store = build(&records, dir.path());
    let payees = dir.path().join("payees.csv");
    let rows: String = records
        .iter()
        .take(5)
        .map(|r| format!("{};PKH;2026-Q4\r\n", r.nik))
        .collect();
    std::fs::write(&payees, format!("\u{feff}NIK;Program;Period\r\n{rows}")).unwrap();
    let out = tepat(&[
        "batch",
        "--store",
        store.to_str().unwrap(),
        "--today",
        "2026-11-15",
        payees.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "batch: {}", text(&out.stderr));
    let verdicts = std::fs::read_to_string(dir.path().join("payees.verdicts.csv")).unwrap();
    assert_eq!(verdicts.lines().count(), 6, "{verdicts}");
    assert!(verdicts.starts_with("line,NIK,Program,Period,payable,reasons,detail\n"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("payees.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["rows"], 5);
    assert!(!dir.path().join("payees.csv.verdicts.csv").exists());
}

/// The keeper's key pair from `tepat key new --signing`, a store built
/// with it, and a point that trusts it: opens for the keeper's key, not
/// for another; a loose key file is warned of.
#[test]
fn a_signed_build_opens_only_where_its_key_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keeper.key");
    let made = tepat(&["key", "new", "--signing", "--out", key.to_str().unwrap()]);
    assert!(made.status.success(), "key new: {}", text(&made.stderr));
    let public = text(&made.stdout).trim().to_owned();
    assert!(public.starts_with("ed25519:"), "{public}");
    let pub_file = dir.path().join("keeper.key.pub");
    assert_eq!(std::fs::read_to_string(&pub_file).unwrap().trim(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again = tepat(&["key", "new", "--signing", "--out", key.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing key is never overwritten"
    );

    let records = common::register(20, 8);
    let store = build_with(&records, dir.path(), &["--sign-key", key.to_str().unwrap()]);
    let s = store.to_str().unwrap();
    let info = tepat(&["info", "--store", s]);
    assert!(
        text(&info.stdout).contains(&format!("signed by   {public}")),
        "{}",
        text(&info.stdout)
    );

    let nik = records[0].nik.to_string();
    let trusted = tepat(&[
        "get",
        "--store",
        s,
        "--trust",
        pub_file.to_str().unwrap(),
        &nik,
    ]);
    assert!(
        trusted.status.success(),
        "trusted: {}",
        text(&trusted.stderr)
    );

    let other = dir.path().join("other.key");
    let made = tepat(&["key", "new", "--signing", "--out", other.to_str().unwrap()]);
    let other_public = text(&made.stdout).trim().to_owned();
    let refused = tepat(&["get", "--store", s, "--trust", &other_public, &nik]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("not a trusted key"),
        "{}",
        text(&refused.stderr)
    );

    // Compacting a trusting store needs the key; a loose key file warns.
    let compact = tepat(&["compact", "--store", s, "--trust", &public]);
    assert!(!compact.status.success());
    assert!(
        text(&compact.stderr).contains("--sign-key"),
        "{}",
        text(&compact.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let compact = tepat(&[
        "compact",
        "--store",
        s,
        "--trust",
        &public,
        "--sign-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        compact.status.success(),
        "compact: {}",
        text(&compact.stderr)
    );
    #[cfg(unix)]
    assert!(
        text(&compact.stderr).contains("readable by others"),
        "{}",
        text(&compact.stderr)
    );
}

/// `tepat subset` for one point and for a plan of two, signed; a plan
/// with a bad region is refused naming its line.
#[test]
fn subset_cuts_points_from_the_arguments_and_from_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(200, 4);
    let national = build(&records, dir.path());
    let n = national.to_str().unwrap();
    // The province of the first family's village, and another.
    let first = records[0].village.to_string();
    let province = &first[..2];
    let point = dir.path().join("point");
    let out = tepat(&[
        "subset",
        "--store",
        n,
        "--regions",
        &first[..4],
        "--programs",
        "PKH,SEMBAKO",
        "--out",
        point.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "subset: {}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.lines().nth(1).unwrap().starts_with("point\t"),
        "{table}"
    );
    let nik = records[0].nik.to_string();
    let got = tepat(&["get", "--store", point.to_str().unwrap(), &nik]);
    assert!(
        got.status.success(),
        "the first family is at the point: {}",
        text(&got.stderr)
    );

    let key = dir.path().join("k");
    assert!(
        tepat(&["key", "new", "--signing", "--out", key.to_str().unwrap()])
            .status
            .success()
    );
    let plan = dir.path().join("points.csv");
    std::fs::write(
        &plan,
        format!(
            "point_id,regions,programs\nwest,{province},\neast,{}|{},PKH\n",
            &first[..4],
            "91"
        ),
    )
    .unwrap();
    let points = dir.path().join("points");
    let cut_plan = |out: &Path, more: &[&str]| {
        let mut args = vec!["subset", "--store", n, "--plan", plan.to_str().unwrap()];
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(more);
        tepat(&args)
    };
    let out = cut_plan(&points, &["--sign-key", key.to_str().unwrap()]);
    assert!(out.status.success(), "plan: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        3,
        "{}",
        text(&out.stdout)
    );
    let public = std::fs::read_to_string(dir.path().join("k.pub")).unwrap();
    let west = points.join("west");
    let trusted = tepat(&[
        "get",
        "--store",
        west.to_str().unwrap(),
        "--trust",
        public.trim(),
        &nik,
    ]);
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));

    std::fs::write(&plan, "point_id,regions,programs\nok,32,\nbad,32x1,\n").unwrap();
    let out = cut_plan(&dir.path().join("again"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("points.csv:3: regions"),
        "{}",
        text(&out.stderr)
    );
}

/// A keyed point from the command line: `tepat key new` makes the key
/// (mode 0600), `subset --key` cuts with it, the point answers only with
/// it, warns of a key others can read, and `audit --reveal` gives the
/// keeper the NIKs behind the pseudonyms.
#[test]
fn a_keyed_point_opens_with_its_key_and_the_keeper_reveals_its_claims() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let records = common::register(120, 8);
    let national = build(&records, dir.path());
    let key = dir.path().join("point.key");
    let made = tepat(&["key", "new", "--out", key.to_str().unwrap()]);
    assert!(made.status.success(), "key new: {}", text(&made.stderr));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = tepat(&["key", "new", "--out", key.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing key is never overwritten"
    );
    let first = records[0].village.to_string();
    let point = dir.path().join("point");
    let (p, k) = (point.to_str().unwrap(), key.to_str().unwrap());
    let out = tepat(&[
        "subset",
        "--store",
        national.to_str().unwrap(),
        "--regions",
        &first[..4],
        "--key",
        k,
        "--out",
        p,
    ]);
    assert!(out.status.success(), "subset: {}", text(&out.stderr));
    let info = tepat(&["info", "--store", p]);
    assert!(
        text(&info.stdout).contains("identities  keyed"),
        "{}",
        text(&info.stdout)
    );

    let nik = records[0].nik.to_string();
    let check = |more: &[&str]| {
        let mut args = vec!["check", "--store", p, "--json"];
        args.extend_from_slice(more);
        args.extend_from_slice(&[&nik, "PBI_JK", "2026-11"]);
        tepat(&args)
    };
    let without = check(&[]);
    assert_eq!(without.status.code(), Some(2));
    assert!(
        text(&without.stderr).contains("opens only with its identity key"),
        "{}",
        text(&without.stderr)
    );
    let with = check(&["--key", k]);
    assert_ne!(with.status.code(), Some(2), "{}", text(&with.stderr));
    assert!(
        !text(&with.stdout).contains("unknown_nik"),
        "{}",
        text(&with.stdout)
    );
    assert!(
        text(&with.stderr).is_empty(),
        "no warning for 0600: {}",
        text(&with.stderr)
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let claim = tepat(&[
        "claim",
        "--store",
        p,
        "--key",
        k,
        "--request",
        "c-1",
        &nik,
        "PBI_JK",
        "2026-11",
    ]);
    assert!(
        text(&claim.stderr).contains("readable by others"),
        "a loose key file is warned of: {}",
        text(&claim.stderr)
    );
    let audit = tepat(&["audit", "--store", p, "--key", k]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    assert!(
        !text(&audit.stdout).contains(&nik),
        "{}",
        text(&audit.stdout)
    );
    assert!(
        text(&audit.stdout).contains("\"nik\":\"k"),
        "{}",
        text(&audit.stdout)
    );
    let revealed = tepat(&["claims", "--store", p, "--key", k, "--reveal"]);
    assert!(revealed.status.success(), "{}", text(&revealed.stderr));
    assert!(
        text(&revealed.stdout).contains(&nik),
        "{}",
        text(&revealed.stdout)
    );
}
