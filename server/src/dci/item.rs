//! What every request of a message carries and every answer to one
//! shows: its `reference_id` (unique within the message), its
//! `timestamp`, and its own status with the spec's per-request reason
//! code (`SearchStatusReasonCode`).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::time;

/// A request refused on its own, its message's other requests answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReject {
    /// The spec's code (`rjct.reference_id.invalid`, ...).
    pub code: &'static str,
    /// For a person.
    pub message: String,
}

impl ItemReject {
    /// A refusal with the spec's `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> ItemReject {
        ItemReject {
            code,
            message: message.into(),
        }
    }

    /// `rjct.search_criteria.invalid`: the query cannot be answered.
    pub fn criteria(message: impl Into<String>) -> ItemReject {
        ItemReject::new("rjct.search_criteria.invalid", message)
    }
}

/// Whether a request must carry `reference_id` and `timestamp` (the
/// spec's search requests), or may leave them out (an enrolled query,
/// which the spec gives neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    /// Both required.
    Required,
    /// Both optional; the reference id is then the request's position.
    Optional,
}

/// The reference id of the request at `position` (from 1), and whether
/// its reference id and timestamp are acceptable. `seen` holds the
/// reference ids of the message's earlier requests.
pub fn read(
    item: &Map<String, Value>,
    position: usize,
    ids: Ids,
    seen: &mut HashSet<String>,
) -> (String, Result<(), ItemReject>) {
    let reference_id = match (item.get("reference_id"), ids) {
        (Some(Value::String(s)), _) => s.clone(),
        (None, Ids::Optional) => position.to_string(),
        // Echo what was sent, so that the sender can tell which it was.
        (Some(other), _) => {
            return (
                other.to_string(),
                Err(ItemReject::new(
                    "rjct.reference_id.invalid",
                    "reference_id must be a string",
                )),
            );
        }
        (None, Ids::Required) => {
            return (
                String::new(),
                Err(ItemReject::new(
                    "rjct.reference_id.invalid",
                    "reference_id is required",
                )),
            );
        }
    };
    if !seen.insert(reference_id.clone()) {
        let e = ItemReject::new(
            "rjct.reference_id.duplicate",
            "another request of this message has this reference_id",
        );
        return (reference_id, Err(e));
    }
    let timestamp = match (item.get("timestamp"), ids) {
        (Some(Value::String(t)), _) => time::is_date_time(t),
        (None, Ids::Optional) => true,
        _ => false,
    };
    if !timestamp {
        let e = ItemReject::new(
            "rjct.timestamp.invalid",
            "timestamp must be an ISO 8601 date-time with a time zone",
        );
        return (reference_id, Err(e));
    }
    (reference_id, Ok(()))
}

/// The start of an answer to one request: its reference id, now, and its
/// status (`succ`, or `rjct` with the reason).
pub fn answer(reference_id: &str, outcome: Result<(), &ItemReject>) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("reference_id".into(), json!(reference_id));
    a.insert("timestamp".into(), json!(time::now()));
    match outcome {
        Ok(()) => {
            a.insert("status".into(), json!("succ"));
        }
        Err(r) => {
            a.insert("status".into(), json!("rjct"));
            a.insert("status_reason_code".into(), json!(r.code));
            a.insert("status_reason_message".into(), json!(r.message));
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reference_ids_are_unique_strings_and_timestamps_dates() {
        let mut seen = HashSet::new();
        let ok = item(json!({"reference_id": "r1", "timestamp": "2022-12-04T17:20:07-04:00"}));
        assert_eq!(
            read(&ok, 1, Ids::Required, &mut seen),
            ("r1".into(), Ok(()))
        );
        let (_, again) = read(&ok, 2, Ids::Required, &mut seen);
        assert_eq!(again.unwrap_err().code, "rjct.reference_id.duplicate");
        let (id, number) = read(
            &item(json!({"reference_id": 7})),
            3,
            Ids::Required,
            &mut seen,
        );
        assert_eq!(
            (id.as_str(), number.unwrap_err().code),
            ("7", "rjct.reference_id.invalid")
        );
        let late = item(json!({"reference_id": "r2", "timestamp": "tomorrow"}));
        let (_, late) = read(&late, 4, Ids::Required, &mut seen);
        assert_eq!(late.unwrap_err().code, "rjct.timestamp.invalid");
        let (id, bare) = read(&item(json!({})), 5, Ids::Optional, &mut seen);
        assert_eq!((id.as_str(), bare), ("5", Ok(())));
    }
}
