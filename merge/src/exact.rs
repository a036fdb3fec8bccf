//! Pass 2, per NIK partition: the civil register's NIKs against the
//! sources' (padan).
//!
//! A source record whose NIK is in the civil register and whose
//! normalised name, village and KK (when it gives one) agree is matched
//! (`l`, same partition). Every other one goes to the match by name, birth
//! date and village (`f`, by village partition), carrying the civil NIK it
//! hit, if any (`weak`): a NIK with one wrong digit may well be another
//! person's, even one of the same common name.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{MergeError, Result};
use crate::schema::{AGREE_BIRTH, AGREE_KK, AGREE_NAME, AGREE_VILLAGE, Rec};
use crate::spill::{self, Spill, village_part};
use crate::{Method, Progress, pool};

/// What the pass keeps of a civil record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Civil {
    nik: u64,
    line: u64,
    name: u64,
    village: u64,
    kk: u64,
    birth: i32,
}

/// Runs the pass over every partition.
pub fn run(
    scratch: &Path,
    threads: usize,
    civil_file: &Path,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<()> {
    let civil = spill::files(scratch, "c")?;
    let sources = spill::files(scratch, "s")?;
    let parts: Vec<u16> = civil
        .keys()
        .chain(sources.keys())
        .copied()
        .collect::<BTreeSet<u16>>()
        .into_iter()
        .collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    let none = Vec::new();
    pool::run(
        threads,
        parts.len(),
        |w| {
            (
                Spill::new(scratch, "l", format!("2.{w}")),
                Spill::new(scratch, "f", format!("2.{w}")),
            )
        },
        |(links, fuzzy), i| {
            let part = parts[i];
            let civil = load(civil.get(&part).unwrap_or(&none), civil_file)?;
            spill::for_each(sources.get(&part).unwrap_or(&none), |mut rec| {
                match civil.binary_search_by_key(&rec.nik, |c| c.nik) {
                    Ok(k) if agrees(&civil[k], &rec) => {
                        rec.link = rec.nik;
                        rec.method = Method::Padan as u8;
                        rec.full_name.clear();
                        links.push(part, &rec)
                    }
                    Ok(k) => {
                        rec.weak = rec.nik;
                        rec.weak_agree = agreement(&civil[k], &rec);
                        fuzzy.push(village_part(rec.village), &rec)
                    }
                    Err(_) => fuzzy.push(village_part(rec.village), &rec),
                }
            })?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(Progress {
                step: "matching by NIK",
                done: n,
                total: parts.len() as u64,
            });
            Ok(())
        },
        |(links, fuzzy)| {
            links.finish()?;
            fuzzy.finish()
        },
    )?;
    Ok(())
}

/// Name, village and KK (when the record gives one) agree: the NIK is the
/// record's. A name alone is not enough: a wrong serial digit often lands
/// on someone born the same day in the same district, and common names
/// repeat.
fn agrees(c: &Civil, rec: &Rec) -> bool {
    c.name == rec.name && c.village == rec.village && (rec.kk == 0 || rec.kk == c.kk)
}

/// Which fields of the civil person agree with the record's.
fn agreement(c: &Civil, rec: &Rec) -> u8 {
    let bit = |on: bool, b: u8| if on { b } else { 0 };
    bit(c.birth == rec.birth, AGREE_BIRTH)
        | bit(c.name == rec.name, AGREE_NAME)
        | bit(c.village == rec.village, AGREE_VILLAGE)
        | bit(rec.kk == 0 || rec.kk == c.kk, AGREE_KK)
}

/// The civil records of one partition, sorted by NIK; a NIK twice is an
/// error naming both lines.
fn load(paths: &[spill::Slice], civil_file: &Path) -> Result<Vec<Civil>> {
    let mut out = Vec::new();
    spill::for_each(paths, |r| {
        out.push(Civil {
            nik: r.nik,
            line: r.line,
            name: r.name,
            village: r.village,
            kk: r.kk,
            birth: r.birth,
        });
        Ok(())
    })?;
    out.sort_unstable();
    let twice = out
        .windows(2)
        .filter(|w| w[0].nik == w[1].nik)
        .min_by_key(|w| w[1].line);
    if let Some(w) = twice {
        return Err(MergeError::CivilDuplicate {
            file: civil_file.to_owned(),
            nik: format!("{:016}", w[0].nik),
            first_line: w[0].line,
            line: w[1].line,
        });
    }
    Ok(out)
}
