//! The self-service page (`GET /status`) in a real browser: headless
//! Chromium (Debian's `chromium`), driven over the DevTools protocol. A
//! person types their NIK and birth date, presses the button and reads
//! their programs; a wrong birth date reads exactly as an unknown NIK.
//!
//! Without Chromium the test says so and passes, unless
//! `TEPAT_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs it). With
//! `TEPAT_SCREENSHOT=FILE` the answered page is saved there as PNG
//! (docs/status-page.png is made so).

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::{Client, Fixture, nik};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

/// A headless Chromium, killed when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    /// The DevTools HTTP endpoint, `127.0.0.1:PORT`.
    devtools: String,
}

impl Browser {
    /// Starts Chromium, or `None` when it is not installed.
    fn start() -> Option<Browser> {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--window-size=800,700",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let mut browser = Browser {
            child,
            _profile: profile,
            devtools: String::new(),
        };
        // Chromium prints `DevTools listening on ws://127.0.0.1:PORT/...`.
        let stderr = browser.child.stderr.take().unwrap();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("DevTools listening on ws://") {
                browser.devtools = url.split('/').next().unwrap().to_owned();
                return Some(browser);
            }
        }
        panic!("chromium ended without opening its DevTools port");
    }

    /// The page Chromium opened, over the DevTools protocol.
    fn page(&self) -> Page {
        let list = support::agent()
            .get(format!("http://{}/json/list", self.devtools))
            .call()
            .unwrap()
            .body_mut()
            .read_json::<Value>()
            .unwrap();
        let url = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == json!("page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap()
            .to_owned();
        let (socket, _) = tungstenite::connect(url).unwrap();
        Page { socket, next: 0 }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page's DevTools connection.
struct Page {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
}

impl Page {
    /// Calls `method` and waits for its result (events are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params});
        self.socket.send(Message::text(msg.to_string())).unwrap();
        loop {
            let Message::Text(text) = self.socket.read().unwrap() else {
                continue;
            };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == json!(id) {
                assert!(reply["error"].is_null(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Evaluates `script` in the page; its value.
    fn eval(&mut self, script: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": script, "returnByValue": true}),
        );
        assert!(r["exceptionDetails"].is_null(), "{script}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits until `script` is true in the page.
    fn wait_for(&mut self, script: &str) {
        let until = Instant::now() + Duration::from_secs(20);
        while self.eval(script) != json!(true) {
            assert!(Instant::now() < until, "never true: {script}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens the page at `url`, types a NIK and a birth date as a person
    /// would, presses the button and waits for the answer; the answer's
    /// state (`programs`, `none`, `error`) and text.
    fn ask(&mut self, url: &str, nik: &str, birth: &str) -> (String, String) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for("document.readyState === 'complete' && !!document.getElementById('submit')");
        self.call(
            "Runtime.evaluate",
            json!({"expression": "document.getElementById('nik').focus()"}),
        );
        self.call("Input.insertText", json!({"text": nik}));
        // A date field takes its value as ISO text from script, as the
        // browser's picker would set it.
        self.eval(&format!(
            "document.getElementById('birth_date').value = '{birth}'"
        ));
        self.eval("document.getElementById('submit').click(); true");
        self.wait_for("['programs', 'none', 'error'].includes(document.getElementById('answer').dataset.state)");
        let state = self.eval("document.getElementById('answer').dataset.state");
        let text = self.eval("document.getElementById('answer').innerText");
        (
            state.as_str().unwrap().to_owned(),
            text.as_str().unwrap().to_owned(),
        )
    }
}

fn browser_or_skip() -> Option<Browser> {
    let browser = Browser::start();
    if browser.is_none() {
        assert!(
            std::env::var_os("TEPAT_REQUIRE_BROWSER").is_none(),
            "TEPAT_REQUIRE_BROWSER is set but chromium cannot be started"
        );
        eprintln!("skipped: chromium is not installed (Debian: apt-get install chromium)");
    }
    browser
}

#[test]
fn a_person_reads_their_programs_and_payouts_in_a_browser() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let f = Fixture::new(60, 21);
    let s = f.start();
    let c = Client::new(s.addr);
    // A person the PBI-JK payout of 2026-11 can pay: paid through the
    // service, so that the page has a payout to show.
    let paid = f
        .records
        .iter()
        .filter(|r| f.records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .find(|r| {
            let a = c.post_json(
                "/v1/check",
                &f.tokens.payout,
                &json!({"nik": nik(r), "program": "PBI_JK", "period": "2026-11"}),
            );
            a.body["payable"] == json!(true)
        })
        .unwrap();
    let claim = c.post_json(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "WEB-1", "nik": nik(paid), "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(claim.body["outcome"], json!("paid"), "{}", claim.text);

    let mut page = browser.page();
    let url = format!("http://{}/status", s.addr);
    let (state, text) = page.ask(&url, &nik(paid), &paid.birth_date.to_string());
    assert_eq!(state, "programs", "{text}");
    // Every program the register enrols the person in, and only those, with
    // PBI-JK paid and nothing else of this period paid.
    let rows = page.eval(
        "[...document.querySelectorAll('tr.program')].map(r => [r.dataset.program, r.dataset.paid])",
    );
    let registry = tepat::Registry::builtin();
    let mut expected: Vec<Value> = paid
        .programs
        .iter()
        .map(|id| {
            let code = &registry.get(id).unwrap().code;
            json!([code, (code == "PBI_JK").to_string()])
        })
        .collect();
    let mut shown = rows.as_array().unwrap().clone();
    let key = |v: &Value| v[0].as_str().unwrap().to_owned();
    expected.sort_by_key(key);
    shown.sort_by_key(key);
    assert_eq!(shown, expected, "{text}");
    assert!(
        text.contains("Sudah dibayar") && text.contains("Paid"),
        "{text}"
    );
    // Nothing about anyone else: not the family card, not a member.
    assert!(!text.contains(&paid.kk.to_string()), "{text}");
    if let Some(path) = std::env::var_os("TEPAT_SCREENSHOT") {
        let shot = page.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
        std::fs::write(path, png).unwrap();
    }

    // A wrong birth date reads exactly as a NIK nobody has.
    let wrong_birth = tepat::Date::from_unix_days(paid.birth_date.to_unix_days() + 1)
        .unwrap()
        .to_string();
    let (state, wrong) = page.ask(&url, &nik(paid), &wrong_birth);
    assert_eq!(state, "error");
    // The same region and birth date, a serial number nobody has.
    let unknown = paid.nik.get() / 10_000 * 10_000 + 9_999;
    let unknown = format!("{unknown:016}");
    assert!(f.records.iter().all(|r| nik(r) != unknown));
    let (_, nobody) = page.ask(&url, &unknown, &paid.birth_date.to_string());
    assert_eq!(wrong, nobody);
    assert!(wrong.contains("Data tidak ditemukan"), "{wrong}");
}
