//! The access log: one JSON line per request that names a NIK — time, token
//! id, route, status — with the NIK as a keyed hash (HMAC-SHA256), never in
//! clear (UU 27/2022: lookups of specific personal data are logged, and the
//! log itself must not become a list of NIKs). With the key, an auditor can
//! tell whether a given NIK was looked up; without it the log says nothing
//! about whom.
//!
//! Lines are written by a thread of their own, so that a slow disk never
//! holds a request.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::private_file;
use crate::tokens::to_hex;

/// The key's file name, beside the tokens file.
pub const KEY_FILE: &str = "access-log.key";

/// An open access log.
pub struct AccessLog {
    key: [u8; 32],
    /// Shared by every request (a read lock: they never wait on each
    /// other); taken alone only by close.
    tx: RwLock<Option<Sender<String>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// One logged request.
pub struct Entry<'a> {
    /// The token's id.
    pub token: &'a str,
    /// The route's pattern (`/v1/persons/{nik}`).
    pub route: &'a str,
    /// The answer's status.
    pub status: u16,
    /// The NIK as given (`None` for a payee list: see `rows`).
    pub nik: Option<&'a str>,
    /// For a payee list: how many rows it named.
    pub rows: Option<u64>,
}

impl AccessLog {
    /// Opens (appends to) the log at `path`, with the key in `key_path`,
    /// made on first use (32 random bytes, mode 0600).
    pub fn open(path: &Path, key_path: &Path) -> std::io::Result<AccessLog> {
        let key = load_or_make_key(key_path)?;
        let file = private_file::open_append(path)?;
        let (tx, rx) = channel();
        let writer = std::thread::Builder::new()
            .name("tepat-access-log".into())
            .spawn(move || write_lines(rx, BufWriter::new(file)))?;
        Ok(AccessLog {
            key,
            tx: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The keyed hash of a NIK, as the log shows it.
    pub fn nik_hash(&self, nik: &str) -> String {
        nik_hash(&self.key, nik)
    }

    /// Logs a request (dropped silently after [`AccessLog::close`]).
    pub fn log(&self, e: &Entry<'_>) {
        // Written out by hand, not through a `serde_json::Value`: a line
        // per claim and check, and building the map was a tenth of a
        // claim's time at the service (docs/BENCHMARKS-service.md). Only
        // the token id and the route can hold characters JSON escapes.
        let mut line = format!(
            "{{\"time\":\"{}\",\"token\":{},\"route\":{},\"status\":{}",
            tepat::date::iso_utc(now_ms()),
            json_string(e.token),
            json_string(e.route),
            e.status
        );
        if let Some(nik) = e.nik {
            line.push_str(",\"nik_hash\":\"");
            line.push_str(&self.nik_hash(nik));
            line.push('"');
        }
        if let Some(rows) = e.rows {
            line.push_str(&format!(",\"rows\":{rows}"));
        }
        line.push('}');
        let tx = self.tx.read().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = tx.as_ref() {
            // The writer ends only after close: a failed send is a log
            // already closed.
            let _ = tx.send(line);
        }
    }

    /// Writes what is queued and stops the writer.
    pub fn close(&self) {
        drop(self.tx.write().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str) -> String {
    // Serialising a `&str` cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// HMAC-SHA256 of the NIK's text under `key`, hex.
pub fn nik_hash(key: &[u8; 32], nik: &str) -> String {
    // A 32-byte key is always a valid HMAC key: the fallback never runs.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(nik.as_bytes());
    to_hex(&mac.finalize().into_bytes())
}

/// How often the writer takes the queued lines: a line reaches the file
/// within this time.
const WRITE_EVERY: Duration = Duration::from_millis(20);

fn write_lines(rx: Receiver<String>, mut out: BufWriter<std::fs::File>) {
    // On a timer rather than woken per line: a writer parked in `recv` is
    // woken by every request's send, and those wake-ups, the writer's and
    // the requests', took a fifth of the service's CPU at 65,000 checks/s
    // (docs/BENCHMARKS-service.md). A sleeping writer is woken by no one.
    loop {
        std::thread::sleep(WRITE_EVERY);
        loop {
            match rx.try_recv() {
                Ok(line) => {
                    let _ = writeln!(out, "{line}");
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
        let _ = out.flush();
    }
}

/// Reads the key, or makes it once.
pub fn load_or_make_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let bad = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(text.trim()).ok_or_else(|| bad("not 64 hex digits")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| bad(&e.to_string()))?;
            match private_file::create_new(path, format!("{}\n", to_hex(&key)).as_bytes()) {
                Ok(()) => Ok(key),
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_make_key(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// The key file beside a tokens file.
pub fn key_path_beside(tokens: &Path) -> PathBuf {
    tokens.with_file_name(KEY_FILE)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line is one JSON object whatever the token id holds.
    #[test]
    fn a_line_is_json_whatever_the_token_id_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&path, &dir.path().join("k")).unwrap();
        let token = "counter \"7\"\\\n\u{1}";
        log.log(&Entry {
            token,
            route: "/v1/claim",
            status: 200,
            nik: Some("3201015708900001"),
            rows: Some(3),
        });
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(line["token"], token);
        assert_eq!(line["status"], 200);
        assert_eq!(line["rows"], 3);
        assert_eq!(line["nik_hash"], log.nik_hash("3201015708900001"));
        assert!(!text.contains("3201015708900001"));
    }
}
