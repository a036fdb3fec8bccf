//! Indonesian names that follow the region, and the spelling variants the
//! sources write them with.
//!
//! The lists are short and were compiled by hand from general knowledge of
//! naming customs (no name register or survey was used; see
//! `docs/DATA.md`). They are meant to look right and to collide the way
//! real names do (common given names, shared clan names), not to match any
//! real frequency table.
//!
//! Each family draws a naming custom ([`Style`]) from its province's
//! mixture ([`styles_of`]); clan and family names pass from the head to the
//! children, Balinese children are named by birth order.

use tepat::Sex;
use tepat::register::Relation;

use crate::rng::Rng;

/// A naming custom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Javanese: one to three given names, no family name.
    Javanese,
    /// Sundanese (West Java, Banten): one or two given names.
    Sundanese,
    /// Malay and Arabic-origin names (Sumatra, Kalimantan, Betawi, Banjar,
    /// Gorontalo, North Maluku).
    Malay,
    /// Acehnese: Arabic-origin names, some with the titles Teuku / Cut.
    Acehnese,
    /// Batak: given names and the father's clan (marga); a married woman
    /// keeps hers, sometimes written with `BR` (boru).
    Batak,
    /// Minangkabau: given names, no family name.
    Minang,
    /// Balinese: `I` / `NI`, a birth-order name, given names.
    Balinese,
    /// Sasak (Lombok): Arabic-origin names, some with Lalu / Baiq.
    Sasak,
    /// Bugis and Makassar: Arabic-origin and Bugis names, some with Andi.
    Bugis,
    /// Buton and Muna: `LA` / `WA` before the name, some `LA ODE` / `WA ODE`.
    Buton,
    /// Minahasa (North Sulawesi): Christian given names and a family name.
    Minahasa,
    /// Ambon and central Maluku: Christian given names and a family name.
    Ambon,
    /// Flores, Sumba and Timor: Christian given names and a family name.
    Ntt,
    /// Dayak (Kalimantan): given names, some with a family name.
    Dayak,
    /// Papuan: Christian given names and the father's clan.
    Papuan,
    /// Chinese-Indonesian: Indonesian given names and an Indonesianised
    /// family name.
    Chinese,
}

#[rustfmt::skip]
const JAVANESE_M: &[&str] = &[
    "SUTRISNO", "SUPARMAN", "BAMBANG", "JOKO", "SLAMET", "WAHYU", "BUDI", "AGUS", "HARYANTO",
    "SUGENG", "TRI", "EKO", "DWI", "PRASETYO", "SANTOSO", "SUSILO", "WIDODO", "PURNOMO", "SUYANTO",
    "HADI", "SURYADI", "TEGUH", "KUSNADI", "SUDARMO", "PAIJO", "GIYANTO",
];
#[rustfmt::skip]
const JAVANESE_F: &[&str] = &[
    "SRI", "SUMARNI", "SITI", "WATI", "SUPARMI", "RAHAYU", "LESTARI", "WULANDARI", "ENDANG",
    "SUGIARTI", "TUMINAH", "SUWARNI", "YULIANI", "NINGSIH", "DWI", "TRI", "PUJI", "ASTUTI",
    "SUKINEM", "PARMI", "RATNA", "KUSUMAWATI", "HANDAYANI", "PURWANTI",
];
#[rustfmt::skip]
const SUNDANESE_M: &[&str] = &[
    "ASEP", "UJANG", "DADANG", "CECEP", "DEDE", "ENDANG", "AAN", "DENI", "HERI", "YAYAT",
    "SAEPUDIN", "SOBARI", "KOMARUDIN", "JAJANG", "OMAN", "IWAN", "ADE", "DODI", "ENJANG",
    "SUHENDAR",
];
#[rustfmt::skip]
const SUNDANESE_F: &[&str] = &[
    "EUIS", "IIS", "NENG", "ENTIN", "CUCU", "IMAS", "YAYAH", "EDAH", "NUNUNG", "TITIN", "ELIS",
    "DEDEH", "OOM", "ENUNG", "RINI", "NENDEN", "SUSI", "LILIS", "AAS", "YANTI",
];
#[rustfmt::skip]
const ARABIC_M: &[&str] = &[
    "MUHAMMAD", "AHMAD", "ABDUL", "RAHMAN", "HASAN", "HUSEIN", "ALI", "UMAR", "YUSUF", "IBRAHIM",
    "ISMAIL", "RIDWAN", "RIZKI", "FAUZI", "HIDAYAT", "ARIF", "SYAIFUL", "ZAINAL", "IRFAN", "HAMZAH",
    "ILHAM", "NURDIN", "SUKRI", "ABDULLAH", "FIKRI", "HAKIM",
];
#[rustfmt::skip]
const ARABIC_F: &[&str] = &[
    "SITI", "NUR", "FATIMAH", "AISYAH", "KHADIJAH", "AMINAH", "ZAINAB", "MARYAM", "HALIMAH",
    "RAHMAWATI", "NURHAYATI", "FITRI", "HIDAYAH", "KHAIRUNNISA", "SALMA", "NADIA", "ZAHRA", "AULIA",
    "RAHMAH", "SALAMAH", "JUWAIRIAH", "INDAH", "NURUL", "SYARIFAH",
];
#[rustfmt::skip]
const BATAK_M: &[&str] = &[
    "JONGGI", "HORAS", "PARLINDUNGAN", "MARULI", "TUMPAL", "BINSAR", "SAHAT", "JANSEN", "DAULAT",
    "MANGARA", "HOTMAN", "RAJA", "TOGAR", "BONAR", "JOHANNES", "DAVID", "ROBERT", "MARTIN",
];
#[rustfmt::skip]
const BATAK_F: &[&str] = &[
    "TIURMA", "ROSMAWATI", "LAMRIA", "MAULINA", "SONDANG", "NURHAIDA", "RUGUN", "TIOMINAR",
    "DORMAULI", "HOTMAIDA", "ROSLINA", "MARIA", "DEBORA", "ESTER", "LINDA", "MEGAWATI",
];
#[rustfmt::skip]
const BATAK_MARGA: &[&str] = &[
    "SIMANJUNTAK", "SIREGAR", "NASUTION", "LUBIS", "HARAHAP", "SITOMPUL", "HUTAPEA", "SINAGA",
    "SITUMORANG", "PARDEDE", "SIAHAAN", "PANJAITAN", "SIMATUPANG", "MANURUNG", "SIHOMBING",
    "TAMBUNAN", "PASARIBU", "SITORUS", "NAPITUPULU", "SILALAHI", "GINTING", "TARIGAN", "SEMBIRING",
    "PURBA", "SARAGIH", "DAMANIK", "HUTAGALUNG", "MARPAUNG",
];
#[rustfmt::skip]
const MINANG_M: &[&str] = &[
    "RIZAL", "AFRIZAL", "YUSRIZAL", "SYAFRIZAL", "ZULKIFLI", "DASRIL", "ERMAN", "JASMAN",
    "NOVRIADI", "FEBRIANTO", "HENDRI", "DEFRIZAL", "ASRIL", "ZULHENDRI", "BUSTAMI", "DATUK",
];
#[rustfmt::skip]
const MINANG_F: &[&str] = &[
    "NOFRIANTI", "YULIA", "DESMAWATI", "ELFI", "NURHAYATI", "ROSNIDAR", "ERNI", "YENI", "ASMIDAR",
    "FITRIANI", "SYAFNI", "ZURAIDA", "MARLINA", "DEWI", "RAHMI", "ELVI",
];
/// Birth order 1 to 4 (`[male, female]` forms); the fifth child starts over.
const BALINESE_ORDER: [[&[&str]; 2]; 4] = [
    [&["WAYAN", "PUTU", "GEDE"], &["LUH", "PUTU", "WAYAN"]],
    [&["MADE", "KADEK", "NENGAH"], &["MADE", "KADEK"]],
    [&["NYOMAN", "KOMANG"], &["NYOMAN", "KOMANG"]],
    [&["KETUT"], &["KETUT"]],
];
#[rustfmt::skip]
const BALINESE_M: &[&str] = &[
    "SUDARSANA", "ARTAWAN", "SUARJANA", "WIRAWAN", "BUDIASA", "MERTAYASA", "SUASTIKA", "ADNYANA",
    "SUKADANA", "DARMAWAN", "SUPARTA", "WIDIANA", "ARSANA", "SUYASA",
];
#[rustfmt::skip]
const BALINESE_F: &[&str] = &[
    "ARIANI", "SUKERTI", "ASTUTI", "DEWI", "SRI", "SUARNI", "PURNAMI", "WIDIASIH", "SUDIARTINI",
    "ARTINI", "SUMERTI", "RATNADI", "ADNYANI", "SUASTINI",
];
#[rustfmt::skip]
const BUGIS_M: &[&str] = &[
    "BASO", "SYAMSUDDIN", "HASANUDDIN", "RUSDI", "HAMSAH", "AMIRUDDIN", "JUFRI", "SUDIRMAN",
    "MUSTARI", "AMBO", "BAHARUDDIN", "ARIFIN", "TAJUDDIN", "KAHAR",
];
#[rustfmt::skip]
const BUGIS_F: &[&str] = &[
    "BECCE", "HASNAWATI", "NURHAEDAH", "SURIANI", "JUMRIAH", "HARTATI", "MURNI", "SITTI", "HASMAH",
    "NURBAYA", "RATNAWATI", "ASMAWATI", "MULIATI", "KARTINI",
];
#[rustfmt::skip]
const BUTON_NAMES: &[&str] = &[
    "ODE", "HARIS", "SALIMU", "RAMLI", "SAHIRU", "MUHIDI", "ANI", "SARIA", "NURI", "HASRIA", "SITI",
    "MANI", "BAHARI", "ARSAD",
];
#[rustfmt::skip]
const CHRISTIAN_M: &[&str] = &[
    "YOHANES", "YAKOBUS", "MARKUS", "PETRUS", "PAULUS", "YOSEP", "DANIEL", "ELIAS", "FRANSISKUS",
    "STEFANUS", "ALOYSIUS", "MIKAEL", "SAMUEL", "YUNUS", "NIKOLAS", "TOMAS", "ANDREAS",
    "BENEDIKTUS",
];
#[rustfmt::skip]
const CHRISTIAN_F: &[&str] = &[
    "MARIA", "YULIANA", "MARTHA", "ESTER", "DEBORA", "AGUSTINA", "YOHANA", "FRANSINA", "NAOMI",
    "MAGDALENA", "ELISABET", "KRISTINA", "REGINA", "VERONIKA", "ROSALIA", "MARSELINA",
];
#[rustfmt::skip]
const MINAHASA_FAM: &[&str] = &[
    "SONDAKH", "LUMENTUT", "WOWOR", "RUMENGAN", "PANGEMANAN", "TUMBELAKA", "MANDAGI", "KALALO",
    "LASUT", "RONDONUWU", "WALANDOUW", "MANOPPO", "TAMBUWUN", "SUMAMPOUW",
];
#[rustfmt::skip]
const AMBON_FAM: &[&str] = &[
    "PATTINAMA", "LATUCONSINA", "TUHUMURY", "SAHETAPY", "MATULESSY", "LEIWAKABESSY", "TUANAKOTTA",
    "SIAHAYA", "PATTIASINA", "WATTIMENA", "SOPACUA", "LATUHARHARY",
];
#[rustfmt::skip]
const NTT_FAM: &[&str] = &[
    "DA COSTA", "DA SILVA", "FERNANDEZ", "PARERA", "DE ROSARI", "NDOEN", "MANAFE", "NOPE", "BENU",
    "TEFA", "LAKA", "NAI", "BERE", "LAIN",
];
#[rustfmt::skip]
const DAYAK_M: &[&str] = &[
    "AMBUN", "BAHAT", "LIMAN", "TAMANG", "UJAU", "ANYANG", "LAWING", "BILUNG", "DAHLAN", "RINGKAI",
];
#[rustfmt::skip]
const DAYAK_F: &[&str] = &[
    "INDU", "DAYANG", "LUNGAN", "TIPUNG", "BUNGA", "ASOK", "UBUNG", "LENDUNG", "IMOI", "RINA",
];
#[rustfmt::skip]
const DAYAK_FAM: &[&str] = &[
    "NYAHU", "BAHEN", "DJALIL", "TUAH", "LAING", "ANGGEN", "BILAN",
];
#[rustfmt::skip]
const PAPUAN_CLAN: &[&str] = &[
    "WENDA", "KOGOYA", "TABUNI", "WONDA", "YIKWA", "WANIMBO", "KAROBA", "MURIB", "ENUMBI", "PIGAI",
    "MOTE", "TEBAI", "GOBAI", "DOUW", "RUMBIAK", "KAISIEPO", "RUMBEWAS", "MANDACAN", "SAWAKI",
    "WOMSIWOR", "WAROMI", "KAMBU", "FONATABA", "YOMAN",
];
#[rustfmt::skip]
const CHINESE_M: &[&str] = &[
    "HENDRA", "BUDI", "STEVEN", "HARTONO", "SUSANTO", "KURNIAWAN", "TONNY", "WILLIAM", "GUNAWAN",
    "JOHAN", "FELIX", "ANTON", "DJOKO", "SURYA",
];
#[rustfmt::skip]
const CHINESE_F: &[&str] = &[
    "LINA", "SUSAN", "MELINDA", "LILIANA", "YENNY", "SHINTA", "MEILANI", "VIVIAN", "LANNY", "FENNY",
    "WENNY", "NOVITA", "JESSICA", "LIANA",
];
#[rustfmt::skip]
const CHINESE_FAM: &[&str] = &[
    "WIJAYA", "GUNAWAN", "HALIM", "SALIM", "TANOTO", "SANTOSO", "HARTANTO", "SETIAWAN", "TANJUNG",
    "LIMANTO", "LIE", "TAN", "LIM", "ONG", "KWEE", "GO",
];

/// The mixture of naming customs of a province (weights in percent), as a
/// rough picture of who lives where: majority customs, transmigrants, city
/// minorities.
pub fn styles_of(province: u8) -> &'static [(Style, u32)] {
    use Style::*;
    match province {
        11 => &[(Acehnese, 90), (Javanese, 10)],
        12 => &[(Batak, 55), (Malay, 20), (Javanese, 15), (Chinese, 10)],
        13 => &[(Minang, 95), (Javanese, 5)],
        14..=17 => &[(Malay, 65), (Javanese, 28), (Chinese, 4), (Minang, 3)],
        18 => &[(Javanese, 60), (Malay, 30), (Sundanese, 10)],
        19 | 21 => &[(Malay, 60), (Chinese, 15), (Javanese, 20), (Bugis, 5)],
        31 => &[
            (Malay, 30),
            (Javanese, 30),
            (Sundanese, 15),
            (Chinese, 10),
            (Batak, 7),
            (Minang, 8),
        ],
        32 => &[(Sundanese, 80), (Javanese, 15), (Malay, 5)],
        33 | 34 => &[(Javanese, 92), (Malay, 6), (Chinese, 2)],
        35 => &[(Javanese, 88), (Malay, 10), (Chinese, 2)],
        36 => &[(Sundanese, 60), (Javanese, 20), (Malay, 20)],
        51 => &[(Balinese, 88), (Javanese, 10), (Sasak, 2)],
        52 => &[(Sasak, 70), (Malay, 30)],
        53 => &[(Ntt, 95), (Malay, 5)],
        61 => &[(Malay, 40), (Dayak, 35), (Chinese, 15), (Javanese, 10)],
        62 => &[(Dayak, 50), (Malay, 30), (Javanese, 20)],
        63 => &[(Malay, 80), (Javanese, 20)],
        64 | 65 => &[(Malay, 35), (Javanese, 30), (Bugis, 20), (Dayak, 15)],
        71 => &[(Minahasa, 85), (Malay, 15)],
        72 => &[(Malay, 40), (Bugis, 40), (Minahasa, 20)],
        73 | 76 => &[(Bugis, 95), (Javanese, 5)],
        74 => &[(Buton, 60), (Bugis, 40)],
        75 => &[(Malay, 100)],
        81 => &[(Ambon, 70), (Malay, 30)],
        82 => &[(Malay, 70), (Ambon, 30)],
        91..=96 => &[(Papuan, 70), (Javanese, 15), (Bugis, 10), (Ambon, 5)],
        _ => &[(Javanese, 100)],
    }
}

/// Draws a custom from a province's mixture.
pub fn draw_style(rng: &mut Rng, province: u8) -> Style {
    let mix = styles_of(province);
    let total: u32 = mix.iter().map(|m| m.1).sum();
    let mut u = rng.below(u64::from(total)) as u32;
    for &(style, w) in mix {
        if u < w {
            return style;
        }
        u -= w;
    }
    Style::Javanese
}

fn pick<'a>(rng: &mut Rng, list: &[&'a str]) -> &'a str {
    list[rng.index(list.len())]
}

/// What a family passes on: the custom and the family or clan name.
#[derive(Clone, Copy, Debug)]
pub struct Lineage {
    /// The family's naming custom.
    pub style: Style,
    /// The family or clan name, if the custom has one.
    pub family: Option<&'static str>,
}

impl Lineage {
    /// A family of `style`, with a family name drawn when the custom uses one.
    pub fn new(rng: &mut Rng, style: Style) -> Lineage {
        Lineage {
            style,
            family: family_list(style).map(|l| pick(rng, l)),
        }
    }
}

fn family_list(style: Style) -> Option<&'static [&'static str]> {
    match style {
        Style::Batak => Some(BATAK_MARGA),
        Style::Minahasa => Some(MINAHASA_FAM),
        Style::Ambon => Some(AMBON_FAM),
        Style::Ntt => Some(NTT_FAM),
        Style::Papuan => Some(PAPUAN_CLAN),
        Style::Chinese => Some(CHINESE_FAM),
        Style::Dayak => Some(DAYAK_FAM),
        _ => None,
    }
}

fn given_lists(style: Style) -> [&'static [&'static str]; 2] {
    match style {
        Style::Javanese => [JAVANESE_M, JAVANESE_F],
        Style::Sundanese => [SUNDANESE_M, SUNDANESE_F],
        Style::Malay | Style::Acehnese | Style::Sasak => [ARABIC_M, ARABIC_F],
        Style::Batak => [BATAK_M, BATAK_F],
        Style::Minang => [MINANG_M, MINANG_F],
        Style::Balinese => [BALINESE_M, BALINESE_F],
        Style::Bugis => [BUGIS_M, BUGIS_F],
        Style::Buton => [BUTON_NAMES, BUTON_NAMES],
        Style::Minahasa | Style::Ambon | Style::Ntt | Style::Papuan => [CHRISTIAN_M, CHRISTIAN_F],
        Style::Dayak => [DAYAK_M, DAYAK_F],
        Style::Chinese => [CHINESE_M, CHINESE_F],
    }
}

/// Appends `n` distinct given names of `list` to `out`, space-separated.
fn givens(rng: &mut Rng, list: &[&str], n: usize, out: &mut String) {
    let mut chosen = [usize::MAX; 3];
    for k in 0..n.min(3).min(list.len()) {
        let mut i = rng.index(list.len());
        while chosen[..k].contains(&i) {
            i = (i + 1) % list.len();
        }
        chosen[k] = i;
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(list[i]);
    }
}

/// One, two or three given names, most often one or two.
fn count(rng: &mut Rng, one: f64, two: f64) -> usize {
    let u = rng.unit();
    if u < one {
        1
    } else if u < one + two {
        2
    } else {
        3
    }
}

/// A person's full name as the civil register writes it (upper case).
/// `family` is the lineage the person was born into (the spouse's own,
/// for a spouse); `order` is the 0-based birth order among the children.
pub fn full_name(rng: &mut Rng, lineage: Lineage, sex: Sex, order: usize) -> String {
    let female = sex == Sex::Female;
    let [male_list, female_list] = given_lists(lineage.style);
    let list = if female { female_list } else { male_list };
    let mut out = String::with_capacity(32);
    match lineage.style {
        Style::Javanese | Style::Sundanese => {
            if rng.chance(0.2) {
                out.push_str(pick(rng, if female { ARABIC_F } else { ARABIC_M }));
                givens(rng, list, 1, &mut out);
            } else {
                let n = count(rng, 0.55, 0.35);
                givens(rng, list, n, &mut out);
            }
        }
        Style::Balinese => {
            out.push_str(if female { "NI " } else { "I " });
            let forms = BALINESE_ORDER[order % 4][usize::from(female)];
            out.push_str(pick(rng, forms));
            let n = count(rng, 0.6, 0.4);
            givens(rng, list, n, &mut out);
        }
        Style::Buton => {
            out.push_str(if female { "WA" } else { "LA" });
            let n = 1 + usize::from(rng.chance(0.3));
            givens(rng, list, n, &mut out);
        }
        style => {
            let title = match style {
                Style::Acehnese if rng.chance(0.1) => Some(if female { "CUT" } else { "TEUKU" }),
                Style::Sasak if rng.chance(0.15) => Some(if female { "BAIQ" } else { "LALU" }),
                Style::Bugis if rng.chance(0.1) => Some("ANDI"),
                _ => None,
            };
            if let Some(t) = title {
                out.push_str(t);
            }
            let n = match lineage.family {
                Some(_) => count(rng, 0.6, 0.4),
                None => count(rng, 0.3, 0.6),
            };
            givens(rng, list, n, &mut out);
        }
    }
    if let Some(family) = lineage.family {
        if lineage.style == Style::Batak && female && rng.chance(0.5) {
            out.push_str(" BR");
        }
        out.push(' ');
        out.push_str(family);
    }
    out
}

/// The lineage a member's name comes from: children and others take the
/// head's, a spouse brings her or his own.
pub fn member_lineage(rng: &mut Rng, head: Lineage, relation: Relation) -> Lineage {
    match relation {
        Relation::Spouse if head.family.is_some() => Lineage::new(rng, head.style),
        _ => head,
    }
}

/// Token spellings the merge's normaliser treats as one name.
#[rustfmt::skip]
const MUHAMMAD: &[&str] = &[
    "MUHAMMAD", "MUHAMAD", "MOHAMMAD", "MOHAMAD", "MOCHAMMAD", "MOCHAMAD", "MUH", "MOCH", "MHD",
];

/// A spelling the normaliser undoes: the name in other letters, old
/// spelling, other spacing or another way of writing Muhammad or the Batak
/// `BR`.
pub fn variant(rng: &mut Rng, name: &str) -> String {
    let mut out = match rng.below(7) {
        0 => old_spelling(name),
        1 => name.replace(' ', "  "),
        2 => respell_token(rng, name),
        3 => join_words(name),
        4 => name.replace(" BR ", " "),
        5 => title_case(name),
        _ => name.to_lowercase(),
    };
    if out == name {
        out = title_case(name);
    }
    out
}

/// The spelling of before 1972 (Ejaan Soewandi): u → oe, j → dj, c → tj,
/// sy → sj, ny → nj, kh → ch, one left-to-right pass. (Old `j` for
/// today's `y` is left out: a normaliser cannot tell it from today's `j`.)
fn old_spelling(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len() + 4);
    let mut i = 0;
    while i < b.len() {
        let next = b.get(i + 1).copied();
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        match (b[i], next) {
            (b'S', Some(b'Y')) => out.push_str("SJ"),
            (b'N', Some(b'Y')) => out.push_str("NJ"),
            (b'K', Some(b'H')) => out.push_str("CH"),
            _ => {
                match b[i] {
                    b'U' => out.push_str("OE"),
                    b'J' if !matches!(prev, b'D' | b'N' | b'S' | b'T') => out.push_str("DJ"),
                    b'C' if prev != b'T' => out.push_str("TJ"),
                    c => out.push(c as char),
                }
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    out
}

fn respell_token(rng: &mut Rng, name: &str) -> String {
    let mut words: Vec<String> = name.split(' ').map(str::to_owned).collect();
    for w in words.iter_mut() {
        if MUHAMMAD.contains(&w.as_str()) {
            *w = pick(rng, MUHAMMAD).to_owned();
            return words.join(" ");
        }
    }
    // No Muhammad: double a consonant or undouble one (Siti / Sitti), not
    // in the Batak `BR`, which is a word of its own.
    let choices: Vec<usize> = (0..words.len()).filter(|&i| words[i] != "BR").collect();
    let w = choices[rng.index(choices.len())];
    let word = &mut words[w];
    if let Some(i) = (1..word.len()).find(|&i| word.as_bytes()[i] == word.as_bytes()[i - 1]) {
        word.remove(i);
    } else if let Some(i) = (1..word.len()).find(|&i| !b"AEIOU".contains(&word.as_bytes()[i])) {
        let c = word.as_bytes()[i] as char;
        word.insert(i, c);
    }
    words.join(" ")
}

/// The first two words written as one, unless the join could read as an
/// old-spelling pair or a doubled letter (`SAHAT JOHANNES`: `TJ`; `LUNGAN
/// DJALIL`: `NJ` once `DJ` is `J`), which no normaliser can tell apart;
/// then the name in title case.
fn join_words(name: &str) -> String {
    let Some(i) = name.find(' ') else {
        return title_case(name);
    };
    let last = name.as_bytes()[i - 1];
    let next = &name[i + 1..];
    const STARTS: [&str; 10] = ["DJ", "TJ", "OE", "SJ", "NJ", "CH", "KH", "SY", "NY", "BR "];
    let risky = b"TDOSNCK".contains(&last)
        || STARTS.iter().any(|p| next.starts_with(p))
        || next.as_bytes().first() == Some(&last);
    if risky {
        return title_case(name);
    }
    name.replacen(' ', "", 1)
}

fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_string() + &cs.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A misspelling no normaliser can undo: a letter dropped or changed.
pub fn typo(rng: &mut Rng, name: &str) -> String {
    let letters: Vec<usize> = name
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .collect();
    if letters.len() < 4 {
        return format!("{name}X");
    }
    let i = letters[1 + rng.index(letters.len() - 2)];
    let mut out = name.to_owned();
    if rng.chance(0.5) {
        out.remove(i);
    } else {
        let c = out.as_bytes()[i];
        let repl = if c == b'A' { 'I' } else { 'A' };
        out.replace_range(i..i + 1, &repl.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_custom() {
        let mut rng = Rng::stream(1, 2, 3);
        let batak = Lineage {
            style: Style::Batak,
            family: Some("SIREGAR"),
        };
        assert!(full_name(&mut rng, batak, Sex::Male, 0).ends_with(" SIREGAR"));
        let bali = Lineage {
            style: Style::Balinese,
            family: None,
        };
        let name = full_name(&mut rng, bali, Sex::Female, 3);
        assert!(name.starts_with("NI KETUT "), "{name}");
        for province in [11u8, 12, 32, 51, 73, 94] {
            assert!(!styles_of(province).is_empty());
        }
    }

    #[test]
    fn variants_differ_and_typos_change_letters() {
        let mut rng = Rng::stream(1, 2, 4);
        for name in [
            "SITI AMINAH",
            "JOKO SUSILO",
            "MUHAMMAD RIZKI",
            "ROSMAWATI BR SIREGAR",
        ] {
            for _ in 0..20 {
                assert_ne!(variant(&mut rng, name), name);
                let t = typo(&mut rng, name);
                assert_ne!(t, name);
                assert!(!t.contains(','));
            }
        }
        assert_eq!(old_spelling("JOKO SUCIPTO"), "DJOKO SOETJIPTO");
    }
}
