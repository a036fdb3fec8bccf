//! Every route over a real socket: answers, roles, regions, and every
//! error status with its code and field.

mod support;

use serde_json::json;
use support::{Client, Fixture, code, field, nik, payable};

#[test]
fn persons_are_shown_with_their_family_and_nik_as_strings() {
    let f = Fixture::new(60, 3);
    let s = f.start();
    let c = Client::new(s.addr);
    let p = f.person(true);
    let a = c.get(&format!("/v1/persons/{}", nik(p)), Some(&f.tokens.payout));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["nik"], json!(nik(p)));
    assert_eq!(a.body["kk"], json!(p.kk.to_string()));
    assert!(
        a.body["village_code"]
            .as_str()
            .unwrap()
            .starts_with(&f.home)
    );
    let family = a.body["family"].as_array().unwrap();
    assert!(family.iter().any(|m| m["nik"] == json!(nik(p))));
    assert!(family.iter().all(|m| m["nik"].is_string()));
    // Unknown but valid, invalid.
    let unknown = c.get("/v1/persons/3201014101990009", Some(&f.tokens.payout));
    assert_eq!(
        (unknown.status, code(&unknown)),
        (404, "unknown_nik"),
        "{}",
        unknown.text
    );
    let invalid = c.get("/v1/persons/12345", Some(&f.tokens.payout));
    assert_eq!((invalid.status, field(&invalid)), (400, "nik"));
}

#[test]
fn check_answers_the_verdict_and_names_bad_fields() {
    let f = Fixture::new(60, 4);
    let s = f.start();
    let c = Client::new(s.addr);
    let n = payable(&c, &f, true, 0);
    let a = c.post_json(
        "/v1/check",
        &f.tokens.bank,
        &json!({"nik": n, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.body["payable"], json!(true));
    assert_eq!(a.body["nik"], json!(n));
    assert!(a.body["reasons"].is_array());
    // An invalid NIK is a verdict, as in `tepat check`.
    let a = c.post_json(
        "/v1/check",
        &f.tokens.bank,
        &json!({"nik": "123", "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.body["reasons"][0]["code"], json!("invalid_nik"));
    let bad = |body: &str, want_field: &str, want_code: &str| {
        let a = c.post("/v1/check", Some(&f.tokens.bank), body);
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert_eq!(field(&a), want_field, "{body}: {}", a.text);
        assert_eq!(code(&a), want_code, "{body}: {}", a.text);
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
    };
    let ok = |p: &str, q: &str| format!(r#"{{"nik":"{n}","program":{p},"period":{q}}}"#);
    bad(&ok(r#""NOPE""#, r#""2026-11""#), "program", "invalid_field");
    bad(
        &ok(r#""PBI_JK""#, r#""2026-13""#),
        "period",
        "invalid_field",
    );
    bad(&ok(r#""PBI_JK""#, "202611"), "period", "invalid_field");
    bad(r#"{"nik":"1","program":"PKH"}"#, "period", "invalid_field");
    bad(
        r#"{"nik":3201015708900001,"program":"PKH","period":"2026-Q4"}"#,
        "nik",
        "invalid_field",
    );
    bad(
        r#"{"nik":"1","program":"PKH","period":"2026-Q4","x":1}"#,
        "x",
        "invalid_field",
    );
    bad(r#"{"nik":"1","program":"#, "body", "malformed_json");
    bad("", "body", "malformed_json");
    bad("[1,2]", "body", "invalid_field");
}

#[test]
fn a_claim_is_paid_once_replayed_on_retry_and_conflicts_on_other_content() {
    let f = Fixture::new(60, 5);
    let s = f.start();
    let c = Client::new(s.addr);
    let n = payable(&c, &f, true, 0);
    let claim = json!({"request_id": "R-1", "nik": n, "program": "PBI_JK", "period": "2026-11"});
    let first = c.post_json("/v1/claim", &f.tokens.payout, &claim);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["outcome"], json!("paid"));
    assert_eq!(first.body["replayed"], json!(false));
    let retry = c.post_json("/v1/claim", &f.tokens.payout, &claim);
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["outcome"], json!("paid"));
    assert_eq!(retry.body["replayed"], json!(true));
    // The same id with other content: 409.
    let mut other = claim.clone();
    other["period"] = json!("2026-10");
    let conflict = c.post_json("/v1/claim", &f.tokens.payout, &other);
    assert_eq!(
        (conflict.status, code(&conflict)),
        (409, "request_conflict"),
        "{}",
        conflict.text
    );
    // Another request for the same payment: refused, already claimed.
    let mut again = claim.clone();
    again["request_id"] = json!("R-2");
    let again = c.post_json("/v1/claim", &f.tokens.payout, &again);
    assert_eq!(again.status, 200);
    assert_eq!(again.body["outcome"], json!("refused"));
    let reasons: Vec<&str> = again.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert!(reasons.contains(&"already_claimed"), "{reasons:?}");
    // Bad request ids name their field.
    let mut bad = claim.clone();
    bad["request_id"] = json!("");
    let bad = c.post_json("/v1/claim", &f.tokens.payout, &bad);
    assert_eq!((bad.status, field(&bad)), (400, "request_id"));
    let mut bad = claim.clone();
    bad["amount"] = json!(-5);
    let bad = c.post_json("/v1/claim", &f.tokens.payout, &bad);
    assert_eq!((bad.status, field(&bad)), (400, "amount"));

    // Reverse it; the retry replays; the person is payable again.
    let rev = json!({"request_id": "V-1", "original": "R-1", "reason": "account closed"});
    let r = c.post_json("/v1/reverse", &f.tokens.payout, &rev);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["reversed"].as_str(), r.body["replayed"].as_bool()),
        (Some("R-1"), Some(false))
    );
    let r = c.post_json("/v1/reverse", &f.tokens.payout, &rev);
    assert_eq!(r.body["replayed"], json!(true));
    let twice = c.post_json(
        "/v1/reverse",
        &f.tokens.payout,
        &json!({"request_id": "V-2", "original": "R-1"}),
    );
    assert_eq!(
        (twice.status, code(&twice)),
        (409, "request_refused"),
        "{}",
        twice.text
    );
    let missing = c.post_json(
        "/v1/reverse",
        &f.tokens.payout,
        &json!({"request_id": "V-3", "original": "nope"}),
    );
    assert_eq!((missing.status, field(&missing)), (404, "original"));
    // A replayed claim now says it was reversed.
    let retry = c.post_json("/v1/claim", &f.tokens.payout, &claim);
    assert_eq!(retry.body["reversed"]["request_id"], json!("V-1"));
    let check = c.post_json(
        "/v1/check",
        &f.tokens.payout,
        &json!({"nik": n, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(check.body["payable"], json!(true));
}

#[test]
fn roles_allow_their_routes_and_forbid_the_rest() {
    let f = Fixture::new(40, 6);
    let s = f.start();
    let c = Client::new(s.addr);
    let p = nik(f.person(true));
    let t = &f.tokens;
    let check = json!({"nik": p, "program": "PBI_JK", "period": "2026-11"}).to_string();
    let claim = |id: &str| {
        json!({"request_id": id, "nik": p, "program": "PBI_JK", "period": "2026-11"}).to_string()
    };
    let reverse = json!({"request_id": "V-x", "original": "none"}).to_string();
    let csv = format!("nik,program,period\n{p},PBI_JK,2026-11\n");
    // (token, route, allowed) — reverse of an unknown claim is 404 when
    // allowed.
    type Call<'a> = Box<dyn Fn(&str) -> u16 + 'a>;
    let routes: Vec<(&str, Call, u16)> = vec![
        (
            "person",
            Box::new(|tok| c.get(&format!("/v1/persons/{p}"), Some(tok)).status),
            200,
        ),
        (
            "check",
            Box::new(|tok| c.post("/v1/check", Some(tok), &check).status),
            200,
        ),
        (
            "claim",
            Box::new(|tok| {
                c.post("/v1/claim", Some(tok), &claim(&format!("C-{tok}")))
                    .status
            }),
            200,
        ),
        (
            "reverse",
            Box::new(|tok| c.post("/v1/reverse", Some(tok), &reverse).status),
            404,
        ),
        (
            "batch",
            Box::new(|tok| c.post("/v1/batch", Some(tok), &csv).status),
            200,
        ),
        (
            "report",
            Box::new(|tok| c.get("/v1/reports/deceased", Some(tok)).status),
            200,
        ),
        (
            "info",
            Box::new(|tok| c.get("/v1/info", Some(tok)).status),
            200,
        ),
    ];
    let allowed: [(&str, &str, &[&str]); 4] = [
        (
            "payout_point",
            &t.payout,
            &["person", "check", "claim", "reverse", "info"],
        ),
        ("bank", &t.bank, &["check", "batch", "info"]),
        ("analyst", &t.analyst, &["report", "info"]),
        (
            "keeper",
            &t.keeper,
            &[
                "person", "check", "claim", "reverse", "batch", "report", "info",
            ],
        ),
    ];
    for (role, token, may) in allowed {
        for (route, call, ok) in &routes {
            let status = call(token);
            let want = if may.contains(route) { *ok } else { 403 };
            assert_eq!(status, want, "{role} on {route}");
        }
    }
    // No token, an unknown token, not a bearer token: 401 everywhere.
    let a = c.post("/v1/check", None, &check);
    assert_eq!((a.status, code(&a)), (401, "unauthorized"));
    let a = c.post("/v1/check", Some("tpt_not-a-token"), &check);
    assert_eq!(a.status, 401);
    let a = c.get("/v1/info", Some(""));
    assert_eq!(a.status, 401);
    let raw = c
        .agent
        .get(format!("{}/v1/info", c.base))
        .header("Authorization", format!("Basic {}", t.keeper))
        .call()
        .unwrap();
    assert_eq!(raw.status().as_u16(), 401);
}

#[test]
fn a_regional_token_is_refused_people_of_other_regions() {
    let f = Fixture::new(80, 7);
    let s = f.start();
    let c = Client::new(s.addr);
    let t = &f.tokens.payout_home;
    let home = payable(&c, &f, true, 0);
    let away = payable(&c, &f, false, 0);
    let body = |n: &str| json!({"nik": n, "program": "PBI_JK", "period": "2026-11"});
    assert_eq!(c.get(&format!("/v1/persons/{home}"), Some(t)).status, 200);
    assert_eq!(c.post_json("/v1/check", t, &body(&home)).status, 200);
    let a = c.get(&format!("/v1/persons/{away}"), Some(t));
    assert_eq!((a.status, code(&a)), (403, "forbidden"));
    assert_eq!(c.post_json("/v1/check", t, &body(&away)).status, 403);
    let mut claim = body(&away);
    claim["request_id"] = json!("A-1");
    assert_eq!(c.post_json("/v1/claim", t, &claim).status, 403);
    // Not paid: an unlimited token can still pay them.
    let a = c.post_json("/v1/claim", &f.tokens.payout, &claim);
    assert_eq!(a.body["outcome"], json!("paid"), "{}", a.text);
    // Nor reverse a claim of someone elsewhere.
    let rev = json!({"request_id": "AV-1", "original": "A-1"});
    assert_eq!(c.post_json("/v1/reverse", t, &rev).status, 403);
    let mut mine = body(&home);
    mine["request_id"] = json!("H-1");
    assert_eq!(
        c.post_json("/v1/claim", t, &mine).body["outcome"],
        json!("paid")
    );
    // National lists need an unlimited token.
    assert_eq!(
        c.post("/v1/batch", Some(t), "nik,program,period\n").status,
        403
    );
}

#[test]
fn unknown_routes_methods_and_big_bodies_get_the_error_shape() {
    let f = Fixture::new(20, 8);
    let s = f.start();
    let c = Client::new(s.addr);
    let a = c.get("/v1/nothing", Some(&f.tokens.keeper));
    assert_eq!((a.status, code(&a)), (404, "not_found"));
    let a = c.get("/v1/check", Some(&f.tokens.keeper));
    assert_eq!((a.status, code(&a)), (405, "method_not_allowed"));
    let big = format!(
        r#"{{"nik":"{}","program":"PKH","period":"2026-Q4"}}"#,
        "1".repeat(5000)
    );
    let a = c.post("/v1/check", Some(&f.tokens.keeper), &big);
    assert_eq!((a.status, code(&a)), (413, "too_large"), "{}", a.text);
    assert!(a.body["error"]["message"].is_string());
}

#[test]
fn reports_come_as_json_and_csv_for_analysts() {
    let f = Fixture::new(60, 9);
    let s = f.start();
    let c = Client::new(s.addr);
    let t = &f.tokens.analyst;
    let a = c.get("/v1/reports/deceased?by=province&format=json", Some(t));
    assert_eq!(a.status, 200, "{}", a.text);
    let reports = a.body.as_array().unwrap();
    assert_eq!(reports.len(), 1);
    let a = c.get("/v1/reports/duplicates?by=regency&format=csv", Some(t));
    assert_eq!(a.status, 200);
    assert!(a.text.starts_with("region_code,region"), "{}", a.text);
    assert!(a.text.lines().count() > 1);
    let a = c.get("/v1/reports/summary", Some(t));
    assert_eq!(a.body.as_array().unwrap().len(), 6);
    let a = c.get("/v1/reports/payouts?period=2026-11&program=PBI_JK", Some(t));
    assert_eq!(a.status, 200, "{}", a.text);
    for (query, want) in [
        ("/v1/reports/nope", "kind"),
        ("/v1/reports/deceased?by=village", "by"),
        ("/v1/reports/deceased?format=xml", "format"),
        ("/v1/reports/deceased?period=2026-11", "period"),
        ("/v1/reports/payouts?program=NOPE", "program"),
        ("/v1/reports/deceased?color=red", "color"),
    ] {
        let a = c.get(query, Some(t));
        assert_eq!((a.status, field(&a)), (400, want), "{query}: {}", a.text);
    }
}

#[test]
fn info_health_readiness_and_metrics() {
    let f = Fixture::new(20, 10);
    let s = f.start();
    let c = Client::new(s.addr);
    let a = c.get("/v1/info", Some(&f.tokens.analyst));
    assert_eq!(a.status, 200);
    assert_eq!(a.body["generation"], json!(1));
    assert_eq!(a.body["persons"].as_u64(), Some(f.records.len() as u64));
    assert_eq!(a.body["caller"]["role"], json!("analyst"));
    assert!(
        a.body["programs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["code"] == json!("PKH"))
    );
    assert_eq!(c.get("/healthz", None).status, 200);
    assert_eq!(c.get("/readyz", None).body["ready"], json!(true));
    let p = nik(&f.records[0]);
    c.post_json(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "M-1", "nik": p, "program": "PBI_JK", "period": "2026-11"}),
    );
    c.get("/v1/nothing", None);
    let m = c.get("/metrics", None);
    assert_eq!(m.status, 200);
    for want in [
        r#"tepat_http_requests_total{route="/v1/claim",status="200"} 1"#,
        r#"tepat_http_requests_total{route="/v1/info",status="200"} 1"#,
        r#"tepat_http_requests_total{route="unmatched",status="404"} 1"#,
        r#"tepat_http_request_duration_seconds_count{route="/v1/claim"} 1"#,
        "tepat_store_generation 1",
        "tepat_store_flushes_total ",
    ] {
        assert!(m.text.contains(want), "no {want:?} in\n{}", m.text);
    }
    // The scrape's own connection, at least, is open.
    let open: i64 = m
        .text
        .lines()
        .find_map(|l| l.strip_prefix("tepat_http_connections_open "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(open >= 1, "{open} connections open while one scrapes");
    let claims: u64 = ["paid", "refused"]
        .iter()
        .filter_map(|o| {
            let key = format!("tepat_claims_total{{outcome=\"{o}\"}} ");
            m.text
                .lines()
                .find_map(|l| l.strip_prefix(key.as_str())?.parse::<u64>().ok())
        })
        .sum();
    assert_eq!(claims, 1);
}

#[test]
fn the_access_log_names_token_route_status_and_a_keyed_hash_of_the_nik() {
    let f = Fixture::new(30, 12);
    let s = f.start();
    let c = Client::new(s.addr);
    let p = nik(f.person(true));
    c.get(&format!("/v1/persons/{p}"), Some(&f.tokens.payout));
    c.post_json(
        "/v1/check",
        &f.tokens.bank,
        &json!({"nik": p, "program": "PKH", "period": "2026-Q4"}),
    );
    c.get("/v1/info", Some(&f.tokens.keeper));
    s.stop().unwrap();
    let key_file = f.dir.path().join("access-log.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(f.store_dir().join("access.log")).unwrap();
    assert!(!text.contains(&p), "the NIK is in clear in the access log");
    let lines = support::access_log(&f.store_dir());
    assert_eq!(lines.len(), 2, "{text}");
    let key = tepat_server::access_log::load_or_make_key(&key_file).unwrap();
    let hash = tepat_server::access_log::nik_hash(&key, &p);
    assert_eq!(lines[0]["token"], json!("pos-1"));
    assert_eq!(lines[0]["route"], json!("/v1/persons/{nik}"));
    assert_eq!(lines[0]["status"], json!(200));
    assert_eq!(lines[1]["token"], json!("bank-1"));
    assert_eq!(lines[1]["route"], json!("/v1/check"));
    for l in &lines {
        assert_eq!(l["nik_hash"], json!(hash));
        assert!(l["time"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn self_status_answers_enrolments_and_payouts_and_a_wrong_birth_date_as_unknown() {
    let f = Fixture::new(60, 13);
    let s = f.start();
    let c = Client::new(s.addr);
    let n = payable(&c, &f, true, 0);
    let r = f.records.iter().find(|r| nik(r) == n).unwrap();
    let ask = |nik: &str, birth: &str| {
        c.post(
            "/v1/self-status",
            None,
            &json!({"nik": nik, "birth_date": birth}).to_string(),
        )
    };
    let a = ask(&n, &r.birth_date.to_string());
    assert_eq!(a.status, 200, "{}", a.text);
    let pbi = a.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["program"] == json!("PBI_JK"))
        .cloned()
        .unwrap();
    assert_eq!(
        (pbi["period"].as_str(), pbi["paid"].as_bool()),
        (Some("2026-11"), Some(false))
    );
    // Nothing else about the person or the family.
    let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["nik", "programs"]);
    assert!(!a.text.contains("decile") && !a.text.contains("kk"));
    c.post_json(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "S-1", "nik": n, "program": "PBI_JK", "period": "2026-11"}),
    );
    let a = ask(&n, &r.birth_date.to_string());
    let paid = a.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["program"] == json!("PBI_JK") && p["paid"] == json!(true));
    assert!(paid, "{}", a.text);
    // A wrong birth date answers exactly as an unknown NIK.
    let wrong = ask(&n, "1901-01-01");
    let unknown = ask("3201014101990009", &r.birth_date.to_string());
    assert_eq!((wrong.status, code(&wrong)), (404, "no_match"));
    assert_eq!(
        (wrong.status, wrong.text.clone()),
        (unknown.status, unknown.text.clone())
    );
    let bad = ask(&n, "17-08-1990");
    assert_eq!((bad.status, field(&bad)), (400, "birth_date"));
    // Eight a minute per address in the tests' configuration.
    // Five asked so far: three more, then no more.
    let statuses: Vec<u16> = (0..4).map(|_| ask(&n, "1901-01-01").status).collect();
    assert_eq!(statuses, [404, 404, 404, 429]);
}

#[test]
fn the_openapi_document_lists_every_route_with_its_security() {
    let f = Fixture::new(10, 14);
    let s = f.start();
    let c = Client::new(s.addr);
    let a = c.get("/openapi.json", None);
    assert_eq!(a.status, 200);
    assert!(
        a.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        a.text
    );
    let paths = a.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/persons/{nik}", "get"),
        ("/v1/check", "post"),
        ("/v1/claim", "post"),
        ("/v1/reverse", "post"),
        ("/v1/batch", "post"),
        ("/v1/batch/{id}", "get"),
        ("/v1/reports/{kind}", "get"),
        ("/v1/self-status", "post"),
        ("/v1/info", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert_eq!(
        a.body["components"]["securitySchemes"]["bearer"]["scheme"],
        json!("bearer")
    );
    let claim = &a.body["components"]["schemas"]["ClaimBody"];
    let required: Vec<&str> = claim["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in ["request_id", "nik", "program", "period"] {
        assert!(required.contains(&field), "{required:?}");
    }
    assert!(!required.contains(&"amount"));
}

#[test]
fn the_keeper_applies_changes_and_compacts_while_counters_claim() {
    let f = Fixture::new(80, 15);
    let s = f.start();
    let c = Client::new(s.addr);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let work: Vec<String> = f.records.iter().map(nik).collect();
    let dead = payable(&c, &f, true, 0);
    let row = |kind: &str, nik: &str| {
        let mut fields = vec![""; 14];
        fields[0] = kind;
        fields[1] = nik;
        fields[13] = "2026-11-08";
        fields.join(",")
    };
    let changes = format!("{}\n{}\n", tepat::change::HEADER, row("death", &dead));
    let answered = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|t| {
                let (work, stop, token, addr) = (&work, &stop, &f.tokens.payout, s.addr);
                scope.spawn(move || {
                    let c = Client::new(addr);
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let nik = &work[(t * 7 + n) % work.len()];
                        let a = c.post_json(
                            "/v1/claim",
                            token,
                            &json!({"request_id": format!("K{t}-{n}"), "nik": nik, "program": "SEMBAKO", "period": "2026-11"}),
                        );
                        assert_eq!(a.status, 200, "{}", a.text);
                        let a = c.post_json("/v1/check", token, &json!({"nik": nik, "program": "PKH", "period": "2026-Q4"}));
                        assert_eq!(a.status, 200, "{}", a.text);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let k = &f.tokens.keeper;
        // Only a keeper may.
        assert_eq!(
            c.post("/v1/admin/compact", Some(&f.tokens.payout), "")
                .status,
            403
        );
        let a = c.post("/v1/admin/apply?file=deaths.csv", Some(k), &changes);
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["rows"], json!(1));
        let again = c.post("/v1/admin/apply?file=deaths.csv", Some(k), &changes);
        assert_eq!(
            again.body["applied_before"]["rows"],
            json!(1),
            "{}",
            again.text
        );
        let bad = c.post(
            "/v1/admin/apply",
            Some(k),
            &format!("{}\n{}\n", tepat::change::HEADER, row("death", "123")),
        );
        assert_eq!(
            (bad.status, code(&bad)),
            (400, "invalid_input"),
            "{}",
            bad.text
        );
        let a = c.post("/v1/admin/compact", Some(k), "");
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(
            (a.body["from"].as_u64(), a.body["to"].as_u64()),
            (Some(1), Some(2))
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        clients
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<usize>()
    });
    assert!(answered > 0);
    // The death is in the new generation; the service says so.
    let a = c.post_json(
        "/v1/check",
        &f.tokens.payout,
        &json!({"nik": dead, "program": "PBI_JK", "period": "2026-11"}),
    );
    assert_eq!(a.body["payable"], json!(false), "{}", a.text);
    assert_eq!(
        c.get("/v1/info", Some(&f.tokens.keeper)).body["generation"],
        json!(2)
    );
    assert!(
        c.get("/metrics", None)
            .text
            .contains("tepat_store_generation 2")
    );
}

#[test]
fn a_client_too_slow_with_its_headers_or_idle_too_long_is_closed() {
    use std::io::{Read, Write};
    let f = Fixture::new(10, 16);
    let s = f.start();
    // Half a request line, then nothing: closed after the header timeout
    // (2 s in the tests' configuration).
    let started = std::time::Instant::now();
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /healthz HT").unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(5),
        "held for {waited:?}"
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // One request answered on a kept-alive connection, then idle: closed.
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// A keyed payout point's service (`tepat serve --key`): it answers for the
/// NIKs a counter sends, its access log hashes their pseudonyms (so the
/// log's key, beside the tokens file, reveals nobody), its claims log holds
/// no NIK, and it refuses a refresh before writing anything.
#[test]
fn a_keyed_point_serves_and_logs_pseudonyms_only() {
    let f = Fixture::new(30, 21);
    let key = tepat::snapshot::IdentityKey::from_bytes([3; 16]);
    let keyed = f.dir.path().join("keyed");
    let mut b = tepat::snapshot::SnapshotBuilder::new(
        tepat::Registry::builtin().clone(),
        support::common::regions(),
        tepat::Date::new(2026, 11, 1).unwrap(),
    )
    .unwrap();
    for r in &f.records {
        b.add(r).unwrap();
    }
    let options = support::common::options().identity_key(Some(key.clone()));
    drop(tepat::Store::create(&keyed, b, options.clone()).unwrap());
    let mut config = f.config();
    config.store = keyed.clone();
    config.options = options;
    let s = tepat_server::Running::start(&config).unwrap();
    let c = Client::new(s.addr);
    let p = nik(f.person(true));
    let check = c.post_json(
        "/v1/check",
        &f.tokens.bank,
        &json!({"nik": p, "program": "PKH", "period": "2026-Q4"}),
    );
    assert_eq!(check.status, 200);
    assert!(
        !check.body.to_string().contains("unknown_nik"),
        "{}",
        check.body
    );
    let refresh = c.post("/v1/admin/refresh", Some(&f.tokens.keeper), "nik\n");
    assert_eq!(refresh.status, 409);
    assert_eq!(code(&refresh), "keyed_store");
    s.stop().unwrap();
    let text = std::fs::read_to_string(keyed.join("access.log")).unwrap();
    assert!(!text.contains(&p), "{text}");
    let log_key = tepat_server::access_log::load_or_make_key(&f.dir.path().join("access-log.key"));
    let pseudonym = key.nik(p.parse().unwrap()).to_string();
    let lines = support::access_log(&keyed);
    assert_eq!(lines.len(), 1, "{text}");
    let hash = tepat_server::access_log::nik_hash(&log_key.unwrap(), &pseudonym);
    assert_eq!(lines[0]["nik_hash"], json!(hash));
    let leftover: Vec<_> = std::fs::read_dir(&keyed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("rejects-"))
        .collect();
    assert!(leftover.is_empty(), "{leftover:?}");
}
