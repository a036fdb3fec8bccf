//! Writes the five files of a run into a directory, in one streaming pass,
//! and with [`Options::sources`] the register's sources beside them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use tepat::Unit;

use crate::changes::{self, ChunkChanges, KINDS};
use crate::payees::{CATEGORIES, Candidates, Category, PayeePlan, PayeeWriter};
use crate::sources::{self, SourcePiece};
use crate::tally::Tally;
use crate::{Chunk, GenError, Generator};

/// File names inside the output directory.
pub const FILES: [&str; 5] = [
    "register.csv",
    "payees.csv",
    "payees_truth.csv",
    "changes.csv",
    "truth.json",
];

/// What to write besides the five files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Also write the sources of the register ([`sources::FILES`], and
    /// [`sources::TRUTH_FILES`] with `truth/summary.json`).
    pub sources: bool,
}

/// What a run wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The contents of `truth.json`.
    pub truth: Value,
    /// Bytes written to `register.csv`.
    pub register_bytes: u64,
}

/// One chunk's output, made on a worker thread.
struct Piece {
    index: usize,
    persons: u64,
    register: Vec<u8>,
    tally: Tally,
    candidates: Candidates,
    changes: ChunkChanges,
    sources: Option<SourcePiece>,
}

struct Out {
    path: PathBuf,
    file: BufWriter<File>,
}

impl Out {
    fn create(dir: &Path, name: &str) -> Result<Out, GenError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| GenError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Out {
            path,
            file: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), GenError> {
        self.file.write_all(bytes).map_err(|source| GenError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn line(&mut self, text: &str) -> Result<(), GenError> {
        self.write(text.as_bytes())?;
        self.write(b"\n")
    }

    fn finish(mut self) -> Result<(), GenError> {
        let path = self.path.clone();
        self.file
            .flush()
            .map_err(|source| GenError::Io { path, source })
    }
}

/// Generates the five files into `dir` (created if missing), calling
/// `progress(persons)` after each chunk.
pub fn write_all(
    g: &Generator,
    dir: &Path,
    progress: impl FnMut(u64),
) -> Result<Summary, GenError> {
    write_with(g, dir, Options::default(), progress)
}

/// [`write_all`], plus what `options` asks for.
pub fn write_with(
    g: &Generator,
    dir: &Path,
    options: Options,
    mut progress: impl FnMut(u64),
) -> Result<Summary, GenError> {
    create_dir(dir)?;
    let mut source_out = match options.sources {
        true => Some(SourceOut::create(dir)?),
        false => None,
    };
    let mut register = Out::create(dir, FILES[0])?;
    let mut payees = Out::create(dir, FILES[1])?;
    let mut payees_truth = Out::create(dir, FILES[2])?;
    let mut changes_out = Out::create(dir, FILES[3])?;
    register.line(tepat::register::HEADER)?;
    payees.line("nik,program,period,amount")?;
    payees_truth.line("line,category")?;
    changes_out.line(changes::HEADER)?;

    let plan = PayeePlan::new(g.config().persons);
    let mut writer = PayeeWriter::new(g.config().seed, plan);
    let mut tally = Tally::new(g.registry().len());
    let mut change_counts = [0u64; 6];
    let mut line_no = 1u64;
    let mut register_bytes = tepat::register::HEADER.len() as u64 + 1;

    g.for_each_chunk(
        |chunk| piece(g, &plan, chunk, options),
        |p: Result<Piece, GenError>| -> Result<(), GenError> {
            let p = p?;
            register.write(&p.register)?;
            register_bytes += p.register.len() as u64;
            tally.add(&p.tally);
            writer.district(p.index, p.persons, p.candidates, |line, cat| {
                line_no += 1;
                payees.line(line)?;
                payees_truth.line(&format!("{line_no},{}", cat.name()))
            })?;
            for line in &p.changes.lines {
                changes_out.line(line)?;
            }
            for (total, n) in change_counts.iter_mut().zip(p.changes.counts) {
                *total += n;
            }
            if let (Some(out), Some(piece)) = (source_out.as_mut(), p.sources.as_ref()) {
                out.write(piece)?;
            }
            progress(p.persons);
            Ok(())
        },
    )?;
    writer.finish(g, |line, cat| {
        line_no += 1;
        payees.line(line)?;
        payees_truth.line(&format!("{line_no},{}", cat.name()))
    })?;
    let truth = truth_json(g, &tally, &writer.counts, &change_counts);
    let text = serde_json::to_string_pretty(&truth).unwrap_or_default() + "\n";
    let mut truth_out = Out::create(dir, FILES[4])?;
    truth_out.write(text.as_bytes())?;
    for out in [register, payees, payees_truth, changes_out, truth_out] {
        out.finish()?;
    }
    if let Some(out) = source_out {
        out.finish(g)?;
    }
    Ok(Summary {
        truth,
        register_bytes,
    })
}

fn create_dir(dir: &Path) -> Result<(), GenError> {
    std::fs::create_dir_all(dir).map_err(|source| GenError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// The source files of a run, open for writing.
struct SourceOut {
    outs: Vec<Out>,
    counts: sources::Counts,
    dir: PathBuf,
}

impl SourceOut {
    fn create(dir: &Path) -> Result<SourceOut, GenError> {
        create_dir(&dir.join("truth"))?;
        let headers = [
            sources::DUKCAPIL_HEADER,
            sources::DTKS_HEADER,
            sources::REGSOSEK_HEADER,
            sources::P3KE_HEADER,
        ];
        let mut outs = Vec::new();
        for (name, header) in sources::FILES.iter().zip(headers) {
            let mut out = Out::create(dir, name)?;
            out.line(header)?;
            outs.push(out);
        }
        for name in sources::TRUTH_FILES {
            let mut out = Out::create(dir, name)?;
            out.line(sources::TRUTH_HEADER)?;
            outs.push(out);
        }
        Ok(SourceOut {
            outs,
            counts: sources::Counts::default(),
            dir: dir.to_owned(),
        })
    }

    fn write(&mut self, piece: &SourcePiece) -> Result<(), GenError> {
        for (out, bytes) in self.outs.iter_mut().zip(&piece.files) {
            out.write(bytes)?;
        }
        self.counts.add(&piece.counts);
        Ok(())
    }

    fn finish(self, g: &Generator) -> Result<(), GenError> {
        for out in self.outs {
            out.finish()?;
        }
        let text =
            serde_json::to_string_pretty(&source_truth(g, &self.counts)).unwrap_or_default() + "\n";
        let mut out = Out::create(&self.dir, "truth/summary.json")?;
        out.write(text.as_bytes())?;
        out.finish()
    }
}

/// `truth/summary.json`: rows per file and injected records per source and
/// kind.
fn source_truth(g: &Generator, c: &sources::Counts) -> Value {
    let mut per_source = Map::new();
    for (s, name) in sources::SOURCES.iter().enumerate() {
        let kinds: Map<String, Value> = sources::KINDS
            .iter()
            .zip(c.kinds[s])
            .map(|(k, n)| ((*k).to_owned(), json!(n)))
            .collect();
        per_source.insert(
            (*name).to_owned(),
            json!({ "records": c.records[s], "injected": kinds }),
        );
    }
    json!({
        "seed": g.config().seed,
        "persons": g.config().persons,
        "civil_records": c.civil,
        "absent_from_civil_persons": c.absent,
        "split_families": c.split_families,
        "sources": per_source,
    })
}

fn piece(
    g: &Generator,
    plan: &PayeePlan,
    chunk: Chunk,
    options: Options,
) -> Result<Piece, GenError> {
    let district = g.geography().districts.get(chunk.index);
    let first = district.map_or(0, |d| d.first_person);
    let persons = chunk.records.len() as u64;
    let mut register = Vec::with_capacity(chunk.records.len() * 112);
    for r in &chunk.records {
        r.write_csv(g.registry(), &mut register)
            .map_err(|source| GenError::Io {
                path: PathBuf::from("register.csv"),
                source,
            })?;
    }
    let candidates = Candidates::of_chunk(g, &chunk, &plan.caps(first, persons));
    let sources = options.sources.then(|| sources::of_chunk(g, &chunk));
    Ok(Piece {
        index: chunk.index,
        persons,
        register,
        tally: Tally::of_chunk(&chunk, g),
        changes: changes::of_chunk(g, &chunk, first),
        candidates,
        sources,
    })
}

fn truth_json(g: &Generator, t: &Tally, payees: &[u64; 10], changes: &[u64; 6]) -> Value {
    let registry = g.registry();
    let mut programs = Map::new();
    let mut inclusion = Map::new();
    let mut exclusion = Map::new();
    for (i, p) in registry.programs().iter().enumerate() {
        let families = match p.unit {
            Unit::Family => json!(t.program_families[i]),
            Unit::Person => Value::Null,
        };
        programs.insert(
            p.code.clone(),
            json!({ "persons": t.program_persons[i], "families": families }),
        );
        inclusion.insert(p.code.clone(), json!(t.inclusion[i]));
        exclusion.insert(p.code.clone(), json!(t.exclusion[i]));
    }
    let by_category: Map<String, Value> = CATEGORIES
        .iter()
        .zip(payees)
        .map(|((c, _), n): (&(Category, u64), &u64)| (c.name().to_owned(), json!(n)))
        .collect();
    let by_kind: Map<String, Value> = KINDS
        .iter()
        .zip(changes)
        .map(|(k, n)| ((*k).to_owned(), json!(n)))
        .collect();
    json!({
        "seed": g.config().seed,
        "persons": t.persons,
        "as_of": g.config().as_of.to_string(),
        "families": t.families,
        "programs": programs,
        "pkh_and_sembako_families": t.pkh_and_sembako_families,
        "injected": {
            "duplicate_nik_rows": t.duplicate_nik_rows,
            "deceased_enrolled_persons": t.deceased_enrolled_persons,
            "inclusion_errors": inclusion,
            "exclusion_errors": exclusion,
            "blt_dd_conflict_families": t.blt_dd_conflict_families,
            "civil_servants_enrolled": t.civil_servants_enrolled,
            "former_region_niks": t.former_region_niks,
            "niks_issued_elsewhere": t.niks_issued_elsewhere,
        },
        "payees": { "rows": payees.iter().sum::<u64>(), "by_category": by_category },
        "changes": { "by_kind": by_kind },
    })
}
