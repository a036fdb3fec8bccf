//! What the service's tests share: a small store, tokens of every role, a
//! service on a real socket and an HTTP client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tepat::register::PersonRecord;
use tepat_server::tokens::{self, Role};
use tepat_server::{Config, Limits, Running};

#[path = "../../../tests/common/mod.rs"]
pub mod common;

/// Tokens of each kind the tests use.
pub struct Tokens {
    pub keeper: String,
    pub payout: String,
    /// A payout point limited to the region of [`Fixture::home`].
    pub payout_home: String,
    pub bank: String,
    pub analyst: String,
}

/// A store, its tokens file and what the tests know of its persons.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub records: Vec<PersonRecord>,
    pub tokens: Tokens,
    /// The regency (4 digits) the limited payout token covers.
    pub home: String,
}

impl Fixture {
    pub fn new(families: usize, seed: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let records = common::register(families, seed);
        drop(common::create_store(&records, &dir.path().join("store")));
        // The regency of a person likely payable for PBI_JK (poor,
        // enrolled, alive, not a civil servant), so that the limited
        // token has someone to pay.
        let pbi = tepat::Registry::builtin().require("PBI_JK").unwrap();
        let likely = records
            .iter()
            .find(|r| r.decile <= 5 && r.programs.contains(pbi) && !r.deceased && !r.civil_servant)
            .unwrap();
        let home = format!("{:010}", likely.village)[..4].to_owned();
        let path = dir.path().join("tokens.toml");
        let new = |id: &str, role: Role, regions: &[String]| {
            let token = tokens::generate().unwrap();
            tokens::append(&path, id, role, regions, &token).unwrap();
            token
        };
        let tokens = Tokens {
            keeper: new("keeper-1", Role::Keeper, &[]),
            payout: new("pos-1", Role::PayoutPoint, &[]),
            payout_home: new("pos-home", Role::PayoutPoint, std::slice::from_ref(&home)),
            bank: new("bank-1", Role::Bank, &[]),
            analyst: new("analyst-1", Role::Analyst, &[]),
        };
        Fixture {
            dir,
            records,
            tokens,
            home,
        }
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn tokens_file(&self) -> PathBuf {
        self.dir.path().join("tokens.toml")
    }

    pub fn config(&self) -> Config {
        Config {
            store: self.store_dir(),
            options: common::options(),
            listen: "127.0.0.1:0".parse().unwrap(),
            tokens: self.tokens_file(),
            access_log: None,
            limits: Limits {
                json_body: 4096,
                batch_body: 8 << 20,
                request_timeout: Duration::from_secs(20),
                self_service_per_minute: 8,
                header_timeout: Duration::from_secs(2),
            },
            tls: None,
            ledger: None,
        }
    }

    pub fn start(&self) -> Running {
        Running::start(&self.config()).unwrap()
    }

    /// A person whose village is in / not in [`Fixture::home`], with a
    /// unique NIK.
    pub fn person(&self, home: bool) -> &PersonRecord {
        self.records
            .iter()
            .filter(|r| self.records.iter().filter(|o| o.nik == r.nik).count() == 1)
            .find(|r| format!("{:010}", r.village).starts_with(&self.home) == home)
            .unwrap()
    }
}

/// An HTTP client that returns 4xx and 5xx answers as answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A status and a JSON body (`Value::Null` for a body that is not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// A client of one service.
pub struct Client {
    pub base: String,
    pub agent: ureq::Agent,
}

impl Client {
    pub fn new(addr: std::net::SocketAddr) -> Client {
        Client {
            base: format!("http://{addr}"),
            agent: agent(),
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.call().unwrap())
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .content_type("application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        answer(req.send(body).unwrap())
    }

    pub fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.post(path, Some(token), &body.to_string())
    }
}

/// The error code of an error answer.
pub fn code(a: &Answer) -> &str {
    a.body["error"]["code"].as_str().unwrap_or("")
}

/// The field an error answer names.
pub fn field(a: &Answer) -> &str {
    a.body["error"]["field"].as_str().unwrap_or("")
}

/// The NIK as the service takes it.
pub fn nik(r: &PersonRecord) -> String {
    r.nik.to_string()
}

/// Reads the access log of a fixture's store.
pub fn access_log(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("access.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The NIK of the `skip`-th person (unique NIK, in / not in
/// [`Fixture::home`]) whom the PBI-JK payout of 2026-11 can pay.
pub fn payable(c: &Client, f: &Fixture, home: bool, skip: usize) -> String {
    f.records
        .iter()
        .filter(|r| f.records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .filter(|r| format!("{:010}", r.village).starts_with(&f.home) == home)
        .map(nik)
        .filter(|n| {
            let a = c.post_json(
                "/v1/check",
                &f.tokens.keeper,
                &serde_json::json!({"nik": n, "program": "PBI_JK", "period": "2026-11"}),
            );
            a.body["payable"] == serde_json::Value::Bool(true)
        })
        .nth(skip)
        .expect("a payable person")
}
