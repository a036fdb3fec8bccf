//! Name normalisation: two spellings of one name get one key.
//!
//! Civil-register and social-register names differ in ways that carry no
//! information: case, spacing and punctuation, the spelling of before 1972
//! (*oe* for *u*, *dj* for *j*, *tj* for *c*, *sj* for *sy*, *nj* for *ny*,
//! *ch* for *kh*), doubled letters (*Sitti*, *Muhammad*), the many ways of
//! writing Muhammad (*Mochammad*, *Moh.*, *Muh*, *Mhd*), and the Batak
//! *br* / *boru* before a woman's clan name. [`normalise`] removes exactly
//! these and nothing else: a dropped or changed letter still makes another
//! name, so that a typo cannot join two people.
//!
//! The steps, in order: upper-case ASCII letters, everything else a word
//! break; drop the words `BR` and `BORU`, write every Muhammad form as
//! `MUHAMAD`; in each other word `OE`→`U`, `DJ`→`J`, `TJ`→`C` in one
//! left-to-right pass, then `SJ`→`SY`, `NJ`→`NY`, `CH`→`KH`, then collapse
//! doubled letters; join the words and collapse once more (so `NUR RAHMA`
//! is `NURAHMA`, like `NURRAHMA`).
//!
//! Known limit: two words written as one where the join makes one of those
//! pairs (`SAHATJOHANNES`) get another key than the two words.

use xxhash_rust::xxh3::xxh3_64;

/// Spellings of Muhammad (after upper-casing, punctuation removed).
const MUHAMMAD: &[&str] = &[
    "MUHAMMAD",
    "MUHAMAD",
    "MOHAMMAD",
    "MOHAMAD",
    "MOCHAMMAD",
    "MOCHAMAD",
    "MUHAMMED",
    "MOHAMMED",
    "MOHAMED",
    "MUH",
    "MOH",
    "MOCH",
    "MHD",
    "MUHD",
];

/// The normal form of a name (upper-case ASCII letters only).
pub fn normalise(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            let c = fold_accent(c).to_ascii_uppercase();
            if c.is_ascii_uppercase() { c } else { ' ' }
        })
        .collect();
    let mut joined = String::with_capacity(upper.len());
    for word in upper.split_ascii_whitespace() {
        match word {
            "BR" | "BORU" => {}
            w if MUHAMMAD.contains(&w) => joined.push_str("MUHAMAD"),
            // Old spellings are within a word: rewriting after the words
            // are joined would read "SAHAT JOHANNES" as "...TJ...".
            w => joined.push_str(&respell(w)),
        }
    }
    collapse(&joined)
}

fn respell(word: &str) -> String {
    let first = rewrite(word, &[("OE", 'U'), ("DJ", 'J'), ("TJ", 'C')]);
    let second = rewrite2(&first, &[("SJ", "SY"), ("NJ", "NY"), ("CH", "KH")]);
    collapse(&second)
}

/// A 64-bit key of the normal form (0 for a name with no letters).
pub fn key(name: &str) -> u64 {
    let n = normalise(name);
    if n.is_empty() {
        0
    } else {
        xxh3_64(n.as_bytes()) | 1
    }
}

/// Latin letters with accents as their base letter (names typed on phones).
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        c => c,
    }
}

fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// Replaces each two-letter pair by one letter, left to right.
fn rewrite(s: &str, pairs: &[(&str, char)]) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let pair = b.get(i..i + 2);
        match pairs.iter().find(|(p, _)| Some(p.as_bytes()) == pair) {
            Some(&(_, c)) => {
                out.push(c);
                i += 2;
            }
            None => {
                out.push(b[i] as char);
                i += 1;
            }
        }
    }
    out
}

/// Replaces each two-letter pair by another pair, left to right.
fn rewrite2(s: &str, pairs: &[(&str, &str)]) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let pair = b.get(i..i + 2);
        match pairs.iter().find(|(p, _)| Some(p.as_bytes()) == pair) {
            Some(&(_, r)) => {
                out.push_str(r);
                i += 2;
            }
            None => {
                out.push(b[i] as char);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_agree() {
        let same = [
            ("Soekarno", "SUKARNO"),
            ("DJOKO  SOETJIPTO", "Joko Sucipto"),
            ("Moch. Sjahrir", "MUHAMMAD SYAHRIR"),
            ("MUH NJOMAN", "mohamad nyoman"),
            ("SITTI AMINAH", "Siti Aminah"),
            ("ROSMAWATI BR SIREGAR", "Rosmawati Siregar"),
            ("NUR HIDAYAH", "NURHIDAYAH"),
            ("Ma'ruf", "MARUF"),
            ("Chairul", "KHAIRUL"),
            ("René", "RENE"),
        ];
        for (a, b) in same {
            assert_eq!(normalise(a), normalise(b), "{a} / {b}");
            assert_eq!(key(a), key(b));
        }
    }

    #[test]
    fn other_names_stay_apart() {
        let apart = [
            ("SITI AMINAH", "SITI AMINA"),
            ("JOKO", "YOKO"),
            ("BUDI SANTOSO", "BUDI SANTOSA"),
            ("WAYAN", "MADE"),
        ];
        for (a, b) in apart {
            assert_ne!(key(a), key(b), "{a} / {b}");
        }
        assert_eq!(key("..."), 0);
    }
}
