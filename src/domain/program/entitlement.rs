//! What a program pays for one period: its entitlement, as registry data.
//!
//! Most programs pay a flat amount per period (Sembako's Rp 600,000 a
//! quarter). PKH pays by component: each member of the family counts once,
//! at the amount of their best-paid component (pregnant, young child,
//! schoolchild, severe disability, elderly), and at most four members are
//! counted. A claim states the amount paid, or is recorded at the
//! entitlement; a stated amount other than the entitlement is refused
//! (`wrong_amount`).

use serde::{Deserialize, Serialize};

use super::{Component, PersonFacts};

/// The most a registry may set as one amount, in rupiah (a trillion):
/// a larger figure is a typing error, and sums of amounts stay far from
/// `u64::MAX`.
pub const MAX_AMOUNT: u64 = 1_000_000_000_000;

/// A program's entitlement for one period, in rupiah.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entitlement {
    /// The same amount every period, whoever is paid.
    Flat(u64),
    /// An amount per member by component: each member counts once, at the
    /// highest amount among the components they have on the period's first
    /// day; the payment is the sum over the `max_members` best-paid members
    /// (every member when `None`). A person program counts the payee only.
    PerComponent {
        /// The amount for each component that pays.
        amounts: Vec<(Component, u64)>,
        /// How many members are counted at most (PKH: 4).
        max_members: Option<u16>,
    },
}

impl Entitlement {
    /// The amount for one period, given the facts of the members counted
    /// (the payee alone for a person program; the family's living members
    /// for a family program).
    pub fn amount<'a>(&self, members: impl IntoIterator<Item = &'a PersonFacts>) -> u64 {
        match self {
            Entitlement::Flat(amount) => *amount,
            Entitlement::PerComponent {
                amounts,
                max_members,
            } => {
                let mut each: Vec<u64> = members
                    .into_iter()
                    .filter_map(|m| {
                        let have = m.components();
                        amounts
                            .iter()
                            .filter(|(c, _)| have.contains(*c))
                            .map(|(_, a)| *a)
                            .max()
                    })
                    .collect();
                each.sort_unstable_by(|a, b| b.cmp(a));
                let counted = max_members.map_or(usize::MAX, usize::from);
                // Each amount is at most MAX_AMOUNT and a family has fewer
                // than 2^16 members: the sum cannot overflow.
                each.iter().take(counted).sum()
            }
        }
    }

    /// Whether the amount depends on who is paid (and so needs the
    /// members' facts).
    pub fn by_component(&self) -> bool {
        matches!(self, Entitlement::PerComponent { .. })
    }

    /// Checks the amounts are within 1..=[`MAX_AMOUNT`], no component is
    /// named twice and `max_members` is at least 1.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let check = |a: u64| {
            if a == 0 || a > MAX_AMOUNT {
                Err(format!("{a} is not an amount in 1..={MAX_AMOUNT} rupiah"))
            } else {
                Ok(())
            }
        };
        match self {
            Entitlement::Flat(a) => check(*a),
            Entitlement::PerComponent {
                amounts,
                max_members,
            } => {
                if amounts.is_empty() {
                    return Err("names no component".into());
                }
                for (i, (c, a)) in amounts.iter().enumerate() {
                    check(*a)?;
                    if amounts[..i].iter().any(|(d, _)| d == c) {
                        return Err(format!("names {} twice", c.name()));
                    }
                }
                if *max_members == Some(0) {
                    return Err("max_members is 0: nobody would be paid".into());
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::program::ComponentSet;

    fn member(age: u16, recorded: ComponentSet) -> PersonFacts {
        PersonFacts {
            decile: 2,
            age,
            recorded,
            civil_servant: false,
        }
    }

    fn pkh() -> Entitlement {
        Entitlement::PerComponent {
            amounts: vec![
                (Component::Pregnant, 750_000),
                (Component::Child0To6, 750_000),
                (Component::InSchool, 225_000),
                (Component::Elderly70, 600_000),
            ],
            max_members: Some(4),
        }
    }

    #[test]
    fn each_member_counts_once_at_their_best_component() {
        let none = ComponentSet(0);
        let pregnant = none.with(Component::Pregnant);
        let school = none.with(Component::InSchool);
        // A pregnant mother of 30, a child of 4, a schoolchild of 9, a
        // father with no component.
        let family = [
            member(30, pregnant),
            member(4, none),
            member(9, school),
            member(35, none),
        ];
        assert_eq!(pkh().amount(&family), 750_000 + 750_000 + 225_000);
        // A pregnant girl of 5 (both components) still counts once.
        assert_eq!(pkh().amount(&[member(5, pregnant)]), 750_000);
        assert_eq!(pkh().amount(&[member(35, none)]), 0);
    }

    #[test]
    fn at_most_max_members_are_counted_the_best_paid_first() {
        let school = ComponentSet(0).with(Component::InSchool);
        let mut family = vec![member(8, school); 4];
        family.push(member(2, ComponentSet(0)));
        family.push(member(75, ComponentSet(0)));
        // 750,000 (the child) + 600,000 (the elder) + two schoolchildren.
        assert_eq!(pkh().amount(&family), 750_000 + 600_000 + 2 * 225_000);
    }

    #[test]
    fn bad_amounts_are_refused() {
        assert!(Entitlement::Flat(0).validate().is_err());
        assert!(Entitlement::Flat(MAX_AMOUNT + 1).validate().is_err());
        assert!(Entitlement::Flat(600_000).validate().is_ok());
        let twice = Entitlement::PerComponent {
            amounts: vec![(Component::Pregnant, 1), (Component::Pregnant, 2)],
            max_members: None,
        };
        assert!(twice.validate().unwrap_err().contains("pregnant twice"));
        let nobody = Entitlement::PerComponent {
            amounts: vec![(Component::Pregnant, 1)],
            max_members: Some(0),
        };
        assert!(nobody.validate().is_err());
        assert!(pkh().validate().is_ok());
    }
}
