//! The DCI Integrated Beneficiary Registry routes over a real socket: the
//! spec's own sample messages (`tests/dci/`, identifiers replaced by the
//! fixture's NIKs here), every answer checked against the spec's JSON
//! schemas (the OpenAPI YAML's components, loaded as they are), enrolments
//! against the store, every reject code, roles, regions and the access log.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::{Answer, Client, Fixture, nik};

const ENROLLED: &str = "/registry/sync/enrolled";
const SEARCH: &str = "/registry/sync/search";
/// A valid NIK that no fixture holds (`routes.rs` uses it too).
const UNKNOWN: &str = "3201014101990009";

// ---------------------------------------------------------------- the spec

/// The spec's OpenAPI document, as JSON.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(dir().join("ibr_api_v1.0.0.yaml")).unwrap();
        serde_norway::from_str(&text).unwrap()
    })
}

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dci")
}

/// A sample message of the spec, as published.
fn sample(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

/// What is wrong with `instance` against the schema at `pointer` in the
/// spec: the whole document is the root, so that its `#/components/...`
/// and `#/paths/...` references resolve.
fn schema_errors(pointer: &str, instance: &Value) -> Vec<String> {
    let mut root = spec().clone();
    root["$ref"] = json!(format!("#{pointer}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema at {pointer}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Checks `instance` against the schema at `pointer` in the spec.
fn assert_valid(pointer: &str, instance: &Value) {
    let errors = schema_errors(pointer, instance);
    assert!(
        errors.is_empty(),
        "not valid against {pointer}:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

/// The search answer against the route's response schema.
fn assert_search_answer(body: &Value) {
    assert_valid(
        "/paths/~1registry~1sync~1search/post/responses/default/content/application~1json/schema",
        body,
    );
    assert_eq!(body["header"]["action"], json!("on-search"));
}

/// The enrolled answer: the spec names only its message's schema
/// (`EnrolledResponse`); the header is the callback header of every
/// other answer.
fn assert_enrolled_answer(body: &Value) {
    assert_valid(
        "/components/schemas/MsgCallbackHeader_V1.0.0",
        &body["header"],
    );
    assert_eq!(body["header"]["action"], json!("on-enrolled"));
    if body["header"]["status"] == json!("succ") {
        assert_valid("/components/schemas/EnrolledResponse", &body["message"]);
    } else {
        assert!(body.get("message").is_none(), "{body}");
    }
}

/// An error answer: the service's shape, and the spec's beside it.
fn assert_error(a: &Answer, status: u16, code: &str, dci: &str) {
    assert_eq!((a.status, support::code(a)), (status, code), "{}", a.text);
    assert_eq!(a.body["errors"][0]["code"], json!(dci), "{}", a.text);
    assert_valid(
        "/components/responses/HttpErrorResponse/content/application~1json/schema",
        &a.body,
    );
}

// ------------------------------------------------------------- messages

/// The spec's enrolled sample, asking about `who`.
fn enrolled_sample(who: &str) -> Value {
    let mut m = sample("processflow2req.json");
    m["message"]["enrolled_criteria"]["query"]["attribute_value"] = json!(who);
    m
}

/// The spec's search sample, asking about `who`.
fn search_sample(who: &str) -> Value {
    let mut m = sample("processflow3areq.json");
    m["message"]["search_request"][0]["search_criteria"]["query"]["value"] = json!(who);
    m
}

/// A message with a fresh message id.
fn fresh(mut m: Value, id: &str) -> Value {
    m["header"]["message_id"] = json!(id);
    m
}

/// A search request of a batch.
fn search_request(reference_id: &str, id_type: &str, value: Value) -> Value {
    json!({
        "reference_id": reference_id,
        "timestamp": "2026-12-02T10:00:00+07:00",
        "search_criteria": {
            "query_type": "idtype-value",
            "query": {"type": id_type, "value": value},
        },
    })
}

/// A search message of `requests`.
fn search_batch(id: &str, requests: Vec<Value>) -> Value {
    let mut m = fresh(search_sample(UNKNOWN), id);
    m["header"]["total_count"] = json!(requests.len());
    m["message"]["search_request"] = Value::Array(requests);
    m
}

/// An enrolled message of the spec's schema example: person and
/// programme, attribute -> {operator: value}.
fn enrolled_in(id: &str, who: &str, programme: Value) -> Value {
    let mut m = fresh(enrolled_sample(who), id);
    m["message"]["enrolled_criteria"]["query"] = json!({
        "person_identifier": {"eq": who},
        "programme_identifier.program.programme_identifier": programme,
    });
    m
}

/// The enrolled programme codes of `/v1/persons/{nik}`.
fn enrolled_codes(c: &Client, f: &Fixture, who: &str) -> Vec<String> {
    let a = c.get(&format!("/v1/persons/{who}"), Some(&f.tokens.keeper));
    assert_eq!(a.status, 200, "{}", a.text);
    a.body["enrolled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

/// The programmes answered `yes`, and all answered.
fn yes_and_all(body: &Value) -> (Vec<String>, Vec<String>) {
    let answers = body["message"]["enrolled_response"].as_array().unwrap();
    let code = |a: &Value| a["programme_identifier"].as_str().unwrap().to_owned();
    let yes = answers
        .iter()
        .filter(|a| a["enrolled_status"] == json!("yes"))
        .map(code)
        .collect();
    (yes, answers.iter().map(code).collect())
}

/// Persons with a NIK of their own.
fn unique_niks(f: &Fixture) -> Vec<String> {
    f.records
        .iter()
        .filter(|r| f.records.iter().filter(|o| o.nik == r.nik).count() == 1)
        .map(nik)
        .collect()
}

/// An answer without what differs between two answers to the same
/// question: ids and times.
fn without_ids(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in [
            "message_id",
            "message_ts",
            "timestamp",
            "correlation_id",
            "reference_id",
        ] {
            o.remove(k);
        }
        for (_, x) in o.iter_mut() {
            *x = without_ids(x.take());
        }
    } else if let Some(a) = v.as_array_mut() {
        for x in a.iter_mut() {
            *x = without_ids(x.take());
        }
    }
    v
}

// ---------------------------------------------------------------- tests

#[test]
fn the_schemas_refuse_what_the_spec_refuses() {
    // The checks below would prove nothing if the schemas took anything.
    let header = json!({"message_id": "1", "message_ts": "2026-12-02T10:00:00Z",
        "action": "on-search", "status": "succ", "total_count": 1});
    assert!(schema_errors("/components/schemas/MsgCallbackHeader_V1.0.0", &header).is_empty());
    for (field, value) in [
        ("status", json!("done")),
        ("total_count", json!("1")),
        ("message_ts", json!("yesterday")),
        ("status_reason_code", json!("rjct.nothing")),
    ] {
        let mut h = header.clone();
        h[field] = value;
        let errors = schema_errors("/components/schemas/MsgCallbackHeader_V1.0.0", &h);
        assert!(!errors.is_empty(), "{field} taken");
    }
    let search =
        "/paths/~1registry~1sync~1search/post/responses/default/content/application~1json/schema";
    let mut h = header.clone();
    h["action"] = json!("on-enrolled");
    assert!(!schema_errors(search, &json!({"header": h})).is_empty());
    let message = json!({"transaction_id": "t", "correlation_id": "c", "search_response": [
        {"reference_id": "r", "timestamp": "2026-12-02T10:00:00Z", "status": "succ",
         "status_reason_code": "rjct.unheard_of"}]});
    assert!(!schema_errors(search, &json!({"header": header, "message": message})).is_empty());
    let enrolled = json!({"transaction_id": "t", "correlation_id": "c", "enrolled_response": [
        {"reference_id": "r", "timestamp": "2026-12-02T10:00:00Z", "status": "succ", "enrolled_status": "maybe"}]});
    assert!(!schema_errors("/components/schemas/EnrolledResponse", &enrolled).is_empty());
}

#[test]
fn the_spec_samples_are_answered_in_the_specs_shapes() {
    let f = Fixture::new(60, 21);
    let s = f.start();
    let c = Client::new(s.addr);
    let registry = tepat::Registry::builtin();
    let who = nik(f.person(true));
    let codes = enrolled_codes(&c, &f, &who);

    let a = c.post_json(ENROLLED, &f.tokens.payout, &enrolled_sample(&who));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_enrolled_answer(&a.body);
    let h = &a.body["header"];
    assert_eq!(h["status"], json!("succ"), "{}", a.text);
    assert_eq!(
        (h["total_count"].clone(), h["completed_count"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(h["receiver_id"], json!("SP-System"));
    // The sample names no programme: every programme is answered.
    let (yes, all) = yes_and_all(&a.body);
    assert_eq!(all.len(), registry.len());
    assert_eq!(yes, codes);
    let answers = a.body["message"]["enrolled_response"].as_array().unwrap();
    assert!(
        answers
            .iter()
            .all(|x| x["reference_id"] == json!("1") && x["status"] == json!("succ"))
    );

    // The two samples share their message id: the keeper's is another
    // sender's.
    let a = c.post_json(SEARCH, &f.tokens.keeper, &search_sample(&who));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_search_answer(&a.body);
    assert_eq!(a.body["header"]["status"], json!("succ"));
    let r = &a.body["message"]["search_response"][0];
    assert_eq!(r["status"], json!("succ"), "{}", a.text);
    assert_eq!(
        r["reference_id"],
        json!(""),
        "the sample's reference id, echoed"
    );
    assert_eq!(
        r["pagination"],
        json!({"page_size": 10, "page_number": 1, "total_count": 1})
    );
    let record = &r["data"]["reg_records"][0];
    let id = &record["member"]["member_identifier"][0];
    assert_eq!(
        id,
        &json!({"identifier_type": "NIK", "identifier_value": who})
    );
    let shown: Vec<&str> = record["programme_identifier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["programme"]["programme_identifier"].as_str().unwrap())
        .collect();
    assert_eq!(shown, codes);
    assert!(
        record["member"]["sub_region_code"]
            .as_str()
            .unwrap()
            .starts_with(&f.home)
    );
    // No decile, no components: nothing specific an enrolment does not need.
    assert!(!a.text.contains("decile") && !a.text.contains("components"));
}

#[test]
fn enrolled_yes_and_no_agree_with_the_store() {
    let f = Fixture::new(60, 22);
    let s = f.start();
    let c = Client::new(s.addr);
    let (mut yes_seen, mut no_seen) = (0, 0);
    for (i, who) in unique_niks(&f).iter().take(30).enumerate() {
        let m = fresh(enrolled_sample(who), &format!("m-{i}"));
        let a = c.post_json(ENROLLED, &f.tokens.bank, &m);
        assert_eq!(a.status, 200, "{}", a.text);
        assert_enrolled_answer(&a.body);
        let (yes, all) = yes_and_all(&a.body);
        assert_eq!(yes, enrolled_codes(&c, &f, who), "{who}");
        yes_seen += yes.len();
        no_seen += all.len() - yes.len();
    }
    assert!(yes_seen > 0 && no_seen > 0, "yes {yes_seen}, no {no_seen}");

    // The schema's example: one programme, or a list of them with `in`.
    let who = &unique_niks(&f)[0];
    let codes = enrolled_codes(&c, &f, who);
    for (i, programme) in ["PKH", "PBI_JK", "SEMBAKO"].into_iter().enumerate() {
        let a = c.post_json(
            ENROLLED,
            &f.tokens.keeper,
            &enrolled_in(&format!("p-{i}"), who, json!({"eq": programme})),
        );
        assert_enrolled_answer(&a.body);
        let (yes, all) = yes_and_all(&a.body);
        assert_eq!(all, vec![programme.to_owned()]);
        assert_eq!(!yes.is_empty(), codes.iter().any(|c| c == programme));
    }
    let a = c.post_json(
        ENROLLED,
        &f.tokens.keeper,
        &enrolled_in("p-in", who, json!({"in": ["PIP", "PKH", "PIP"]})),
    );
    assert_enrolled_answer(&a.body);
    assert_eq!(yes_and_all(&a.body).1, vec!["PIP", "PKH"]);

    // A programme the registry does not hold: that request is refused.
    let a = c.post_json(
        ENROLLED,
        &f.tokens.keeper,
        &enrolled_in("p-no", who, json!({"eq": "BANSOS_X"})),
    );
    assert_enrolled_answer(&a.body);
    let r = &a.body["message"]["enrolled_response"][0];
    assert_eq!(r["status"], json!("rjct"));
    assert_eq!(
        r["status_reason_code"],
        json!("rjct.search_criteria.invalid")
    );
    assert_eq!(r["enrolled_status"], json!("no"));

    // A batch (a list of criteria), by identifier type and value.
    let mut m = fresh(enrolled_sample(who), "batch");
    let niks = unique_niks(&f);
    m["message"]["enrolled_criteria"] = json!([
        {"reference_id": "a", "query_type": "idtype-value", "query": {"type": "NID", "value": niks[1]}},
        {"reference_id": "b", "query_type": "idtype-value", "query": {"type": "NIK", "value": niks[2]}},
        {"reference_id": "c", "query_type": "idtype-value", "query": {"type": "BRN", "value": "1"}},
    ]);
    m["header"]["total_count"] = json!(3);
    let a = c.post_json(ENROLLED, &f.tokens.keeper, &m);
    assert_enrolled_answer(&a.body);
    let answers = a.body["message"]["enrolled_response"].as_array().unwrap();
    for (reference, who) in [("a", &niks[1]), ("b", &niks[2])] {
        let yes: Vec<&str> = answers
            .iter()
            .filter(|x| {
                x["reference_id"] == json!(reference) && x["enrolled_status"] == json!("yes")
            })
            .map(|x| x["programme_identifier"].as_str().unwrap())
            .collect();
        assert_eq!(yes, enrolled_codes(&c, &f, who));
    }
    let unknown_type: Vec<&Value> = answers
        .iter()
        .filter(|x| x["reference_id"] == json!("c"))
        .collect();
    assert_eq!(unknown_type.len(), 1);
    assert_eq!(
        unknown_type[0]["status_reason_code"],
        json!("rjct.search_criteria.invalid")
    );
}

/// Sends `m` and returns the answer's header reject code.
fn reject_code(c: &Client, token: &str, route: &str, m: &Value) -> String {
    let a = c.post_json(route, token, m);
    assert_eq!(a.status, 200, "{}", a.text);
    if route == SEARCH {
        assert_search_answer(&a.body);
    } else {
        assert_enrolled_answer(&a.body);
    }
    let h = &a.body["header"];
    if h["status"] == json!("succ") {
        return "succ".into();
    }
    assert_eq!(h["status"], json!("rjct"), "{}", a.text);
    assert_eq!(h["completed_count"], json!(0));
    h["status_reason_code"].as_str().unwrap().to_owned()
}

#[test]
fn every_header_rule_rejects_with_the_specs_code() {
    let f = Fixture::new(30, 23);
    let s = f.start();
    let c = Client::new(s.addr);
    let who = nik(f.person(true));
    let token = &f.tokens.payout;
    for (route, base) in [
        (SEARCH, search_sample(&who)),
        (ENROLLED, enrolled_sample(&who)),
    ] {
        let m = |id: &str, field: &str, value: Value| {
            let mut m = fresh(base.clone(), &format!("{route}-{id}"));
            m["header"][field] = value;
            m
        };
        let cases = [
            ("v", "version", json!("2.0.0"), "rjct.version.invalid"),
            ("a", "action", json!("subscribe"), "rjct.action.invalid"),
            (
                "t",
                "message_ts",
                json!("19 July 2023"),
                "rjct.message_ts.invalid",
            ),
            ("c", "total_count", json!(2), "rjct.total_count.invalid"),
            ("s", "total_count", json!("one"), "rjct.total_count.invalid"),
            (
                "l",
                "total_count",
                json!(5000),
                "rjct.total_count.limit_exceeded",
            ),
        ];
        for (id, field, value, code) in cases {
            assert_eq!(
                reject_code(&c, token, route, &m(id, field, value)),
                code,
                "{route} {field}"
            );
        }
        // A rejected message did not use its id up; an accepted one did.
        let again = m("v", "version", json!("1.0.0"));
        assert_eq!(reject_code(&c, token, route, &again), "succ");
        assert_eq!(
            reject_code(&c, token, route, &again),
            "rjct.message_id.duplicate"
        );
        // Message ids are the caller's own: another token's same id is new.
        assert_eq!(reject_code(&c, &f.tokens.keeper, route, &again), "succ");
        // The spec's integer total_count is taken as well as the samples' string.
        assert_eq!(
            reject_code(&c, token, route, &m("i", "total_count", json!(1))),
            "succ"
        );
    }
    // The enrolled route takes its own verb as the action too.
    let m = fresh(enrolled_sample(&who), "verb");
    let mut m2 = m.clone();
    m2["header"]["action"] = json!("enrolled");
    assert_eq!(reject_code(&c, token, ENROLLED, &m2), "succ");
    // ...but the search route takes only `search`.
    let mut m3 = fresh(search_sample(&who), "verb");
    m3["header"]["action"] = json!("enrolled");
    assert_eq!(reject_code(&c, token, SEARCH, &m3), "rjct.action.invalid");
}

#[test]
fn each_request_is_answered_with_its_own_status() {
    let f = Fixture::new(30, 24);
    let s = f.start();
    let c = Client::new(s.addr);
    let who = nik(f.person(true));
    let mut expression = search_request("x", "NIK", json!(who));
    expression["search_criteria"] =
        json!({"query_type": "expression", "query": {"type": "Sql", "value": {}}});
    let mut late = search_request("t", "NIK", json!(who));
    late["timestamp"] = json!("soon");
    let mut page = search_request("p", "NIK", json!(who));
    page["search_criteria"]["pagination"] = json!({"page_size": 0});
    let mut page2 = search_request("p2", "NIK", json!(who));
    page2["search_criteria"]["pagination"] = json!({"page_size": 5, "page_number": 2});
    let mut sort = search_request("s", "NIK", json!(who));
    sort["search_criteria"]["sort"] = json!([{"attribute_name": "UIN", "sort_order": "sideways"}]);
    let mut no_ref = search_request("", "NIK", json!(who));
    no_ref.as_object_mut().unwrap().remove("reference_id");
    let requests = vec![
        search_request("ok", "UIN", json!(who)),
        search_request("ok", "NIK", json!(who)),
        search_request("mobile", "MOBILE", json!("0812")),
        search_request("number", "NIK", json!(3201014101990009_u64)),
        search_request("short", "NIK", json!("123")),
        expression,
        late,
        page,
        page2,
        sort,
        no_ref,
    ];
    let a = c.post_json(SEARCH, &f.tokens.keeper, &search_batch("batch", requests));
    assert_eq!(a.status, 200, "{}", a.text);
    assert_search_answer(&a.body);
    assert_eq!(a.body["header"]["total_count"], json!(11));
    assert_eq!(a.body["header"]["completed_count"], json!(11));
    let got: Vec<(String, String)> = a.body["message"]["search_response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let code = r["status_reason_code"]
                .as_str()
                .unwrap_or(r["status"].as_str().unwrap());
            (
                r["reference_id"].as_str().unwrap().to_owned(),
                code.to_owned(),
            )
        })
        .collect();
    let want = [
        ("ok", "succ"),
        ("ok", "rjct.reference_id.duplicate"),
        ("mobile", "rjct.search_criteria.invalid"),
        ("number", "rjct.search_criteria.invalid"),
        ("short", "rjct.search_criteria.invalid"),
        ("x", "rjct.search_criteria.invalid"),
        ("t", "rjct.timestamp.invalid"),
        ("p", "rjct.pagination.invalid"),
        ("p2", "succ"),
        ("s", "rjct.sort.invalid"),
        ("", "rjct.reference_id.invalid"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(r, c)| (r.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want, "{}", a.text);
    // Page 2 of a one-record answer is empty, and says how many there are.
    let p2 = &a.body["message"]["search_response"][8];
    assert_eq!(p2["data"]["reg_records"], json!([]));
    assert_eq!(p2["pagination"]["total_count"], json!(1));
}

#[test]
fn unknown_persons_and_persons_outside_a_tokens_regions_look_the_same() {
    let f = Fixture::new(60, 25);
    let s = f.start();
    let c = Client::new(s.addr);
    let (inside, outside) = (nik(f.person(true)), nik(f.person(false)));
    let limited = &f.tokens.payout_home;
    let mut n = 0;
    let mut ask = |route: &str, token: &str, who: &str| {
        n += 1;
        let m = if route == SEARCH {
            search_sample(who)
        } else {
            enrolled_sample(who)
        };
        let a = c.post_json(route, token, &fresh(m, &format!("m-{n}")));
        assert_eq!(a.status, 200, "{}", a.text);
        if route == SEARCH {
            assert_search_answer(&a.body);
        } else {
            assert_enrolled_answer(&a.body);
        }
        a.body
    };
    let records = |b: &Value| {
        b["message"]["search_response"][0]["data"]["reg_records"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(records(&ask(SEARCH, limited, &inside)), 1);
    assert_eq!(
        records(&ask(SEARCH, &f.tokens.keeper, &outside)),
        1,
        "the person exists"
    );
    let outside_search = ask(SEARCH, limited, &outside);
    assert_eq!(records(&outside_search), 0);
    assert_eq!(
        outside_search["message"]["search_response"][0]["status"],
        json!("succ")
    );
    let unknown_search = ask(SEARCH, limited, UNKNOWN);
    assert_eq!(without_ids(outside_search), without_ids(unknown_search));

    let outside_enrolled = ask(ENROLLED, limited, &outside);
    let unknown_enrolled = ask(ENROLLED, limited, UNKNOWN);
    let (yes, all) = yes_and_all(&outside_enrolled);
    assert!(yes.is_empty() && !all.is_empty());
    assert_eq!(without_ids(outside_enrolled), without_ids(unknown_enrolled));
    // The keeper, national, is told the outside person's enrolments.
    let keeper = ask(ENROLLED, &f.tokens.keeper, &outside);
    assert_eq!(yes_and_all(&keeper).0, enrolled_codes(&c, &f, &outside));
}

#[test]
fn roles_tokens_and_malformed_envelopes_get_the_services_errors() {
    let f = Fixture::new(30, 26);
    let s = f.start();
    let c = Client::new(s.addr);
    let who = nik(f.person(true));
    let body = search_sample(&who).to_string();
    // Enrolment is what a check tells: payout points, banks and keepers
    // may ask. A person's record is what /v1/persons shows: banks may not.
    for (i, token) in [&f.tokens.payout, &f.tokens.keeper].into_iter().enumerate() {
        let m = fresh(search_sample(&who), &format!("s-role-{i}"));
        let a = c.post_json(SEARCH, token, &m);
        assert_eq!(
            (a.status, &a.body["header"]["status"]),
            (200, &json!("succ"))
        );
    }
    let a = c.post(SEARCH, Some(&f.tokens.bank), &body);
    assert_error(&a, 403, "forbidden", "err.request.forbidden");
    for (i, token) in [&f.tokens.payout, &f.tokens.bank, &f.tokens.keeper]
        .into_iter()
        .enumerate()
    {
        let m = fresh(enrolled_sample(&who), &format!("e-role-{i}"));
        let a = c.post_json(ENROLLED, token, &m);
        assert_eq!(
            (a.status, &a.body["header"]["status"]),
            (200, &json!("succ"))
        );
    }
    for route in [SEARCH, ENROLLED] {
        let a = c.post(route, Some(&f.tokens.analyst), &body);
        assert_error(&a, 403, "forbidden", "err.request.forbidden");
        assert_error(
            &c.post(route, None, &body),
            401,
            "unauthorized",
            "err.request.unauthorized",
        );
        let a = c.post(route, Some("tpt_0000"), &body);
        assert_error(&a, 401, "unauthorized", "err.request.unauthorized");
        // An analyst is refused before its body is read.
        let a = c.post(route, Some(&f.tokens.analyst), "{");
        assert_eq!(a.status, 403);
        assert_error(
            &c.post(route, Some(&f.tokens.keeper), "{\"header\":"),
            400,
            "malformed_json",
            "err.request.bad",
        );
    }
    let mut cases: Vec<(Value, String, &str)> = Vec::new();
    let mut m = search_sample(&who);
    m["header"].as_object_mut().unwrap().remove("sender_id");
    cases.push((m, "header.sender_id".into(), "err.sender_id.invalid"));
    let mut m = search_sample(&who);
    m["header"]["sender_id"] = json!("");
    cases.push((m, "header.sender_id".into(), "err.sender_id.invalid"));
    for required in ["action", "message_ts", "total_count", "message_id"] {
        let mut m = search_sample(&who);
        m["header"].as_object_mut().unwrap().remove(required);
        cases.push((m, format!("header.{required}"), "err.request.bad"));
    }
    let mut m = search_sample(&who);
    m["message"]
        .as_object_mut()
        .unwrap()
        .remove("transaction_id");
    cases.push((m, "message.transaction_id".into(), "err.request.bad"));
    let mut m = search_sample(&who);
    m["header"]["message_id"] = json!(42);
    cases.push((m, "header.message_id".into(), "err.request.bad"));
    let mut m = search_sample(&who);
    m["header"]["is_msg_encrypted"] = json!(true);
    cases.push((
        m,
        "header.is_msg_encrypted".into(),
        "err.encryption.invalid",
    ));
    let mut m = search_sample(&who);
    m["message"]["search_request"] = json!({"reference_id": "1"});
    cases.push((m, "message.search_request".into(), "err.request.bad"));
    let mut m = search_sample(&who);
    m["message"]["search_request"] = json!(["not an object"]);
    cases.push((m, "message.search_request[0]".into(), "err.request.bad"));
    let mut m = search_sample(&who);
    m["message"]["transaction_id"] = json!("t".repeat(100));
    cases.push((m, "message.transaction_id".into(), "err.request.bad"));
    let mut m = search_sample(&who);
    m.as_object_mut().unwrap().remove("message");
    cases.push((m, "message".into(), "err.request.bad"));
    for (m, field, dci) in cases {
        let a = c.post_json(SEARCH, &f.tokens.keeper, &m);
        assert_error(&a, 400, "invalid_field", dci);
        assert_eq!(support::field(&a), field, "{}", a.text);
    }
    let mut m = enrolled_sample(&who);
    m["message"]["enrolled_criteria"] = json!("person_identifier = 1");
    let a = c.post_json(ENROLLED, &f.tokens.keeper, &m);
    assert_error(&a, 400, "invalid_field", "err.request.bad");
    assert_eq!(support::field(&a), "message.enrolled_criteria");
    // A body over the limit is the service's 413.
    let big = json!({"header": {"pad": "x".repeat(5000)}}).to_string();
    let a = c.post(SEARCH, Some(&f.tokens.keeper), &big);
    assert_error(&a, 413, "too_large", "err.request.bad");
    // The DCI routes are the DCI spec's: not in the service's document.
    let doc = c.get("/openapi.json", None);
    assert!(
        !doc.text.contains("/registry/"),
        "the DCI routes are in /openapi.json"
    );
}

#[test]
fn every_nik_looked_up_is_in_the_access_log_keyed() {
    let f = Fixture::new(30, 27);
    let s = f.start();
    let c = Client::new(s.addr);
    let niks = unique_niks(&f);
    let requests = vec![
        search_request("1", "NIK", json!(niks[0])),
        search_request("2", "NID", json!(niks[1])),
        search_request("3", "NIK", json!(UNKNOWN)),
        search_request("4", "MOBILE", json!("0812")),
    ];
    let a = c.post_json(SEARCH, &f.tokens.payout, &search_batch("log-1", requests));
    assert_eq!(a.status, 200, "{}", a.text);
    let a = c.post_json(
        ENROLLED,
        &f.tokens.bank,
        &fresh(enrolled_sample(&niks[2]), "log-2"),
    );
    assert_eq!(a.status, 200, "{}", a.text);
    // A rejected message looks no one up.
    let mut rejected = fresh(enrolled_sample(&niks[3]), "log-3");
    rejected["header"]["version"] = json!("0.9");
    c.post_json(ENROLLED, &f.tokens.bank, &rejected);
    s.stop().unwrap();

    let text = std::fs::read_to_string(f.store_dir().join("access.log")).unwrap();
    let key_file = f.dir.path().join("access-log.key");
    let key = tepat_server::access_log::load_or_make_key(&key_file).unwrap();
    let hash = |n: &str| json!(tepat_server::access_log::nik_hash(&key, n));
    let lines = support::access_log(&f.store_dir());
    let line = |route: &str, token: &str, n: &str| {
        lines
            .iter()
            .filter(|l| {
                l["route"] == json!(route) && l["token"] == json!(token) && l["nik_hash"] == hash(n)
            })
            .count()
    };
    assert_eq!(line(SEARCH, "pos-1", &niks[0]), 1, "{text}");
    assert_eq!(line(SEARCH, "pos-1", &niks[1]), 1, "{text}");
    assert_eq!(line(SEARCH, "pos-1", UNKNOWN), 1, "{text}");
    assert_eq!(line(ENROLLED, "bank-1", &niks[2]), 1, "{text}");
    assert_eq!(
        lines.len(),
        4,
        "one line per NIK looked up, none else: {text}"
    );
    for n in &niks[..4] {
        assert!(
            !text.contains(n.as_str()),
            "a NIK is in clear in the access log"
        );
    }
}
