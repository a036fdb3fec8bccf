//! Pass 1: read each input once, check every row, and spill the records
//! into partitions.
//!
//! The calling thread reads blocks of whole lines and numbers them; the
//! workers parse blocks in any order. Spilled to:
//! - `c` (civil records, by NIK partition) and `d` (their name, birth date
//!   and village, by village partition);
//! - `s` (source records with a valid NIK, by NIK partition) or `f`
//!   (without one, by village partition).
//!
//! The first bad row stops the pass; the error reported is the one with
//! the lowest line number (every block before it has been parsed).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use tepat::Registry;

use crate::error::{MergeError, Result, io};
use crate::report::{Counts, Tally};
use crate::schema::{
    CIVIL_REQUIRED, Field, NO_DATE, NONE, Rec, RowReader, SOURCE_REQUIRED, Schema,
};
use crate::spill::{Spill, nik_part, village_part};
use crate::{CIVIL, Progress};

/// Bytes per block handed to a worker.
const BLOCK: usize = 4 << 20;

/// One input file.
pub struct Input {
    path: PathBuf,
    source: u8,
    required: &'static [Field],
}

/// The civil register as an input.
pub fn civil_input(path: &Path) -> Input {
    Input {
        path: path.to_owned(),
        source: CIVIL,
        required: CIVIL_REQUIRED,
    }
}

/// Source `index` as an input.
pub fn source_input(path: &Path, index: u8) -> Input {
    Input {
        path: path.to_owned(),
        source: index,
        required: SOURCE_REQUIRED,
    }
}

/// What reading one input found.
#[derive(Debug, Default)]
pub struct Scattered {
    /// The file.
    pub path: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Header columns not read.
    pub ignored: Vec<String>,
    /// Records per (source, district) (sources only).
    pub tally: Tally,
}

/// Reads `input` into the scratch directory.
pub fn scatter(
    input: &Input,
    scratch: &Path,
    threads: usize,
    registry: &Registry,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Scattered> {
    let path = &input.path;
    let file = File::open(path).map_err(io(path))?;
    let total = file.metadata().map_err(io(path))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let schema = read_header(&mut reader, path, input.required)?;
    let rows = RowReader {
        file: path,
        schema: &schema,
        registry,
        source: input.source,
        civil: input.source == CIVIL,
    };
    let step = format!("reading {}", path.display());
    let shared = Shared {
        error: Mutex::new(None),
        stop: AtomicBool::new(false),
        rows: AtomicU64::new(0),
    };
    let (tx, rx) = sync_channel::<(Vec<u8>, u64)>(threads * 2);
    let rx = Mutex::new(rx);
    let tallies = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let (rows, rx, shared) = (&rows, &rx, &shared);
                let suffix = format!("1.{}.{w}", input.source);
                scope.spawn(move || worker(rows, rx, shared, scratch, suffix))
            })
            .collect();
        let read = read_blocks(
            &mut reader,
            path,
            total,
            &shared,
            |block| tx.send(block).is_ok(),
            |done| {
                progress(Progress {
                    step: &step,
                    done,
                    total,
                })
            },
        );
        drop(tx);
        let results: Vec<Result<Tally>> = workers
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(MergeError::Args("a reader thread panicked".into())))
            })
            .collect();
        (read, results)
    });
    let (read, results) = tallies;
    if let Some(e) = shared.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    read?;
    let mut tally = Tally::new();
    for r in results {
        crate::report::add(&mut tally, &r?);
    }
    Ok(Scattered {
        path: path.clone(),
        rows: shared.rows.into_inner(),
        ignored: schema.ignored.clone(),
        tally,
    })
}

/// Reads and checks the header line.
fn read_header(reader: &mut impl BufRead, path: &Path, required: &[Field]) -> Result<Schema> {
    let bad = |reason: &str| MergeError::Header {
        file: path.to_owned(),
        field: "header".into(),
        reason: reason.into(),
    };
    let mut header = Vec::new();
    reader.read_until(b'\n', &mut header).map_err(io(path))?;
    let header = std::str::from_utf8(&header).map_err(|_| bad("not UTF-8"))?;
    let header = header.trim_end_matches(['\n', '\r']);
    if header.is_empty() {
        return Err(bad("the file is empty or has no header"));
    }
    Schema::parse(path, header, required)
}

struct Shared {
    /// The error with the lowest line so far.
    error: Mutex<Option<MergeError>>,
    stop: AtomicBool,
    rows: AtomicU64,
}

impl Shared {
    fn fail(&self, e: MergeError) {
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        let earlier = match slot.as_ref() {
            Some(old) => e.line().unwrap_or(u64::MAX) < old.line().unwrap_or(u64::MAX),
            None => true,
        };
        if earlier {
            *slot = Some(e);
        }
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads whole-line blocks after the header, numbering their first lines
/// (the header is line 1), until the end or a worker's error.
fn read_blocks(
    reader: &mut impl Read,
    path: &Path,
    total: u64,
    shared: &Shared,
    mut send: impl FnMut((Vec<u8>, u64)) -> bool,
    progress: impl Fn(u64),
) -> Result<()> {
    let mut line = 2u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut done = 0u64;
    let mut eof = false;
    while !eof && !shared.stop.load(Ordering::Relaxed) {
        let mut block = std::mem::take(&mut carry);
        let start = block.len();
        block.resize(start + BLOCK, 0);
        let mut filled = start;
        while filled < block.len() {
            match reader.read(&mut block[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(path)(e)),
            }
        }
        block.truncate(filled);
        done += (filled - start) as u64;
        let cut = match block.iter().rposition(|&b| b == b'\n') {
            _ if eof => block.len(),
            Some(i) => i + 1,
            // One line longer than a block: read on.
            None => {
                carry = block;
                continue;
            }
        };
        carry = block.split_off(cut);
        let lines = block.iter().filter(|&&b| b == b'\n').count() as u64;
        let first = line;
        line += lines;
        if !block.is_empty() && !send((block, first)) {
            break;
        }
        progress(done.min(total));
    }
    Ok(())
}

/// Parses blocks and spills their records; returns the records counted per
/// (source, district).
fn worker(
    rows: &RowReader,
    rx: &Mutex<Receiver<(Vec<u8>, u64)>>,
    shared: &Shared,
    scratch: &Path,
    suffix: String,
) -> Result<Tally> {
    let mut route = Route::new(scratch, suffix, rows.civil);
    loop {
        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((block, first)) = next else { break };
        if shared.stop.load(Ordering::Relaxed) {
            continue; // drain: the reader stops sending
        }
        if let Err(e) = parse_block(rows, &block, first, &mut route, shared) {
            shared.fail(e);
        }
    }
    route.finish()
}

fn parse_block(
    rows: &RowReader,
    block: &[u8],
    first: u64,
    route: &mut Route,
    shared: &Shared,
) -> Result<()> {
    let mut count = 0;
    let mut line = |k: usize, text: &str| -> Result<()> {
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        route.push(rows.parse(text, first + k as u64)?)?;
        count += 1;
        Ok(())
    };
    // One check of the whole block; line by line only to name a bad line.
    match std::str::from_utf8(block) {
        Ok(text) => {
            for (k, text) in text.split('\n').enumerate() {
                line(k, text)?;
            }
        }
        Err(_) => {
            for (k, raw) in block.split(|&b| b == b'\n').enumerate() {
                let text = std::str::from_utf8(raw).map_err(|_| MergeError::Row {
                    file: rows.file.to_owned(),
                    line: first + k as u64,
                    field: "row".into(),
                    reason: "not UTF-8".into(),
                })?;
                line(k, text)?;
            }
        }
    }
    shared.rows.fetch_add(count, Ordering::Relaxed);
    Ok(())
}

/// Where records go.
struct Route {
    civil: bool,
    by_nik: Spill,
    by_village: Spill,
    tally: Tally,
}

impl Route {
    fn new(scratch: &Path, suffix: String, civil: bool) -> Route {
        let (nik_kind, village_kind) = if civil { ("c", "d") } else { ("s", "f") };
        Route {
            civil,
            by_nik: Spill::new(scratch, nik_kind, suffix.clone()),
            by_village: Spill::new(scratch, village_kind, suffix),
            tally: Tally::new(),
        }
    }

    fn push(&mut self, mut rec: Rec) -> Result<()> {
        if self.civil {
            // The match by name, birth date and village needs only these (the
            // KK tells apart candidates of one name).
            let key = Rec {
                source: CIVIL,
                line: rec.line,
                nik: rec.nik,
                kk: rec.kk,
                village: rec.village,
                birth: rec.birth,
                name: rec.name,
                relation: NONE,
                civil_servant: NONE,
                deceased: NONE,
                extreme_poor: NONE,
                updated: NO_DATE,
                ..Rec::default()
            };
            self.by_village.push(village_part(rec.village), &key)?;
            rec.full_name.clear();
            return self.by_nik.push(nik_part(rec.nik), &rec);
        }
        let district = (rec.village / 10_000) as u32;
        let counts: &mut Counts = self.tally.entry((rec.source, district)).or_default();
        counts.records += 1;
        if rec.nik != 0 {
            self.by_nik.push(nik_part(rec.nik), &rec)
        } else {
            self.by_village.push(village_part(rec.village), &rec)
        }
    }

    fn finish(self) -> Result<Tally> {
        self.by_nik.finish()?;
        self.by_village.finish()?;
        Ok(self.tally)
    }
}
