//! Pass 4, per NIK partition: every person's matched records together,
//! their fields resolved by the rules, one register row each.
//!
//! Writes `reg-PPPP.csv` (register rows sorted by NIK) and, when asked,
//! `links-PPPP.csv` into the scratch directory; `missing_field` items go
//! to the work list (`w`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use tepat::register::{PersonRecord, Relation};
use tepat::{ComponentSet, Date, Kk, Nik, ProgramSet, Registry, Sex};

use crate::error::{MergeError, Result, io};
use crate::report::{Counts, Tally};
use crate::rules::{Resolver, Rules, TARGETS, Target, value_date};
use crate::schema::Rec;
use crate::spill::{self, Spill, village_part};
use crate::{Method, Progress, Reason, pool};

/// What the pass produced.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Counts of matched records per (source, district).
    pub tally: Tally,
    /// Register rows written.
    pub persons: u64,
    /// Persons left out for a missing field.
    pub missing: u64,
    /// Partitions with a `reg-PPPP.csv`, in order.
    pub parts: Vec<u16>,
}

struct PartOut {
    tally: Tally,
    persons: u64,
    missing: u64,
}

/// Runs the pass over every partition with matched records.
pub fn run(
    scratch: &Path,
    threads: usize,
    rules: &Rules,
    registry: &Registry,
    names: &[String],
    links: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Resolved> {
    let civil = spill::files(scratch, "c")?;
    let matched = spill::files(scratch, "l")?;
    let parts: Vec<u16> = matched.keys().copied().collect();
    let resolver = Resolver::new(rules, names);
    let done = AtomicU64::new(0);
    let none = Vec::new();
    let ctx = Ctx {
        scratch,
        resolver: &resolver,
        registry,
        names,
        links,
    };
    let (outs, _) = pool::run(
        threads,
        parts.len(),
        |w| Spill::new(scratch, "w", format!("4.{w}")),
        |work, i| {
            let part = parts[i];
            let civil = civil_of(civil.get(&part).unwrap_or(&none))?;
            let recs = sorted(spill::read_all(&matched[&part])?, |r| {
                (r.link, u64::from(r.source), r.line)
            });
            let out = ctx.part(part, &civil, &recs, work)?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(Progress {
                step: "resolving fields",
                done: n,
                total: parts.len() as u64,
            });
            Ok(out)
        },
        Spill::finish,
    )?;
    let mut resolved = Resolved {
        parts,
        ..Resolved::default()
    };
    for out in outs {
        crate::report::add(&mut resolved.tally, &out.tally);
        resolved.persons += out.persons;
        resolved.missing += out.missing;
    }
    Ok(resolved)
}

/// What the pass keeps of a civil record: the fields rules may take
/// from it (a fifth of a [`Rec`]: Kab. Bogor alone has 5.7 M persons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Civil {
    nik: u64,
    line: u64,
    kk: u64,
    village: u64,
    birth: i32,
    updated: i32,
    sex: u8,
    relation: u8,
    deceased: u8,
}

impl Civil {
    fn rec(&self) -> Rec {
        Rec {
            source: crate::CIVIL,
            line: self.line,
            nik: self.nik,
            kk: self.kk,
            village: self.village,
            birth: self.birth,
            updated: self.updated,
            sex: self.sex,
            relation: self.relation,
            deceased: self.deceased,
            civil_servant: crate::schema::NONE,
            extreme_poor: crate::schema::NONE,
            ..Rec::default()
        }
    }
}

/// The civil records of a partition, sorted by NIK.
fn civil_of(slices: &[spill::Slice]) -> Result<Vec<Civil>> {
    let mut out = Vec::new();
    spill::for_each(slices, |r| {
        out.push(Civil {
            nik: r.nik,
            line: r.line,
            kk: r.kk,
            village: r.village,
            birth: r.birth,
            updated: r.updated,
            sex: r.sex,
            relation: r.relation,
            deceased: r.deceased,
        });
        Ok(())
    })?;
    out.sort_unstable();
    Ok(out)
}

/// A buffered CSV file in the scratch directory: a partition's rows are
/// not held in memory.
fn csv_out(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).map_err(io(path))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

fn sorted<K: Ord>(mut v: Vec<Rec>, key: impl Fn(&Rec) -> K) -> Vec<Rec> {
    v.sort_unstable_by_key(key);
    v
}

struct Ctx<'a> {
    scratch: &'a Path,
    resolver: &'a Resolver<'a>,
    registry: &'a Registry,
    names: &'a [String],
    links: bool,
}

impl Ctx<'_> {
    /// One partition: `civil` sorted by NIK, `recs` by matched NIK.
    fn part(&self, part: u16, civil: &[Civil], recs: &[Rec], work: &mut Spill) -> Result<PartOut> {
        let mut out = PartOut {
            tally: Tally::new(),
            persons: 0,
            missing: 0,
        };
        let reg_path = self.scratch.join(format!("reg-{part:04}.csv"));
        let mut register = csv_out(&reg_path)?;
        let links_path = self.scratch.join(format!("links-{part:04}.csv"));
        let mut links = match self.links {
            true => Some(csv_out(&links_path)?),
            false => None,
        };
        for group in recs.chunk_by(|a, b| a.link == b.link) {
            let nik = group[0].link;
            let Ok(k) = civil.binary_search_by_key(&nik, |c| c.nik) else {
                return Err(MergeError::Scratch {
                    path: reg_path,
                    reason: "a record is matched to a NIK the civil register lacks",
                });
            };
            let civil = civil[k].rec();
            let person = self.person(&civil, group);
            count(&mut out.tally, &civil, group, person.as_ref().ok());
            match person {
                Ok(p) => {
                    p.write_csv(self.registry, &mut register)
                        .map_err(io(&reg_path))?;
                    out.persons += 1;
                }
                Err(field) => {
                    let mut item = group[0].clone();
                    item.method = Reason::MissingField as u8;
                    item.candidates = vec![nik];
                    item.missing = field as u8 + 1;
                    work.push(village_part(item.village), &item)?;
                    out.missing += 1;
                }
            }
            if let Some(links) = links.as_mut() {
                self.link_rows(group, links).map_err(io(&links_path))?;
            }
        }
        register.flush().map_err(io(&reg_path))?;
        if let Some(mut links) = links {
            links.flush().map_err(io(&links_path))?;
        }
        Ok(out)
    }

    /// The register row of one person, or the index of the first field
    /// no source gave.
    fn person(&self, civil: &Rec, recs: &[Rec]) -> Result<PersonRecord, usize> {
        let mut v = [0u64; TARGETS.len()];
        for (k, slot) in v.iter_mut().enumerate() {
            *slot = self.resolver.resolve(k, civil, recs).ok_or(k)?;
        }
        let at = |t: Target| v[TARGETS.iter().position(|x| x.1 == t).unwrap_or(0)];
        let field = |t: Target| TARGETS.iter().position(|x| x.1 == t).unwrap_or(0);
        Ok(PersonRecord {
            nik: Nik::from_u64(civil.nik).map_err(|_| 0usize)?,
            kk: Kk::from_u64(at(Target::Kk)).map_err(|_| field(Target::Kk))?,
            relation: Relation::from_code(at(Target::Relation) as u8),
            village: at(Target::Village),
            sex: if at(Target::Sex) == 2 {
                Sex::Female
            } else {
                Sex::Male
            },
            birth_date: Date::from_unix_days(i64::from(value_date(at(Target::BirthDate))))
                .ok_or(field(Target::BirthDate))?,
            decile: at(Target::Decile) as u8,
            deceased: at(Target::Deceased) == 1,
            civil_servant: at(Target::CivilServant) == 1,
            components: ComponentSet(at(Target::Components) as u16),
            programs: ProgramSet(at(Target::Programs) as u32),
        })
    }

    fn link_rows(&self, group: &[Rec], out: &mut impl Write) -> std::io::Result<()> {
        for r in group {
            let source = self
                .names
                .get(usize::from(r.source))
                .map_or("?", String::as_str);
            let method = Method::from_code(r.method).map_or("?", Method::name);
            writeln!(
                out,
                "{source},{},{},{},{:016},{method}",
                r.line,
                crate::csv::field(&r.id),
                crate::csv::field(&r.given_nik()),
                r.link
            )?;
        }
        Ok(())
    }
}

/// Counts one person's records (sorted by source, then line).
fn count(tally: &mut Tally, civil: &Rec, group: &[Rec], person: Option<&PersonRecord>) {
    for (i, r) in group.iter().enumerate() {
        let c: &mut Counts = tally
            .entry((r.source, (r.village / 10_000) as u32))
            .or_default();
        c.matched += 1;
        match Method::from_code(r.method) {
            Some(Method::Padan | Method::NameDiffers) => c.padan += 1,
            Some(Method::WithoutNik) => c.matched_without_nik += 1,
            _ => c.corrected += 1,
        }
        if i > 0 && group[i - 1].source == r.source {
            c.duplicates += 1;
        }
        if civil.deceased == 1 {
            c.deceased += 1;
        }
        if let Some(p) = person {
            if r.kk != 0 && r.kk != p.kk.get() {
                c.kk_corrected += 1;
            }
            if r.decile != 0 && r.decile != p.decile {
                c.decile_overridden += 1;
            }
        }
    }
}
