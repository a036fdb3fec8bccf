//! The program registry: which assistance programs exist, who is eligible,
//! and which programs exclude each other — as data, never code.
//!
//! Each program is one bit in every person's eligibility and enrolment
//! bitsets ([`ProgramSet`], 32 bits), numbered in registry order. The eight
//! programs of DESIGN §2 ship as `data/programs.toml`, compiled in; a custom
//! registry loads from a TOML file in the same format, and a snapshot carries
//! its registry so that it explains itself.
//!
//! ```
//! use tepat::program::{Registry, Unit};
//!
//! let registry = Registry::builtin();
//! let blt = registry.by_code("BLT_DD").unwrap();
//! assert_eq!(registry.program(blt).unit, Unit::Family);
//! // BLT Dana Desa may not go to a PKH family (the 2020 rule), as data:
//! let pkh = registry.by_code("PKH").unwrap();
//! assert!(registry.program(blt).excludes.iter().any(|e| e.program == pkh));
//! ```

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::date::Date;
use crate::domain::period::{Period, PeriodKind, Window};
use crate::error::{Error, Result};

/// The most programs a registry can hold: the width of [`ProgramSet`].
pub const MAX_PROGRAMS: usize = 32;

/// A program's position in its registry (0–31), its bit in a [`ProgramSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProgramId(u8);

impl ProgramId {
    /// The id for bit `index`, or `None` when `index >= MAX_PROGRAMS`.
    pub const fn new(index: usize) -> Option<ProgramId> {
        if index < MAX_PROGRAMS {
            Some(ProgramId(index as u8))
        } else {
            None
        }
    }

    /// The bit index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A set of programs as a bitset over the registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProgramSet(pub u32);

impl ProgramSet {
    /// The empty set.
    pub const EMPTY: ProgramSet = ProgramSet(0);

    /// Whether `id` is in the set.
    #[inline]
    pub const fn contains(self, id: ProgramId) -> bool {
        self.0 & (1 << id.0) != 0
    }

    /// The set with `id` added.
    #[inline]
    pub const fn with(self, id: ProgramId) -> ProgramSet {
        ProgramSet(self.0 | (1 << id.0))
    }

    /// The set with `id` removed.
    #[inline]
    pub const fn without(self, id: ProgramId) -> ProgramSet {
        ProgramSet(self.0 & !(1 << id.0))
    }

    /// Adds `id`.
    #[inline]
    pub fn insert(&mut self, id: ProgramId) {
        *self = self.with(id);
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many programs are in the set.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// The programs in the set, in registry order.
    pub fn iter(self) -> impl Iterator<Item = ProgramId> {
        (0..MAX_PROGRAMS)
            .filter_map(ProgramId::new)
            .filter(move |id| self.contains(*id))
    }
}

/// Who a program pays: a person, or a family once for all its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Each enrolled person is paid.
    Person,
    /// The family (KK) is paid once; enrolment appears on every member.
    Family,
}

impl Unit {
    /// `"person"` or `"family"`.
    pub const fn name(self) -> &'static str {
        match self {
            Unit::Person => "person",
            Unit::Family => "family",
        }
    }
}

macro_rules! components {
    ($( $(#[$doc:meta])* $variant:ident = $bit:literal, $name:literal, $recorded:literal; )*) => {
        /// An eligibility component: a condition a rule can require. Some are
        /// recorded in the register (pregnancy, disability, ...), the others
        /// are derived from age on the period's first day.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum Component {
            $( $(#[$doc])* $variant = $bit, )*
        }

        impl Component {
            /// Every component, in bit order.
            pub const ALL: &'static [Component] = &[$(Component::$variant),*];

            /// The name used in registry files and the register's
            /// `components` column.
            pub const fn name(self) -> &'static str {
                match self { $(Component::$variant => $name,)* }
            }

            /// Whether the register records it (rather than it being derived
            /// from age).
            pub const fn is_recorded(self) -> bool {
                match self { $(Component::$variant => $recorded,)* }
            }

            /// The component with this name.
            pub fn from_name(name: &str) -> Option<Component> {
                match name { $($name => Some(Component::$variant),)* _ => None }
            }
        }
    };
}

components! {
    /// Recorded: pregnant.
    Pregnant = 0, "pregnant", true;
    /// Recorded: severe disability.
    SevereDisability = 1, "severe_disability", true;
    /// Recorded: orphan (one or both parents dead).
    Orphan = 2, "orphan", true;
    /// Recorded: lives alone.
    LivesAlone = 3, "lives_alone", true;
    /// Recorded: enrolled in school.
    InSchool = 4, "in_school", true;
    /// Derived: age 0–6.
    Child0To6 = 8, "child_0_6", false;
    /// Derived: age 0–17.
    Child = 9, "child", false;
    /// Derived: age 6–21.
    SchoolAge = 10, "school_age", false;
    /// Derived: age 60 or more.
    Elderly60 = 11, "elderly_60", false;
    /// Derived: age 70 or more.
    Elderly70 = 12, "elderly_70", false;
}

/// A set of [`Component`]s as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentSet(pub u16);

impl ComponentSet {
    /// The set of components recorded in the register (bits 0–7).
    pub const RECORDED_MASK: u16 = 0x00FF;

    /// Whether `c` is in the set.
    #[inline]
    pub const fn contains(self, c: Component) -> bool {
        self.0 & (1 << c as u8) != 0
    }

    /// The set with `c` added.
    #[inline]
    pub const fn with(self, c: Component) -> ComponentSet {
        ComponentSet(self.0 | (1 << c as u8))
    }

    /// Whether any component of `other` is in the set.
    #[inline]
    pub const fn intersects(self, other: ComponentSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether every component of `other` is in the set.
    #[inline]
    pub const fn contains_all(self, other: ComponentSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    #[inline]
    pub const fn union(self, other: ComponentSet) -> ComponentSet {
        ComponentSet(self.0 | other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The components derived from an age in whole years.
    pub const fn from_age(age: u16) -> ComponentSet {
        let mut set = ComponentSet(0);
        if age <= 6 {
            set = set.with(Component::Child0To6);
        }
        if age <= 17 {
            set = set.with(Component::Child);
        }
        if age >= 6 && age <= 21 {
            set = set.with(Component::SchoolAge);
        }
        if age >= 60 {
            set = set.with(Component::Elderly60);
        }
        if age >= 70 {
            set = set.with(Component::Elderly70);
        }
        set
    }

    /// The components in the set.
    pub fn iter(self) -> impl Iterator<Item = Component> {
        Component::ALL
            .iter()
            .copied()
            .filter(move |c| self.contains(*c))
    }

    /// Parses the register's `|`-separated list of recorded components
    /// (empty for none). Fails with the unknown or non-recorded name.
    pub fn parse_recorded(list: &str) -> std::result::Result<ComponentSet, String> {
        let mut set = ComponentSet(0);
        if list.is_empty() {
            return Ok(set);
        }
        for name in list.split('|') {
            match Component::from_name(name) {
                Some(c) if c.is_recorded() => set = set.with(c),
                Some(_) => {
                    return Err(format!(
                        "component {name:?} is derived from age, not recorded"
                    ));
                }
                None => return Err(format!("unknown component {name:?}")),
            }
        }
        Ok(set)
    }
}

impl fmt::Display for ComponentSet {
    /// `|`-separated names, as the register writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            f.write_str(c.name())?;
        }
        Ok(())
    }
}

/// Who is eligible for a program. A rule that is absent does not restrict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    /// Welfare decile range of the family (1 = poorest), inclusive.
    pub decile: Option<(u8, u8)>,
    /// Age range in whole years on the period's first day, inclusive.
    pub age: Option<(u16, u16)>,
    /// At least one of these (empty: no requirement).
    pub any_of: ComponentSet,
    /// All of these (empty: no requirement).
    pub all_of: ComponentSet,
    /// Whether civil servants, police and military may receive it.
    pub civil_servants_allowed: bool,
}

/// What an eligibility rule looks at for one person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PersonFacts {
    /// The family's welfare decile (1–10).
    pub decile: u8,
    /// Age in whole years.
    pub age: u16,
    /// Recorded components (derived ones are added from `age`).
    pub recorded: ComponentSet,
    /// Civil servant, police or military.
    pub civil_servant: bool,
}

impl PersonFacts {
    fn components(&self) -> ComponentSet {
        self.recorded.union(ComponentSet::from_age(self.age))
    }
}

impl Eligibility {
    fn decile_ok(&self, decile: u8) -> bool {
        self.decile
            .is_none_or(|(lo, hi)| (lo..=hi).contains(&decile))
    }

    fn components_ok(&self, have: ComponentSet) -> bool {
        (self.any_of.is_empty() || have.intersects(self.any_of)) && have.contains_all(self.all_of)
    }

    /// Whether one person meets the rule on their own (person programs).
    pub fn admits_person(&self, person: &PersonFacts) -> bool {
        self.decile_ok(person.decile)
            && self
                .age
                .is_none_or(|(lo, hi)| (lo..=hi).contains(&person.age))
            && self.components_ok(person.components())
            && (self.civil_servants_allowed || !person.civil_servant)
    }

    /// Whether a family meets the rule (family programs): the family's
    /// decile, components and ages read over all members — "a member is
    /// pregnant", "a member is 70 or older" — and a civil servant anywhere in
    /// the family excludes it. `decile` is the family's.
    pub fn admits_family<'a>(
        &self,
        decile: u8,
        members: impl IntoIterator<Item = &'a PersonFacts>,
    ) -> bool {
        let mut have = ComponentSet(0);
        let mut age_ok = self.age.is_none();
        let mut civil = false;
        for m in members {
            have = have.union(m.components());
            age_ok |= self.age.is_some_and(|(lo, hi)| (lo..=hi).contains(&m.age));
            civil |= m.civil_servant;
        }
        self.decile_ok(decile)
            && age_ok
            && self.components_ok(have)
            && (self.civil_servants_allowed || !civil)
    }
}

/// The level at which an exclusion between programs is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExclusionLevel {
    /// The same person is enrolled in both.
    Person,
    /// Any member of the same family is enrolled in the other.
    Family,
}

/// "This program may not be combined with `program` at `level`."
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The excluded program.
    pub program: ProgramId,
    /// Where the combination is checked.
    pub level: ExclusionLevel,
}

/// One assistance program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Short code, `[A-Z0-9_]`, at most 16 characters (`PKH`).
    pub code: String,
    /// Full name.
    pub name: String,
    /// Person or family.
    pub unit: Unit,
    /// The kind of period it is paid by.
    pub period: PeriodKind,
    /// Who is eligible.
    pub eligibility: Eligibility,
    /// Programs it may not be combined with.
    pub excludes: Vec<Exclusion>,
    /// Which periods are open for payment around the store's date.
    pub window: Window,
    /// What it pays per period (registry `amount`); `None`: the amount is
    /// whatever the payout point states (benefits in kind).
    pub entitlement: Option<Entitlement>,
}

impl Program {
    /// Checks that `period` is of this program's kind.
    pub fn check_period(&self, period: Period) -> Result<()> {
        if period.kind() == self.period {
            return Ok(());
        }
        Err(Error::PeriodKind {
            program: self.code.clone(),
            expected: self.period.name(),
            got: period.to_string(),
            got_kind: period.kind().name(),
        })
    }
}

/// The reason codes a registry's `[policy]` may name. Every reason blocks
/// payment unless the policy lists it under `warn`.
pub const REASON_CODES: &[&str] = &[
    "invalid_nik",
    "unknown_nik",
    "deceased",
    "duplicate_identity",
    "not_enrolled",
    "not_eligible",
    "civil_servant",
    "excluded_by",
    "already_claimed",
    "wrong_period_kind",
    "repeated_in_list",
    "invalid_row",
    "period_not_open",
    "wrong_amount",
    "claimed_elsewhere",
    "ledger_unreachable",
];

/// The reasons that always block, whatever a policy says: a registry whose
/// `[policy] warn` names one is refused. Paying despite one of them pays
/// someone twice, pays the dead, or pays a NIK that is no one.
pub const ALWAYS_BLOCKING: &[&str] = &[
    "invalid_nik",
    "unknown_nik",
    "deceased",
    "already_claimed",
    "wrong_period_kind",
    "period_not_open",
    "repeated_in_list",
    "invalid_row",
    "wrong_amount",
    "claimed_elsewhere",
];

/// Which reasons block payment and which only warn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Reason codes (from [`REASON_CODES`]) that warn without blocking.
    pub warn: Vec<String>,
}

impl Policy {
    /// Whether a reason with this code blocks payment.
    pub fn blocks(&self, code: &str) -> bool {
        !self.warn.iter().any(|w| w == code)
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            warn: vec!["not_eligible".to_owned(), "duplicate_identity".to_owned()],
        }
    }
}

/// The registry: programs in bit order and the blocking policy.
///
/// Deserializing one checks it as [`Registry::new`] does: a registry read
/// back from bytes (a snapshot's header) cannot bypass the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RegistryParts")]
pub struct Registry {
    programs: Vec<Program>,
    policy: Policy,
}

/// A registry's parts as serde reads them, before they are checked.
#[derive(Deserialize)]
struct RegistryParts {
    programs: Vec<Program>,
    policy: Policy,
}

impl TryFrom<RegistryParts> for Registry {
    type Error = Error;

    fn try_from(parts: RegistryParts) -> Result<Registry> {
        Registry::new(parts.programs, parts.policy)
    }
}

const BUILTIN_TOML: &str = include_str!("../../../data/programs.toml");
static BUILTIN: OnceLock<Registry> = OnceLock::new();

impl Registry {
    /// The eight default programs of DESIGN §2 (`data/programs.toml`).
    pub fn builtin() -> &'static Registry {
        BUILTIN.get_or_init(|| {
            // The text is compiled in and parsed by the test suite; it cannot
            // fail at run time unless the build itself is broken.
            #[allow(clippy::expect_used)]
            Registry::from_toml_str(BUILTIN_TOML, None).expect("the built-in registry parses")
        })
    }

    /// Builds a registry from programs and a policy, checking codes,
    /// exclusions and the program limit.
    pub fn new(programs: Vec<Program>, policy: Policy) -> Result<Registry> {
        if programs.len() > MAX_PROGRAMS {
            return Err(Error::TooManyPrograms {
                limit: MAX_PROGRAMS,
                got: programs.len(),
            });
        }
        let registry = Registry { programs, policy };
        registry.validate()?;
        Ok(registry)
    }

    fn validate(&self) -> Result<()> {
        let bad = |field: String, message: String| Error::Registry {
            file: None,
            line: None,
            column: None,
            field: Some(field),
            message,
        };
        for (i, p) in self.programs.iter().enumerate() {
            check_code(&p.code).map_err(|m| bad(format!("program[{i}].code"), m))?;
            if self.programs[..i].iter().any(|q| q.code == p.code) {
                return Err(bad(
                    format!("program[{i}].code"),
                    format!("code {} appears twice", p.code),
                ));
            }
            if let Some(Err(m)) = p.entitlement.as_ref().map(Entitlement::validate) {
                return Err(bad(format!("program[{i}].amount"), m));
            }
            for (j, e) in p.excludes.iter().enumerate() {
                if e.program.index() >= self.programs.len() || e.program.index() == i {
                    return Err(bad(
                        format!("program[{i}].excludes[{j}]"),
                        "excludes an unknown program or itself".into(),
                    ));
                }
            }
        }
        for (i, w) in self.policy.warn.iter().enumerate() {
            if let Err(message) = check_warn(w) {
                return Err(bad(format!("policy.warn[{i}]"), message));
            }
        }
        Ok(())
    }

    /// Loads a registry from a TOML file. Errors name the file, the line and
    /// the field.
    pub fn from_toml_file(path: &Path) -> Result<Registry> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Registry::from_toml_str(&text, Some(path))
    }

    /// Parses a registry from TOML text (`file` only labels errors).
    pub fn from_toml_str(text: &str, file: Option<&Path>) -> Result<Registry> {
        file_format::parse(text, file)
    }

    /// The programs, in bit order.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// How many programs there are.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }

    /// The program with this id.
    ///
    /// # Panics
    /// If `id` did not come from this registry (input reaches programs only
    /// through [`Registry::by_code`] and [`Registry::require`], which cannot
    /// make such an id; use [`Registry::get`] for ids of unknown origin).
    pub fn program(&self, id: ProgramId) -> &Program {
        &self.programs[id.index()]
    }

    /// The program with this id, if the registry holds it.
    pub fn get(&self, id: ProgramId) -> Option<&Program> {
        self.programs.get(id.index())
    }

    /// The id of the program with this code.
    pub fn by_code(&self, code: &str) -> Option<ProgramId> {
        self.programs
            .iter()
            .position(|p| p.code == code)
            .and_then(ProgramId::new)
    }

    /// The id of the program with this code, or an error naming it.
    pub fn require(&self, code: &str) -> Result<ProgramId> {
        self.by_code(code).ok_or_else(|| Error::UnknownProgram {
            code: code.to_owned(),
        })
    }

    /// Every program id, in order.
    pub fn ids(&self) -> impl Iterator<Item = ProgramId> + '_ {
        (0..self.programs.len()).filter_map(ProgramId::new)
    }

    /// The set of every family-unit program.
    pub fn family_programs(&self) -> ProgramSet {
        self.ids()
            .filter(|id| self.program(*id).unit == Unit::Family)
            .fold(ProgramSet::EMPTY, ProgramSet::with)
    }

    /// The blocking policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Parses a `|`-separated list of program codes (the register's
    /// `programs` column); empty is the empty set.
    pub fn parse_set(&self, list: &str) -> Result<ProgramSet> {
        let mut set = ProgramSet::EMPTY;
        if list.is_empty() {
            return Ok(set);
        }
        for code in list.split('|') {
            set.insert(self.require(code)?);
        }
        Ok(set)
    }

    /// The codes of a set, `|`-separated.
    pub fn format_set(&self, set: ProgramSet) -> String {
        let codes: Vec<&str> = set
            .iter()
            .filter_map(|id| self.get(id))
            .map(|p| p.code.as_str())
            .collect();
        codes.join("|")
    }

    /// Parses a period and checks it is of the program's kind.
    pub fn period_for(&self, id: ProgramId, period: &str) -> Result<Period> {
        let period = Period::parse(period)?;
        self.program(id).check_period(period)?;
        Ok(period)
    }

    /// Eligibility bits of one person for every person-unit program, on
    /// `on` (family-unit programs need the whole family: see
    /// [`Registry::family_eligibility`]).
    pub fn person_eligibility(&self, person: &PersonFacts) -> ProgramSet {
        self.ids()
            .filter(|id| {
                let p = self.program(*id);
                p.unit == Unit::Person && p.eligibility.admits_person(person)
            })
            .fold(ProgramSet::EMPTY, ProgramSet::with)
    }

    /// Eligibility bits of a family for every family-unit program.
    pub fn family_eligibility(&self, decile: u8, members: &[PersonFacts]) -> ProgramSet {
        self.ids()
            .filter(|id| {
                let p = self.program(*id);
                p.unit == Unit::Family && p.eligibility.admits_family(decile, members)
            })
            .fold(ProgramSet::EMPTY, ProgramSet::with)
    }
}

/// Age in whole years on a reference day, for [`PersonFacts`].
pub fn age_on(birth: Date, on: Date) -> u16 {
    birth.age_on(on)
}

/// Whether a reason code may be a warning.
fn check_warn(code: &str) -> std::result::Result<(), String> {
    if !REASON_CODES.contains(&code) {
        return Err(format!("unknown reason code {code:?}"));
    }
    if ALWAYS_BLOCKING.contains(&code) {
        return Err(format!(
            "{code} always blocks payment and cannot be a warning (the reasons that always \
             block: {})",
            ALWAYS_BLOCKING.join(", ")
        ));
    }
    Ok(())
}

fn check_code(code: &str) -> std::result::Result<(), String> {
    let ok = !code.is_empty()
        && code.len() <= 16
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "code {code:?} is not 1-16 characters of A-Z, 0-9 and _"
        ))
    }
}

/// The TOML file format and its error reporting.
mod entitlement;
mod file_format;
mod restrict;

pub use restrict::Restricted;

pub use entitlement::{Entitlement, MAX_AMOUNT};

#[cfg(test)]
mod tests {
    use super::*;

    fn person(decile: u8, age: u16) -> PersonFacts {
        PersonFacts {
            decile,
            age,
            recorded: ComponentSet(0),
            civil_servant: false,
        }
    }

    #[test]
    fn builtin_registry_loads_with_the_eight_programs() {
        let r = Registry::builtin();
        let codes: Vec<&str> = r.programs().iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "PKH",
                "SEMBAKO",
                "PBI_JK",
                "BLT_DD",
                "PIP",
                "ATENSI",
                "YAPI",
                "PERMAKANAN"
            ]
        );
        assert_eq!(
            r.program(r.require("PKH").unwrap()).period,
            PeriodKind::Quarter
        );
        assert_eq!(r.program(r.require("PIP").unwrap()).unit, Unit::Person);
        assert_eq!(
            r.family_programs(),
            r.parse_set("PKH|SEMBAKO|BLT_DD").unwrap()
        );
        assert!(r.policy().blocks("deceased"));
        assert!(!r.policy().blocks("not_eligible"));
        assert!(!r.policy().blocks("duplicate_identity"));
        assert!(r.policy().blocks("civil_servant"));
    }

    #[test]
    fn eligibility_rules() {
        let r = Registry::builtin();
        let pbi = r.require("PBI_JK").unwrap();
        let pip = r.require("PIP").unwrap();
        assert!(r.person_eligibility(&person(5, 30)).contains(pbi));
        assert!(!r.person_eligibility(&person(6, 30)).contains(pbi));
        assert!(r.person_eligibility(&person(3, 10)).contains(pip));
        assert!(!r.person_eligibility(&person(3, 30)).contains(pip));
        let civil = PersonFacts {
            civil_servant: true,
            ..person(1, 30)
        };
        assert!(r.person_eligibility(&civil).is_empty());

        let pkh = r.require("PKH").unwrap();
        let sembako = r.require("SEMBAKO").unwrap();
        // A poor family with a small child is eligible for PKH; without any
        // PKH component only for SEMBAKO and BLT Dana Desa.
        let with_child = [person(2, 35), person(2, 4)];
        assert!(r.family_eligibility(2, &with_child).contains(pkh));
        let adults = [person(2, 35), person(2, 33)];
        let set = r.family_eligibility(2, &adults);
        assert!(!set.contains(pkh) && set.contains(sembako));
        // A civil servant anywhere in the family excludes it.
        let civil_family = [
            person(2, 35),
            PersonFacts {
                civil_servant: true,
                ..person(2, 40)
            },
            person(2, 4),
        ];
        assert!(r.family_eligibility(2, &civil_family).is_empty());
    }

    #[test]
    fn permakanan_needs_all_of_and_any_of() {
        let r = Registry::builtin();
        let id = r.require("PERMAKANAN").unwrap();
        let alone = ComponentSet(0).with(Component::LivesAlone);
        let old_alone = PersonFacts {
            recorded: alone,
            ..person(8, 75)
        };
        assert!(r.person_eligibility(&old_alone).contains(id));
        assert!(!r.person_eligibility(&person(8, 75)).contains(id));
        let young_alone = PersonFacts {
            recorded: alone,
            ..person(8, 30)
        };
        assert!(!r.person_eligibility(&young_alone).contains(id));
    }

    #[test]
    fn sets_parse_and_format() {
        let r = Registry::builtin();
        let set = r.parse_set("PKH|PBI_JK").unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(r.format_set(set), "PKH|PBI_JK");
        assert!(
            matches!(r.parse_set("PKH|NOPE"), Err(Error::UnknownProgram { code }) if code == "NOPE")
        );
        assert_eq!(r.parse_set("").unwrap(), ProgramSet::EMPTY);
    }

    #[test]
    fn period_kind_is_checked() {
        let r = Registry::builtin();
        let pkh = r.require("PKH").unwrap();
        assert!(r.period_for(pkh, "2026-Q4").is_ok());
        let err = r.period_for(pkh, "2026-11").unwrap_err();
        assert!(matches!(err, Error::PeriodKind { .. }), "{err}");
        assert!(err.to_string().contains("quarter"), "{err}");
    }

    fn toml_error(text: &str) -> Error {
        Registry::from_toml_str(text, Some(Path::new("custom.toml"))).unwrap_err()
    }

    fn registry_fields(e: &Error) -> (Option<usize>, Option<String>) {
        match e {
            Error::Registry { line, field, .. } => (*line, field.clone()),
            other => panic!("not a registry error: {other}"),
        }
    }

    #[test]
    fn bad_value_names_line_and_field() {
        let text = "[[program]]\ncode = \"A\"\nname = \"a\"\nunit = \"person\"\nperiod = \"month\"\n\n[[program]]\ncode = \"B\"\nname = \"b\"\nunit = \"house\"\nperiod = \"month\"\n";
        let e = toml_error(text);
        assert_eq!(
            registry_fields(&e),
            (Some(10), Some("program[1].unit".into())),
            "{e}"
        );
        assert!(e.to_string().contains("custom.toml"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let text = "[[program]]\ncode = \"A\"\nname = \"a\"\nperiod = \"month\"\n";
        let e = toml_error(text);
        let (_, field) = registry_fields(&e);
        assert_eq!(field.as_deref(), Some("program[0].unit"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_field() {
        let base =
            "[[program]]\ncode = \"A\"\nname = \"a\"\nunit = \"person\"\nperiod = \"month\"\n";
        let e = toml_error(&format!(
            "{base}excludes = [{{ program = \"ZZZ\", level = \"person\" }}]\n"
        ));
        assert_eq!(
            registry_fields(&e).1.as_deref(),
            Some("program[0].excludes[0].program"),
            "{e}"
        );
        let e = toml_error(&format!("{base}eligibility = {{ decile = [5, 2] }}\n"));
        assert_eq!(
            registry_fields(&e).1.as_deref(),
            Some("program[0].eligibility.decile"),
            "{e}"
        );
        let e = toml_error(&format!("{base}eligibility = {{ any_of = [\"rich\"] }}\n"));
        assert!(e.to_string().contains("rich"), "{e}");
        let e = toml_error(&format!("{base}{base}"));
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = toml_error(&base.replace("\"A\"", "\"a b\""));
        assert_eq!(
            registry_fields(&e).1.as_deref(),
            Some("program[0].code"),
            "{e}"
        );
        let e = toml_error(&format!("[policy]\nwarn = [\"nope\"]\n{base}"));
        assert!(e.to_string().contains("nope"), "{e}");
        let e = toml_error(&format!("{base}colour = \"red\"\n"));
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn thirty_two_programs_fit_and_thirty_three_do_not() {
        let program = |i: usize| {
            format!(
                "[[program]]\ncode = \"P{i}\"\nname = \"p\"\nunit = \"person\"\nperiod = \"month\"\n"
            )
        };
        let text: String = (0..32).map(program).collect();
        let r = Registry::from_toml_str(&text, None).unwrap();
        assert_eq!(r.len(), 32);
        assert!(
            r.parse_set("P31")
                .unwrap()
                .contains(ProgramId::new(31).unwrap())
        );
        let text: String = (0..33).map(program).collect();
        assert!(matches!(
            Registry::from_toml_str(&text, None),
            Err(Error::TooManyPrograms { limit: 32, got: 33 })
        ));
    }

    #[test]
    fn file_errors_name_the_path() {
        let e = Registry::from_toml_file(Path::new("no/such/registry.toml")).unwrap_err();
        assert!(e.to_string().contains("no/such/registry.toml"), "{e}");
    }

    #[test]
    fn components_parse_from_the_register_column() {
        let set = ComponentSet::parse_recorded("pregnant|in_school").unwrap();
        assert!(set.contains(Component::Pregnant) && set.contains(Component::InSchool));
        assert_eq!(set.to_string(), "pregnant|in_school");
        assert!(ComponentSet::parse_recorded("elderly_70").is_err());
        assert!(ComponentSet::parse_recorded("wizard").is_err());
        assert!(ComponentSet::parse_recorded("").unwrap().is_empty());
    }
}
