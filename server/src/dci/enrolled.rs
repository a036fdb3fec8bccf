//! `POST /registry/sync/enrolled`: is this person enrolled in these
//! programmes? One answer per programme asked (every programme of the
//! registry when none is), each `enrolled_status` `yes` or `no`, with the
//! programme's code in `programme_identifier` (the spec's answer has no
//! field for it; a programme is what an enrolment is *in*).
//!
//! The spec's `enrolled_criteria` is one query; a list of them is taken
//! too, for a batch, each optionally with its own `reference_id` and
//! `timestamp` (by default its position from 1, and none). Queries:
//!
//! - `idtype-value`: `{"type": "NIK", "value": "3201…"}`, every programme;
//! - `expression`: the spec's sample
//!   `{"attribute_name": "person_identifier", "operator": "eq", "attribute_value": "3201…"}`
//!   or its schema's example, attribute → `{operator: value}`:
//!   `{"person_identifier": {"eq": "3201…"}, "programme_identifier.program.programme_identifier": {"eq": "PKH"}}`.
//!   The person's attribute is `person_identifier` or an identifier type
//!   (`NIK`, `NID`, `UIN`), with `eq`; the programme's is
//!   `programme_identifier` (or the spec's dotted paths to it), with `eq`
//!   or `in` (a list of codes);
//! - `predicate` is not answered (`rjct.search_criteria.invalid`).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tepat::snapshot::Snapshot;
use tepat::{ProgramId, Store};

use super::envelope::new_id;
use super::identifier::{self, TYPES};
use super::item::{self, Ids, ItemReject};
use crate::errors::ApiResult;
use crate::tokens::Caller;

/// The message of an enrolled request (`EnrolledRequest`).
#[derive(Deserialize)]
pub struct EnrolledMessage {
    /// The sender's transaction, echoed.
    pub transaction_id: String,
    /// One query, or a batch of them.
    pub enrolled_criteria: Criteria,
}

/// One enrolled query (the spec), or a list of them (a batch).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Criteria {
    /// The spec's single query.
    One(Map<String, Value>),
    /// A batch.
    Many(Vec<Map<String, Value>>),
}

impl Criteria {
    /// The queries.
    pub fn items(&self) -> &[Map<String, Value>] {
        match self {
            Criteria::One(c) => std::slice::from_ref(c),
            Criteria::Many(c) => c,
        }
    }
}

/// What one query asks: whose enrolment, in which programmes (all when
/// `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Question {
    /// The identifier's value (a NIK, unchecked yet).
    pub identifier: String,
    /// Program codes, in the order asked.
    pub programmes: Option<Vec<String>>,
}

/// The attributes an expression may name.
enum Attribute {
    Person,
    Programme,
}

fn attribute(name: &str) -> Option<Attribute> {
    match name {
        "person_identifier" => Some(Attribute::Person),
        t if TYPES.contains(&t) => Some(Attribute::Person),
        "programme_identifier"
        | "programme_identifier.program.programme_identifier"
        | "programme_identifier.programme.programme_identifier" => Some(Attribute::Programme),
        _ => None,
    }
}

/// Reads a query's criteria.
pub fn question(criteria: &Map<String, Value>) -> Result<Question, ItemReject> {
    let query = criteria
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| ItemReject::criteria("query must be an object"))?;
    match criteria.get("query_type").and_then(Value::as_str) {
        Some("idtype-value") => {
            identifier::check_type(query.get("type").unwrap_or(&Value::Null))?;
            let value = identifier::value(query.get("value").unwrap_or(&Value::Null))?;
            Ok(Question {
                identifier: value,
                programmes: None,
            })
        }
        Some("expression") => expression(query),
        Some("predicate") => Err(ItemReject::criteria(
            "predicate queries are not answered here; use idtype-value or expression",
        )),
        _ => Err(ItemReject::criteria(
            "query_type must be idtype-value or expression",
        )),
    }
}

/// The conditions of an expression query: `(attribute, operator, value)`.
fn conditions(query: &Map<String, Value>) -> Result<Vec<(&str, &str, &Value)>, ItemReject> {
    let text = |k: &str| query.get(k).and_then(Value::as_str);
    if query.contains_key("attribute_name") {
        return match (
            text("attribute_name"),
            text("operator"),
            query.get("attribute_value"),
        ) {
            (Some(a), Some(o), Some(v)) => Ok(vec![(a, o, v)]),
            _ => Err(ItemReject::criteria(
                "an expression has a string attribute_name and operator and an attribute_value",
            )),
        };
    }
    query
        .iter()
        .map(|(attr, condition)| match condition.as_object() {
            Some(c) if c.len() == 1 => c
                .iter()
                .next()
                .map(|(op, v)| (attr.as_str(), op.as_str(), v))
                .ok_or_else(|| ItemReject::criteria("empty condition")),
            _ => Err(ItemReject::criteria(format!(
                "{attr}: a condition is one {{operator: value}}"
            ))),
        })
        .collect()
}

fn expression(query: &Map<String, Value>) -> Result<Question, ItemReject> {
    let mut person = None;
    let mut programmes = None;
    for (attr, op, value) in conditions(query)? {
        match (attribute(attr), op) {
            (Some(Attribute::Person), "eq") if person.is_none() => {
                person = Some(identifier::value(value)?);
            }
            (Some(Attribute::Programme), "eq" | "in") if programmes.is_none() => {
                programmes = Some(codes(value)?);
            }
            (Some(_), "eq" | "in") => {
                return Err(ItemReject::criteria(format!(
                    "{attr}: one condition per person and per programme"
                )));
            }
            (Some(_), _) => {
                return Err(ItemReject::criteria(format!(
                    "{attr}: operator {op} is not answered here (eq; in for programmes)"
                )));
            }
            (None, _) => {
                return Err(ItemReject::criteria(format!(
                    "attribute {attr} is not answered here; person_identifier (or {}) and programme_identifier are",
                    TYPES.join(", ")
                )));
            }
        }
    }
    let identifier = person.ok_or_else(|| {
        ItemReject::criteria("the query names no person (person_identifier eq \"NIK\")")
    })?;
    Ok(Question {
        identifier,
        programmes,
    })
}

/// Program codes from a string or a list of strings.
fn codes(v: &Value) -> Result<Vec<String>, ItemReject> {
    let bad = || ItemReject::criteria("a programme is a code string, or a list of them for in");
    let list: Vec<String> = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|c| c.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        _ => return Err(bad()),
    };
    if list.is_empty() {
        return Err(bad());
    }
    Ok(list)
}

/// The programmes a question names, as registry ids; every programme
/// when it names none.
fn programmes(snap: &Snapshot, q: &Question) -> Result<Vec<ProgramId>, ItemReject> {
    let registry = snap.registry();
    let Some(codes) = &q.programmes else {
        return Ok((0..registry.len()).filter_map(ProgramId::new).collect());
    };
    let mut ids = Vec::new();
    for code in codes {
        let id = registry.by_code(code).ok_or_else(|| {
            ItemReject::criteria(format!("programme {code:?} is not in this registry"))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A refused query's one answer.
fn refused(reference_id: &str, r: &ItemReject) -> Value {
    let mut a = item::answer(reference_id, Err(r));
    a.insert("enrolled_status".into(), json!("no"));
    Value::Object(a)
}

/// The answers to one query: one per programme. `named` gets the
/// identifier looked up, for the access log.
fn answer_one(
    store: &Store,
    snap: &Snapshot,
    caller: &Caller,
    (reference_id, criteria): (&str, &Map<String, Value>),
    named: &mut Vec<String>,
) -> ApiResult<Vec<Value>> {
    let asked = question(criteria).and_then(|q| Ok((programmes(snap, &q)?, q)));
    let (ids, q) = match asked {
        Ok(asked) => asked,
        Err(r) => return Ok(vec![refused(reference_id, &r)]),
    };
    named.push(q.identifier.clone());
    let nik = match identifier::nik(&q.identifier) {
        Ok(nik) => nik,
        Err(r) => return Ok(vec![refused(reference_id, &r)]),
    };
    let person = identifier::find(store, snap, caller, nik)?;
    let registry = snap.registry();
    let answers = ids.into_iter().filter_map(|id| {
        let p = registry.get(id)?;
        let mut a = item::answer(reference_id, Ok(()));
        let enrolled = person.as_ref().is_some_and(|r| r.enrolled().contains(id));
        a.insert(
            "enrolled_status".into(),
            json!(if enrolled { "yes" } else { "no" }),
        );
        a.insert("programme_identifier".into(), json!(p.code));
        match &person {
            Some(r) if enrolled => {
                a.insert("enrolment_status".into(), json!(r.enrolment_status()));
            }
            Some(_) => {}
            // One message for "not in the register" and "outside the
            // token's regions", so that the two cannot be told apart.
            None => {
                a.insert(
                    "status_reason_message".into(),
                    json!("no person with this identifier is in the register"),
                );
            }
        }
        Some(Value::Object(a))
    });
    Ok(answers.collect())
}

/// The message of the answer (`EnrolledResponse`). `named` gets every
/// identifier looked up, for the access log.
pub fn answer(
    store: &Store,
    caller: &Caller,
    message: &EnrolledMessage,
    named: &mut Vec<String>,
) -> ApiResult<Value> {
    let snap = store.snapshot();
    let mut seen = HashSet::new();
    let mut answers = Vec::new();
    for (i, criteria) in message.enrolled_criteria.items().iter().enumerate() {
        let (reference_id, ids) = item::read(criteria, i + 1, Ids::Optional, &mut seen);
        match ids {
            Ok(()) => answers.extend(answer_one(
                store,
                &snap,
                caller,
                (&reference_id, criteria),
                named,
            )?),
            Err(r) => answers.push(refused(&reference_id, &r)),
        }
    }
    Ok(json!({
        "transaction_id": message.transaction_id,
        "correlation_id": new_id()?,
        "enrolled_response": answers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(v: Value) -> Result<Question, ItemReject> {
        question(v.as_object().unwrap())
    }

    #[test]
    fn reads_the_spec_sample_and_its_schema_example() {
        let sample = ask(json!({"query_type": "expression", "query":
            {"attribute_name": "person_identifier", "operator": "eq", "attribute_value": "3201"}}));
        assert_eq!(
            sample,
            Ok(Question {
                identifier: "3201".into(),
                programmes: None
            })
        );
        let example = ask(json!({"query_type": "expression", "query": {
            "person_identifier": {"eq": "3201"},
            "programme_identifier.program.programme_identifier": {"in": ["PKH", "PIP"]}}}));
        assert_eq!(
            example.unwrap().programmes,
            Some(vec!["PKH".into(), "PIP".into()])
        );
        let idtype =
            ask(json!({"query_type": "idtype-value", "query": {"type": "NID", "value": "3201"}}));
        assert_eq!(idtype.unwrap().identifier, "3201");
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        for q in [
            json!({"query_type": "idtype-value", "query": {"type": "BRN", "value": "1"}}),
            json!({"query_type": "idtype-value", "query": {"type": "NIK", "value": 3201}}),
            json!({"query_type": "predicate", "query": {}}),
            json!({"query_type": "sql", "query": {}}),
            json!({"query_type": "expression", "query": {"person_identifier": {"gt": "1"}}}),
            json!({"query_type": "expression", "query": {"poverty_score": {"eq": 1}}}),
            json!({"query_type": "expression", "query": {"programme_identifier": {"eq": "PKH"}}}),
            json!({"query_type": "expression", "query": "person_identifier = 1"}),
        ] {
            let r = ask(q.clone()).unwrap_err();
            assert_eq!(r.code, "rjct.search_criteria.invalid", "{q}");
        }
    }
}
