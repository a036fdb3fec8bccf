//! The store against a simple in-memory model (proptest-state-machine):
//! random sequences of check, claim, retry, reverse (any family's claim),
//! death, move between families, registry refresh (programs reordered, the
//! policy changed, a policy that must be refused) and reopen; the store and
//! the model agree on every verdict and outcome.
//!
//! The model keeps claims the way the ledger must: by program code, a key
//! held while any unreversed claim covers it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tepat::program::PersonFacts;
use tepat::register::{PersonRecord, Relation};
use tepat::snapshot::SnapshotBuilder;
use tepat::{ClaimRequest, Date, Period, ProgramSet, ReasonCode, Registry, Store};

const PROGRAMS: [&str; 2] = ["PKH", "PBI_JK"];
const PERIODS: [&str; 4] = ["2026-Q4", "2027-Q1", "2026-11", "2026-12"];
/// Which of [`PERIODS`] are open on the tests' date (2026-11-15): the
/// current quarter and month; the next ones are not yet.
const OPEN: [bool; 4] = [true, false, true, false];

/// The policies a refresh can bring: the default, two that make a reason a
/// warning, and one the store must refuse (already_claimed never warns).
const POLICIES: [&[&str]; 4] = [
    &["not_eligible", "duplicate_identity"],
    &["not_eligible", "duplicate_identity", "not_enrolled"],
    &["not_eligible", "duplicate_identity", "civil_servant"],
    &["not_eligible", "already_claimed"],
];

fn persons() -> Vec<PersonRecord> {
    let all = common::register(8, 3);
    let unique = |r: &PersonRecord| all.iter().filter(|q| q.nik == r.nik).count() == 1;
    all.iter().filter(|r| unique(r)).cloned().collect()
}

/// A claim key: (program, period, kind, subject).
type Key = (usize, usize, char, u64);

#[derive(Clone, Debug)]
struct Model {
    persons: Vec<PersonRecord>,
    /// Each person's current family card (moves change it).
    kk: Vec<u64>,
    /// Key → the unreversed claims that hold it, first first.
    holders: BTreeMap<Key, Vec<String>>,
    /// request → (what it asked, paid, the keys it took).
    requests: BTreeMap<String, (Transition, bool, Vec<Key>)>,
    reversed: BTreeSet<String>,
    deceased: BTreeSet<u64>,
    /// How many death changes each NIK was sent (only the first applies).
    deaths: BTreeMap<u64, u32>,
    /// Reasons the current policy lets through.
    warn: BTreeSet<&'static str>,
    next: u32,
}

#[derive(Clone, Debug)]
enum Transition {
    Check {
        person: usize,
        program: usize,
        period: usize,
    },
    Claim {
        person: usize,
        program: usize,
        period: usize,
    },
    Retry {
        which: usize,
    },
    Reverse {
        which: usize,
    },
    Death {
        person: usize,
    },
    /// `person` moves onto the family card of `to`.
    Move {
        person: usize,
        to: usize,
    },
    Refresh {
        swapped: bool,
        policy: usize,
    },
    Reopen,
}

impl Model {
    /// The keys a payment of `program` by `person` would hold, and the ones
    /// that block it (the payee's own).
    fn keys(&self, person: usize, program: usize, period: usize) -> (Vec<Key>, Vec<Key>) {
        let p = &self.persons[person];
        if program == 1 {
            let k = (program, period, 'P', p.nik.get());
            return (vec![k], vec![k]);
        }
        let kk = self.kk[person];
        let family = (program, period, 'F', kk);
        let own = (program, period, 'V', p.nik.get());
        let mut all: Vec<Key> = (0..self.persons.len())
            .filter(|i| self.kk[*i] == kk)
            .map(|i| (program, period, 'V', self.persons[i].nik.get()))
            .collect();
        all.push(family);
        all.sort();
        all.dedup();
        (all, vec![family, own])
    }

    /// (payable, the reasons the model knows about).
    fn verdict(
        &self,
        person: usize,
        program: usize,
        period: usize,
    ) -> (bool, BTreeSet<ReasonCode>) {
        let registry = Registry::builtin();
        let p = &self.persons[person];
        let id = registry.require(PROGRAMS[program]).unwrap();
        let mut reasons = BTreeSet::new();
        let right_kind = (program == 0) == (period < 2);
        if !right_kind {
            reasons.insert(ReasonCode::WrongPeriodKind);
        } else if !OPEN[period] {
            reasons.insert(ReasonCode::PeriodNotOpen);
        }
        if !p.programs.contains(id) {
            reasons.insert(ReasonCode::NotEnrolled);
        }
        if self.deceased.contains(&p.nik.get()) || p.deceased {
            reasons.insert(ReasonCode::Deceased);
        }
        if p.civil_servant {
            reasons.insert(ReasonCode::CivilServant);
        }
        let (_, blocking) = self.keys(person, program, period);
        if right_kind && blocking.iter().any(|k| self.holders.contains_key(k)) {
            reasons.insert(ReasonCode::AlreadyClaimed);
        }
        let payable = reasons.iter().all(|r| self.warn.contains(r.as_str()));
        (payable, reasons)
    }

    /// Whether a payment would come to more than nothing. PKH pays by the
    /// components of the family's living members on the period's first
    /// day: a family a move has left without any is owed nothing, and the
    /// store refuses the claim (`wrong_amount`) though a check says payable.
    fn owed(&self, person: usize, program: usize, period: usize) -> bool {
        let registry = Registry::builtin();
        let id = registry.require(PROGRAMS[program]).unwrap();
        let Some(entitlement) = &registry.get(id).unwrap().entitlement else {
            return true;
        };
        let on = Period::parse(PERIODS[period]).unwrap().first_day().unwrap();
        let kk = self.kk[person];
        let facts: Vec<PersonFacts> = (0..self.persons.len())
            .filter(|i| self.kk[*i] == kk)
            .map(|i| &self.persons[i])
            .filter(|m| !m.deceased && !self.deceased.contains(&m.nik.get()))
            .map(|m| PersonFacts {
                decile: m.decile,
                age: m.birth_date.age_on(on),
                recorded: m.components,
                civil_servant: m.civil_servant,
            })
            .collect();
        entitlement.amount(&facts) > 0
    }

    /// Moves are between families of one family-program enrolment, so that
    /// enrolment (which follows the family) stays what the model knows.
    fn can_move(&self, person: usize, to: usize) -> bool {
        let mask = Registry::builtin().family_programs().0;
        let (p, q) = (&self.persons[person], &self.persons[to]);
        self.kk[person] != self.kk[to]
            && p.programs.0 & mask == q.programs.0 & mask
            && !self.deceased.contains(&p.nik.get())
            && !p.deceased
    }
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        let persons = persons();
        let kk = persons.iter().map(|p| p.kk.get()).collect();
        Just(Model {
            persons,
            kk,
            holders: BTreeMap::new(),
            requests: BTreeMap::new(),
            reversed: BTreeSet::new(),
            deceased: BTreeSet::new(),
            deaths: BTreeMap::new(),
            warn: POLICIES[0].iter().copied().collect(),
            next: 0,
        })
        .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        let n = state.persons.len();
        let r = state.requests.len().max(1);
        prop_oneof![
            3 => (0..n, 0..2usize, 0..4usize).prop_map(|(person, program, period)| Transition::Check { person, program, period }),
            5 => (0..n, 0..2usize, 0..4usize).prop_map(|(person, program, period)| Transition::Claim { person, program, period }),
            2 => (0..r).prop_map(|which| Transition::Retry { which }),
            2 => (0..r).prop_map(|which| Transition::Reverse { which }),
            1 => (0..n).prop_map(|person| Transition::Death { person }),
            2 => (0..n, 0..n).prop_map(|(person, to)| Transition::Move { person, to }),
            1 => (any::<bool>(), 0..POLICIES.len()).prop_map(|(swapped, policy)| Transition::Refresh { swapped, policy }),
            1 => Just(Transition::Reopen),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        match t {
            Transition::Retry { which } | Transition::Reverse { which } => {
                *which < state.requests.len()
            }
            Transition::Move { person, to } => state.can_move(*person, *to),
            _ => true,
        }
    }

    fn apply(mut state: Model, t: &Transition) -> Model {
        match t {
            Transition::Claim {
                person,
                program,
                period,
            } => {
                let (payable, _) = state.verdict(*person, *program, *period);
                let payable = payable && state.owed(*person, *program, *period);
                let id = format!("c{}", state.next);
                state.next += 1;
                let mut taken = Vec::new();
                if payable {
                    taken = state.keys(*person, *program, *period).0;
                    for k in &taken {
                        state.holders.entry(*k).or_default().push(id.clone());
                    }
                }
                state.requests.insert(id, (t.clone(), payable, taken));
            }
            Transition::Reverse { which } => {
                let (id, (_, paid, taken)) = state
                    .requests
                    .iter()
                    .nth(*which)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap();
                if paid && !state.reversed.contains(&id) {
                    state.reversed.insert(id.clone());
                    for k in taken {
                        if let Some(h) = state.holders.get_mut(&k) {
                            h.retain(|c| *c != id);
                            if h.is_empty() {
                                state.holders.remove(&k);
                            }
                        }
                    }
                }
                state.next += 1;
            }
            Transition::Death { person } => {
                let nik = state.persons[*person].nik.get();
                *state.deaths.entry(nik).or_default() += 1;
                if !state.persons[*person].deceased {
                    state.deceased.insert(nik);
                }
            }
            Transition::Move { person, to } => state.kk[*person] = state.kk[*to],
            Transition::Refresh { policy, .. } if *policy < 3 => {
                state.warn = POLICIES[*policy].iter().copied().collect();
            }
            Transition::Refresh { .. }
            | Transition::Check { .. }
            | Transition::Retry { .. }
            | Transition::Reopen => {}
        }
        state
    }
}

struct Sut {
    dir: tempfile::TempDir,
    store: Option<Store>,
}

impl Sut {
    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }
}

struct StoreTest;

fn request(id: &str, p: &PersonRecord, program: usize, period: usize) -> ClaimRequest {
    ClaimRequest {
        request_id: id.to_owned(),
        nik: p.nik.to_string(),
        program: PROGRAMS[program].to_owned(),
        period: PERIODS[period].to_owned(),
        ..Default::default()
    }
}

/// The built-in registry with PKH and SEMBAKO swapped (`swapped`) and the
/// policy's warnings `warn`; an error for a policy the store must refuse.
fn registry(swapped: bool, warn: &[&str]) -> tepat::Result<Registry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/programs.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut parts: Vec<String> = text.split("[[program]]").map(str::to_owned).collect();
    let head = parts.remove(0);
    if swapped {
        parts.swap(0, 1);
    }
    let quoted: Vec<String> = warn.iter().map(|w| format!("{w:?}")).collect();
    let head = head.replace(
        "warn = [\"not_eligible\", \"duplicate_identity\"]",
        &format!("warn = [{}]", quoted.join(", ")),
    );
    Registry::from_toml_str(
        &format!("{head}[[program]]{}", parts.join("[[program]]")),
        None,
    )
}

/// A refresh with the original register (the pending moves and deaths are
/// carried over) under `registry`.
fn refresh(store: &Store, persons: &[PersonRecord], registry: &Registry) {
    let builtin = Registry::builtin();
    let as_of = Date::new(2026, 11, 1).unwrap();
    let mut b = SnapshotBuilder::new(registry.clone(), common::regions(), as_of).unwrap();
    for r in persons {
        let mut r = r.clone();
        let mut set = ProgramSet::EMPTY;
        for code in builtin.format_set(r.programs).split('|') {
            if let Some(id) = registry.by_code(code) {
                set.insert(id);
            }
        }
        r.programs = set;
        b.add(&r).unwrap();
    }
    // The original register is older than the moves and deaths applied
    // since: a forced refresh (the guards are tests/operations.rs's).
    store
        .refresh_guarded(b, &tepat::store::RefreshGuard::force())
        .unwrap();
}

impl StoreTest {
    fn check(
        sut: &Sut,
        model: &Model,
        t: &Transition,
        person: usize,
        program: usize,
        period: usize,
    ) {
        let (payable, reasons) = model.verdict(person, program, period);
        let p = &model.persons[person];
        let v = sut
            .store()
            .check_str(&p.nik.to_string(), PROGRAMS[program], PERIODS[period])
            .unwrap();
        assert_eq!(v.payable, payable, "{t:?}: {v:?}");
        for r in [
            ReasonCode::AlreadyClaimed,
            ReasonCode::Deceased,
            ReasonCode::NotEnrolled,
            ReasonCode::WrongPeriodKind,
            ReasonCode::PeriodNotOpen,
            ReasonCode::CivilServant,
        ] {
            assert_eq!(
                v.reasons.contains(r),
                reasons.contains(&r),
                "{t:?}: {r:?} in {v:?}"
            );
        }
    }

    fn move_person(sut: &Sut, model: &Model, person: usize, to: usize) {
        let (p, q) = (&model.persons[person], &model.persons[to]);
        let file = format!(
            "{}\nmove,{},{:016},{},{:010},,,{},,,,,,2026-11-05\n",
            tepat::change::HEADER,
            p.nik,
            model.kk[person],
            Relation::Child.name(),
            q.village,
            q.decile
        );
        sut.store()
            .apply_csv(file.as_bytes(), "move.csv")
            .unwrap_or_else(|e| panic!("move {person} to {to}: {e}"));
    }
}

impl StateMachineTest for StoreTest {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(model: &Model) -> Sut {
        let dir = tempfile::tempdir().unwrap();
        let store = common::create_store(&model.persons, dir.path());
        Sut {
            dir,
            store: Some(store),
        }
    }

    fn apply(mut sut: Sut, model: &Model, t: Transition) -> Sut {
        // `model` is the state after `t`; recompute what was expected
        // before it from the transition itself.
        match &t {
            Transition::Check {
                person,
                program,
                period,
            } => StoreTest::check(&sut, model, &t, *person, *program, *period),
            Transition::Claim {
                person,
                program,
                period,
            } => {
                let id = format!("c{}", model.next - 1);
                let (_, paid, _) = model.requests[&id].clone();
                let out = sut
                    .store()
                    .claim(&request(&id, &model.persons[*person], *program, *period))
                    .unwrap();
                assert_eq!(out.paid, paid, "{t:?}: {out:?}");
                assert!(!out.replayed);
            }
            Transition::Retry { which } => {
                let (id, (first, paid, _)) = model.requests.iter().nth(*which).unwrap();
                let Transition::Claim {
                    person,
                    program,
                    period,
                } = first
                else {
                    unreachable!()
                };
                let out = sut
                    .store()
                    .claim(&request(id, &model.persons[*person], *program, *period))
                    .unwrap();
                assert_eq!((out.paid, out.replayed), (*paid, true), "{t:?}");
                assert_eq!(out.reversed.is_some(), model.reversed.contains(id), "{t:?}");
            }
            Transition::Reverse { which } => {
                let (id, (_, paid, _)) = model.requests.iter().nth(*which).unwrap();
                let rev_id = format!("v{}", model.next - 1);
                let result = sut.store().reverse(&rev_id, id, "test");
                // It succeeded exactly when the model reversed it now: it
                // paid, and no reversal of it was sent before this one.
                let earlier = (0..model.next - 1).any(|n| {
                    sut.store()
                        .request(&format!("v{n}"))
                        .unwrap()
                        .is_some_and(|r| r.asked.contains(&format!("original={id} ")))
                });
                match result {
                    Ok(o) => assert!(*paid && !earlier && !o.replayed, "{t:?}: store reversed"),
                    Err(e) => assert!(!*paid || earlier, "{t:?}: {e}"),
                }
            }
            Transition::Death { person } => {
                let p = &model.persons[*person];
                let file = format!(
                    "{}\ndeath,{},,,,,,,,,,,,2026-11-03\n",
                    tepat::change::HEADER,
                    p.nik
                );
                let result = sut.store().apply_csv(file.as_bytes(), "changes.csv");
                // Deceased in the register: refused, nothing applied. The
                // same file sent again: recognised as applied before,
                // nothing changed.
                let first = model.deaths[&p.nik.get()] == 1;
                assert_eq!(result.is_ok(), !p.deceased, "{t:?}: {result:?}");
                if let Ok(applied) = &result {
                    assert_eq!(applied.before.is_some(), !first, "{t:?}: {applied:?}");
                }
            }
            Transition::Move { person, to } => StoreTest::move_person(&sut, model, *person, *to),
            Transition::Refresh { swapped, policy } => {
                match registry(*swapped, POLICIES[*policy]) {
                    Ok(r) => refresh(sut.store(), &model.persons, &r),
                    Err(e) => assert!(*policy == 3, "{t:?}: {e}"),
                }
            }
            Transition::Reopen => {
                sut.store = None;
                sut.store = Some(common::open(sut.dir.path()));
            }
        }
        sut
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(sequential 1..40 => StoreTest);
}

/// The model's moves must be possible in the fixture: families of one
/// family-program enrolment to move between.
#[test]
fn the_fixture_allows_moves() {
    let persons = persons();
    let kk: Vec<u64> = persons.iter().map(|p| p.kk.get()).collect();
    let model = Model {
        persons,
        kk,
        holders: BTreeMap::new(),
        requests: BTreeMap::new(),
        reversed: BTreeSet::new(),
        deceased: BTreeSet::new(),
        deaths: BTreeMap::new(),
        warn: BTreeSet::new(),
        next: 0,
    };
    let n = model.persons.len();
    let moves = (0..n)
        .flat_map(|p| (0..n).map(move |q| (p, q)))
        .filter(|(p, q)| model.can_move(*p, *q))
        .count();
    assert!(moves > n, "{moves} possible moves among {n} persons");
}
