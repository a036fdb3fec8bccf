//! Verdicts and claim outcomes in the JSON that `tepat check --json` and
//! `tepat claim --json` print, so that the service and the command never
//! disagree (a test compares them).

use serde_json::{Value, json};
use tepat::{ClaimOutcome, Registry, Verdict};

/// The `reasons` array: a stable `code` each, whether it blocks, and its
/// details.
pub fn reasons(registry: &Registry, v: &Verdict) -> Value {
    let mut out = Vec::new();
    for code in v.reasons.iter() {
        let mut r =
            json!({ "code": code.as_str(), "blocks": registry.policy().blocks(code.as_str()) });
        match code {
            tepat::ReasonCode::ExcludedBy => {
                r["by"] = v
                    .conflicts
                    .iter()
                    .map(|c| {
                        json!({
                            "program": registry.get(c.program).map(|p| p.code.as_str()),
                            "level": match c.level {
                                tepat::program::ExclusionLevel::Person => "person",
                                tepat::program::ExclusionLevel::Family => "family",
                            },
                        })
                    })
                    .collect();
            }
            tepat::ReasonCode::AlreadyClaimed => {
                if let Some(c) = &v.claimed {
                    r["request_id"] = json!(c.request_id);
                    r["nik"] = json!(tepat::nik::identity_text(c.nik));
                    r["kk"] = json!(c.kk.map(tepat::nik::identity_text));
                    r["at_ms"] = json!(c.at_ms);
                }
            }
            _ => {}
        }
        out.push(r);
    }
    Value::Array(out)
}

/// What was asked of a check or a claim: NIK, program, period as given.
pub struct Asked<'a> {
    /// The NIK.
    pub nik: &'a str,
    /// The program's code.
    pub program: &'a str,
    /// The period.
    pub period: &'a str,
}

/// A check's answer.
pub fn check(registry: &Registry, asked: &Asked<'_>, v: &Verdict, entitled: Option<u64>) -> Value {
    json!({
        "nik": asked.nik, "program": asked.program, "period": asked.period,
        "payable": v.payable, "entitled": entitled, "reasons": reasons(registry, v),
    })
}

/// A claim's answer.
pub fn claim(registry: &Registry, asked: &Asked<'_>, out: &ClaimOutcome) -> Value {
    json!({
        "outcome": if out.paid { "paid" } else { "refused" },
        "request_id": out.request_id,
        "nik": asked.nik,
        "program": asked.program,
        "period": asked.period,
        "amount": out.amount,
        "entitled": out.entitled,
        "reasons": reasons(registry, &out.verdict),
        "replayed": out.replayed,
        "reversed": out.reversed.as_ref().map(|r| json!({
            "request_id": r.request_id,
            "at": tepat::date::iso_utc(r.at_ms),
            "reason": r.reason,
        })),
        "elsewhere": out.elsewhere.as_ref().map(|h| json!({
            "point": h.point,
            "request_id": h.request_id,
            "at": tepat::date::iso_utc(h.at_ms),
        })),
    })
}
