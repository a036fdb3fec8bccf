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
    let mut out = Vec::with_capacity(name.len());
    let mut word = Vec::with_capacity(32);
    let mut scratch = Vec::with_capacity(32);
    let mut chars = name.chars().peekable();
    while chars.peek().is_some() {
        word.clear();
        for c in chars.by_ref() {
            let c = fold_accent(c).to_ascii_uppercase();
            if c.is_ascii_uppercase() {
                word.push(c as u8);
            } else if !word.is_empty() {
                break;
            }
        }
        push_word(&word, &mut scratch, &mut out);
    }
    // Joining may double a letter (`NUR RAHMA`).
    collapse_in_place(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends one upper-case word's normal form to `out`.
fn push_word(word: &[u8], scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    match word {
        b"" | b"BR" | b"BORU" => {}
        w if w[0] == b'M' && MUHAMMAD.iter().any(|m| m.as_bytes() == w) => {
            out.extend_from_slice(b"MUHAMAD")
        }
        // Old spellings are within a word: rewriting after the words are
        // joined would read "SAHAT JOHANNES" as "...TJ...".
        w => {
            scratch.clear();
            rewrite(w, scratch);
            collapse_in_place(scratch);
            out.extend_from_slice(scratch);
        }
    }
}

/// A 64-bit key of the normal form (0 for a name with no letters).
pub fn key(name: &str) -> u64 {
    let n = normalise(name);
    if n.is_empty() { 0 } else { xxh3_64(n.as_bytes()) | 1 }
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

fn collapse_in_place(s: &mut Vec<u8>) {
    s.dedup();
}

/// The two left-to-right passes: `OE`→`U`, `DJ`→`J`, `TJ`→`C`, then
/// `SJ`→`SY`, `NJ`→`NY`, `CH`→`KH`.
fn rewrite(word: &[u8], out: &mut Vec<u8>) {
    let mut first = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        match (word[i], word.get(i + 1)) {
            (b'O', Some(b'E')) => first.push(b'U'),
            (b'D', Some(b'J')) => first.push(b'J'),
            (b'T', Some(b'J')) => first.push(b'C'),
            (c, _) => {
                first.push(c);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let mut i = 0;
    while i < first.len() {
        match (first[i], first.get(i + 1)) {
            (b'S', Some(b'J')) => out.extend_from_slice(b"SY"),
            (b'N', Some(b'J')) => out.extend_from_slice(b"NY"),
            (b'C', Some(b'H')) => out.extend_from_slice(b"KH"),
            (c, _) => {
                out.push(c);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
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
