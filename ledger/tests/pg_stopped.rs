//! PostgreSQL stopped in the middle of `tepat sync`, then started again:
//! the sync fails with a clear error, the ledger holds exactly the batches
//! committed before the stop, and the next sync resumes from the point's
//! high-water mark.
//!
//! The server stopped is one of this test's own (`initdb` into a temporary
//! directory, started and stopped with `pg_ctl`, `-m immediate`: as a crash
//! would stop it), not the machine's shared one, which other tests use at
//! the same time. It runs as the `postgres` user when the test runs as
//! root (PostgreSQL refuses to run as root).

mod common;
#[path = "../../tests/common/mod.rs"]
mod stores;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{check_prefix, claim_every, log_positions, tepat_bin};

/// PostgreSQL's programs, where Debian puts them.
fn pg_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// A PostgreSQL server of this test's own.
struct PrivateServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PrivateServer {
    fn new(bin: PathBuf) -> PrivateServer {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = running_as_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the server's directory to postgres");
        }
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let server = PrivateServer {
            bin,
            data: dir.path().join("data"),
            port,
            as_postgres,
            _dir: dir,
        };
        let data = server.data.to_str().unwrap().to_owned();
        server.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        server
    }

    /// One of PostgreSQL's programs (run as `postgres` when root).
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    /// Runs one of PostgreSQL's programs; it must succeed.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let data = self.data.to_str().unwrap();
        let socket_dir = self.data.parent().unwrap().to_str().unwrap();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port
        );
        let log = self.data.parent().unwrap().join("server.log");
        let log = log.to_str().unwrap();
        self.run(
            "pg_ctl",
            &["-D", data, "-l", log, "-o", &options, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash would: no checkpoint, every
    /// connection cut.
    fn stop_now(&self) {
        let data = self.data.to_str().unwrap();
        self.run("pg_ctl", &["-D", data, "-m", "immediate", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether this process runs as root (read from `id -u`: no libc call).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn sync_command(bin: &Path, url: &str, store: &Path, batch: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "sync", "--point", "p", "--batch", batch, "--db", url, "--store",
    ])
    .arg(store)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

#[test]
fn postgres_stopped_mid_sync_then_restarted_resumes_from_the_high_water_mark() {
    let Some(bin) = pg_bin() else {
        assert!(
            std::env::var_os("TEPAT_REQUIRE_PG").is_none(),
            "TEPAT_REQUIRE_PG is set but PostgreSQL's programs are not in /usr/lib/postgresql"
        );
        println!("SKIPPED: PostgreSQL's programs (pg_ctl, initdb) are not installed");
        return;
    };
    let server = PrivateServer::new(bin);
    server.start();
    let url = server.url();
    let mut client = tepat_ledger::connect(&url).unwrap();
    tepat_ledger::migrate::migrate(&mut client).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let records = stores::register(1500, 41);
    let positions = {
        let store = stores::create_store(&records, dir.path());
        claim_every(&store, &records, "2026-11");
        log_positions(&store)
    };
    // Batches of one record: thousands of transactions, so that the stop
    // falls among them.
    let child = sync_command(&tepat_bin(), &url, dir.path(), "1")
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let hwm = tepat_ledger::sync::high_water_mark(&mut client, "p").unwrap_or(0);
        if hwm > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sync shipped nothing in 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(client);
    server.stop_now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the sync succeeded with its server stopped"
    );
    assert!(
        stderr.contains("PostgreSQL") && stderr.contains("resumes"),
        "the error does not say what failed and what is kept: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "the sync panicked: {stderr}");
    println!("the sync's error: {}", stderr.trim());

    server.start();
    let mut client = tepat_ledger::connect(&url).unwrap();
    let shipped = check_prefix(&mut client, &positions);
    assert!(
        shipped > 0 && shipped < positions.len(),
        "the stop came mid-sync: {shipped} of {} records shipped",
        positions.len()
    );
    let out = sync_command(&tepat_bin(), &url, dir.path(), "500")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check_prefix(&mut client, &positions), positions.len());
}
