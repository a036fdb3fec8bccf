//! Who is enrolled in what.
//!
//! Enrolment mostly follows eligibility (the registry's rules at the as-of
//! date), with poorer deciles more likely to be enrolled (weight
//! `1.1 − 0.1 × decile`), and a documented share of each program's
//! enrolment going to people who are NOT eligible (inclusion errors, drawn
//! from a "near miss" pool: not eligible, no civil servant, decile at most
//! two above the program's range, within its age range). Eligible people
//! left out are the exclusion errors. Program sizes follow DESIGN §2 scaled
//! by `N / 289 M`.
//!
//! The enrolment probabilities are calibrated once, before generation, on a
//! fixed sample of families drawn from the same model, so that the
//! *expected* sizes hit the scaled targets whatever the demographic model
//! produces.

use tepat::program::PersonFacts;
use tepat::{ProgramId, ProgramSet, Registry};

use crate::GenError;
use crate::decile::DecileTable;
use crate::family::{FamilyModel, Member};
use crate::geo::Geography;
use crate::rng::Rng;

/// Persons in the national register the targets refer to (DESIGN §2).
pub const NATIONAL_PERSONS: f64 = 289_000_000.0;

/// `(code, national target, unit count, inclusion share)`: families for
/// family programs, persons for person programs.
pub const TARGETS: [(&str, f64, f64); 8] = [
    ("PKH", 10_000_000.0, 0.08),
    ("SEMBAKO", 18_800_000.0, 0.12),
    ("PBI_JK", 96_800_000.0, 0.10),
    ("BLT_DD", 3_000_000.0, 0.10),
    ("PIP", 18_600_000.0, 0.08),
    ("ATENSI", 200_000.0, 0.05),
    ("YAPI", 270_000.0, 0.05),
    ("PERMAKANAN", 50_000.0, 0.05),
];

/// PKH families also in SEMBAKO: 7.8 M of 10 M.
pub const SEMBAKO_GIVEN_PKH: f64 = 0.78;
/// BLT_DD families also in PKH or SEMBAKO (forbidden), as a share of the
/// BLT_DD target.
pub const BLT_CONFLICT_SHARE: f64 = 0.03;
/// Civil servants enrolled in PBI_JK regardless of the rules.
pub const CIVIL_SERVANT_ENROLLED: f64 = 0.05;
/// Deceased flag for persons enrolled in something (0.24 %, DESIGN §2) ...
pub const DECEASED_ENROLLED: f64 = 0.0024;
/// ... and for everyone else.
pub const DECEASED_OTHER: f64 = 0.003;

/// Persons in the calibration sample.
const SAMPLE_PERSONS: usize = 400_000;

/// Which class a unit is in for one program.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Eligible,
    NearMiss,
    Never,
}

/// Enrolment probabilities for one program.
#[derive(Clone, Copy, Debug, Default)]
struct Rates {
    /// Multiplied by the decile weight for eligible units.
    eligible: f64,
    /// For near-miss units.
    near_miss: f64,
}

/// The calibrated enrolment model.
#[derive(Clone, Debug)]
pub struct Enrolment {
    ids: [ProgramId; 8],
    rates: [Rates; 8],
    blt_conflict: f64,
}

const PKH: usize = 0;
const SEMBAKO: usize = 1;
const PBI_JK: usize = 2;
const BLT_DD: usize = 3;
const PERSON_PROGRAMS: [usize; 5] = [2, 4, 5, 6, 7];

fn weight(decile: u8) -> f64 {
    1.1 - 0.1 * f64::from(decile)
}

/// The facts an eligibility rule reads for one member.
pub fn facts(m: &Member, decile: u8) -> PersonFacts {
    PersonFacts {
        decile,
        age: m.age,
        recorded: m.components,
        civil_servant: m.civil_servant,
    }
}

impl Enrolment {
    /// Looks the programs up in `registry` and calibrates on a sample.
    pub fn calibrate(
        registry: &Registry,
        geo: &Geography,
        deciles: &DecileTable,
        seed: u64,
    ) -> Result<Enrolment, GenError> {
        let mut ids = [ProgramId::new(0).ok_or(GenError::Registry("no program 0".into()))?; 8];
        for (slot, (code, ..)) in ids.iter_mut().zip(TARGETS) {
            *slot = registry
                .by_code(code)
                .ok_or_else(|| GenError::Registry(format!("program {code} is missing")))?;
        }
        let mut model = Enrolment {
            ids,
            rates: [Rates::default(); 8],
            blt_conflict: 0.0,
        };
        let sample = Sample::draw(registry, geo, deciles, seed);
        model.fit(registry, &sample);
        Ok(model)
    }

    /// The program id of `TARGETS[i]`.
    pub fn id(&self, i: usize) -> ProgramId {
        self.ids[i]
    }

    fn class(&self, registry: &Registry, i: usize, eligible: ProgramSet, unit: &Unit_) -> Class {
        let id = self.ids[i];
        if eligible.contains(id) {
            return Class::Eligible;
        }
        let rule = &registry.program(id).eligibility;
        let ceiling = rule.decile.map_or(4, |(_, hi)| hi.saturating_add(2));
        let age_ok = match (rule.age, unit.age) {
            (Some((lo, hi)), Some(age)) => (lo..=hi).contains(&age),
            _ => true,
        };
        if !unit.civil_servant && unit.decile <= ceiling && age_ok {
            Class::NearMiss
        } else {
            Class::Never
        }
    }

    fn probability(&self, i: usize, class: Class, decile: u8) -> f64 {
        match class {
            Class::Eligible => (self.rates[i].eligible * weight(decile)).min(1.0),
            Class::NearMiss => self.rates[i].near_miss.min(1.0),
            Class::Never => 0.0,
        }
    }

    /// Family-program enrolment for one family: `eligible` is its family
    /// eligibility, `civil` whether a member is a civil servant.
    pub fn family(
        &self,
        registry: &Registry,
        rng: &mut Rng,
        decile: u8,
        eligible: ProgramSet,
        civil: bool,
    ) -> ProgramSet {
        let [p_pkh, p_sem, p_blt] = self.family_probabilities(registry, decile, eligible, civil);
        let mut set = ProgramSet::EMPTY;
        let pkh = rng.chance(p_pkh);
        let sembako = if pkh {
            rng.chance(SEMBAKO_GIVEN_PKH)
        } else {
            rng.chance(p_sem)
        };
        let blt = if pkh || sembako {
            eligible.contains(self.ids[BLT_DD]) && rng.chance(self.blt_conflict)
        } else {
            rng.chance(p_blt)
        };
        for (on, i) in [(pkh, PKH), (sembako, SEMBAKO), (blt, BLT_DD)] {
            if on {
                set.insert(self.ids[i]);
            }
        }
        set
    }

    fn family_probabilities(
        &self,
        registry: &Registry,
        decile: u8,
        eligible: ProgramSet,
        civil: bool,
    ) -> [f64; 3] {
        let unit = Unit_ {
            decile,
            age: None,
            civil_servant: civil,
        };
        [PKH, SEMBAKO, BLT_DD].map(|i| {
            let class = self.class(registry, i, eligible, &unit);
            self.probability(i, class, decile)
        })
    }

    /// Person-program enrolment for one person with person eligibility
    /// `eligible`.
    pub fn person(
        &self,
        registry: &Registry,
        rng: &mut Rng,
        facts: &PersonFacts,
        eligible: ProgramSet,
    ) -> ProgramSet {
        let unit = Unit_ {
            decile: facts.decile,
            age: Some(facts.age),
            civil_servant: facts.civil_servant,
        };
        let mut set = ProgramSet::EMPTY;
        for i in PERSON_PROGRAMS {
            let class = self.class(registry, i, eligible, &unit);
            let p = self.probability(i, class, facts.decile);
            // Draw only when it can succeed: most persons are in no pool.
            if p > 0.0 && rng.chance(p) {
                set.insert(self.ids[i]);
            }
        }
        if facts.civil_servant && rng.chance(CIVIL_SERVANT_ENROLLED) {
            set.insert(self.ids[PBI_JK]);
        }
        set
    }

    /// Sets the rates so that expected sizes on the sample hit the targets.
    fn fit(&mut self, registry: &Registry, sample: &Sample) {
        let scale = sample.persons as f64 / NATIONAL_PERSONS;
        let target = |i: usize| TARGETS[i].1 * scale;
        let inclusion = |i: usize| TARGETS[i].2;
        // PKH: independent.
        let (e, n) = self.family_sums(registry, sample, PKH, |_, _| 1.0);
        self.rates[PKH] = rates(target(PKH), inclusion(PKH), e, n);
        // SEMBAKO for families outside PKH.
        let outside_pkh = |m: &Enrolment, f: &SampleFamily| {
            1.0 - m.family_probabilities(registry, f.decile, f.eligible, f.civil)[0]
        };
        let (e, n) = self.family_sums(registry, sample, SEMBAKO, outside_pkh);
        let rest = target(SEMBAKO) - SEMBAKO_GIVEN_PKH * target(PKH);
        self.rates[SEMBAKO] = rates(rest.max(0.0), inclusion(SEMBAKO), e, n);
        // BLT_DD for families in neither; a few conflicts among the others.
        let neither = |m: &Enrolment, f: &SampleFamily| {
            let [p, s, _] = m.family_probabilities(registry, f.decile, f.eligible, f.civil);
            (1.0 - p) * (1.0 - s)
        };
        let (e, n) = self.family_sums(registry, sample, BLT_DD, neither);
        let clean = target(BLT_DD) * (1.0 - BLT_CONFLICT_SHARE);
        self.rates[BLT_DD] = rates(clean, inclusion(BLT_DD), e, n);
        let conflict_pool: f64 = sample
            .families
            .iter()
            .filter(|f| f.eligible.contains(self.ids[BLT_DD]))
            .map(|f| 1.0 - neither(self, f))
            .sum();
        self.blt_conflict = if conflict_pool > 0.0 {
            target(BLT_DD) * BLT_CONFLICT_SHARE / conflict_pool
        } else {
            0.0
        };
        for i in PERSON_PROGRAMS {
            let (mut e, mut n) = (0.0, 0.0);
            for (facts, eligible) in &sample.persons_facts {
                let unit = Unit_ {
                    decile: facts.decile,
                    age: Some(facts.age),
                    civil_servant: facts.civil_servant,
                };
                match self.class(registry, i, *eligible, &unit) {
                    Class::Eligible => e += weight(facts.decile),
                    Class::NearMiss => n += 1.0,
                    Class::Never => {}
                }
            }
            self.rates[i] = rates(target(i), inclusion(i), e, n);
        }
    }

    /// Weighted sums over sample families of (eligible × decile weight,
    /// near miss), each multiplied by `factor`.
    fn family_sums(
        &self,
        registry: &Registry,
        sample: &Sample,
        i: usize,
        factor: impl Fn(&Enrolment, &SampleFamily) -> f64,
    ) -> (f64, f64) {
        let (mut e, mut n) = (0.0, 0.0);
        for f in &sample.families {
            let unit = Unit_ {
                decile: f.decile,
                age: None,
                civil_servant: f.civil,
            };
            match self.class(registry, i, f.eligible, &unit) {
                Class::Eligible => e += weight(f.decile) * factor(self, f),
                Class::NearMiss => n += factor(self, f),
                Class::Never => {}
            }
        }
        (e, n)
    }
}

fn rates(target: f64, inclusion: f64, eligible: f64, near_miss: f64) -> Rates {
    let share = |want: f64, pool: f64| if pool > 0.0 { want / pool } else { 0.0 };
    Rates {
        eligible: share(target * (1.0 - inclusion), eligible),
        near_miss: share(target * inclusion, near_miss),
    }
}

/// What the class rule reads about a family or person.
struct Unit_ {
    decile: u8,
    age: Option<u16>,
    civil_servant: bool,
}

struct SampleFamily {
    decile: u8,
    eligible: ProgramSet,
    civil: bool,
}

/// Families drawn from the model across the country, for calibration.
struct Sample {
    persons: usize,
    families: Vec<SampleFamily>,
    persons_facts: Vec<(PersonFacts, ProgramSet)>,
}

impl Sample {
    fn draw(registry: &Registry, geo: &Geography, deciles: &DecileTable, seed: u64) -> Sample {
        let mut rng = Rng::stream(seed, 0x6361_6C69, 0);
        let model = FamilyModel::default();
        let weights: Vec<f64> = geo.provinces.iter().map(|p| p.population as f64).collect();
        let province_cdf = crate::rng::cumulative(&weights);
        let mut sample = Sample {
            persons: 0,
            families: Vec::new(),
            persons_facts: Vec::new(),
        };
        let mut members = Vec::new();
        let mut facts_buf = Vec::new();
        while sample.persons < SAMPLE_PERSONS {
            let province = rng.pick(&province_cdf);
            let decile = deciles.decile(province, rng.unit());
            let size = model.size(&mut rng, u64::MAX);
            model.members(&mut rng, size, decile, &mut members);
            facts_buf.clear();
            facts_buf.extend(members.iter().map(|m| facts(m, decile)));
            sample.families.push(SampleFamily {
                decile,
                eligible: registry.family_eligibility(decile, &facts_buf),
                civil: members.iter().any(|m| m.civil_servant),
            });
            for f in &facts_buf {
                sample
                    .persons_facts
                    .push((*f, registry.person_eligibility(f)));
            }
            sample.persons += size;
        }
        sample
    }
}
