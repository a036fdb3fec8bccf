//! Pass 3, per village partition: the records the NIK did not settle,
//! against the civil persons of the same name, birth date and village.
//!
//! The candidates are found by that key alone; the given NIK then chooses
//! among them (one edit or one transposition away), so a NIK typo can only
//! move a record to someone who also has its name, birth date and village.
//! Matches go to `l` (by the matched NIK's partition); everything else to
//! the work list (`w`, by village partition).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::report::Tally;
use crate::schema::Rec;
use crate::spill::{self, Spill, nik_part};
use crate::{Method, Progress, Reason, pool};

/// A civil person's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    village: u64,
    birth: i32,
    name: u64,
    nik: u64,
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
        });
        Ok(())
    })?;
    keys.sort_unstable();
    Ok(keys)
}

/// The civil NIKs with the record's village, birth date and name.
fn candidates(keys: &[Key], rec: &Rec) -> Vec<u64> {
    let probe = |nik| Key {
        village: rec.village,
        birth: rec.birth,
        name: rec.name,
        nik,
    };
    let lo = keys.partition_point(|k| *k < probe(0));
    let hi = keys.partition_point(|k| *k <= probe(u64::MAX));
    keys[lo..hi].iter().map(|k| k.nik).collect()
}

/// The decision for one record, given the civil persons sharing its name,
/// birth date and village (`candidates`, sorted).
pub fn decide(rec: &Rec, candidates: &[u64]) -> Decision {
    let given = rec.given_nik();
    let given = given.as_ref();
    if !given.is_empty() {
        let near: Vec<u64> = candidates
            .iter()
            .copied()
            .filter(|&c| within_one_edit(given.as_bytes(), format!("{c:016}").as_bytes()))
            .collect();
        match near.len() {
            0 => {}
            1 => return Decision::Link(near[0], Method::Neighbour),
            _ => return Decision::Work(Reason::Ambiguous, near),
        }
    }
    match (candidates, given.is_empty(), rec.weak) {
        ([only], true, _) => Decision::Link(*only, Method::WithoutNik),
        ([only], false, 0) => Decision::Link(*only, Method::Demographic),
        ([only], false, weak) => Decision::Work(Reason::NikConflict, vec![weak, *only]),
        ([], _, 0) => Decision::Work(Reason::NoCivilIdentity, Vec::new()),
        ([], _, weak) if rec.weak_birth => Decision::Link(weak, Method::NameDiffers),
        ([], _, weak) => Decision::Work(Reason::NikOfOtherPerson, vec![weak]),
        (many, _, _) => Decision::Work(Reason::Ambiguous, many.to_vec()),
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

    fn rec(nik: &str, weak: u64, weak_birth: bool) -> Rec {
        Rec {
            nik_given: nik.into(),
            weak,
            weak_birth,
            ..Rec::default()
        }
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
        let a = 3201015708900001;
        let b = 3201015708900007;
        use Decision::*;
        // A typo: the neighbour among several candidates wins.
        assert_eq!(
            decide(&rec("3201015708900002", 0, false), &[a, 3201015708900555]),
            Link(a, Method::Neighbour)
        );
        assert_eq!(
            decide(&rec("3201015708900004", 0, false), &[a, b]),
            Work(Reason::Ambiguous, vec![a, b])
        );
        assert_eq!(
            decide(&rec("", 0, false), &[a]),
            Link(a, Method::WithoutNik)
        );
        assert_eq!(
            decide(&rec("", 0, false), &[a, b]),
            Work(Reason::Ambiguous, vec![a, b])
        );
        assert_eq!(
            decide(&rec("9999", 0, false), &[a]),
            Link(a, Method::Demographic)
        );
        assert_eq!(
            decide(&rec("9999", 0, false), &[]),
            Work(Reason::NoCivilIdentity, vec![])
        );
        // The NIK hit someone with another name.
        assert_eq!(
            decide(&rec("3201015708900555", b, true), &[]),
            Link(b, Method::NameDiffers)
        );
        assert_eq!(
            decide(&rec("3201015708900555", b, false), &[]),
            Work(Reason::NikOfOtherPerson, vec![b])
        );
        assert_eq!(
            decide(&rec("3201015708900555", b, false), &[a]),
            Work(Reason::NikConflict, vec![b, a])
        );
    }
}
