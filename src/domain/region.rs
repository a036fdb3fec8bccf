//! Administrative regions: provinces, regencies/cities, districts, villages.
//!
//! The codes are Kemendagri's (Kepmendagri 300.2.2-2138/2025): province 2
//! digits, regency `PPRR`, district `PPRRDD`, village `PPRRDDVVVV`. A village
//! code has 10 digits and does not fit a `u32`, so every code is held as a
//! `u64` together with its [`Level`].
//!
//! What is compiled in, and why:
//! - the 38 province codes as a constant table, because [`Nik::parse`]
//!   checks them on every call and must not touch a map;
//! - provinces, regencies and districts, current and former (the Papua codes
//!   retired in 2022 live on in NIKs), about 200 KB of text parsed on first
//!   use, because `tepat nik` and every report name them;
//! - the 83,762 villages only with the `builtin-villages` feature (2.3 MB).
//!   A payout point reads village names from its snapshot's region table; the
//!   register keeper's build and the generator turn the feature on.
//!
//! The lists are in `data/wilayah/` with their attribution (MIT, Cahya DSN).
//!
//! [`Nik::parse`]: crate::Nik::parse

use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::sync::OnceLock;

use crate::csv;
use crate::error::{Error, Result};

/// The 38 current province codes (Kepmendagri 2025). A test checks this
/// table against `data/wilayah/provinces.csv`. No province code has been
/// retired: the 2022 Papua split created 93–96 and kept 91 and 92.
pub const PROVINCE_CODES: [u8; 38] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
    71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
];

const KNOWN_PROVINCE: [bool; 100] = {
    let mut table = [false; 100];
    let mut i = 0;
    while i < PROVINCE_CODES.len() {
        table[PROVINCE_CODES[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `code` (0–99) is a province code on the list.
#[inline]
pub const fn is_province(code: u8) -> bool {
    code < 100 && KNOWN_PROVINCE[code as usize]
}

/// The level of a region code, told apart by its number of digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 2 digits.
    Province,
    /// 4 digits: regency (kabupaten, 01–69) or city (kota, 71–99).
    Regency,
    /// 6 digits: district (kecamatan).
    District,
    /// 10 digits: village (desa or kelurahan).
    Village,
}

impl Level {
    /// How many digits a code of this level has.
    pub const fn digits(self) -> usize {
        match self {
            Level::Province => 2,
            Level::Regency => 4,
            Level::District => 6,
            Level::Village => 10,
        }
    }

    /// The level's English name, lower case.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Regency => "regency",
            Level::District => "district",
            Level::Village => "village",
        }
    }

    fn from_digits(n: usize) -> Option<Level> {
        match n {
            2 => Some(Level::Province),
            4 => Some(Level::Regency),
            6 => Some(Level::District),
            10 => Some(Level::Village),
            _ => None,
        }
    }

    /// The level above this one.
    pub const fn parent(self) -> Option<Level> {
        match self {
            Level::Province => None,
            Level::Regency => Some(Level::Province),
            Level::District => Some(Level::Regency),
            Level::Village => Some(Level::District),
        }
    }
}

/// A region code: its numeric value and its level (`32`, `3201`, `320101`,
/// `3201012001`). Printing pads to the level's number of digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode {
    level: Level,
    value: u64,
}

impl RegionCode {
    /// A code from its level and value, or `None` if the value has more
    /// digits than the level allows.
    pub const fn new(level: Level, value: u64) -> Option<RegionCode> {
        if value >= 10u64.pow(level.digits() as u32) {
            return None;
        }
        Some(RegionCode { level, value })
    }

    /// Parses 2, 4, 6 or 10 ASCII digits.
    pub fn parse(code: &str) -> Result<RegionCode> {
        let bad = |reason| Error::Region {
            code: code.to_owned(),
            reason,
        };
        let level = Level::from_digits(code.len())
            .ok_or_else(|| bad("a region code has 2, 4, 6 or 10 digits"))?;
        let value = code
            .bytes()
            .try_fold(0u64, |acc, b| {
                b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
            })
            .ok_or_else(|| bad("a region code has only digits"))?;
        Ok(RegionCode { level, value })
    }

    /// The code's level.
    pub const fn level(self) -> Level {
        self.level
    }

    /// The code's numeric value (`3201012001` for a village).
    pub const fn value(self) -> u64 {
        self.value
    }

    /// The enclosing region's code (the code's prefix), if any.
    pub const fn parent(self) -> Option<RegionCode> {
        match self.level.parent() {
            None => None,
            Some(up) => {
                let drop = (self.level.digits() - up.digits()) as u32;
                Some(RegionCode {
                    level: up,
                    value: self.value / 10u64.pow(drop),
                })
            }
        }
    }

    /// The province this code lies in (itself for a province).
    pub const fn province(self) -> u8 {
        let drop = (self.level.digits() - 2) as u32;
        (self.value / 10u64.pow(drop)) as u8
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$}", self.value, width = self.level.digits())
    }
}

/// Whether a code is on the current list or was retired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// On the Kepmendagri 2025 list.
    Current,
    /// On an earlier list only; NIKs issued then still carry it.
    Former {
        /// The last regulation that listed the code.
        last_listed_in: String,
        /// The 2025 code of the same place, when it is known.
        successor: Option<RegionCode>,
    },
}

/// One region: code, name, parent and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// The region's code.
    pub code: RegionCode,
    /// Its name as published (`Kabupaten Bogor`, `Cibinong`).
    pub name: String,
    /// Current or former.
    pub status: Status,
}

impl Region {
    /// The parent region's code (the code's prefix); `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        self.code.parent()
    }

    /// Whether the code is retired.
    pub fn is_former(&self) -> bool {
        matches!(self.status, Status::Former { .. })
    }
}

/// Lookup tables from code to [`Region`], one sorted vector per level.
#[derive(Clone, Debug, Default)]
pub struct RegionTable {
    levels: [Vec<Region>; 4],
}

const PROVINCES_CSV: &str = include_str!("../../data/wilayah/provinces.csv");
const REGENCIES_CSV: &str = include_str!("../../data/wilayah/regencies.csv");
const DISTRICTS_CSV: &str = include_str!("../../data/wilayah/districts.csv");
const REGENCIES_FORMER_CSV: &str = include_str!("../../data/wilayah/regencies_former.csv");
const DISTRICTS_FORMER_CSV: &str = include_str!("../../data/wilayah/districts_former.csv");
#[cfg(feature = "builtin-villages")]
const VILLAGES_CSV: &str = include_str!("../../data/wilayah/villages.csv");

/// Which list file a CSV text is, for loading and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFile {
    /// `provinces.csv`: `code,name`.
    Provinces,
    /// `regencies.csv`: `code,province_code,name`.
    Regencies,
    /// `districts.csv`: `code,regency_code,name`.
    Districts,
    /// `villages.csv`: `code,district_code,name`.
    Villages,
    /// `regencies_former.csv`: `code,province_code,name,last_listed_in,successor_code`.
    RegenciesFormer,
    /// `districts_former.csv`: `code,regency_code,name,last_listed_in,successor_code`.
    DistrictsFormer,
}

impl ListFile {
    /// The file's name in `data/wilayah/`.
    pub const fn file_name(self) -> &'static str {
        match self {
            ListFile::Provinces => "provinces.csv",
            ListFile::Regencies => "regencies.csv",
            ListFile::Districts => "districts.csv",
            ListFile::Villages => "villages.csv",
            ListFile::RegenciesFormer => "regencies_former.csv",
            ListFile::DistrictsFormer => "districts_former.csv",
        }
    }

    const fn level(self) -> Level {
        match self {
            ListFile::Provinces => Level::Province,
            ListFile::Regencies | ListFile::RegenciesFormer => Level::Regency,
            ListFile::Districts | ListFile::DistrictsFormer => Level::District,
            ListFile::Villages => Level::Village,
        }
    }

    const fn header(self) -> &'static str {
        match self {
            ListFile::Provinces => "code,name",
            ListFile::Regencies => "code,province_code,name",
            ListFile::Districts => "code,regency_code,name",
            ListFile::Villages => "code,district_code,name",
            ListFile::RegenciesFormer => "code,province_code,name,last_listed_in,successor_code",
            ListFile::DistrictsFormer => "code,regency_code,name,last_listed_in,successor_code",
        }
    }

    const fn is_former(self) -> bool {
        matches!(self, ListFile::RegenciesFormer | ListFile::DistrictsFormer)
    }
}

static BUILTIN: OnceLock<RegionTable> = OnceLock::new();

impl RegionTable {
    /// The lists compiled into the library: provinces, regencies and
    /// districts, current and former, and the villages when the
    /// `builtin-villages` feature is on. Parsed once, on first use.
    pub fn builtin() -> &'static RegionTable {
        BUILTIN.get_or_init(|| {
            // The lists are compiled in and parsed by the test suite; this
            // cannot fail at run time unless the build itself is broken.
            #[allow(clippy::expect_used)]
            RegionTable::parse_builtin().expect("the built-in region lists parse")
        })
    }

    fn parse_builtin() -> Result<RegionTable> {
        let mut table = RegionTable::default();
        table.add_list(ListFile::Provinces, PROVINCES_CSV.as_bytes())?;
        table.add_list(ListFile::Regencies, REGENCIES_CSV.as_bytes())?;
        table.add_list(ListFile::Districts, DISTRICTS_CSV.as_bytes())?;
        table.add_list(ListFile::RegenciesFormer, REGENCIES_FORMER_CSV.as_bytes())?;
        table.add_list(ListFile::DistrictsFormer, DISTRICTS_FORMER_CSV.as_bytes())?;
        #[cfg(feature = "builtin-villages")]
        table.add_list(ListFile::Villages, VILLAGES_CSV.as_bytes())?;
        Ok(table)
    }

    /// Loads every list found in a directory laid out like `data/wilayah/`
    /// (missing former or village lists are skipped; the province, regency
    /// and district lists are required).
    pub fn from_dir(dir: &Path) -> Result<RegionTable> {
        let mut table = RegionTable::default();
        for list in [
            ListFile::Provinces,
            ListFile::Regencies,
            ListFile::Districts,
            ListFile::RegenciesFormer,
            ListFile::DistrictsFormer,
            ListFile::Villages,
        ] {
            let path = dir.join(list.file_name());
            let required = matches!(
                list,
                ListFile::Provinces | ListFile::Regencies | ListFile::Districts
            );
            match std::fs::File::open(&path) {
                Ok(file) => table.add_list(list, std::io::BufReader::new(file))?,
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Ok(table)
    }

    /// Adds the rows of one list (CSV with the list's header) to the table.
    /// A code already present keeps its first entry, so current lists loaded
    /// before former ones win.
    pub fn add_list(&mut self, list: ListFile, reader: impl BufRead) -> Result<()> {
        let level = list.level();
        let mut rows = Vec::new();
        for (index, line) in reader.lines().enumerate() {
            let line_no = index + 1;
            let bad = |message: String| Error::Data {
                file: list.file_name().to_owned(),
                line: line_no,
                message,
            };
            let line = line.map_err(|e| bad(e.to_string()))?;
            let line = csv::trim_line_end(&line);
            if index == 0 {
                if line != list.header() {
                    return Err(bad(format!(
                        "header is {line:?}, expected {:?}",
                        list.header()
                    )));
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let mut fields = Vec::new();
            csv::split_into(line, &mut fields).map_err(|m| bad(m.to_owned()))?;
            let expected = list.header().split(',').count();
            if fields.len() != expected {
                return Err(bad(format!("{} fields, expected {expected}", fields.len())));
            }
            let code = RegionCode::parse(&fields[0]).map_err(|e| bad(e.to_string()))?;
            if code.level() != level {
                return Err(bad(format!("code {code} is not a {} code", level.name())));
            }
            let name_field = if level == Level::Province { 1 } else { 2 };
            let status = if list.is_former() {
                let successor = match fields[4].as_ref() {
                    "" => None,
                    s => Some(RegionCode::parse(s).map_err(|e| bad(e.to_string()))?),
                };
                Status::Former {
                    last_listed_in: fields[3].clone().into_owned(),
                    successor,
                }
            } else {
                Status::Current
            };
            rows.push(Region {
                code,
                name: fields[name_field].clone().into_owned(),
                status,
            });
        }
        let slot = &mut self.levels[level as usize];
        slot.extend(rows);
        // Stable sort keeps the first-added entry first among equal codes.
        slot.sort_by_key(|r| r.code.value());
        slot.dedup_by_key(|r| r.code.value());
        Ok(())
    }

    /// A table of these regions (sorted per level; the first of equal codes
    /// wins).
    pub fn from_regions(regions: impl IntoIterator<Item = Region>) -> RegionTable {
        let mut table = RegionTable::default();
        for r in regions {
            table.levels[r.code.level() as usize].push(r);
        }
        for slot in &mut table.levels {
            slot.sort_by_key(|r| r.code.value());
            slot.dedup_by_key(|r| r.code.value());
        }
        table
    }

    /// The region with this code, current or former.
    pub fn get(&self, code: RegionCode) -> Option<&Region> {
        let slot = &self.levels[code.level() as usize];
        slot.binary_search_by_key(&code.value(), |r| r.code.value())
            .ok()
            .and_then(|i| slot.get(i))
    }

    /// Parses a code of any level and looks it up.
    pub fn lookup(&self, code: &str) -> Result<Option<&Region>> {
        Ok(self.get(RegionCode::parse(code)?))
    }

    /// Every region of one level, sorted by code.
    pub fn level(&self, level: Level) -> &[Region] {
        &self.levels[level as usize]
    }

    /// The province with this two-digit code.
    pub fn province(&self, code: u8) -> Option<&Region> {
        self.get(RegionCode::new(Level::Province, u64::from(code))?)
    }

    /// The regency or city with this four-digit code.
    pub fn regency(&self, code: u16) -> Option<&Region> {
        self.get(RegionCode::new(Level::Regency, u64::from(code))?)
    }

    /// The district with this six-digit code.
    pub fn district(&self, code: u32) -> Option<&Region> {
        self.get(RegionCode::new(Level::District, u64::from(code))?)
    }

    /// The village with this ten-digit code (present only if villages were
    /// loaded).
    pub fn village(&self, code: u64) -> Option<&Region> {
        self.get(RegionCode::new(Level::Village, code)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn province_constant_matches_the_list() {
        let listed: Vec<u8> = RegionTable::builtin()
            .level(Level::Province)
            .iter()
            .map(|r| r.code.value() as u8)
            .collect();
        assert_eq!(listed, PROVINCE_CODES);
        for code in 0..100u8 {
            assert_eq!(is_province(code), PROVINCE_CODES.contains(&code), "{code}");
        }
    }

    #[test]
    fn builtin_counts_match_the_decision() {
        let t = RegionTable::builtin();
        let current = |l| t.level(l).iter().filter(|r| !r.is_former()).count();
        let former = |l| t.level(l).iter().filter(|r| r.is_former()).count();
        assert_eq!(current(Level::Province), 38);
        assert_eq!(current(Level::Regency), 514);
        assert_eq!(current(Level::District), 7285);
        assert_eq!(former(Level::Regency), 26);
        assert_eq!(former(Level::District), 594);
    }

    #[test]
    fn lookups_name_parent_and_status() {
        let t = RegionTable::builtin();
        let bogor = t.lookup("3201").unwrap().unwrap();
        assert_eq!(bogor.name, "Kabupaten Bogor");
        assert_eq!(bogor.parent().unwrap().to_string(), "32");
        assert_eq!(bogor.status, Status::Current);
        let merauke = t.lookup("910101").unwrap().unwrap();
        assert!(merauke.is_former());
        match &merauke.status {
            Status::Former { successor, .. } => {
                assert_eq!(successor.unwrap().to_string(), "930101")
            }
            Status::Current => panic!("910101 is a former code"),
        }
        assert!(t.lookup("9999").unwrap().is_none());
        assert!(t.lookup("32a1").is_err());
        assert!(t.lookup("321").is_err());
    }

    #[test]
    fn village_codes_exceed_u32() {
        let code = RegionCode::parse("9603012001").unwrap();
        assert!(code.value() > u64::from(u32::MAX));
        assert_eq!(code.to_string(), "9603012001");
        assert_eq!(code.parent().unwrap().to_string(), "960301");
        assert_eq!(code.province(), 96);
    }

    #[test]
    fn villages_load_from_the_bundled_file() {
        let mut t = RegionTable::default();
        let file = std::fs::File::open(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/wilayah/villages.csv"
        ))
        .unwrap();
        t.add_list(ListFile::Villages, std::io::BufReader::new(file))
            .unwrap();
        assert_eq!(t.level(Level::Village).len(), 83_762);
        assert_eq!(t.village(1207281007).unwrap().name, "Lubuk Pakam I,II");
    }

    #[test]
    fn malformed_lists_name_file_and_line() {
        let mut t = RegionTable::default();
        let err = t
            .add_list(
                ListFile::Regencies,
                "code,province_code,name\n3201,32,Bogor\n32x2,32,Bad\n".as_bytes(),
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("regencies.csv:3:"), "{text}");
        let err = t
            .add_list(ListFile::Provinces, "kode,nama\n".as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("header"), "{err}");
    }
}
