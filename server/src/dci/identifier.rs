//! Identifiers, and the person one names. Every identifier type taken
//! here names the NIK, Indonesia's national identity number: `NIK` (ours),
//! `NID` (the spec's samples: national id) and `UIN` (the spec's one named
//! type: unique identification number). Values are JSON strings, always:
//! a NIK of Papua exceeds 2^53.
//!
//! A token limited to regions learns nothing of persons outside them: such
//! a person is answered exactly as one not in the register.

use serde_json::{Value, json};
use tepat::live::LivePerson;
use tepat::snapshot::Snapshot;
use tepat::{Date, Nik, ProgramSet, Registry, Store};

use super::item::ItemReject;
use crate::errors::ApiResult;
use crate::tokens::Caller;

/// The identifier types taken, each naming the NIK.
pub const TYPES: [&str; 3] = ["NIK", "NID", "UIN"];

/// The identifier type every answer names.
pub const ANSWER_TYPE: &str = "NIK";

/// 400-free check of an identifier type: `rjct.search_criteria.invalid`
/// for a type this register does not hold.
pub fn check_type(t: &Value) -> Result<(), ItemReject> {
    match t.as_str() {
        Some(t) if TYPES.contains(&t) => Ok(()),
        _ => Err(ItemReject::criteria(format!(
            "identifier type {t} is not held here; types taken: {}",
            TYPES.join(", ")
        ))),
    }
}

/// An identifier's value as given: a string, or the request is refused.
pub fn value(v: &Value) -> Result<String, ItemReject> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(ItemReject::criteria(
            "an identifier value is a JSON string (a NIK exceeds what JSON numbers carry exactly)",
        )),
    }
}

/// The NIK of an identifier value, or the request is refused.
pub fn nik(value: &str) -> Result<Nik, ItemReject> {
    Nik::parse(value).map_err(|e| ItemReject::criteria(format!("not a valid NIK: {e}")))
}

/// A person as the DCI routes show them.
pub struct Registrant {
    /// Their NIK.
    pub nik: Nik,
    /// Their current state.
    pub now: LivePerson,
}

impl Registrant {
    /// The programmes they are enrolled in.
    pub fn enrolled(&self) -> ProgramSet {
        ProgramSet(self.now.enrolled)
    }

    /// The spec's enrolment status (`EnrollmentStatus`) of their
    /// enrolments: the register records deaths, not graduations or
    /// suspensions.
    pub fn enrolment_status(&self) -> &'static str {
        if self.now.deceased {
            "Deceased"
        } else {
            "Active"
        }
    }
}

/// The person with this NIK as `caller` may see them: `None` when not in
/// the register or outside the caller's regions.
pub fn find(
    store: &Store,
    snap: &Snapshot,
    caller: &Caller,
    nik: Nik,
) -> ApiResult<Option<Registrant>> {
    let Some(person) = store.person(snap, nik.get())? else {
        return Ok(None);
    };
    let now = person.to_live();
    if !caller.covers(&format!("{:010}", now.village)) {
        return Ok(None);
    }
    Ok(Some(Registrant { nik, now }))
}

/// A person's identifier as the spec writes one.
pub fn identifier(nik: Nik) -> Value {
    json!([{ "identifier_type": ANSWER_TYPE, "identifier_value": nik.to_string() }])
}

/// A programme as the spec writes one.
pub fn programme(registry: &Registry, code: &str) -> Value {
    let name = registry
        .by_code(code)
        .and_then(|id| registry.get(id))
        .map_or("", |p| p.name.as_str());
    json!({ "programme_identifier": code, "programme_name": name })
}

/// A person's record, shaped as the spec's `Beneficiary` example: the
/// member (identifier, sex, birth date, family card, village) and the
/// programmes they are enrolled in. Deciles and eligibility components
/// are left out: they are specific personal data (UU 27/2022) that an
/// enrolment question does not need.
pub fn record(registry: &Registry, r: &Registrant) -> Value {
    let status = r.enrolment_status();
    let programmes: Vec<Value> = r
        .enrolled()
        .iter()
        .filter_map(|id| registry.get(id))
        .map(|p| {
            json!({
                "programme": programme(registry, &p.code),
                "enrolment_status": status,
            })
        })
        .collect();
    json!({
        "@context": { "@vocab": "https://schema.spdci.org/extensions/ibr/v1" },
        "@type": "Beneficiary",
        "member": {
            "member_identifier": identifier(r.nik),
            "demographic_info": { "person": {
                "identifier": identifier(r.nik),
                "sex": if r.now.female { "F" } else { "M" },
                "birth_date": Date::from_unix_days(r.now.birth_days).map(|d| d.to_string()),
            }},
            "household_identifier": tepat::nik::identity_text(r.now.kk),
            "sub_region_code": format!("{:010}", r.now.village),
        },
        "programme_identifier": programmes,
    })
}
