//! Batch verification of payee lists: millions of rows, the same verdict as
//! [`Store::check`] for each, many lookups in flight.
//!
//! [`Store::verify_batch`] takes an in-memory list and answers with compact
//! verdicts (a reason bitset each, no allocation per row), using both cores
//! and software prefetch. [`verify_csv`] streams a payee file: every input
//! row gives exactly one output row, in input order, with the row's fields,
//! `payable`, the reason codes and, for a row that cannot be read, what was
//! wrong. Rows that repeat an earlier payment in the same list (the same
//! NIK, or another member of the same family for a family program, for the
//! same program and period) are flagged `repeated_in_list`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::csv::Lines;
use crate::domain::date::Date;
use crate::domain::nik::Nik;
use crate::domain::period::{Period, PeriodKind, Window};
use crate::domain::program::{ExclusionLevel, ProgramId, Registry, Unit};
use crate::error::{Error, Result};
use crate::store::accel::Claimed;

use crate::domain::verdict::{ReasonCode, ReasonSet};
use crate::snapshot::Snapshot;
use crate::store::{CentralKey, HeldElsewhere, Stale, Store};

/// One row to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchItem {
    /// The NIK, or `None` when the row's NIK is not a valid NIK.
    pub nik: Option<Nik>,
    /// The program.
    pub program: ProgramId,
    /// The period.
    pub period: Period,
}

/// A compact verdict: payable and the reason codes (4 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchVerdict {
    /// No blocking reason applies.
    pub payable: bool,
    /// Every reason that applies.
    pub reasons: ReasonSet,
}

/// What the verifier needs to know about one program, precomputed.
#[derive(Clone, Copy)]
struct Rule {
    period: PeriodKind,
    family: bool,
    /// Programs whose enrolment (on the person's own bits) excludes this one.
    excluded_by: u32,
    /// A family-level exclusion of a person program: needs the members.
    needs_members: bool,
    /// The payable window, and the ordinal of the period of the program's
    /// kind that contains the store's date.
    window: Window,
    current: i64,
}

struct Rules {
    rules: Vec<Rule>,
    blocking: u16,
}

impl Rules {
    fn new(registry: &Registry, today: Date) -> Rules {
        let rules = registry
            .programs()
            .iter()
            .map(|p| {
                let mut excluded_by = 0u32;
                let mut needs_members = false;
                for e in &p.excludes {
                    excluded_by |= 1 << e.program.index();
                    let person_program = registry
                        .get(e.program)
                        .is_some_and(|q| q.unit == Unit::Person);
                    needs_members |= e.level == ExclusionLevel::Family && person_program;
                }
                Rule {
                    period: p.period,
                    family: p.unit == Unit::Family,
                    excluded_by,
                    needs_members,
                    window: p.window,
                    current: Period::containing(p.period, today).ordinal(),
                }
            })
            .collect();
        let blocking = ReasonCode::ALL
            .iter()
            .filter(|c| registry.policy().blocks(c.as_str()))
            .fold(0u16, |acc, c| acc | 1 << *c as u8);
        Rules { rules, blocking }
    }

    fn verdict(&self, reasons: ReasonSet) -> BatchVerdict {
        BatchVerdict {
            payable: reasons.0 & self.blocking == 0,
            reasons,
        }
    }
}

/// Rows looked up together before their verdicts are computed: small
/// enough that their records and page-table entries are still cached when
/// the verdicts read them, large enough that the lookup pipeline's start
/// and drain (`2·PREFETCH_DISTANCE` rows) cost little.
const WINDOW: usize = 256;

/// Rows per thread below which one thread does the whole list (starting a
/// thread costs more than it saves).
const MIN_ROWS_PER_THREAD: usize = 4096;

/// A (program, period key) pair.
type ClaimKey = (ProgramId, u32);

/// The claimed bitmaps of the (program, period) pairs a list asks about,
/// looked up once each: a list names few pairs, so a short vector searched
/// from the last pair used beats hashing every row. Past
/// [`ClaimCache::LINEAR`] pairs, an index finds them by hash.
#[derive(Default)]
struct ClaimCache {
    entries: Vec<(ClaimKey, Option<Arc<Claimed>>)>,
    index: HashMap<ClaimKey, usize>,
    /// A direct-mapped front: `recent[slot(key)]` = 1 + the entry last
    /// used for a key of that slot. Rows of a list mix a few pairs; one
    /// compare finds the pair almost always.
    recent: [u32; ClaimCache::RECENT],
}

impl ClaimCache {
    /// Pairs searched linearly.
    const LINEAR: usize = 16;
    /// Slots of the direct-mapped front.
    const RECENT: usize = 32;

    /// A key's slot in the front.
    #[inline(always)]
    fn recent_slot(key: ClaimKey) -> usize {
        let h = ((key.0.index() as u32) << 24 ^ key.1).wrapping_mul(0x9E37_79B1);
        (h >> 27) as usize % Self::RECENT
    }

    /// The pair's bitmaps; `Err(Stale)` when `snap` is an older generation
    /// than the store's current one.
    #[inline]
    fn get(
        &mut self,
        store: &Store,
        snap: &Snapshot,
        key: ClaimKey,
    ) -> std::result::Result<Option<&Claimed>, Stale> {
        let front = Self::recent_slot(key);
        let recent = (self.recent[front] as usize).wrapping_sub(1);
        let hit = match self.entries.get(recent) {
            Some((k, _)) if *k == key => Some(recent),
            _ if self.entries.len() <= Self::LINEAR => {
                self.entries.iter().position(|(k, _)| *k == key)
            }
            _ => self.index.get(&key).copied(),
        };
        let i = match hit {
            Some(i) => i,
            None => {
                self.entries
                    .push((key, store.claimed_bits(snap, key.0, key.1)?));
                self.index.insert(key, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        self.recent[front] = i as u32 + 1;
        Ok(self.entries.get(i).and_then(|(_, c)| c.as_deref()))
    }
}

impl Store {
    /// Verifies a list of rows on `threads` threads (0: all cores); `out[i]`
    /// gets the verdict of `items[i]`. The same verdict as
    /// [`Store::check`], reason for reason (without the details), as of
    /// the call: a change applied while the list is being verified may or
    /// may not be seen by its rows.
    pub fn verify_batch(
        &self,
        items: &[BatchItem],
        out: &mut [BatchVerdict],
        threads: usize,
    ) -> Result<()> {
        let snap = self.snapshot();
        let rules = Rules::new(snap.registry(), self.today());
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let n = items.len().min(out.len());
        let threads = threads.clamp(1, n.div_ceil(MIN_ROWS_PER_THREAD).max(1));
        let per = n.div_ceil(threads).max(1);
        if threads == 1 {
            return self.verify_range(&snap, &rules, &items[..n], &mut out[..n]);
        }
        std::thread::scope(|s| {
            let mut handles = Vec::new();
            for (items, out) in items[..n].chunks(per).zip(out[..n].chunks_mut(per)) {
                let (snap, rules) = (&snap, &rules);
                handles.push(s.spawn(move || self.verify_range(snap, rules, items, out)));
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or(Err(Error::WorkerPanicked {
                        task: "verify_batch",
                    }))
                })
                .collect::<Result<Vec<()>>>()
        })?;
        Ok(())
    }

    /// One thread's share, [`WINDOW`] rows at a time: the window's NIKs are
    /// looked up with many misses in flight ([`Snapshot::find_each`]), then
    /// their verdicts computed from records still in the cache. (Computing
    /// each verdict inside the lookup pipeline measured slower: its extra
    /// loads compete with the prefetches for the core's fill buffers.)
    fn verify_range(
        &self,
        snap: &Snapshot,
        rules: &Rules,
        items: &[BatchItem],
        out: &mut [BatchVerdict],
    ) -> Result<()> {
        let n = items.len().min(out.len());
        // The change filter, loaded once (an `ArcSwap` load per row costs
        // an atomic exchange, a full fence on x86).
        let filter = self.changed.view();
        let mut claimed = ClaimCache::default();
        let mut slots = [None; WINDOW];
        // Each row's identity as the store knows it, keyed once (a keyed
        // store's pseudonym costs ten SipHash rounds).
        let mut ids = [0u64; WINDOW];
        for (items, out) in items[..n].chunks(WINDOW).zip(out[..n].chunks_mut(WINDOW)) {
            let slots = &mut slots[..items.len()];
            snap.find_each(
                items.len(),
                |i| {
                    ids[i] = items[i].nik.map_or(0, |n| self.key_nik(n).get());
                    ids[i]
                },
                |i, slot| slots[i] = slot,
            );
            for (((item, slot), id), o) in items.iter().zip(slots.iter()).zip(ids).zip(out) {
                let changed = item.nik.is_some() && filter.may_contain(id);
                *o = self.verdict_of(snap, rules, &mut claimed, item, *slot, changed)?;
            }
        }
        Ok(())
    }

    /// One row's verdict: from the snapshot and the accelerators when the
    /// NIK has no pending change (`changed` false: the change filter says
    /// so), through [`Store::check`] otherwise.
    #[inline]
    fn verdict_of(
        &self,
        snap: &Snapshot,
        rules: &Rules,
        claimed: &mut ClaimCache,
        item: &BatchItem,
        slot: Option<u32>,
        changed: bool,
    ) -> Result<BatchVerdict> {
        let Some(nik) = item.nik else {
            return Ok(rules.verdict(single(ReasonCode::InvalidNik)));
        };
        let Some(rule) = rules.rules.get(item.program.index()) else {
            return Ok(rules.verdict(single(ReasonCode::InvalidRow)));
        };
        if rule.needs_members || changed {
            let v = self.check_in(snap, nik, item.program, item.period)?;
            return Ok(rules.verdict(v.reasons));
        }
        let Some(p) = slot.and_then(|s| snap.person_at(s)) else {
            return Ok(rules.verdict(single(ReasonCode::UnknownNik)));
        };
        // Each reason is a bit set from a condition, without a branch: the
        // conditions differ row to row, and mispredicted branches cost more
        // than the whole verdict.
        let enrolled = p.enrolled();
        let flag = |cond: bool, code: ReasonCode| u16::from(cond) << code as u8;
        let mut r = ReasonSet(
            flag(p.deceased(), ReasonCode::Deceased)
                | flag(p.duplicate(), ReasonCode::DuplicateIdentity)
                | flag(!enrolled.contains(item.program), ReasonCode::NotEnrolled)
                | flag(
                    !p.eligible().contains(item.program),
                    ReasonCode::NotEligible,
                )
                | flag(p.civil_servant(), ReasonCode::CivilServant)
                | flag(enrolled.0 & rule.excluded_by != 0, ReasonCode::ExcludedBy),
        );
        if item.period.kind() != rule.period {
            r.insert(ReasonCode::WrongPeriodKind);
        } else {
            if !rule.window.is_open_at(item.period, rule.current) {
                r.insert(ReasonCode::PeriodNotOpen);
            }
            let key = (item.program, item.period.to_key());
            let bits = match claimed.get(self, snap, key) {
                Ok(bits) => bits,
                // A compaction swapped generations under this list: the
                // ledger answers for the pair instead of stale bitmaps.
                Err(Stale) => {
                    let v = self.check_in(snap, nik, item.program, item.period)?;
                    return Ok(rules.verdict(v.reasons));
                }
            };
            if let Some(c) = bits {
                let hit = c.persons.get(u64::from(p.slot()))
                    || (rule.family && c.families.get(u64::from(p.family_index())));
                if hit {
                    r.insert(ReasonCode::AlreadyClaimed);
                }
            }
        }
        Ok(rules.verdict(r))
    }
}

fn single(code: ReasonCode) -> ReasonSet {
    let mut r = ReasonSet::default();
    r.insert(code);
    r
}

/// Counts of a verified list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    /// Data rows read.
    pub rows: u64,
    /// Rows payable.
    pub payable: u64,
    /// Rows refused (invalid rows included).
    pub refused: u64,
    /// Rows that could not be read (`invalid_row`).
    pub invalid: u64,
    /// Rows repeated within the list (`repeated_in_list`).
    pub repeated: u64,
    /// Rows per blocking reason (a row refused for two reasons counts under
    /// both).
    pub refused_by_reason: BTreeMap<String, u64>,
    /// Payable rows per warning reason.
    pub warnings: BTreeMap<String, u64>,
}

impl BatchSummary {
    fn count(&mut self, registry: &Registry, v: &BatchVerdict) {
        self.rows += 1;
        if v.payable {
            self.payable += 1;
        } else {
            self.refused += 1;
        }
        self.invalid += u64::from(v.reasons.contains(ReasonCode::InvalidRow));
        self.repeated += u64::from(v.reasons.contains(ReasonCode::RepeatedInList));
        for c in v.reasons.iter() {
            let map = if registry.policy().blocks(c.as_str()) && !v.payable {
                &mut self.refused_by_reason
            } else {
                &mut self.warnings
            };
            *map.entry(c.as_str().to_owned()).or_default() += 1;
        }
    }
}

/// The output format of [`verify_csv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// CSV: `line,<input columns>,payable,reasons,detail`.
    Csv,
    /// One JSON object per row and line, NIKs as strings.
    JsonLines,
}

/// A payee row as read: its fields, and what it asks (or why it cannot be
/// read).
struct ParsedRow {
    line: u64,
    fields: Vec<String>,
    nik_column: usize,
    item: std::result::Result<BatchItem, String>,
}

impl ParsedRow {
    /// The row's NIK as written.
    fn nik_text(&self) -> Option<&str> {
        self.fields.get(self.nik_column).map(String::as_str)
    }
}

/// Rows read and verified together: enough to keep both cores busy, few
/// enough to stream a list of any size.
const BLOCK: usize = 1 << 16;

/// Where a payee list keeps what the verifier needs, found by header name
/// (in any case: spreadsheets write `NIK`), and the separator its header
/// uses (`;` where a spreadsheet's locale writes decimal commas).
pub(crate) struct PayeeColumns {
    pub(crate) names: Vec<String>,
    pub(crate) sep: char,
    pub(crate) nik: usize,
    pub(crate) program: usize,
    pub(crate) period: usize,
    pub(crate) amount: Option<usize>,
}

impl PayeeColumns {
    /// The column of this name, in any case.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|c| c.eq_ignore_ascii_case(name))
    }

    pub(crate) fn from_header(header: &str, file: &str) -> Result<PayeeColumns> {
        let sep = if header.matches(';').count() > header.matches(',').count() {
            ';'
        } else {
            ','
        };
        let mut fields = Vec::new();
        crate::csv::split_by(header, sep, &mut fields).map_err(|why| Error::Input {
            file: file.to_owned(),
            message: format!("line 1: the header cannot be read: {why}"),
        })?;
        let names: Vec<String> = fields.iter().map(|f| f.trim().to_owned()).collect();
        let position = |name: &str| names.iter().position(|c| c.eq_ignore_ascii_case(name));
        let find = |name: &str| {
            position(name).ok_or_else(|| Error::Input {
                file: file.to_owned(),
                message: format!("line 1: no `{name}` column in the header {header:?}"),
            })
        };
        Ok(PayeeColumns {
            nik: find("nik")?,
            program: find("program")?,
            period: find("period")?,
            amount: position("amount"),
            names,
            sep,
        })
    }

    /// The header of the CSV output (always `,`-separated).
    fn output_header(&self) -> String {
        let mut h = String::from("line");
        for n in &self.names {
            h.push(',');
            h.push_str(&crate::csv::field(n));
        }
        h.push_str(",payable,reasons,detail");
        h
    }
}

/// Streams a payee list (CSV with at least the columns `nik`, `program`,
/// `period`, found by header name) through [`Store::verify_batch`] into
/// `out`. Every input row gives one output row, in order. `progress` is
/// called with the rows done so far.
pub fn verify_csv(
    store: &Store,
    input: impl BufRead,
    file: &str,
    out: &mut impl Write,
    format: OutputFormat,
    progress: impl FnMut(u64),
) -> Result<BatchSummary> {
    verify_csv_central(store, input, file, out, format, None, progress)
}

/// [`verify_csv`], with every row the store would pay also looked up in
/// `central`, the ledger of every payout point: a payment another point
/// made or reserved is refused `claimed_elsewhere` (its detail names the
/// point). A ledger that cannot be asked stops the list with an error:
/// a bank's list is never passed unchecked.
pub fn verify_csv_central(
    store: &Store,
    input: impl BufRead,
    file: &str,
    out: &mut impl Write,
    format: OutputFormat,
    central: Option<&dyn CentralLookup>,
    mut progress: impl FnMut(u64),
) -> Result<BatchSummary> {
    let snap = store.snapshot();
    let registry = snap.registry();
    let (mut lines, header) = Lines::open(input, file)?;
    let columns = PayeeColumns::from_header(&header, file)?;
    let io = |e| Error::io("batch output", e);
    if format == OutputFormat::Csv {
        writeln!(out, "{}", columns.output_header()).map_err(io)?;
    }
    let mut summary = BatchSummary::default();
    let mut seen: HashSet<(u8, u32, u64)> = HashSet::new();
    let mut rows: Vec<ParsedRow> = Vec::with_capacity(BLOCK);
    loop {
        rows.clear();
        while rows.len() < BLOCK {
            let Some((line_no, line)) = lines.next_line()? else {
                break;
            };
            // A line that is not UTF-8 is a bad row like any other: it gets
            // its output row with the reason, the list goes on.
            let mut row = parse_row(registry, line.text(), line_no, &columns);
            if let Some(why) = line.utf8_error() {
                row.item = Err(why);
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Ok(summary);
        }
        let mut verdicts = verify_rows(store, &rows)?;
        let mut details: Vec<String> = rows
            .iter()
            .zip(verdicts.iter_mut())
            .map(|(row, v)| settle_row(&snap, store, row, v, &mut seen))
            .collect();
        if let Some(central) = central {
            refuse_held_elsewhere(&snap, store, central, &rows, &mut verdicts, &mut details)?;
        }
        for ((row, v), detail) in rows.iter().zip(&verdicts).zip(&details) {
            summary.count(registry, v);
            write_row(out, format, row, v, detail, &columns.names).map_err(io)?;
        }
        progress(summary.rows);
    }
}

/// Where a payee list's payments are looked up across payout points: the
/// central ledger (`tepat batch --ledger`; `tepat-ledger` implements it on
/// PostgreSQL).
pub trait CentralLookup {
    /// For each key, the claim or reservation of a payout point that holds
    /// it, or `None`; an error when the ledger cannot be asked.
    fn held(&self, keys: &[CentralKey]) -> std::result::Result<Vec<Option<HeldElsewhere>>, String>;
}

/// Refuses, in a block, the rows the store would pay whose payment the
/// central ledger knows of.
fn refuse_held_elsewhere(
    snap: &Snapshot,
    store: &Store,
    central: &dyn CentralLookup,
    rows: &[ParsedRow],
    verdicts: &mut [BatchVerdict],
    details: &mut [String],
) -> Result<()> {
    let registry = snap.registry();
    let mut asked: Vec<(usize, CentralKey)> = Vec::new();
    for (i, (row, v)) in rows.iter().zip(verdicts.iter()).enumerate() {
        let (Ok(item), true) = (&row.item, v.payable) else {
            continue;
        };
        let (Some(nik), Some((_, _, key))) = (item.nik, repeat_key(snap, store, item)) else {
            continue;
        };
        let program = registry.program(item.program);
        // A keyed store's family key is a pseudonym: the ledger knows the KK.
        let key = store.identity_key().map_or(key, |k| k.reveal_number(key));
        asked.push((
            i,
            CentralKey {
                request_id: String::new(),
                program: program.code.clone(),
                period: item.period.to_string(),
                family: program.unit == Unit::Family,
                key,
                nik: nik.get(),
            },
        ));
    }
    if asked.is_empty() {
        return Ok(());
    }
    let keys: Vec<CentralKey> = asked.iter().map(|(_, k)| k.clone()).collect();
    let held = central.held(&keys).map_err(|message| Error::Store {
        dir: store.dir().to_path_buf(),
        message: format!(
            "the central ledger could not be asked ({message}); the list was not verified \
             past the rows written"
        ),
    })?;
    // An answer for fewer keys than asked would pass the rest unchecked.
    if held.len() != keys.len() {
        return Err(Error::Store {
            dir: store.dir().to_path_buf(),
            message: format!(
                "the central ledger answered for {} of {} payments",
                held.len(),
                keys.len()
            ),
        });
    }
    for ((i, _), held) in asked.iter().zip(held) {
        let Some(h) = held else { continue };
        verdicts[*i].payable = false;
        verdicts[*i].reasons.insert(ReasonCode::ClaimedElsewhere);
        details[*i] = format!(
            "paid or reserved at point {} (request {}, {})",
            h.point,
            h.request_id,
            crate::domain::date::iso_utc(h.at_ms)
        );
    }
    Ok(())
}

/// The verdicts of a block of rows: the readable ones through
/// [`Store::verify_batch`], the others left for [`settle_row`].
fn verify_rows(store: &Store, rows: &[ParsedRow]) -> Result<Vec<BatchVerdict>> {
    let readable: Vec<(usize, BatchItem)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.item.as_ref().ok().map(|item| (i, *item)))
        .collect();
    let items: Vec<BatchItem> = readable.iter().map(|(_, item)| *item).collect();
    let mut answers = vec![BatchVerdict::default(); items.len()];
    store.verify_batch(&items, &mut answers, 0)?;
    let mut verdicts = vec![BatchVerdict::default(); rows.len()];
    for ((i, _), v) in readable.iter().zip(answers) {
        verdicts[*i] = v;
    }
    Ok(verdicts)
}

/// Finishes a row's verdict: `invalid_row` for a row that cannot be read,
/// `repeated_in_list` for a payment an earlier row of the list already
/// makes. Returns the row's `detail`.
fn settle_row(
    snap: &Snapshot,
    store: &Store,
    row: &ParsedRow,
    v: &mut BatchVerdict,
    seen: &mut HashSet<(u8, u32, u64)>,
) -> String {
    match &row.item {
        Err(why) => {
            *v = BatchVerdict {
                payable: false,
                reasons: single(ReasonCode::InvalidRow),
            };
            why.clone()
        }
        // Only a row that would pay blocks the same payment later in the
        // list; a refused row pays nothing.
        Ok(item) if v.payable => match repeat_key(snap, store, item) {
            Some(key) if !seen.insert(key) => {
                v.reasons.insert(ReasonCode::RepeatedInList);
                v.payable = false;
                "an earlier row of this list pays the same person or family".into()
            }
            _ => String::new(),
        },
        Ok(item) => refusal_detail(snap, store, row, item, v.reasons),
    }
}

/// What a bank needs to act on a refused row: why the NIK is not one (as
/// `tepat nik` says it), which request already paid, which enrolment
/// excludes. Read again through [`Store::check`] only for rows refused for
/// a claim or an exclusion, so the common rows cost nothing more.
fn refusal_detail(
    snap: &Snapshot,
    store: &Store,
    row: &ParsedRow,
    item: &BatchItem,
    reasons: ReasonSet,
) -> String {
    let Some(nik) = item.nik else {
        return match Nik::parse(row.nik_text().unwrap_or("")) {
            Err(why) => format!("invalid NIK: {why}"),
            Ok(_) => String::new(),
        };
    };
    if !reasons.contains(ReasonCode::AlreadyClaimed) && !reasons.contains(ReasonCode::ExcludedBy) {
        return String::new();
    }
    let Ok(verdict) = store.check_in(snap, nik, item.program, item.period) else {
        return String::new();
    };
    let registry = snap.registry();
    let mut parts = Vec::new();
    if let Some(c) = &verdict.claimed {
        parts.push(format!("already paid by request {}", c.request_id));
    }
    for c in &verdict.conflicts {
        let code = registry.get(c.program).map_or("?", |p| p.code.as_str());
        let level = match c.level {
            crate::domain::program::ExclusionLevel::Person => "the person",
            crate::domain::program::ExclusionLevel::Family => "the family",
        };
        parts.push(format!("excluded: {level} is enrolled in {code}"));
    }
    parts.join("; ")
}

/// The payment a row would make: (program, period, family or person).
fn repeat_key(snap: &Snapshot, store: &Store, item: &BatchItem) -> Option<(u8, u32, u64)> {
    let nik = item.nik?;
    let program = snap.registry().get(item.program)?;
    let subject = if program.unit == Unit::Family {
        match store.person(snap, nik.get()).ok().flatten() {
            Some(state) => state.kk().unwrap_or(nik.get()),
            None => nik.get(),
        }
    } else {
        nik.get()
    };
    Some((item.program.index() as u8, item.period.to_key(), subject))
}

fn parse_row(registry: &Registry, line: &str, line_no: u64, cols: &PayeeColumns) -> ParsedRow {
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    let split = crate::csv::split_by(line, cols.sep, &mut fields);
    let owned: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let width = cols.names.len();
    let item = (|| {
        split.map_err(str::to_owned)?;
        if owned.len() != width {
            return Err(format!("{} fields, the header has {width}", owned.len()));
        }
        let program = registry
            .by_code(&owned[cols.program])
            .ok_or_else(|| format!("unknown program {:?}", owned[cols.program]))?;
        let period = Period::parse(&owned[cols.period]).map_err(|e| e.to_string())?;
        if let Some(a) = cols.amount {
            let text = &owned[a];
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 15 {
                return Err(format!("amount {text:?} is not a whole number of rupiah"));
            }
        }
        Ok(BatchItem {
            nik: Nik::parse(&owned[cols.nik]).ok(),
            program,
            period,
        })
    })();
    ParsedRow {
        line: line_no,
        fields: owned,
        nik_column: cols.nik,
        item,
    }
}

fn write_row(
    out: &mut impl Write,
    format: OutputFormat,
    row: &ParsedRow,
    v: &BatchVerdict,
    detail: &str,
    columns: &[String],
) -> std::io::Result<()> {
    match format {
        OutputFormat::Csv => {
            write!(out, "{}", row.line)?;
            for i in 0..columns.len() {
                out.write_all(b",")?;
                write_field(out, row.fields.get(i).map_or("", String::as_str))?;
            }
            write!(out, ",{},", v.payable)?;
            write_field(out, &v.reasons.join())?;
            out.write_all(b",")?;
            write_field(out, detail)?;
            out.write_all(b"\n")
        }
        OutputFormat::JsonLines => {
            let mut obj = crate::json::Object::new();
            obj.num("line", row.line);
            for (i, c) in columns.iter().enumerate() {
                obj.str(c, row.fields.get(i).map_or("", String::as_str));
            }
            obj.bool("payable", v.payable);
            obj.list("reasons", v.reasons.iter().map(ReasonCode::as_str));
            if !detail.is_empty() {
                obj.str("detail", detail);
            }
            writeln!(out, "{}", obj.finish())
        }
    }
}

fn write_field(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    out.write_all(crate::csv::field(s).as_bytes())
}
