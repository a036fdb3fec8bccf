//! Pass 3, per village partition: the records the NIK did not settle,
//! against the civil persons of the same name, birth date and village.
//!
//! The candidates are found by that key alone; the given NIK then chooses
//! among them (one edit or one transposition away), so a NIK typo can only
//! move a record to someone who also has its name, birth date and village.
//! The record's KK, when it gives one, breaks ties between candidates and
//! vetoes a correction to a person on another family card: that is for a
//! verifier to decide.
//! Matches go to `l` (by the matched NIK's partition); everything else to
//! the work list (`w`, by village partition).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::report::Tally;
use crate::schema::{AGREE_BIRTH, AGREE_KK, AGREE_NAME, AGREE_VILLAGE, Rec};
use crate::spill::{self, Spill, nik_part};
use crate::{Method, Progress, Reason, pool};

/// A civil person's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    village: u64,
    birth: i32,
    name: u64,
    nik: u64,
    kk: u64,
}

/// A civil person sharing a record's name, birth date and village.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The person's NIK.
    pub nik: u64,
    /// The person's KK.
    pub kk: u64,
}

/// What becomes of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Matched to this civil NIK.
    Link(u64, Method),
    /// On the work list, with the candidates.
    Work(Reason, Vec<u64>),
}

/// Runs the pass; returns the ambiguous and unmatched counts.
pub fn run(scratch: &Path, threads: usize, progress: &(dyn Fn(Progress) + Sync)) -> Result<Tally> {
    let pending = spill::files(scratch, "f")?;
    let civil = spill::files(scratch, "d")?;
    let parts: Vec<u16> = pending.keys().copied().collect();
    let done = AtomicU64::new(0);
    let none = Vec::new();
    let (tallies, _) = pool::run(
        threads,
        parts.len(),
        |w| {
            (
                Spill::new(scratch, "l", format!("3.{w}")),
                Spill::new(scratch, "w", format!("3.{w}")),
            )
        },
        |(links, work), i| {
            let part = parts[i];
            let keys = load(civil.get(&part).unwrap_or(&none))?;
            let mut tally = Tally::new();
            spill::for_each(&pending[&part], |mut rec| {
                let candidates = candidates(&keys, &rec);
                match decide(&rec, &candidates) {
                    Decision::Link(nik, method) => {
                        rec.link = nik;
                        rec.method = method as u8;
                        rec.full_name.clear();
                        links.push(nik_part(nik), &rec)
                    }
                    Decision::Work(reason, candidates) => {
                        let c = tally
                            .entry((rec.source, (rec.village / 10_000) as u32))
                            .or_default();
                        match reason {
                            Reason::NoCivilIdentity => c.unmatched += 1,
                            _ => c.ambiguous += 1,
                        }
                        rec.method = reason as u8;
                        rec.candidates = candidates;
                        work.push(part, &rec)
                    }
                }
            })?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(Progress {
                step: "matching by name, birth date and village",
                done: n,
                total: parts.len() as u64,
            });
            Ok(tally)
        },
        |(links, work)| {
            links.finish()?;
            work.finish()
        },
    )?;
    let mut tally = Tally::new();
    for t in &tallies {
        crate::report::add(&mut tally, t);
    }
    Ok(tally)
}

fn load(paths: &[spill::Slice]) -> Result<Vec<Key>> {
    let mut keys = Vec::new();
    spill::for_each(paths, |r| {
        keys.push(Key {
            village: r.village,
            birth: r.birth,
            name: r.name,
            nik: r.nik,
            kk: r.kk,
        });
        Ok(())
    })?;
    keys.sort_unstable();
    Ok(keys)
}

/// The civil persons with the record's village, birth date and name.
fn candidates(keys: &[Key], rec: &Rec) -> Vec<Candidate> {
    let probe = |nik, kk| Key {
        village: rec.village,
        birth: rec.birth,
        name: rec.name,
        nik,
        kk,
    };
    let lo = keys.partition_point(|k| *k < probe(0, 0));
    let hi = keys.partition_point(|k| *k <= probe(u64::MAX, u64::MAX));
    keys[lo..hi]
        .iter()
        .map(|k| Candidate {
            nik: k.nik,
            kk: k.kk,
        })
        .collect()
}

/// Of several candidates, those on the record's family card, if any are.
fn narrow(cands: Vec<Candidate>, kk: u64) -> Vec<Candidate> {
    if cands.len() > 1 && kk != 0 && cands.iter().any(|c| c.kk == kk) {
        cands.into_iter().filter(|c| c.kk == kk).collect()
    } else {
        cands
    }
}

fn niks(cands: &[Candidate]) -> Vec<u64> {
    cands.iter().map(|c| c.nik).collect()
}

/// The decision for one record, given the civil persons sharing its name,
/// birth date and village (`candidates`, sorted by NIK).
pub fn decide(rec: &Rec, candidates: &[Candidate]) -> Decision {
    let given = rec.given_nik();
    let given = given.as_ref();
    let kk_ok = |c: &Candidate| rec.kk == 0 || c.kk == rec.kk;
    // 1. Someone the given NIK points at: the NIK itself (the record came
    //    here for its KK) or one edit away.
    if !given.is_empty() {
        let near: Vec<Candidate> = candidates
            .iter()
            .copied()
            .filter(|c| within_one_edit(given.as_bytes(), format!("{:016}", c.nik).as_bytes()))
            .collect();
        let near = narrow(near, rec.kk);
        match near.as_slice() {
            [] => {}
            [c] if c.nik == rec.nik => return Decision::Link(c.nik, Method::Padan),
            // With no candidate on the record's card (a stale KK), the given
            // NIK itself beats its neighbours.
            many if many.iter().any(|c| c.nik == rec.nik) && !many.iter().any(kk_ok) => {
                return Decision::Link(rec.nik, Method::Padan);
            }
            [c] if kk_ok(c) => return Decision::Link(c.nik, Method::Neighbour),
            [c] => return Decision::Work(Reason::KkDiffers, vec![c.nik]),
            many => return Decision::Work(Reason::Ambiguous, niks(many)),
        }
    }
    // 2. The NIK's own person, though the name, village or KK differ.
    if rec.weak != 0 {
        let agree = |bits: u8| rec.weak_agree & bits == bits;
        let name = agree(AGREE_NAME);
        let place = agree(AGREE_VILLAGE) || agree(AGREE_KK);
        // Beyond its name only the whole rest may vouch for a NIK: a
        // mistyped serial often lands on someone born the same day.
        let all_but_name = agree(AGREE_BIRTH | AGREE_VILLAGE | AGREE_KK);
        return match candidates {
            // Moved, or a family split: the NIK and the name agree.
            _ if name && place => Decision::Link(rec.weak, Method::Padan),
            [] if !name && all_but_name => Decision::Link(rec.weak, Method::NameDiffers),
            [] => Decision::Work(Reason::NikOfOtherPerson, vec![rec.weak]),
            others => {
                let mut both = vec![rec.weak];
                both.extend(niks(others));
                Decision::Work(Reason::NikConflict, both)
            }
        };
    }
    // 3. Name, birth date and village alone.
    let cands = narrow(candidates.to_vec(), rec.kk);
    match cands.as_slice() {
        [] => Decision::Work(Reason::NoCivilIdentity, Vec::new()),
        [c] if !kk_ok(c) => Decision::Work(Reason::KkDiffers, vec![c.nik]),
        [c] if given.is_empty() => Decision::Link(c.nik, Method::WithoutNik),
        [c] => Decision::Link(c.nik, Method::Demographic),
        many => Decision::Work(Reason::Ambiguous, niks(many)),
    }
}

/// Whether `a` and `b` differ by at most one substitution, insertion,
/// deletion or transposition of adjacent characters.
pub fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diff.as_slice() {
                [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 => {
            let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(nik: &str, kk: u64, weak: u64, weak_agree: u8) -> Rec {
        let valid = tepat::Nik::parse(nik).map_or(0, |n| n.get());
        Rec {
            nik_given: if valid == 0 {
                nik.into()
            } else {
                String::new()
            },
            nik: valid,
            kk,
            weak,
            weak_agree,
            ..Rec::default()
        }
    }

    fn c(nik: u64, kk: u64) -> Candidate {
        Candidate { nik, kk }
    }

    #[test]
    fn one_edit() {
        let n = b"3201015708900001";
        assert!(within_one_edit(n, b"3201015708900002"));
        assert!(within_one_edit(n, b"3201015708900010"));
        assert!(within_one_edit(n, b"320101570890001"));
        assert!(within_one_edit(n, b"32010157089000011"));
        assert!(!within_one_edit(n, b"3201015708900022"));
        assert!(!within_one_edit(n, b"2301015708900010"));
    }

    #[test]
    fn decisions() {
        use Decision::*;
        let (a, b, far) = (3201015708900001, 3201015708900007, 3201015708900555);
        let (ka, kb) = (3201011503150001, 3201011503150002);
        // A typo: the neighbour among several candidates wins.
        let r = rec("3201015708900002", 0, 0, 0);
        assert_eq!(
            decide(&r, &[c(a, ka), c(far, kb)]),
            Link(a, Method::Neighbour)
        );
        let r = rec("3201015708900004", 0, 0, 0);
        assert_eq!(
            decide(&r, &[c(a, ka), c(b, kb)]),
            Work(Reason::Ambiguous, vec![a, b])
        );
        // ... unless the record's KK says which.
        let r = rec("3201015708900004", kb, 0, 0);
        assert_eq!(
            decide(&r, &[c(a, ka), c(b, kb)]),
            Link(b, Method::Neighbour)
        );
        // A neighbour on another family card is for a verifier.
        let r = rec("3201015708900002", kb, 0, 0);
        assert_eq!(decide(&r, &[c(a, ka)]), Work(Reason::KkDiffers, vec![a]));
        assert_eq!(
            decide(&rec("", 0, 0, 0), &[c(a, ka)]),
            Link(a, Method::WithoutNik)
        );
        let two = [c(a, ka), c(b, kb)];
        assert_eq!(
            decide(&rec("", 0, 0, 0), &two),
            Work(Reason::Ambiguous, vec![a, b])
        );
        assert_eq!(
            decide(&rec("", ka, 0, 0), &two),
            Link(a, Method::WithoutNik)
        );
        assert_eq!(
            decide(&rec("9999", 0, 0, 0), &[c(a, ka)]),
            Link(a, Method::Demographic)
        );
        let r = rec("9999", 0, 0, 0);
        assert_eq!(decide(&r, &[]), Work(Reason::NoCivilIdentity, vec![]));
        // The NIK is in the register: the same person with a stale KK ...
        let r = rec(
            "3201015708900001",
            kb,
            a,
            AGREE_NAME | AGREE_BIRTH | AGREE_VILLAGE,
        );
        assert_eq!(decide(&r, &[c(a, ka)]), Link(a, Method::Padan));
        // ... or in another village (moved).
        let r = rec(
            "3201015708900001",
            0,
            a,
            AGREE_NAME | AGREE_BIRTH | AGREE_KK,
        );
        assert_eq!(decide(&r, &[]), Link(a, Method::Padan));
        // Both moved and on another card: for a verifier.
        let r = rec("3201015708900001", kb, a, AGREE_NAME | AGREE_BIRTH);
        assert_eq!(decide(&r, &[]), Work(Reason::NikOfOtherPerson, vec![a]));
        // A typo that hit b, who has the same name: a is the neighbour.
        let r = rec(
            "3201015708900007",
            ka,
            b,
            AGREE_NAME | AGREE_BIRTH | AGREE_VILLAGE,
        );
        assert_eq!(
            decide(&r, &[c(a, ka), c(b, kb)]),
            Link(a, Method::Neighbour)
        );
        // The record's own NIK among one-edit neighbours (a stale KK).
        let r = rec(
            "3201015708900001",
            kb,
            a,
            AGREE_NAME | AGREE_BIRTH | AGREE_VILLAGE,
        );
        let near = [c(a, ka), c(3201015708900002, ka)];
        assert_eq!(decide(&r, &near), Link(a, Method::Padan));
        // The NIK hit someone with another name.
        let r = rec(
            "3201015708900555",
            0,
            far,
            AGREE_BIRTH | AGREE_VILLAGE | AGREE_KK,
        );
        assert_eq!(decide(&r, &[]), Link(far, Method::NameDiffers));
        // Born the same day is not enough: a serial typo lands on such.
        let r = rec("3201015708900555", 0, far, AGREE_BIRTH | AGREE_KK);
        assert_eq!(decide(&r, &[]), Work(Reason::NikOfOtherPerson, vec![far]));
        let r = rec("3201015708900555", 0, far, 0);
        assert_eq!(decide(&r, &[]), Work(Reason::NikOfOtherPerson, vec![far]));
        let r = rec("3201015708900555", 0, b, 0);
        assert_eq!(
            decide(&r, &[c(a, ka)]),
            Work(Reason::NikConflict, vec![b, a])
        );
    }
}
