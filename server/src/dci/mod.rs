//! The DCI (Digital Convergence Initiative) Integrated Beneficiary
//! Registry API v1.0.0, as far as a register of enrolments can answer it
//! at once: `POST /registry/sync/enrolled` (is this person enrolled in
//! these programmes?) and `POST /registry/sync/search` (this person's
//! record, by identifier).
//!
//! Every DCI message is an envelope of `signature`, `header` and
//! `message`. A message whose envelope cannot be read at all is a 400 in
//! the service's error shape, naming the field ([`envelope`]); one whose
//! header breaks a rule of the spec is answered 200 with the spec's
//! `rjct.*` code in the answer's header, as DCI clients expect of a sync
//! route; the requests of an accepted message are answered one by one,
//! each with its own status ([`enrolled`], [`search`]).
//!
//! | module | what |
//! |---|---|
//! | [`envelope`] | the envelope: the request header's checks, the answer's header |
//! | [`seen`] | recently seen message ids, to reject a duplicate |
//! | [`time`] | the spec's timestamps (RFC 3339) |
//! | [`identifier`] | identifier types, and a person found by one |
//! | [`item`] | what every request of a batch carries: reference id, timestamp |
//! | [`enrolled`] | `enrolled`: enrolment per programme |
//! | [`search`] | `search`: a person's record by identifier |
//! | [`http_error`] | the service's errors with the spec's `err.*` codes beside them |

pub mod enrolled;
pub mod envelope;
pub mod http_error;
pub mod identifier;
pub mod item;
pub mod search;
pub mod seen;
pub mod time;

/// The version of the DCI messaging protocol this service speaks.
pub const VERSION: &str = "1.0.0";

/// The most requests one message may carry (`rjct.total_count.limit_exceeded`
/// beyond). Each is a lookup on the blocking pool within one answer, and
/// the body limit already keeps messages small: this keeps one message's
/// answer bounded in time whatever `--max-body` says.
pub const MAX_REQUESTS: usize = 1000;

/// How many message ids each service remembers to reject a duplicate
/// (`rjct.message_id.duplicate`): the oldest are forgotten beyond.
pub const SEEN_MESSAGE_IDS: usize = 100_000;

/// What this service calls itself in the answers' `sender_id`.
pub const SENDER_ID: &str = "tepat";

/// What differs between the DCI routes; the envelope's handling is the
/// same for all (`routes::dci`).
pub trait Route {
    /// The message a request carries.
    type Message: serde::de::DeserializeOwned + Send + Sync + 'static;
    /// The route's path, as the access log and the metrics name it.
    const PATH: &'static str;
    /// What a caller's role must allow.
    const ACCESS: crate::auth::Action;
    /// The header actions the route takes.
    const ACTIONS: &'static [&'static str];
    /// The action of its answers.
    const ANSWER_ACTION: &'static str;
    /// The message's transaction id.
    fn transaction_id(message: &Self::Message) -> &str;
    /// How many requests the message carries.
    fn requests(message: &Self::Message) -> usize;
    /// The answer's message; `named` gets every identifier looked up.
    fn answer(
        store: &tepat::Store,
        caller: &crate::tokens::Caller,
        message: &Self::Message,
        named: &mut Vec<String>,
    ) -> crate::errors::ApiResult<serde_json::Value>;
}

/// `POST /registry/sync/enrolled`.
pub struct Enrolled;

impl Route for Enrolled {
    type Message = enrolled::EnrolledMessage;
    const PATH: &'static str = "/registry/sync/enrolled";
    /// Enrolment is what a check tells: the roles that check may ask.
    const ACCESS: crate::auth::Action = crate::auth::Action::Registry;
    /// The spec's YAML and sample give this route the action `search`;
    /// `enrolled`, the route's own verb, is taken too.
    const ACTIONS: &'static [&'static str] = &["search", "enrolled"];
    const ANSWER_ACTION: &'static str = "on-enrolled";

    fn transaction_id(message: &Self::Message) -> &str {
        &message.transaction_id
    }

    fn requests(message: &Self::Message) -> usize {
        message.enrolled_criteria.items().len()
    }

    fn answer(
        store: &tepat::Store,
        caller: &crate::tokens::Caller,
        message: &Self::Message,
        named: &mut Vec<String>,
    ) -> crate::errors::ApiResult<serde_json::Value> {
        enrolled::answer(store, caller, message, named)
    }
}

/// `POST /registry/sync/search`.
pub struct Search;

impl Route for Search {
    type Message = search::SearchMessage;
    const PATH: &'static str = "/registry/sync/search";
    /// A person's record (sex, birth date, family card, village) is what
    /// `GET /v1/persons/{nik}` shows: the roles that may read persons.
    const ACCESS: crate::auth::Action = crate::auth::Action::Person;
    const ACTIONS: &'static [&'static str] = &["search"];
    const ANSWER_ACTION: &'static str = "on-search";

    fn transaction_id(message: &Self::Message) -> &str {
        &message.transaction_id
    }

    fn requests(message: &Self::Message) -> usize {
        message.search_request.len()
    }

    fn answer(
        store: &tepat::Store,
        caller: &crate::tokens::Caller,
        message: &Self::Message,
        named: &mut Vec<String>,
    ) -> crate::errors::ApiResult<serde_json::Value> {
        search::answer(store, caller, message, named)
    }
}
