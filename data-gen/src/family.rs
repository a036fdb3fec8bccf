//! Who lives together: family size, relations, sexes, ages, recorded
//! components and civil-service status.
//!
//! The model, tuned so that the national figures of DESIGN §2 come out
//! (mean family 3.04 persons; ages 0–14 23 %, 15–64 69.5 %, 65+ 7.5 %; 101.9
//! men per 100 women):
//! - size 1–12 from [`SIZE_WEIGHTS`];
//! - a head; in 85 % of families of two or more a spouse of the other sex
//!   (the head is a man in 90 % of couples);
//! - the other members are children of the head (ages below the head's
//!   age minus 16), or with 12 % chance "other": a parent of the head or a
//!   grandchild;
//! - single-person families are young adults or, often, elderly, and are
//!   recorded `lives_alone`.

use tepat::program::Component;
use tepat::register::Relation;
use tepat::{ComponentSet, Sex};

use crate::rng::{Rng, cumulative};

/// Relative frequency of family sizes 1, 2, ... 12 (percent).
pub const SIZE_WEIGHTS: [f64; 12] = [
    19.0, 22.5, 21.6, 20.0, 10.1, 4.2, 1.6, 0.6, 0.2, 0.12, 0.05, 0.03,
];

/// Share of families of two or more that include a couple.
pub const COUPLE_SHARE: f64 = 0.85;
/// Share of couples whose registered head is the man.
pub const MALE_HEAD_SHARE: f64 = 0.90;
/// Share of non-couple members who are "other" (parent, grandchild).
pub const OTHER_SHARE: f64 = 0.12;
/// P(male) for children and others: 101.9 men per 100 women.
pub const MALE_SHARE: f64 = 101.9 / 201.9;

/// Civil servants, police, military: chance for an adult aged 20–58 in a
/// family of decile 6–10 ...
pub const CIVIL_SERVANT_RICH: f64 = 0.07;
/// ... and in decile 1–5.
pub const CIVIL_SERVANT_POOR: f64 = 0.002;

/// Pregnant: chance for a woman aged 15–49 who is head or spouse ...
pub const PREGNANT_MARRIED: f64 = 0.07;
/// ... and for another woman aged 15–49.
pub const PREGNANT_OTHER: f64 = 0.01;
/// Severe disability below 60 ...
pub const DISABILITY_YOUNG: f64 = 0.008;
/// ... and from 60.
pub const DISABILITY_OLD: f64 = 0.04;
/// Orphan: chance for a child aged 0–17.
pub const ORPHAN: f64 = 0.03;

/// In school by age 6, 7–12, 13–15, 16–18, 19–22.
pub const IN_SCHOOL: [(u16, u16, f64); 5] = [
    (6, 6, 0.50),
    (7, 12, 0.97),
    (13, 15, 0.88),
    (16, 18, 0.72),
    (19, 22, 0.20),
];

/// One member before dates and numbers are attached.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// Place in the family.
    pub relation: Relation,
    /// Sex.
    pub sex: Sex,
    /// Age in whole years on the as-of date.
    pub age: u16,
    /// Recorded components.
    pub components: ComponentSet,
    /// Civil servant, police or military.
    pub civil_servant: bool,
}

/// Draws families.
#[derive(Clone, Debug)]
pub struct FamilyModel {
    size_cdf: Vec<f64>,
}

impl Default for FamilyModel {
    fn default() -> FamilyModel {
        FamilyModel {
            size_cdf: cumulative(&SIZE_WEIGHTS),
        }
    }
}

/// Piecewise-uniform age brackets `(lo, hi, weight)`.
type Brackets = [(u16, u16, f64)];

const HEAD_AGES: &Brackets = &[
    (20, 24, 3.0),
    (25, 34, 13.0),
    (35, 44, 21.0),
    (45, 54, 28.0),
    (55, 64, 21.0),
    (65, 74, 6.5),
    (75, 92, 3.0),
];

const SINGLE_AGES: &Brackets = &[(18, 29, 30.0), (30, 59, 35.0), (60, 95, 28.0)];

fn bracket_age(rng: &mut Rng, brackets: &Brackets) -> u16 {
    let total: f64 = brackets.iter().map(|b| b.2).sum();
    let mut u = rng.unit() * total;
    for &(lo, hi, w) in brackets {
        if u < w {
            return rng.range(u32::from(lo), u32::from(hi)) as u16;
        }
        u -= w;
    }
    brackets.last().map_or(40, |b| b.1)
}

fn sex_with(rng: &mut Rng, p_male: f64) -> Sex {
    if rng.chance(p_male) {
        Sex::Male
    } else {
        Sex::Female
    }
}

impl FamilyModel {
    /// A family size, at most `cap`.
    pub fn size(&self, rng: &mut Rng, cap: u64) -> usize {
        ((rng.pick(&self.size_cdf) + 1) as u64).min(cap) as usize
    }

    /// Fills `out` with `size` members of a family of welfare `decile`.
    pub fn members(&self, rng: &mut Rng, size: usize, decile: u8, out: &mut Vec<Member>) {
        out.clear();
        if size == 1 {
            let age = bracket_age(rng, SINGLE_AGES);
            let p_male = if age >= 60 { 0.45 } else { 0.58 };
            out.push(member(Relation::Head, sex_with(rng, p_male), age));
        } else {
            let head_age = bracket_age(rng, HEAD_AGES);
            let couple = rng.chance(COUPLE_SHARE);
            let head_sex = if couple {
                sex_with(rng, MALE_HEAD_SHARE)
            } else {
                sex_with(rng, 0.5)
            };
            out.push(member(Relation::Head, head_sex, head_age));
            let mut youngest_parent = head_age;
            if couple {
                let gap = rng.range(0, 9) as u16;
                let (sex, age) = match head_sex {
                    Sex::Male => (Sex::Female, head_age.saturating_sub(gap).max(17)),
                    Sex::Female => (Sex::Male, (head_age + gap).min(98)),
                };
                youngest_parent = youngest_parent.min(age);
                out.push(member(Relation::Spouse, sex, age));
            }
            while out.len() < size {
                out.push(self.dependant(rng, head_age, youngest_parent));
            }
        }
        let alone = size == 1;
        for m in out.iter_mut() {
            m.components = components(rng, m, alone);
            m.civil_servant = civil_servant(rng, m.age, decile);
        }
    }

    fn dependant(&self, rng: &mut Rng, head_age: u16, parent_age: u16) -> Member {
        let sex = sex_with(rng, MALE_SHARE);
        if rng.chance(OTHER_SHARE) {
            let age = if head_age < 55 && rng.chance(0.6) {
                (head_age + rng.range(20, 32) as u16).min(98)
            } else {
                rng.range(0, 30) as u16
            };
            return member(Relation::Other, sex, age);
        }
        let oldest = parent_age.saturating_sub(15).min(45);
        let age = rng.range(0, u32::from(oldest)) as u16;
        member(Relation::Child, sex, age)
    }
}

fn member(relation: Relation, sex: Sex, age: u16) -> Member {
    Member {
        relation,
        sex,
        age,
        components: ComponentSet::default(),
        civil_servant: false,
    }
}

fn components(rng: &mut Rng, m: &Member, alone: bool) -> ComponentSet {
    let mut set = ComponentSet::default();
    if m.sex == Sex::Female && (15..=49).contains(&m.age) {
        let married = matches!(m.relation, Relation::Head | Relation::Spouse);
        if rng.chance(if married {
            PREGNANT_MARRIED
        } else {
            PREGNANT_OTHER
        }) {
            set = set.with(Component::Pregnant);
        }
    }
    let disability = if m.age >= 60 {
        DISABILITY_OLD
    } else {
        DISABILITY_YOUNG
    };
    if rng.chance(disability) {
        set = set.with(Component::SevereDisability);
    }
    if m.age <= 17 && rng.chance(ORPHAN) {
        set = set.with(Component::Orphan);
    }
    if alone {
        set = set.with(Component::LivesAlone);
    }
    if let Some(&(_, _, p)) = IN_SCHOOL
        .iter()
        .find(|(lo, hi, _)| (*lo..=*hi).contains(&m.age))
        && rng.chance(p)
    {
        set = set.with(Component::InSchool);
    }
    set
}

fn civil_servant(rng: &mut Rng, age: u16, decile: u8) -> bool {
    if !(20..=58).contains(&age) {
        return false;
    }
    rng.chance(if decile >= 6 {
        CIVIL_SERVANT_RICH
    } else {
        CIVIL_SERVANT_POOR
    })
}
