//! `POST /registry/sync/search`: a person's record by identifier. Each
//! request of `search_request` is answered on its own: `succ` with the
//! records found (none or one: an identifier names one person) and their
//! pagination, or `rjct` with the spec's reason.
//!
//! Only `idtype-value` queries are answered (`{"type": "NIK", "value":
//! "3201…"}`); `expression` and `predicate` queries, which search the
//! register by attributes, are refused (`rjct.search_criteria.invalid`):
//! a national register is not to be listed by whoever holds a counter's
//! token. `sort` is read and checked but changes nothing with one record;
//! `reg_event_type`, `consent`, `authorize` and `locale` are not used.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tepat::Store;
use tepat::snapshot::Snapshot;

use super::envelope::new_id;
use super::identifier;
use super::item::{self, Ids, ItemReject};
use crate::errors::ApiResult;
use crate::tokens::Caller;

/// The message of a search request (`SearchRequest`).
#[derive(Deserialize)]
pub struct SearchMessage {
    /// The sender's transaction, echoed.
    pub transaction_id: String,
    /// The requests: objects, read one by one.
    pub search_request: Vec<Map<String, Value>>,
}

/// The page size when a request gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 10;

/// A page asked for: size and number, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Records per page.
    pub size: u64,
    /// Which page, from 1.
    pub number: u64,
}

/// The spec's `pagination` (`int32` numbers, counted from 1).
pub fn page(p: Option<&Value>) -> Result<Page, ItemReject> {
    let bad = || {
        ItemReject::new(
            "rjct.pagination.invalid",
            "page_size and page_number are integers from 1",
        )
    };
    let Some(p) = p else {
        return Ok(Page {
            size: DEFAULT_PAGE_SIZE,
            number: 1,
        });
    };
    let p = p.as_object().ok_or_else(bad)?;
    let number = |k: &str| match p.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=i32::MAX as u64).contains(n))
            .map(Some)
            .ok_or_else(bad),
    };
    Ok(Page {
        size: number("page_size")?.ok_or_else(bad)?,
        number: number("page_number")?.unwrap_or(1),
    })
}

/// The spec's `sort`: a list of `{attribute_name, sort_order: asc|desc}`.
pub fn check_sort(s: Option<&Value>) -> Result<(), ItemReject> {
    let Some(s) = s else { return Ok(()) };
    let ok = s.as_array().is_some_and(|list| {
        list.iter().all(|k| {
            k.get("attribute_name").is_some_and(Value::is_string)
                && k.get("sort_order")
                    .is_none_or(|o| matches!(o.as_str(), Some("asc" | "desc")))
        })
    });
    if ok {
        Ok(())
    } else {
        Err(ItemReject::new(
            "rjct.sort.invalid",
            "sort is a list of {attribute_name, sort_order: asc or desc}",
        ))
    }
}

/// The identifier an `idtype-value` query names.
pub fn query(criteria: &Map<String, Value>) -> Result<String, ItemReject> {
    match criteria.get("query_type").and_then(Value::as_str) {
        Some("idtype-value") => {}
        Some("expression" | "predicate") => {
            return Err(ItemReject::criteria(
                "only idtype-value queries are answered here: a search names one person",
            ));
        }
        _ => return Err(ItemReject::criteria("query_type must be idtype-value")),
    }
    let q = criteria
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| ItemReject::criteria("query must be {type, value}"))?;
    identifier::check_type(q.get("type").unwrap_or(&Value::Null))?;
    identifier::value(q.get("value").unwrap_or(&Value::Null))
}

/// A request's checks before its lookup: the identifier and the page.
fn asked(request: &Map<String, Value>) -> Result<(String, Page), ItemReject> {
    let criteria = request
        .get("search_criteria")
        .and_then(Value::as_object)
        .ok_or_else(|| ItemReject::criteria("search_criteria must be an object"))?;
    let id = query(criteria)?;
    let page = page(criteria.get("pagination"))?;
    check_sort(criteria.get("sort"))?;
    Ok((id, page))
}

/// The answer to one request. `named` gets the identifier looked up.
fn answer_one(
    store: &Store,
    snap: &Snapshot,
    caller: &Caller,
    (reference_id, request): (&str, &Map<String, Value>),
    named: &mut Vec<String>,
) -> ApiResult<Value> {
    let refused = |r: ItemReject| Ok(Value::Object(item::answer(reference_id, Err(&r))));
    let (id, page) = match asked(request) {
        Ok(asked) => asked,
        Err(r) => return refused(r),
    };
    named.push(id.clone());
    let nik = match identifier::nik(&id) {
        Ok(nik) => nik,
        Err(r) => return refused(r),
    };
    // Not in the register and outside the token's regions are the same
    // answer: no record.
    let found: Vec<Value> = identifier::find(store, snap, caller, nik)?
        .map(|r| identifier::record(snap.registry(), &r))
        .into_iter()
        .collect();
    let total = found.len() as u64;
    let skip = (page.number - 1).saturating_mul(page.size);
    let shown: Vec<Value> = found
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .collect();
    let mut a = item::answer(reference_id, Ok(()));
    a.insert(
        "data".into(),
        json!({ "version": "1.0.0", "reg_records": shown }),
    );
    a.insert(
        "pagination".into(),
        json!({ "page_size": page.size, "page_number": page.number, "total_count": total }),
    );
    Ok(Value::Object(a))
}

/// The message of the answer (`SearchResponse`). `named` gets every
/// identifier looked up, for the access log.
pub fn answer(
    store: &Store,
    caller: &Caller,
    message: &SearchMessage,
    named: &mut Vec<String>,
) -> ApiResult<Value> {
    let snap = store.snapshot();
    let mut seen = HashSet::new();
    let mut answers = Vec::new();
    for (i, request) in message.search_request.iter().enumerate() {
        let (reference_id, ids) = item::read(request, i + 1, Ids::Required, &mut seen);
        answers.push(match ids {
            Ok(()) => answer_one(store, &snap, caller, (&reference_id, request), named)?,
            Err(r) => Value::Object(item::answer(&reference_id, Err(&r))),
        });
    }
    Ok(json!({
        "transaction_id": message.transaction_id,
        "correlation_id": new_id()?,
        "search_response": answers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sorts_and_queries_are_checked() {
        assert_eq!(
            page(None),
            Ok(Page {
                size: 10,
                number: 1
            })
        );
        assert_eq!(
            page(Some(&json!({"page_size": 2, "page_number": 3}))),
            Ok(Page { size: 2, number: 3 })
        );
        for bad in [
            json!({"page_number": 1}),
            json!({"page_size": 0}),
            json!({"page_size": 1.5}),
            json!("10"),
        ] {
            assert_eq!(
                page(Some(&bad)).unwrap_err().code,
                "rjct.pagination.invalid",
                "{bad}"
            );
        }
        assert!(
            check_sort(Some(
                &json!([{"attribute_name": "UIN", "sort_order": "asc"}])
            ))
            .is_ok()
        );
        assert_eq!(
            check_sort(Some(
                &json!([{"attribute_name": "UIN", "sort_order": "up"}])
            ))
            .unwrap_err()
            .code,
            "rjct.sort.invalid"
        );
        let q = |v: Value| query(v.as_object().unwrap());
        assert_eq!(
            q(json!({"query_type": "idtype-value", "query": {"type": "UIN", "value": "1"}})),
            Ok("1".into())
        );
        assert!(q(json!({"query_type": "expression", "query": {}})).is_err());
        assert!(
            q(json!({"query_type": "idtype-value", "query": {"type": "MOBILE", "value": "1"}}))
                .is_err()
        );
    }
}
