//! Scratch files: records spilled into partitions between passes.
//!
//! A partition is a four-digit prefix: of the NIK (province and regency of
//! issue) for the passes that join on NIK, of the village code (province
//! and regency of residence) for the pass that matches on name, birth date
//! and village. Each writer (one per worker thread and pass) buffers
//! records per partition and, every [`RUN_BYTES`], writes them out as one
//! *run* file `KIND.SUFFIX.NNNNN`: the partitions one after another, then
//! an index (partition, offset, length) and its count and magic. So a pass
//! writes a few large files sequentially, no two threads share a file, and
//! a reader of one partition reads its slice of every run. Readers sort
//! what they read, so the order in which threads wrote never reaches the
//! output.
//!
//! A record is a little-endian `u32` length, a `u32` presence mask, the
//! fields every record has, then the present optional ones.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{MergeError, Result, io};
use crate::schema::{NO_DATE, NONE, Rec};

/// The partition of a NIK or KK: its first four digits.
pub fn nik_part(nik: u64) -> u16 {
    (nik / 1_000_000_000_000) as u16
}

/// The partition of a village code: its first four digits.
pub fn village_part(village: u64) -> u16 {
    (village / 1_000_000) as u16
}

/// Bytes a writer buffers before it writes a run: its memory bound.
pub const RUN_BYTES: usize = 32 << 20;

/// The last four bytes of a run file.
const MAGIC: &[u8; 4] = b"TMR1";

/// A writer of one kind of scratch record, for one thread of one pass.
pub struct Spill {
    dir: PathBuf,
    kind: &'static str,
    suffix: String,
    bufs: HashMap<u16, Vec<u8>>,
    buffered: usize,
    runs: u32,
}

impl Spill {
    /// A writer of `kind` records into `dir`, its runs named
    /// `KIND.SUFFIX.NNNNN`.
    pub fn new(dir: &Path, kind: &'static str, suffix: String) -> Spill {
        Spill {
            dir: dir.to_owned(),
            kind,
            suffix,
            bufs: HashMap::new(),
            buffered: 0,
            runs: 0,
        }
    }

    /// Appends `rec` to partition `part`.
    pub fn push(&mut self, part: u16, rec: &Rec) -> Result<()> {
        let buf = self.bufs.entry(part).or_default();
        let before = buf.len();
        encode(rec, buf);
        self.buffered += buf.len() - before;
        if self.buffered >= RUN_BYTES {
            self.write_run()?;
        }
        Ok(())
    }

    fn write_run(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let path = self
            .dir
            .join(format!("{}.{}.{:05}", self.kind, self.suffix, self.runs));
        let file = File::create(&path).map_err(io(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut parts: Vec<u16> = self.bufs.keys().copied().collect();
        parts.sort_unstable();
        let mut index = Vec::with_capacity(parts.len() * 18 + 8);
        let mut offset = 0u64;
        for part in parts {
            let Some(buf) = self.bufs.get(&part) else {
                continue;
            };
            if buf.is_empty() {
                continue;
            }
            out.write_all(buf).map_err(io(&path))?;
            index.extend_from_slice(&part.to_le_bytes());
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&(buf.len() as u64).to_le_bytes());
            offset += buf.len() as u64;
        }
        // Dropped, not cleared: kept capacities would add up past the bound.
        self.bufs.clear();
        let entries = (index.len() / 18) as u32;
        index.extend_from_slice(&entries.to_le_bytes());
        index.extend_from_slice(MAGIC);
        out.write_all(&index).map_err(io(&path))?;
        out.flush().map_err(io(&path))?;
        self.buffered = 0;
        self.runs += 1;
        Ok(())
    }

    /// Writes what is buffered.
    pub fn finish(mut self) -> Result<()> {
        self.write_run()
    }
}

/// One partition's records in one run file.
#[derive(Clone, Debug)]
pub struct Slice {
    path: Arc<PathBuf>,
    offset: u64,
    len: u64,
}

/// The run files of `kind` in `dir`: each partition's slices, in file
/// name order.
pub fn files(dir: &Path, kind: &str) -> Result<BTreeMap<u16, Vec<Slice>>> {
    let mut out: BTreeMap<u16, Vec<Slice>> = BTreeMap::new();
    for path in runs(dir, kind)? {
        let path = Arc::new(path);
        for (part, offset, len) in read_index(&path)? {
            out.entry(part).or_default().push(Slice {
                path: Arc::clone(&path),
                offset,
                len,
            });
        }
    }
    Ok(out)
}

fn runs(dir: &Path, kind: &str) -> Result<Vec<PathBuf>> {
    let prefix = format!("{kind}.");
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            paths.push(entry.path());
        }
    }
    paths.sort();
    Ok(paths)
}

fn read_index(path: &Path) -> Result<Vec<(u16, u64, u64)>> {
    let damaged = |reason| MergeError::Scratch {
        path: path.to_owned(),
        reason,
    };
    let mut file = File::open(path).map_err(io(path))?;
    let size = file.metadata().map_err(io(path))?.len();
    if size < 8 {
        return Err(damaged("too short for a run"));
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(io(path))?;
    file.read_exact(&mut tail).map_err(io(path))?;
    if &tail[4..] != MAGIC {
        return Err(damaged("no run magic at the end"));
    }
    let entries = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    let index_len = entries * 18;
    if index_len + 8 > size {
        return Err(damaged("index larger than the file"));
    }
    let mut index = vec![0u8; index_len as usize];
    file.seek(SeekFrom::Start(size - 8 - index_len))
        .map_err(io(path))?;
    file.read_exact(&mut index).map_err(io(path))?;
    let data_end = size - 8 - index_len;
    index
        .chunks_exact(18)
        .map(|e| {
            let mut c = Cursor(e);
            let part = u16::from_le_bytes(c.take().ok_or_else(|| damaged("short index"))?);
            let offset = c.u64().ok_or_else(|| damaged("short index"))?;
            let len = c.u64().ok_or_else(|| damaged("short index"))?;
            if offset.checked_add(len).is_none_or(|end| end > data_end) {
                return Err(damaged("a slice beyond the data"));
            }
            Ok((part, offset, len))
        })
        .collect()
}

/// Removes the run files of `kind` (a pass has consumed them).
pub fn remove(dir: &Path, kind: &str) -> Result<()> {
    for path in runs(dir, kind)? {
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    Ok(())
}

/// Calls `f` with every record of `slices`, in order.
pub fn for_each(slices: &[Slice], mut f: impl FnMut(Rec) -> Result<()>) -> Result<()> {
    let mut body = Vec::new();
    for slice in slices {
        let path = slice.path.as_path();
        let mut file = File::open(path).map_err(io(path))?;
        file.seek(SeekFrom::Start(slice.offset)).map_err(io(path))?;
        let capacity = slice.len.min(1 << 20) as usize;
        let mut reader = BufReader::with_capacity(capacity, file).take(slice.len);
        loop {
            let mut len = [0u8; 4];
            match reader.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(io(path)(e)),
            }
            body.resize(u32::from_le_bytes(len) as usize, 0);
            reader.read_exact(&mut body).map_err(io(path))?;
            let rec = decode(&body).ok_or_else(|| MergeError::Scratch {
                path: path.to_owned(),
                reason: "a record does not decode",
            })?;
            f(rec)?;
        }
    }
    Ok(())
}

/// Every record of `slices`.
pub fn read_all(slices: &[Slice]) -> Result<Vec<Rec>> {
    let mut out = Vec::new();
    for_each(slices, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

// Presence bits of the optional fields.
const NIK: u32 = 1;
const KK: u32 = 1 << 1;
const RELATION: u32 = 1 << 2;
const DECILE: u32 = 1 << 3;
const CIVIL_SERVANT: u32 = 1 << 4;
const DECEASED: u32 = 1 << 5;
const COMPONENTS: u32 = 1 << 6;
const PROGRAMS: u32 = 1 << 7;
const UPDATED: u32 = 1 << 8;
const WEAK: u32 = 1 << 9;
const LINK: u32 = 1 << 10;
const NIK_GIVEN: u32 = 1 << 11;
const ID: u32 = 1 << 12;
const NAME: u32 = 1 << 13;
const CANDIDATES: u32 = 1 << 14;
const SMALL: u32 = 1 << 15;
const MISSING: u32 = 1 << 16;
const METHOD: u32 = 1 << 17;

fn mask(r: &Rec) -> u32 {
    let bit = |on: bool, b: u32| if on { b } else { 0 };
    bit(r.nik != 0, NIK)
        | bit(r.kk != 0, KK)
        | bit(r.relation != NONE, RELATION)
        | bit(r.decile != 0, DECILE)
        | bit(r.civil_servant != NONE, CIVIL_SERVANT)
        | bit(r.deceased != NONE, DECEASED)
        | bit(r.components.is_some(), COMPONENTS)
        | bit(r.programs.is_some(), PROGRAMS)
        | bit(r.updated != NO_DATE, UPDATED)
        | bit(r.weak != 0, WEAK)
        | bit(r.link != 0, LINK)
        | bit(!r.nik_given.is_empty(), NIK_GIVEN)
        | bit(!r.id.is_empty(), ID)
        | bit(!r.full_name.is_empty(), NAME)
        | bit(!r.candidates.is_empty(), CANDIDATES)
        | bit(r.sex != 0 || r.extreme_poor != NONE, SMALL)
        | bit(r.missing != 0, MISSING)
        | bit(r.method != 0, METHOD)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Fields come from one CSV line; one longer than 64 KiB is cut (at a
    // character boundary, so that it still decodes).
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = &s.as_bytes()[..end];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Appends `r`, length-prefixed, to `out`.
pub fn encode(r: &Rec, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let m = mask(r);
    out.extend_from_slice(&m.to_le_bytes());
    out.push(r.source);
    out.extend_from_slice(&r.line.to_le_bytes());
    out.extend_from_slice(&r.village.to_le_bytes());
    out.extend_from_slice(&r.birth.to_le_bytes());
    out.extend_from_slice(&r.name.to_le_bytes());
    let u64s = [(NIK, r.nik), (KK, r.kk), (WEAK, r.weak), (LINK, r.link)];
    for (bit, v) in u64s {
        if m & bit != 0 {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let u8s = [
        (RELATION, r.relation),
        (DECILE, r.decile),
        (CIVIL_SERVANT, r.civil_servant),
        (DECEASED, r.deceased),
        (WEAK, r.weak_agree),
        (METHOD, r.method),
        (SMALL, r.sex),
        (SMALL, r.extreme_poor),
        (MISSING, r.missing),
    ];
    for (bit, v) in u8s {
        if m & bit != 0 {
            out.push(v);
        }
    }
    if let Some(c) = r.components {
        out.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(p) = r.programs {
        out.extend_from_slice(&p.to_le_bytes());
    }
    if m & UPDATED != 0 {
        out.extend_from_slice(&r.updated.to_le_bytes());
    }
    for (bit, s) in [(NIK_GIVEN, &r.nik_given), (ID, &r.id), (NAME, &r.full_name)] {
        if m & bit != 0 {
            put_str(out, s);
        }
    }
    if m & CANDIDATES != 0 {
        out.extend_from_slice(&(r.candidates.len() as u16).to_le_bytes());
        for c in &r.candidates {
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// A cursor over an encoded body.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take().map(i32::from_le_bytes)
    }
    fn str(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take()?) as usize;
        let bytes = self.0.get(..len)?;
        self.0 = &self.0[len..];
        String::from_utf8(bytes.to_vec()).ok()
    }
}

/// Decodes one record body (without its length).
pub fn decode(body: &[u8]) -> Option<Rec> {
    let mut c = Cursor(body);
    let m = u32::from_le_bytes(c.take()?);
    let on = |bit: u32| m & bit != 0;
    let mut r = Rec {
        source: c.u8()?,
        line: c.u64()?,
        village: c.u64()?,
        birth: c.i32()?,
        name: c.u64()?,
        relation: NONE,
        civil_servant: NONE,
        deceased: NONE,
        extreme_poor: NONE,
        updated: NO_DATE,
        ..Rec::default()
    };
    for (bit, slot) in [
        (NIK, &mut r.nik),
        (KK, &mut r.kk),
        (WEAK, &mut r.weak),
        (LINK, &mut r.link),
    ] {
        if on(bit) {
            *slot = c.u64()?;
        }
    }
    for (bit, slot) in [
        (RELATION, &mut r.relation),
        (DECILE, &mut r.decile),
        (CIVIL_SERVANT, &mut r.civil_servant),
        (DECEASED, &mut r.deceased),
        (WEAK, &mut r.weak_agree),
        (METHOD, &mut r.method),
        (SMALL, &mut r.sex),
        (SMALL, &mut r.extreme_poor),
        (MISSING, &mut r.missing),
    ] {
        if on(bit) {
            *slot = c.u8()?;
        }
    }
    if on(COMPONENTS) {
        r.components = Some(u16::from_le_bytes(c.take()?));
    }
    if on(PROGRAMS) {
        r.programs = Some(u32::from_le_bytes(c.take()?));
    }
    if on(UPDATED) {
        r.updated = c.i32()?;
    }
    for (bit, slot) in [
        (NIK_GIVEN, &mut r.nik_given),
        (ID, &mut r.id),
        (NAME, &mut r.full_name),
    ] {
        if on(bit) {
            *slot = c.str()?;
        }
    }
    if on(CANDIDATES) {
        let n = u16::from_le_bytes(c.take()?);
        r.candidates = (0..n).map(|_| c.u64()).collect::<Option<Vec<u64>>>()?;
    }
    c.0.is_empty().then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_hold_their_partitions() {
        let dir = std::env::temp_dir().join(format!("tepat-merge-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut spill = Spill::new(&dir, "x", "1.0".into());
        let rec = |line| Rec {
            line,
            ..Rec::default()
        };
        for line in 0..1000u64 {
            spill.push((line % 7) as u16, &rec(line)).unwrap();
            if line == 500 {
                spill.write_run().unwrap();
            }
        }
        spill.finish().unwrap();
        let parts = files(&dir, "x").unwrap();
        assert_eq!(parts.len(), 7);
        let three: Vec<u64> = read_all(&parts[&3])
            .unwrap()
            .iter()
            .map(|r| r.line)
            .collect();
        assert_eq!(three, (0..1000).filter(|l| l % 7 == 3).collect::<Vec<_>>());
        assert_eq!(parts[&3].len(), 2, "one slice per run");
        remove(&dir, "x").unwrap();
        assert!(files(&dir, "x").unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn records_round_trip() {
        let full = Rec {
            source: 2,
            line: 123_456_789_012,
            nik_given: "320101570890000".into(),
            nik: 3201015708900001,
            kk: 3201011503150007,
            village: 3201012001,
            birth: -3000,
            name: u64::MAX - 5,
            sex: 2,
            relation: 1,
            decile: 3,
            civil_servant: 0,
            deceased: 1,
            extreme_poor: 1,
            components: Some(5),
            programs: Some(0),
            updated: 20_000,
            id: "DT-1".into(),
            full_name: "SITI, AMINAH".into(),
            weak: 3201015708900002,
            weak_agree: 11,
            link: 3201015708900003,
            method: 4,
            candidates: vec![1, 2, 3],
            missing: 3,
        };
        let empty = Rec {
            relation: NONE,
            civil_servant: NONE,
            deceased: NONE,
            extreme_poor: NONE,
            updated: NO_DATE,
            ..Rec::default()
        };
        for r in [full, empty] {
            let mut buf = Vec::new();
            encode(&r, &mut buf);
            assert_eq!(decode(&buf[4..]).as_ref(), Some(&r));
            assert!(decode(&buf[4..buf.len() - 1]).is_none());
        }
    }
}
