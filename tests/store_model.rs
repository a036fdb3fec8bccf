//! The store against a simple in-memory model (proptest-state-machine):
//! random sequences of check, claim, retry, reverse, death and reopen; the
//! store and the model agree on every verdict and outcome.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tepat::register::PersonRecord;
use tepat::{ClaimRequest, ReasonCode, Registry, Store};

const PROGRAMS: [&str; 2] = ["PKH", "PBI_JK"];
const PERIODS: [&str; 4] = ["2026-Q4", "2027-Q1", "2026-11", "2026-12"];
/// Which of [`PERIODS`] are open on the tests' date (2026-11-15): the
/// current quarter and month; the next ones are not yet.
const OPEN: [bool; 4] = [true, false, true, false];

fn persons() -> Vec<PersonRecord> {
    let all = common::register(8, 3);
    let unique = |r: &PersonRecord| all.iter().filter(|q| q.nik == r.nik).count() == 1;
    all.iter().filter(|r| unique(r)).cloned().collect()
}

#[derive(Clone, Debug)]
struct Model {
    persons: Vec<PersonRecord>,
    /// (program, period, subject) -> paying request.
    claims: BTreeMap<(usize, usize, u64), String>,
    /// request -> (what it asked, paid, reversed-claim key it paid).
    requests: BTreeMap<String, (Transition, bool)>,
    reversed: BTreeSet<String>,
    deceased: BTreeSet<u64>,
    /// How many death changes each NIK was sent (only the first applies).
    deaths: BTreeMap<u64, u32>,
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
    Reopen,
}

impl Model {
    fn subject(&self, person: usize, program: usize) -> u64 {
        let p = &self.persons[person];
        if program == 0 {
            p.kk.get()
        } else {
            p.nik.get()
        }
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
        if right_kind
            && self
                .claims
                .contains_key(&(program, period, self.subject(person, program)))
        {
            reasons.insert(ReasonCode::AlreadyClaimed);
        }
        (reasons.is_empty(), reasons)
    }
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            persons: persons(),
            claims: BTreeMap::new(),
            requests: BTreeMap::new(),
            reversed: BTreeSet::new(),
            deceased: BTreeSet::new(),
            deaths: BTreeMap::new(),
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
            1 => Just(Transition::Reopen),
        ]
        .boxed()
    }

    fn preconditions(state: &Model, t: &Transition) -> bool {
        match t {
            Transition::Retry { which } | Transition::Reverse { which } => {
                *which < state.requests.len()
            }
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
                let id = format!("c{}", state.next);
                state.next += 1;
                if payable {
                    let key = (*program, *period, state.subject(*person, *program));
                    state.claims.insert(key, id.clone());
                }
                state.requests.insert(id, (t.clone(), payable));
            }
            Transition::Reverse { which } => {
                let (id, (_, paid)) = state
                    .requests
                    .iter()
                    .nth(*which)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap();
                if paid && !state.reversed.contains(&id) {
                    state.reversed.insert(id.clone());
                    state.claims.retain(|_, v| *v != id);
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
            Transition::Check { .. } | Transition::Retry { .. } | Transition::Reopen => {}
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
        meta: String::new(),
        ..Default::default()
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
            } => {
                let (payable, reasons) = model.verdict(*person, *program, *period);
                let p = &model.persons[*person];
                let v = sut
                    .store()
                    .check_str(&p.nik.to_string(), PROGRAMS[*program], PERIODS[*period])
                    .unwrap();
                assert_eq!(v.payable, payable, "{t:?}: {v:?}");
                for r in reasons {
                    assert!(v.reasons.contains(r), "{t:?}: missing {r:?} in {v:?}");
                }
                for r in [
                    ReasonCode::AlreadyClaimed,
                    ReasonCode::Deceased,
                    ReasonCode::NotEnrolled,
                    ReasonCode::WrongPeriodKind,
                    ReasonCode::PeriodNotOpen,
                ] {
                    let (_, expected) = model.verdict(*person, *program, *period);
                    assert_eq!(
                        v.reasons.contains(r),
                        expected.contains(&r),
                        "{t:?}: {r:?} in {v:?}"
                    );
                }
            }
            Transition::Claim {
                person,
                program,
                period,
            } => {
                let id = format!("c{}", model.next - 1);
                let (_, paid) = model.requests[&id].clone();
                let out = sut
                    .store()
                    .claim(&request(&id, &model.persons[*person], *program, *period))
                    .unwrap();
                assert_eq!(out.paid, paid, "{t:?}: {out:?}");
                assert!(!out.replayed);
            }
            Transition::Retry { which } => {
                let (id, (first, paid)) = model.requests.iter().nth(*which).unwrap();
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
            }
            Transition::Reverse { which } => {
                let (id, (_, paid)) = model.requests.iter().nth(*which).unwrap();
                let rev_id = format!("v{}", model.next - 1);
                let result = sut.store().reverse(&rev_id, id, "test");
                // It succeeded exactly when the model reversed it now.
                let reversed_now =
                    *paid && model.reversed.contains(id) && !model.claims.values().any(|v| v == id);
                match result {
                    Ok(o) => assert!(
                        reversed_now && !o.replayed,
                        "{t:?}: store reversed, model did not"
                    ),
                    Err(e) => assert!(!*paid || model.reversed.contains(id), "{t:?}: {e}"),
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
                // Already deceased (in the register or by an earlier
                // change): refused, nothing applied.
                let first = model.deaths[&p.nik.get()] == 1;
                assert_eq!(result.is_ok(), !p.deceased && first, "{t:?}: {result:?}");
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
