//! A registry cut down to some of its programs: what a payout point that
//! pays only those needs (`Store::subset`), and which facts of a person
//! their rules read.

use super::{ComponentSet, Entitlement, Exclusion, ProgramId, ProgramSet, Registry};
use crate::error::Result;

/// A registry of some of another's programs, and how to carry a person's
/// program sets and facts over to it.
#[derive(Clone, Debug)]
pub struct Restricted {
    /// The programs kept, in the original's order, their exclusions
    /// renumbered; the original's policy.
    pub registry: Registry,
    /// The original's program index → the kept program's id.
    map: Vec<Option<ProgramId>>,
    /// The components the kept programs' rules and amounts read, derived
    /// ones included.
    pub components: ComponentSet,
    /// Whether any kept rule reads an age (a range, or a component derived
    /// from the age): birth dates are needed.
    pub needs_birth_dates: bool,
}

impl Registry {
    /// The registry of the programs in `keep` and of every program they
    /// exclude (a verdict reads the enrolment that excludes it), in this
    /// registry's order, with its policy.
    pub fn restricted(&self, keep: ProgramSet) -> Result<Restricted> {
        let mut kept = keep;
        loop {
            let more = kept.iter().fold(kept, |set, id| {
                let excluded = self.get(id).map_or(&[][..], |p| &p.excludes[..]);
                excluded.iter().fold(set, |s, e| s.with(e.program))
            });
            if more == kept {
                break;
            }
            kept = more;
        }
        let mut map = vec![None; self.len()];
        for (next, id) in kept.iter().filter(|id| id.index() < self.len()).enumerate() {
            map[id.index()] = ProgramId::new(next);
        }
        let renumber = |e: &Exclusion| {
            map[e.program.index()].map(|program| Exclusion {
                program,
                level: e.level,
            })
        };
        let programs = self
            .programs
            .iter()
            .enumerate()
            .filter(|(i, _)| map[*i].is_some())
            .map(|(_, p)| {
                let mut p = p.clone();
                p.excludes = p.excludes.iter().filter_map(renumber).collect();
                p
            })
            .collect::<Vec<_>>();
        let derived = (0..=200).fold(ComponentSet(0), |s, age| {
            s.union(ComponentSet::from_age(age))
        });
        let mut components = ComponentSet(0);
        let mut ages = false;
        for p in &programs {
            let rule = &p.eligibility;
            components = components.union(rule.any_of).union(rule.all_of);
            if let Some(Entitlement::PerComponent { amounts, .. }) = &p.entitlement {
                components = amounts.iter().fold(components, |s, (c, _)| s.with(*c));
            }
            ages |= rule.age.is_some();
        }
        Ok(Restricted {
            registry: Registry::new(programs, self.policy.clone())?,
            map,
            components,
            needs_birth_dates: ages || components.intersects(derived),
        })
    }
}

impl Restricted {
    /// A set of the original's programs as the kept registry numbers them
    /// (programs not kept are dropped).
    pub fn carry(&self, set: ProgramSet) -> ProgramSet {
        set.iter()
            .filter_map(|id| self.map.get(id.index()).copied().flatten())
            .fold(ProgramSet::EMPTY, ProgramSet::with)
    }

    /// The recorded components the kept rules read: the rest are dropped.
    pub fn carry_components(&self, recorded: ComponentSet) -> ComponentSet {
        ComponentSet(recorded.0 & self.components.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_program_brings_what_it_excludes_and_sets_are_renumbered() {
        let national = Registry::builtin();
        let all = national.ids().fold(ProgramSet::EMPTY, ProgramSet::with);
        let same = national.restricted(all).unwrap();
        assert_eq!(&same.registry, national);
        assert_eq!(same.carry(all), all);

        let pkh = national.require("PKH").unwrap();
        let cut = national.restricted(ProgramSet::EMPTY.with(pkh)).unwrap();
        for p in national.program(pkh).excludes.iter() {
            let code = &national.program(p.program).code;
            assert!(
                cut.registry.by_code(code).is_some(),
                "{code} kept: PKH excludes it"
            );
        }
        let new_pkh = cut.registry.require("PKH").unwrap();
        assert_eq!(
            cut.carry(ProgramSet::EMPTY.with(pkh)),
            ProgramSet::EMPTY.with(new_pkh)
        );
        assert!(cut.registry.len() < national.len());
        // PKH pays by component (pregnancy, young children): it reads them,
        // and young children are a matter of age.
        assert!(cut.needs_birth_dates);
        assert!(!cut.components.is_empty());
    }
}
