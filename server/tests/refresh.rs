//! `POST /v1/admin/refresh`: a new register export streamed in and built
//! into the next generation under the refresh guards, while counters check
//! and claim; one generation switch at a time (a second is told 503).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, Fixture, code, field, nik, payable};
use tepat::register::PersonRecord;

/// A register export of `records` as `tepat build` reads it.
fn export(records: &[PersonRecord]) -> Vec<u8> {
    let registry = tepat::Registry::builtin();
    let mut out = format!("{}\n", tepat::register::HEADER).into_bytes();
    for r in records {
        r.write_csv(registry, &mut out).unwrap();
    }
    out
}

/// The register with `dead` deceased.
fn with_death(f: &Fixture, dead: &str) -> Vec<PersonRecord> {
    let mut records = f.records.clone();
    for r in records.iter_mut().filter(|r| nik(r) == dead) {
        r.deceased = true;
    }
    records
}

fn generation(c: &Client, f: &Fixture) -> Value {
    c.get("/v1/info", Some(&f.tokens.keeper)).body["generation"].clone()
}

/// The status and JSON body of an HTTP/1.1 answer read to its end.
fn read_answer(mut stream: TcpStream) -> (u16, Value) {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn a_refresh_switches_while_counters_claim_and_a_second_switch_is_told_to_wait() {
    let f = Fixture::new(80, 17);
    let s = f.start();
    let c = Client::new(s.addr);
    let k = &f.tokens.keeper;
    let dead = payable(&c, &f, true, 0);
    let claimant = payable(&c, &f, true, 1);
    let body = export(&with_death(&f, &dead));
    // The export arrives slowly: its first half, then a pause.
    let mut upload = TcpStream::connect(s.addr).unwrap();
    upload
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        upload,
        "POST /v1/admin/refresh?file=export-2026-11.csv HTTP/1.1\r\nHost: tepat\r\n\
         Authorization: Bearer {k}\r\nContent-Type: text/csv\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    upload.write_all(&body[..half]).unwrap();
    upload.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // Meanwhile: counters are served, and another switch is refused at once.
    let a = c.post_json(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "R-1", "nik": claimant, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(a.body["outcome"], json!("paid"), "{}", a.text);
    for (path, body) in [("/v1/admin/compact", ""), ("/v1/admin/refresh", "x")] {
        let busy = c.post(path, Some(k), body);
        assert_eq!(
            (busy.status, code(&busy)),
            (503, "switch_in_progress"),
            "{path}: {}",
            busy.text
        );
    }
    assert_eq!(generation(&c, &f), json!(1));

    upload.write_all(&body[half..]).unwrap();
    let (status, answer) = read_answer(upload);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["from"], &answer["to"], &answer["switched"]),
        (&json!(1), &json!(2), &json!(true)),
        "{answer}"
    );
    assert_eq!(answer["rows"]["read"], json!(f.records.len()));
    assert_eq!(answer["rows"]["rejected"], json!(0));
    assert_eq!(generation(&c, &f), json!(2));
    // The export's death is in force; the claim made during the refresh is
    // still there (a retry replays it); the switch is free again.
    let a = c.post_json(
        "/v1/check",
        &f.tokens.payout,
        &json!({"nik": dead, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(a.body["payable"], json!(false), "{}", a.text);
    let again = c.post_json(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "R-1", "nik": claimant, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(
        (&again.body["outcome"], &again.body["replayed"]),
        (&json!("paid"), &json!(true)),
        "{}",
        again.text
    );
    let a = c.post("/v1/admin/compact", Some(k), "");
    assert_eq!(a.status, 200, "{}", a.text);
}

#[test]
fn an_export_the_guards_refuse_switches_nothing_and_bad_requests_name_the_field() {
    let f = Fixture::new(80, 19);
    let s = f.start();
    let c = Client::new(s.addr);
    let k = &f.tokens.keeper;
    let full = export(&f.records);
    let half = export(&f.records[..f.records.len() / 2]);
    let post = |query: &str, token: &str, body: &[u8]| {
        c.post(
            &format!("/v1/admin/refresh{query}"),
            Some(token),
            std::str::from_utf8(body).unwrap(),
        )
    };

    // An export that lost half the register: refused, nothing switched.
    let a = post("", k, &half);
    assert_eq!((a.status, code(&a)), (409, "refresh_refused"), "{}", a.text);
    assert_eq!(generation(&c, &f), json!(1));
    // A dry run builds and compares, and switches nothing.
    let a = post("?dry_run=true", k, &full);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["switched"], json!(false), "{}", a.text);
    assert_eq!(generation(&c, &f), json!(1));
    // Not an export; a query field that is not a percentage; not a keeper.
    let a = post("", k, b"nik,name\n1,2\n");
    assert_eq!((a.status, code(&a)), (400, "invalid_input"), "{}", a.text);
    let a = post("?max_change=lots", k, &full);
    assert_eq!((a.status, field(&a)), (400, "max_change"), "{}", a.text);
    let a = post("?force=maybe", k, &full);
    assert_eq!((a.status, field(&a)), (400, "force"), "{}", a.text);
    let a = post("", &f.tokens.payout, &full);
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(generation(&c, &f), json!(1));
    // The keeper overrides the guards knowingly.
    let a = post("?force=true", k, &half);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(generation(&c, &f), json!(2));
    let (kept, dropped) = f.records.split_at(f.records.len() / 2);
    let gone = dropped
        .iter()
        .map(nik)
        .find(|n| kept.iter().all(|r| nik(r) != *n))
        .unwrap();
    let a = c.get(&format!("/v1/persons/{gone}"), Some(k));
    assert_eq!(a.status, 404, "{}", a.text);
}
