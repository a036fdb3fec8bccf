//! Conflict rules as data: which source gives which field of the register
//! (`merge.toml`; the default is `merge/rules/merge.toml`, compiled in).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tepat::register::Relation;
use tepat::{ComponentSet, Date, Kk, Registry};

use crate::error::{MergeError, Result};
use crate::schema::{NO_DATE, NONE, Rec};

/// The default rules, as shipped.
pub const DEFAULT_RULES: &str = include_str!("../rules/merge.toml");

/// The name of the civil register in rules.
pub const CIVIL_NAME: &str = "DUKCAPIL";

/// A field of `register.csv` that rules decide (every one but the NIK,
/// which is the civil register's by construction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `kk`
    Kk,
    /// `relation`
    Relation,
    /// `sex`
    Sex,
    /// `birth_date`
    BirthDate,
    /// `village_code`
    Village,
    /// `deceased`
    Deceased,
    /// `decile`
    Decile,
    /// `civil_servant`
    CivilServant,
    /// `components`
    Components,
    /// `programs`
    Programs,
}

/// Every target with its name in `merge.toml`, in register column order.
pub const TARGETS: [(&str, Target); 10] = [
    ("kk", Target::Kk),
    ("relation", Target::Relation),
    ("village", Target::Village),
    ("sex", Target::Sex),
    ("birth_date", Target::BirthDate),
    ("decile", Target::Decile),
    ("deceased", Target::Deceased),
    ("civil_servant", Target::CivilServant),
    ("components", Target::Components),
    ("programs", Target::Programs),
];

impl Target {
    /// The field's value in a record, if the record has one. Values are
    /// carried as `u64` (dates as days since 1970 + 2^31).
    pub fn value(self, r: &Rec) -> Option<u64> {
        let byte = |v: u8| (v != NONE).then_some(u64::from(v));
        match self {
            Target::Kk => (r.kk != 0).then_some(r.kk),
            Target::Relation => byte(r.relation),
            Target::Sex => (r.sex != 0).then_some(u64::from(r.sex)),
            Target::BirthDate => Some(date_value(r.birth)),
            Target::Village => (r.village != 0).then_some(r.village),
            Target::Deceased => byte(r.deceased),
            Target::Decile => (r.decile != 0).then_some(u64::from(r.decile)),
            Target::CivilServant => byte(r.civil_servant),
            Target::Components => r.components.map(u64::from),
            Target::Programs => r.programs.map(u64::from),
        }
    }
}

/// A date as a rule value.
pub fn date_value(days: i32) -> u64 {
    (i64::from(days) + (1 << 31)) as u64
}

/// A rule value back to days since 1970.
pub fn value_date(v: u64) -> i32 {
    (v as i64 - (1 << 31)) as i32
}

/// How to choose among the listed sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The first listed source that has a value.
    First,
    /// The most recently updated record of any listed source.
    MostRecent,
}

/// The rule for one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRule {
    /// Source names in order of trust ([`CIVIL_NAME`] for the civil
    /// register).
    pub from: Vec<String>,
    /// How to choose.
    pub pick: Pick,
    /// The value when no listed source has one.
    pub default: Option<u64>,
}

/// The rules for every field, in [`TARGETS`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Where they were read (`<embedded>` for the default).
    pub file: PathBuf,
    /// One rule per target.
    pub fields: Vec<(Target, FieldRule)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    fields: BTreeMap<String, RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    from: Vec<String>,
    pick: Option<String>,
    default: Option<toml::Value>,
}

impl Rules {
    /// The compiled-in rules.
    pub fn embedded(registry: &Registry) -> Result<Rules> {
        Rules::parse(DEFAULT_RULES, Path::new("<embedded>"), registry, None)
    }

    /// Rules from a file; fields it leaves out keep the embedded rule.
    pub fn from_file(path: &Path, registry: &Registry) -> Result<Rules> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io(path))?;
        let base = Rules::embedded(registry)?;
        Rules::parse(&text, path, registry, Some(&base))
    }

    fn parse(text: &str, file: &Path, registry: &Registry, base: Option<&Rules>) -> Result<Rules> {
        let bad = |reason: String| MergeError::Rules {
            file: file.to_owned(),
            reason,
        };
        let doc: Doc = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        for name in doc.fields.keys() {
            if !TARGETS.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = TARGETS.iter().map(|t| t.0).collect();
                return Err(bad(format!(
                    "fields.{name}: not a register field (one of {})",
                    known.join(", ")
                )));
            }
        }
        let mut fields = Vec::with_capacity(TARGETS.len());
        for (name, target) in TARGETS {
            let rule = match (doc.fields.get(name), base) {
                (Some(raw), _) => field_rule(raw, target, registry)
                    .map_err(|reason| bad(format!("fields.{name}: {reason}")))?,
                (None, Some(base)) => base.rule(target).clone(),
                (None, None) => return Err(bad(format!("fields.{name}: missing"))),
            };
            fields.push((target, rule));
        }
        Ok(Rules {
            file: file.to_owned(),
            fields,
        })
    }

    /// The rule for `target`.
    pub fn rule(&self, target: Target) -> &FieldRule {
        // Every target has a rule: `parse` builds one per entry of TARGETS.
        let i = TARGETS.iter().position(|t| t.1 == target).unwrap_or(0);
        &self.fields[i].1
    }

    /// Source names the rules mention, other than the civil register.
    pub fn source_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .fields
            .iter()
            .flat_map(|(_, r)| r.from.iter().map(String::as_str))
            .filter(|n| *n != CIVIL_NAME)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

fn field_rule(raw: &RawRule, target: Target, registry: &Registry) -> Result<FieldRule, String> {
    if raw.from.is_empty() {
        return Err("`from` lists no source".into());
    }
    for name in &raw.from {
        crate::check_source_name(name).map_err(|e| format!("from: {e}"))?;
    }
    let pick = match raw.pick.as_deref() {
        None | Some("first") => Pick::First,
        Some("most_recent") => Pick::MostRecent,
        Some(other) => {
            return Err(format!(
                "pick {other:?} is not \"first\" or \"most_recent\""
            ));
        }
    };
    let default = match &raw.default {
        None => None,
        Some(v) => Some(default_value(v, target, registry)?),
    };
    Ok(FieldRule {
        from: raw.from.clone(),
        pick,
        default,
    })
}

fn default_value(v: &toml::Value, target: Target, registry: &Registry) -> Result<u64, String> {
    let text = v.as_str();
    let shown = match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    };
    let bad = || format!("default {shown} does not fit the field");
    match target {
        Target::Kk => text
            .and_then(|t| Kk::parse(t).ok())
            .map(Kk::get)
            .ok_or_else(bad),
        Target::Relation => text
            .and_then(Relation::from_name)
            .map(|r| u64::from(r.code()))
            .ok_or_else(bad),
        Target::Sex => match text {
            Some("M") => Ok(1),
            Some("F") => Ok(2),
            _ => Err(bad()),
        },
        Target::BirthDate => text
            .and_then(|t| Date::parse_iso(t).ok())
            .map(|d| date_value(d.to_unix_days() as i32))
            .ok_or_else(bad),
        Target::Village => text
            .filter(|t| t.len() == 10)
            .and_then(|t| t.parse().ok())
            .ok_or_else(bad),
        Target::Deceased | Target::CivilServant => v.as_bool().map(u64::from).ok_or_else(bad),
        Target::Decile => v
            .as_integer()
            .filter(|d| (1..=10).contains(d))
            .map(|d| d as u64)
            .ok_or_else(bad),
        Target::Components => text
            .and_then(|t| ComponentSet::parse_recorded(t).ok())
            .map(|c| u64::from(c.0))
            .ok_or_else(bad),
        Target::Programs => text
            .and_then(|t| registry.parse_set(t).ok())
            .map(|p| u64::from(p.0))
            .ok_or_else(bad),
    }
}

/// The rules with source names turned into source indices, ready to
/// resolve one person's records.
pub struct Resolver<'r> {
    rules: &'r Rules,
    /// Per rule (in [`Rules::fields`] order): the listed sources' indices
    /// ([`crate::CIVIL`] for the civil register), unknown names dropped.
    order: Vec<Vec<u8>>,
}

impl<'r> Resolver<'r> {
    /// Binds `rules` to the sources given, by name.
    pub fn new(rules: &'r Rules, sources: &[String]) -> Resolver<'r> {
        let order = rules
            .fields
            .iter()
            .map(|(_, rule)| {
                rule.from
                    .iter()
                    .filter_map(|name| match name.as_str() {
                        CIVIL_NAME => Some(crate::CIVIL),
                        n => sources.iter().position(|s| s == n).map(|i| i as u8),
                    })
                    .collect()
            })
            .collect();
        Resolver { rules, order }
    }

    /// The value of field `k` (index into [`Rules::fields`]) for a person
    /// with civil record `civil` and source records `recs`, or `None` when
    /// no listed source has one and there is no default.
    pub fn resolve(&self, k: usize, civil: &Rec, recs: &[Rec]) -> Option<u64> {
        let (target, rule) = &self.rules.fields[k];
        let order = &self.order[k];
        // (updated, earlier in the list, earlier line): larger wins.
        let mut best: Option<((i32, i64, i64), u64)> = None;
        for (pos, &src) in order.iter().enumerate() {
            let candidates = std::iter::once(civil)
                .filter(|_| src == crate::CIVIL)
                .chain(
                    recs.iter()
                        .filter(|r| r.source == src && src != crate::CIVIL),
                );
            for r in candidates {
                let Some(v) = target.value(r) else { continue };
                let updated = if r.updated == NO_DATE {
                    i32::MIN
                } else {
                    r.updated
                };
                let key = (updated, -(pos as i64), -(r.line as i64));
                if best.is_none_or(|(b, _)| key > b) {
                    best = Some((key, v));
                }
            }
            if rule.pick == Pick::First && best.is_some() {
                break;
            }
        }
        best.map(|(_, v)| v).or(rule.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(source: u8, line: u64, decile: u8, updated: i32) -> Rec {
        Rec {
            source,
            line,
            decile,
            updated,
            relation: NONE,
            civil_servant: NONE,
            deceased: NONE,
            ..Rec::default()
        }
    }

    #[test]
    fn embedded_rules_parse_and_resolve() {
        let r = Registry::builtin();
        let rules = Rules::embedded(r).unwrap();
        assert_eq!(rules.source_names(), ["DTKS", "P3KE", "REGSOSEK"]);
        let sources = ["DTKS".to_owned(), "REGSOSEK".to_owned(), "P3KE".to_owned()];
        let res = Resolver::new(&rules, &sources);
        let decile = TARGETS.iter().position(|t| t.1 == Target::Decile).unwrap();
        let civil = rec(crate::CIVIL, 2, 0, NO_DATE);
        // most_recent: the newer DTKS record beats an older Regsosek one.
        let recs = [rec(0, 5, 3, 200), rec(1, 9, 5, 100)];
        assert_eq!(res.resolve(decile, &civil, &recs), Some(3));
        // Ties go to the source listed first (REGSOSEK).
        let recs = [rec(0, 5, 3, 100), rec(1, 9, 5, 100)];
        assert_eq!(res.resolve(decile, &civil, &recs), Some(5));
        assert_eq!(res.resolve(decile, &civil, &[]), None);
        let programs = TARGETS
            .iter()
            .position(|t| t.1 == Target::Programs)
            .unwrap();
        assert_eq!(res.resolve(programs, &civil, &[]), Some(0));
    }

    #[test]
    fn bad_rules_are_named() {
        let r = Registry::builtin();
        let cases = [
            ("[fields.colour]\nfrom = [\"DTKS\"]", "fields.colour"),
            (
                "[fields.kk]\nfrom = []",
                "fields.kk: `from` lists no source",
            ),
            (
                "[fields.kk]\nfrom = [\"DTKS\"]\npick = \"newest\"",
                "pick \"newest\"",
            ),
            (
                "[fields.decile]\nfrom = [\"DTKS\"]\ndefault = 11",
                "default 11",
            ),
            ("[fields.kk]\nfrom = [\"dtks\"]", "fields.kk: from"),
            ("[fields.kk]\nform = [\"DTKS\"]", "form"),
        ];
        let base = Rules::embedded(r).unwrap();
        for (text, want) in cases {
            let e = Rules::parse(text, Path::new("m.toml"), r, Some(&base)).unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
        let one = Rules::parse(
            "[fields.decile]\nfrom = [\"P3KE\"]",
            Path::new("m.toml"),
            r,
            Some(&base),
        )
        .unwrap();
        assert_eq!(one.rule(Target::Decile).from, ["P3KE"]);
        assert_eq!(one.rule(Target::Kk), base.rule(Target::Kk));
    }
}
