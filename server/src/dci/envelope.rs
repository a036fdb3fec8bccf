//! The DCI envelope: `{signature, header, message}`. The request header's
//! rules and their reject codes (`MsgHeaderStatusReasonCode`), and the
//! answer's header (`MsgCallbackHeader_V1.0.0`).
//!
//! The spec's own sample messages send `total_count` as a string (`"1"`)
//! where its schema says integer: both are taken, so that a client built
//! from the samples is answered.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{MAX_REQUESTS, SENDER_ID, VERSION, time};
use crate::errors::{ApiError, ApiResult};

/// A request message: the header read strictly, the message as `M`.
#[derive(Deserialize)]
pub struct Envelope<M> {
    /// The sender's signature of header and message. Read, not verified
    /// (see `docs/SERVICE.md`): the bearer token says who is calling.
    #[serde(default)]
    pub signature: Option<String>,
    /// The request header.
    pub header: RequestHeader,
    /// The message.
    pub message: M,
}

/// The request header (`MsgHeader_V1.0.0`). The fields the spec
/// requires are read as empty when missing, and [`RequestHeader::check_fields`]
/// names them (`header.sender_id`): serde's own message would name the
/// field without the envelope's path.
#[derive(Deserialize)]
pub struct RequestHeader {
    /// The protocol version; the spec's default is `1.0.0`.
    #[serde(default)]
    pub version: Option<String>,
    /// The sender's id of this message, unique between sender and receiver.
    #[serde(default)]
    pub message_id: String,
    /// When the message was sent (RFC 3339).
    #[serde(default)]
    pub message_ts: Option<String>,
    /// What the message asks: the route's verb.
    #[serde(default)]
    pub action: Option<String>,
    /// Who sends it.
    #[serde(default)]
    pub sender_id: String,
    /// Where a sender takes callbacks: not used by sync routes.
    #[serde(default)]
    pub sender_uri: Option<String>,
    /// Whom it is for.
    #[serde(default)]
    pub receiver_id: Option<String>,
    /// How many requests the message carries: an integer, or a string of
    /// digits as the spec's samples send it.
    #[serde(default)]
    pub total_count: Option<Value>,
    /// Whether `message` is encrypted (JWE).
    #[serde(default)]
    pub is_msg_encrypted: Option<bool>,
    /// The sender's extra information, passed through no one.
    #[serde(default)]
    pub meta: Option<Value>,
}

/// A header-level rejection: the spec's code and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The spec's `MsgHeaderStatusReasonCode` (`rjct.version.invalid`, ...).
    pub code: &'static str,
    /// For a person.
    pub message: String,
}

impl Reject {
    fn new(code: &'static str, message: impl Into<String>) -> Reject {
        Reject {
            code,
            message: message.into(),
        }
    }
}

/// The longest message id taken (the spec sets none; ids are UUIDs in
/// practice).
const MAX_MESSAGE_ID: usize = 128;

impl RequestHeader {
    /// The fields whose values the envelope cannot be read without: a 400
    /// naming the field, as for any other route.
    pub fn check_fields(&self) -> ApiResult<()> {
        let required = [
            ("action", self.action.is_none()),
            ("message_ts", self.message_ts.is_none()),
            ("total_count", self.total_count.is_none()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, missing)| *missing) {
            return Err(ApiError::field(
                &format!("header.{name}"),
                format!("header.{name}: required"),
            ));
        }
        if self.message_id.trim().is_empty() || self.message_id.len() > MAX_MESSAGE_ID {
            return Err(ApiError::field(
                "header.message_id",
                format!(
                    "header.message_id: a message id of 1 to {MAX_MESSAGE_ID} bytes is required"
                ),
            ));
        }
        if self.sender_id.trim().is_empty() {
            return Err(ApiError::field(
                "header.sender_id",
                "header.sender_id: the sender's id is required",
            ));
        }
        if self.is_msg_encrypted == Some(true) {
            return Err(ApiError::field(
                "header.is_msg_encrypted",
                "header.is_msg_encrypted: encrypted messages are not taken; send the message in clear over TLS",
            ));
        }
        Ok(())
    }

    /// The rules a header must keep before its message is read: the
    /// version, the action (one of `actions`: the route's), the timestamp.
    pub fn check(&self, actions: &[&str]) -> Result<(), Reject> {
        if let Some(v) = &self.version
            && v != VERSION
        {
            return Err(Reject::new(
                "rjct.version.invalid",
                format!("version {v:?} is not spoken here; this service speaks {VERSION}"),
            ));
        }
        let action = self.action.as_deref().unwrap_or_default();
        if !actions.contains(&action) {
            return Err(Reject::new(
                "rjct.action.invalid",
                format!(
                    "action {action:?} is not this route's; it takes {}",
                    actions.join(" or ")
                ),
            ));
        }
        let ts = self.message_ts.as_deref().unwrap_or_default();
        if !time::is_date_time(ts) {
            return Err(Reject::new(
                "rjct.message_ts.invalid",
                format!("message_ts {ts:?} is not an ISO 8601 date-time with a time zone"),
            ));
        }
        Ok(())
    }

    /// The count `total_count` states, if it is one.
    pub fn stated_count(&self) -> Option<usize> {
        match self.total_count.as_ref()? {
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse::<usize>().ok()
            }
            _ => None,
        }
    }

    /// `total_count` against the requests the message carries.
    pub fn check_count(&self, requests: usize) -> Result<(), Reject> {
        let Some(stated) = self.stated_count() else {
            return Err(Reject::new(
                "rjct.total_count.invalid",
                format!(
                    "total_count {} is not a count",
                    self.total_count.as_ref().unwrap_or(&Value::Null)
                ),
            ));
        };
        if stated > MAX_REQUESTS || requests > MAX_REQUESTS {
            return Err(Reject::new(
                "rjct.total_count.limit_exceeded",
                format!("a message may carry at most {MAX_REQUESTS} requests"),
            ));
        }
        if stated != requests {
            return Err(Reject::new(
                "rjct.total_count.invalid",
                format!("total_count is {stated} but the message carries {requests} requests"),
            ));
        }
        Ok(())
    }
}

/// The answer's header (`MsgCallbackHeader_V1.0.0`): a new message id,
/// now, the route's `on-` action, and how many requests were answered.
pub fn answer_header(
    request: &RequestHeader,
    action: &str,
    requests: usize,
    reject: Option<&Reject>,
) -> ApiResult<Value> {
    let mut h = Map::new();
    h.insert("version".into(), json!(VERSION));
    h.insert("message_id".into(), json!(new_id()?));
    h.insert("message_ts".into(), json!(time::now()));
    h.insert("action".into(), json!(action));
    match reject {
        None => {
            h.insert("status".into(), json!("succ"));
            h.insert("completed_count".into(), json!(requests));
        }
        Some(r) => {
            h.insert("status".into(), json!("rjct"));
            h.insert("status_reason_code".into(), json!(r.code));
            h.insert("status_reason_message".into(), json!(r.message));
            h.insert("completed_count".into(), json!(0));
        }
    }
    h.insert("total_count".into(), json!(requests));
    h.insert("sender_id".into(), json!(SENDER_ID));
    h.insert("receiver_id".into(), json!(request.sender_id));
    h.insert("is_msg_encrypted".into(), json!(false));
    Ok(Value::Object(h))
}

/// A rejected message's answer: the header alone, as the spec's answer
/// schemas allow (only `header` is required), since none of its requests
/// was looked at.
pub fn rejected(
    request: &RequestHeader,
    action: &str,
    requests: usize,
    reject: &Reject,
) -> ApiResult<Value> {
    Ok(json!({ "header": answer_header(request, action, requests, Some(reject))? }))
}

/// A new id for an answer's `message_id` and `correlation_id`: a random
/// UUID (version 4), as DCI systems use them.
pub fn new_id() -> ApiResult<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| ApiError::internal(format!("no random id: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::tokens::to_hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// The message of an envelope as `M`, a field at fault named with its
/// path from the envelope (`message.search_request[0]`,
/// `message.transaction_id`).
pub fn read_message<M: DeserializeOwned>(message: &Value) -> ApiResult<M> {
    serde_path_to_error::deserialize(message).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names a missing field only in its message; the path is
        // then the object that lacks it.
        let missing = inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(m)) => format!("message.{m}"),
            (p, Some(m)) => format!("message.{p}.{m}"),
            (".", None) => "message".to_owned(),
            (p, None) => format!("message.{p}"),
        };
        ApiError::field(&field, format!("{field}: {inner}"))
    })
}

/// The longest `transaction_id` the spec allows.
pub const MAX_TRANSACTION_ID: usize = 99;

/// 400 unless `id` is a transaction id the spec allows.
pub fn check_transaction_id(id: &str) -> ApiResult<()> {
    if id.len() > MAX_TRANSACTION_ID {
        return Err(ApiError::field(
            "message.transaction_id",
            format!("message.transaction_id: at most {MAX_TRANSACTION_ID} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(total_count: Value) -> RequestHeader {
        RequestHeader {
            version: Some("1.0.0".into()),
            message_id: "m-1".into(),
            message_ts: Some("2023-07-19T12:15:04.555Z".into()),
            action: Some("search".into()),
            sender_id: "sp".into(),
            sender_uri: None,
            receiver_id: None,
            total_count: Some(total_count),
            is_msg_encrypted: None,
            meta: None,
        }
    }

    #[test]
    fn counts_as_integers_and_digit_strings() {
        assert_eq!(header(json!(2)).check_count(2), Ok(()));
        assert_eq!(header(json!("2")).check_count(2), Ok(()));
        let code = |v: Value, n| header(v).check_count(n).map_err(|r| r.code);
        assert_eq!(code(json!(3), 2), Err("rjct.total_count.invalid"));
        assert_eq!(code(json!("-1"), 1), Err("rjct.total_count.invalid"));
        assert_eq!(code(json!(1.5), 1), Err("rjct.total_count.invalid"));
        assert_eq!(code(json!(null), 1), Err("rjct.total_count.invalid"));
        assert_eq!(code(json!(5000), 1), Err("rjct.total_count.limit_exceeded"));
    }

    #[test]
    fn answer_ids_are_uuids() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_id().unwrap());
    }
}
