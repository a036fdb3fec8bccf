//! What the columns of an input file mean, read from its header, and the
//! rows read into [`Rec`]s.
//!
//! Every source has its own columns. The merge knows a vocabulary of
//! column names ([`VOCABULARY`]: English and the usual Indonesian ones) and
//! reads whichever a file has; other columns are ignored and listed in the
//! summary. A file that names a column twice, or two columns that mean the
//! same field (`decile` and `desil`), is refused.

use std::borrow::Cow;
use std::path::Path;

use tepat::register::Relation;
use tepat::{ComponentSet, Date, Kk, Nik, Registry};

use crate::csv;
use crate::error::{MergeError, Result};
use crate::names;

/// A field of a record, whatever its column is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The source's own record id.
    Id,
    /// NIK as given (may be wrong or empty in a source).
    Nik,
    /// Family card number.
    Kk,
    /// Full name.
    FullName,
    /// Sex.
    Sex,
    /// Birth date.
    BirthDate,
    /// Birth place (read, not used in matching).
    BirthPlace,
    /// 10-digit village code of residence.
    Village,
    /// Place in the family.
    Relation,
    /// Welfare decile 1–10.
    Decile,
    /// Civil servant, police or military.
    CivilServant,
    /// Recorded components.
    Components,
    /// Enrolled programs.
    Programs,
    /// Recorded as deceased.
    Deceased,
    /// Extreme poverty flag (read and counted; the register has no column).
    ExtremePoor,
    /// The date the record was last updated.
    Updated,
}

/// How a column's text becomes its field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// The field's own format.
    Plain,
    /// A welfare rank 1–100 (percentile), read as the decile `⌈rank/10⌉`.
    WelfareRank,
    /// An occupation: civil servant when it is one of [`CIVIL_SERVICE`].
    Occupation,
}

/// Column names the merge understands (compared case-insensitively; any
/// column starting `id_` is also an [`Field::Id`]).
pub const VOCABULARY: &[(&str, Field, Reading)] = &[
    ("id", Field::Id, Reading::Plain),
    ("nik", Field::Nik, Reading::Plain),
    ("kk", Field::Kk, Reading::Plain),
    ("no_kk", Field::Kk, Reading::Plain),
    ("full_name", Field::FullName, Reading::Plain),
    ("nama", Field::FullName, Reading::Plain),
    ("sex", Field::Sex, Reading::Plain),
    ("jenis_kelamin", Field::Sex, Reading::Plain),
    ("birth_date", Field::BirthDate, Reading::Plain),
    ("tanggal_lahir", Field::BirthDate, Reading::Plain),
    ("birth_place", Field::BirthPlace, Reading::Plain),
    ("tempat_lahir", Field::BirthPlace, Reading::Plain),
    ("village_code", Field::Village, Reading::Plain),
    ("kode_desa", Field::Village, Reading::Plain),
    ("relation", Field::Relation, Reading::Plain),
    ("hubungan", Field::Relation, Reading::Plain),
    ("decile", Field::Decile, Reading::Plain),
    ("desil", Field::Decile, Reading::Plain),
    ("welfare_rank", Field::Decile, Reading::WelfareRank),
    ("civil_servant", Field::CivilServant, Reading::Plain),
    ("occupation", Field::CivilServant, Reading::Occupation),
    ("pekerjaan", Field::CivilServant, Reading::Occupation),
    ("components", Field::Components, Reading::Plain),
    ("programs", Field::Programs, Reading::Plain),
    ("deceased", Field::Deceased, Reading::Plain),
    ("extreme_poor", Field::ExtremePoor, Reading::Plain),
    ("updated", Field::Updated, Reading::Plain),
];

/// Occupations that are civil service, police or military.
pub const CIVIL_SERVICE: &[&str] = &[
    "PNS",
    "ASN",
    "PEGAWAI NEGERI SIPIL",
    "TNI",
    "POLRI",
    "ANGGOTA TNI",
    "ANGGOTA POLRI",
];

/// Columns the civil register must have.
pub const CIVIL_REQUIRED: &[Field] = &[
    Field::Nik,
    Field::Kk,
    Field::FullName,
    Field::Sex,
    Field::BirthDate,
    Field::Village,
];
/// Columns every source must have (a NIK column is optional: a source
/// without one is matched on name, birth date and village).
pub const SOURCE_REQUIRED: &[Field] = &[Field::FullName, Field::BirthDate, Field::Village];

/// [`Rec::weak_agree`]: the birth date agrees.
pub const AGREE_BIRTH: u8 = 1;
/// [`Rec::weak_agree`]: the normalised name agrees.
pub const AGREE_NAME: u8 = 2;
/// [`Rec::weak_agree`]: the village agrees.
pub const AGREE_VILLAGE: u8 = 4;
/// [`Rec::weak_agree`]: the KK agrees (or the record gives none).
pub const AGREE_KK: u8 = 8;

/// "No value" for the one-byte fields of a [`Rec`].
pub const NONE: u8 = u8::MAX;
/// "No date" for [`Rec::updated`].
pub const NO_DATE: i32 = i32::MIN;

/// One record of a source or of the civil register, as the merge carries
/// it between passes. Absent values are `0`, [`NONE`], [`NO_DATE`],
/// `None` or empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rec {
    /// Index of the source in [`crate::Args::sources`]; [`crate::CIVIL`]
    /// for the civil register.
    pub source: u8,
    /// 1-based line in its file.
    pub line: u64,
    /// The NIK as given, separators removed, when it is not a valid NIK
    /// (a valid one is `nik`; see [`Rec::given_nik`]).
    pub nik_given: String,
    /// The given NIK when it is a valid one, or 0.
    pub nik: u64,
    /// Family card, or 0.
    pub kk: u64,
    /// Village code of residence.
    pub village: u64,
    /// Birth date, days since 1970-01-01.
    pub birth: i32,
    /// [`names::key`] of the full name.
    pub name: u64,
    /// 0 none, 1 male, 2 female.
    pub sex: u8,
    /// [`Relation::code`] or [`NONE`].
    pub relation: u8,
    /// 1–10, or 0.
    pub decile: u8,
    /// 0/1 or [`NONE`].
    pub civil_servant: u8,
    /// 0/1 or [`NONE`].
    pub deceased: u8,
    /// 0/1 or [`NONE`].
    pub extreme_poor: u8,
    /// Recorded components, when the file has the column.
    pub components: Option<u16>,
    /// Programs, when the file has the column.
    pub programs: Option<u32>,
    /// Last update, days since 1970-01-01, or [`NO_DATE`].
    pub updated: i32,
    /// The source's record id.
    pub id: String,
    /// The full name as given.
    pub full_name: String,
    /// Set by the exact pass: the civil person with NIK `nik`, when the
    /// name, the village or the KK disagrees.
    pub weak: u64,
    /// ... and which of that person's fields agree with the record's
    /// (`AGREE_*` bits).
    pub weak_agree: u8,
    /// The civil NIK the record was matched to (0: not yet).
    pub link: u64,
    /// How it was matched ([`crate::Method`] as a byte), or for a work-list
    /// item why it needs a decision ([`crate::Reason`] as a byte).
    pub method: u8,
    /// A work-list item's candidate civil NIKs.
    pub candidates: Vec<u64>,
    /// A `missing_field` work-list item: 1 + the index in
    /// [`crate::rules::TARGETS`] of the field no source gave (0: none).
    pub missing: u8,
}

impl Rec {
    /// The NIK as the source gave it (separators removed; empty: none).
    pub fn given_nik(&self) -> Cow<'_, str> {
        if self.nik != 0 {
            Cow::Owned(format!("{:016}", self.nik))
        } else {
            Cow::Borrowed(&self.nik_given)
        }
    }
}

/// The meaning of each column of one file.
#[derive(Clone, Debug)]
pub struct Schema {
    columns: Vec<Option<(Field, Reading)>>,
    names: Vec<String>,
    /// Header columns the merge does not read.
    pub ignored: Vec<String>,
}

fn header_error(file: &Path, field: &str, reason: String) -> MergeError {
    MergeError::Header {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    }
}

impl Schema {
    /// Reads a header line; `required` fields must have a column.
    pub fn parse(file: &Path, header: &str, required: &[Field]) -> Result<Schema> {
        let header = header.strip_prefix('\u{feff}').unwrap_or(header);
        let mut fields = Vec::new();
        csv::split(header, &mut fields).map_err(|r| header_error(file, "header", r.into()))?;
        let names: Vec<String> = fields.iter().map(|f| f.trim().to_lowercase()).collect();
        let mut columns = Vec::with_capacity(names.len());
        let mut ignored = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(header_error(
                    file,
                    "header",
                    format!("column {} has no name", i + 1),
                ));
            }
            if let Some(j) = names[..i].iter().position(|n| n == name) {
                let reason = format!("column named twice (columns {} and {})", j + 1, i + 1);
                return Err(header_error(file, name, reason));
            }
            let meaning = lookup(name);
            if let Some((field, _)) = meaning
                && let Some(j) = columns
                    .iter()
                    .position(|c: &Option<(Field, Reading)>| c.is_some_and(|(f, _)| f == field))
            {
                let reason = format!("means the same field as column {} ({})", j + 1, names[j]);
                return Err(header_error(file, name, reason));
            }
            if meaning.is_none() {
                ignored.push(name.clone());
            }
            columns.push(meaning);
        }
        let schema = Schema {
            columns,
            names,
            ignored,
        };
        for field in required {
            if !schema.has(*field) {
                let name = VOCABULARY
                    .iter()
                    .find(|v| v.1 == *field)
                    .map_or("?", |v| v.0);
                return Err(header_error(file, name, "required column missing".into()));
            }
        }
        Ok(schema)
    }

    /// Whether the file has a column for `field`.
    pub fn has(&self, field: Field) -> bool {
        self.columns.iter().flatten().any(|(f, _)| *f == field)
    }
}

fn lookup(name: &str) -> Option<(Field, Reading)> {
    if let Some(&(_, f, r)) = VOCABULARY.iter().find(|v| v.0 == name) {
        return Some((f, r));
    }
    name.starts_with("id_")
        .then_some((Field::Id, Reading::Plain))
}

/// Reads rows of one file with its schema.
pub struct RowReader<'a> {
    /// The file, for error messages.
    pub file: &'a Path,
    /// The header's meaning.
    pub schema: &'a Schema,
    /// Resolves program codes.
    pub registry: &'a Registry,
    /// Source index written into each record.
    pub source: u8,
    /// The civil register: NIK and KK must be valid.
    pub civil: bool,
}

impl RowReader<'_> {
    /// Parses one data line (without line ending), line number `line`.
    pub fn parse(&self, text: &str, line: u64) -> Result<Rec> {
        let row_error = |field: &str, reason: String| MergeError::Row {
            file: self.file.to_owned(),
            line,
            field: field.to_owned(),
            reason,
        };
        let width = self.schema.names.len();
        let mut quoted: Vec<Cow<'_, str>> = Vec::new();
        let count = if text.contains('"') {
            csv::split(text, &mut quoted).map_err(|r| row_error("row", r.into()))?;
            quoted.len()
        } else {
            text.bytes().filter(|&b| b == b',').count() + 1
        };
        if count != width {
            let reason = format!("{count} fields, the header has {width}");
            return Err(row_error("row", reason));
        }
        let mut rec = Rec {
            source: self.source,
            line,
            relation: NONE,
            civil_servant: NONE,
            deceased: NONE,
            extreme_poor: NONE,
            updated: NO_DATE,
            ..Rec::default()
        };
        let mut field = |i: usize, value: &str| -> Result<()> {
            let Some((field, reading)) = self.schema.columns[i] else {
                return Ok(());
            };
            self.read(&mut rec, field, reading, value.trim())
                .map_err(|reason| row_error(&self.schema.names[i], reason))
        };
        // Unquoted rows (nearly all) are split without allocating.
        if quoted.is_empty() {
            for (i, value) in text.split(',').enumerate() {
                field(i, value)?;
            }
        } else {
            for (i, value) in quoted.iter().enumerate() {
                field(i, value)?;
            }
        }
        if self.civil {
            if rec.nik == 0 {
                return Err(row_error("nik", "the civil register needs a NIK".into()));
            }
            if rec.kk == 0 {
                return Err(row_error("kk", "the civil register needs a KK".into()));
            }
            if rec.sex == 0 {
                return Err(row_error("sex", "the civil register needs a sex".into()));
            }
        }
        Ok(rec)
    }

    fn read(&self, rec: &mut Rec, field: Field, reading: Reading, v: &str) -> Result<(), String> {
        match field {
            Field::Id => rec.id = v.to_owned(),
            Field::Nik => self.read_nik(rec, v)?,
            Field::Kk => rec.kk = read_kk(v)?,
            Field::FullName => {
                rec.name = names::key(v);
                if rec.name == 0 {
                    return Err(format!("{v:?} has no letters"));
                }
                rec.full_name = v.to_owned();
            }
            Field::Sex => rec.sex = read_sex(v)?,
            Field::BirthDate => rec.birth = read_date(v)?.to_unix_days() as i32,
            Field::BirthPlace => {}
            Field::Village => rec.village = read_village(v)?,
            Field::Relation => rec.relation = read_relation(v)?,
            Field::Decile => rec.decile = read_decile(v, reading)?,
            Field::CivilServant => rec.civil_servant = read_civil_servant(v, reading)?,
            Field::Components => rec.components = Some(ComponentSet::parse_recorded(v)?.0),
            Field::Programs => {
                let set = self.registry.parse_set(v).map_err(|e| e.to_string())?;
                rec.programs = Some(set.0);
            }
            Field::Deceased => rec.deceased = read_flag(v)?,
            Field::ExtremePoor => rec.extreme_poor = read_flag(v)?,
            Field::Updated => {
                rec.updated = match v {
                    "" => NO_DATE,
                    v => read_date(v)?.to_unix_days() as i32,
                }
            }
        }
        Ok(())
    }

    fn read_nik(&self, rec: &mut Rec, v: &str) -> Result<(), String> {
        let cleaned = without_separators(v);
        if cleaned.len() > 32 {
            return Err(format!("{v:?} is too long for a NIK"));
        }
        match Nik::parse(&cleaned) {
            Ok(nik) => rec.nik = nik.get(),
            Err(e) if self.civil => return Err(format!("invalid NIK {v:?}: {e}")),
            Err(_) => rec.nik_given = cleaned.into_owned(),
        }
        Ok(())
    }
}

/// `v` without the spaces, dots and dashes people type in numbers.
fn without_separators(v: &str) -> Cow<'_, str> {
    if v.bytes().any(|b| matches!(b, b' ' | b'.' | b'-')) {
        Cow::Owned(
            v.chars()
                .filter(|c| !matches!(c, ' ' | '.' | '-'))
                .collect(),
        )
    } else {
        Cow::Borrowed(v)
    }
}

fn read_kk(v: &str) -> Result<u64, String> {
    if v.is_empty() {
        return Ok(0);
    }
    let cleaned: String = v
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    Kk::parse(&cleaned)
        .map(Kk::get)
        .map_err(|e| format!("invalid KK {v:?}: {e}"))
}

/// `v` in upper case, in `buf` (values longer than it are left as they
/// are: no vocabulary word is that long).
fn upper<'b>(v: &'b str, buf: &'b mut [u8; 32]) -> &'b str {
    let Some(dst) = buf.get_mut(..v.len()) else {
        return v;
    };
    dst.copy_from_slice(v.as_bytes());
    dst.make_ascii_uppercase();
    std::str::from_utf8(dst).unwrap_or(v)
}

fn read_sex(v: &str) -> Result<u8, String> {
    match upper(v, &mut [0; 32]) {
        "" => Ok(0),
        "M" | "L" | "1" | "LAKI-LAKI" | "LAKI LAKI" | "LAKI" => Ok(1),
        "F" | "P" | "2" | "PEREMPUAN" | "WANITA" => Ok(2),
        _ => Err(format!(
            "{v:?} is not a sex (M/F, L/P, 1/2, LAKI-LAKI/PEREMPUAN)"
        )),
    }
}

/// `YYYY-MM-DD`, `DD-MM-YYYY` or `DD/MM/YYYY`.
pub fn read_date(v: &str) -> Result<Date, String> {
    let b = v.as_bytes();
    if b.len() == 10 && (b[2] == b'-' || b[2] == b'/') && b[5] == b[2] {
        let num = |r: std::ops::Range<usize>| v.get(r).and_then(|s| s.parse::<u16>().ok());
        if let (Some(d), Some(m), Some(y)) = (num(0..2), num(3..5), num(6..10))
            && let Some(date) = Date::new(y, m as u8, d as u8)
        {
            return Ok(date);
        }
        return Err(format!("{v:?} is not a date"));
    }
    Date::parse_iso(v).map_err(|_| format!("{v:?} is not a date (YYYY-MM-DD or DD-MM-YYYY)"))
}

fn read_village(v: &str) -> Result<u64, String> {
    let digits: String = v.chars().filter(|&c| c != '.').collect();
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits
            .parse()
            .map_err(|_| format!("{v:?} is not a village code"))
    } else {
        Err(format!("{v:?} is not a 10-digit village code"))
    }
}

/// The register's words, the civil register's (SHDK) and BPS's codes.
fn read_relation(v: &str) -> Result<u8, String> {
    let relation = match upper(v, &mut [0; 32]) {
        "" => return Ok(NONE),
        "HEAD" | "KEPALA KELUARGA" | "1" => Relation::Head,
        "SPOUSE" | "ISTRI" | "SUAMI" | "2" => Relation::Spouse,
        "CHILD" | "ANAK" | "3" => Relation::Child,
        "OTHER" | "MENANTU" | "CUCU" | "ORANG TUA" | "MERTUA" | "FAMILI LAIN" | "PEMBANTU"
        | "LAINNYA" | "4" | "5" | "6" | "7" | "8" => Relation::Other,
        _ => return Err(format!("{v:?} is not a relation")),
    };
    Ok(relation.code())
}

fn read_decile(v: &str, reading: Reading) -> Result<u8, String> {
    if v.is_empty() {
        return Ok(0);
    }
    match (reading, v.parse::<u8>()) {
        (Reading::WelfareRank, Ok(r @ 1..=100)) => Ok(r.div_ceil(10)),
        (Reading::WelfareRank, _) => Err(format!("{v:?} is not a welfare rank 1-100")),
        (_, Ok(d @ 1..=10)) => Ok(d),
        _ => Err(format!("{v:?} is not a decile 1-10")),
    }
}

fn read_civil_servant(v: &str, reading: Reading) -> Result<u8, String> {
    match reading {
        Reading::Occupation if v.is_empty() => Ok(NONE),
        Reading::Occupation => {
            let mut buf = [0; 32];
            Ok(u8::from(CIVIL_SERVICE.contains(&upper(v, &mut buf).trim())))
        }
        _ => read_flag(v),
    }
}

fn read_flag(v: &str) -> Result<u8, String> {
    match v {
        "" => Ok(NONE),
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(format!("{v:?} is not 0 or 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader<'a>(schema: &'a Schema, civil: bool) -> RowReader<'a> {
        RowReader {
            file: Path::new("x.csv"),
            schema,
            registry: Registry::builtin(),
            source: 0,
            civil,
        }
    }

    #[test]
    fn headers_are_checked() {
        let f = Path::new("x.csv");
        let s = Schema::parse(
            f,
            "nik,full_name,birth_date,village_code,extra",
            SOURCE_REQUIRED,
        )
        .unwrap();
        assert_eq!(s.ignored, ["extra"]);
        let twice = Schema::parse(
            f,
            "nik,full_name,nik,birth_date,village_code",
            SOURCE_REQUIRED,
        )
        .unwrap_err();
        assert!(
            twice
                .to_string()
                .contains("line 1, nik: column named twice"),
            "{twice}"
        );
        let same = Schema::parse(
            f,
            "decile,desil,full_name,birth_date,village_code",
            SOURCE_REQUIRED,
        )
        .unwrap_err();
        assert!(same.to_string().contains("desil"), "{same}");
        let missing = Schema::parse(f, "nik,full_name", SOURCE_REQUIRED).unwrap_err();
        assert!(missing.to_string().contains("birth_date"), "{missing}");
    }

    #[test]
    fn rows_are_read_and_bad_values_named() {
        let f = Path::new("x.csv");
        let header = "id_x,nik,kk,full_name,sex,birth_date,village_code,welfare_rank,occupation,programs,updated";
        let s = Schema::parse(f, header, SOURCE_REQUIRED).unwrap();
        let r = reader(&s, false);
        let rec = r
            .parse(
                "A1,3201-0157-0890-0001,,Siti,P,17-08-1990,32.01.01.2001,23,PNS,PKH|SEMBAKO,2026-01-02",
                2,
            )
            .unwrap();
        assert_eq!(rec.nik, 3201015708900001);
        assert_eq!(rec.decile, 3);
        assert_eq!(rec.civil_servant, 1);
        assert_eq!(rec.village, 3201012001);
        assert_eq!(rec.sex, 2);
        let bad = r
            .parse("A1,,,Siti,P,31-02-1990,3201012001,,,,", 9)
            .unwrap_err();
        assert_eq!(
            bad.to_string(),
            "x.csv, line 9, birth_date: \"31-02-1990\" is not a date"
        );
        let short = r.parse("A1,,", 3).unwrap_err();
        assert!(
            short.to_string().contains("line 3, row: 3 fields"),
            "{short}"
        );
        let civil = Schema::parse(
            f,
            "nik,kk,full_name,sex,birth_date,village_code",
            CIVIL_REQUIRED,
        )
        .unwrap();
        let c = reader(&civil, true);
        let e = c
            .parse(
                "3201015708900000,3201011503150007,A,F,1990-08-17,3201012001",
                4,
            )
            .unwrap_err();
        assert!(
            e.to_string().starts_with("x.csv, line 4, nik: invalid NIK"),
            "{e}"
        );
    }
}
