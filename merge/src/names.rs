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
    BUFFERS.with_borrow_mut(|b| {
        b.normalise(name);
        String::from_utf8_lossy(&b.out).into_owned()
    })
}

/// A 64-bit key of the normal form (0 for a name with no letters).
pub fn key(name: &str) -> u64 {
    BUFFERS.with_borrow_mut(|b| {
        b.normalise(name);
        if b.out.is_empty() {
            0
        } else {
            xxh3_64(&b.out) | 1
        }
    })
}

thread_local! {
    // Normalising runs once per row of every input: reuse the buffers.
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

#[derive(Default)]
struct Buffers {
    out: Vec<u8>,
    word: Vec<u8>,
    first: Vec<u8>,
    second: Vec<u8>,
}

impl Buffers {
    fn normalise(&mut self, name: &str) {
        self.out.clear();
        let mut chars = name.chars().peekable();
        while chars.peek().is_some() {
            self.word.clear();
            for c in chars.by_ref() {
                let c = fold_accent(c).to_ascii_uppercase();
                if c.is_ascii_uppercase() {
                    self.word.push(c as u8);
                } else if !self.word.is_empty() {
                    break;
                }
            }
            self.push_word();
        }
        // Joining may double a letter (`NUR RAHMA`).
        self.out.dedup();
    }

    /// Appends the current word's normal form to `out`.
    fn push_word(&mut self) {
        match self.word.as_slice() {
            b"" | b"BR" | b"BORU" => {}
            w if w[0] == b'M' && MUHAMMAD.iter().any(|m| m.as_bytes() == w) => {
                self.out.extend_from_slice(b"MUHAMAD")
            }
            // Old spellings are within a word: rewriting after the words
            // are joined would read "SAHAT JOHANNES" as "...TJ...".
            w => {
                self.first.clear();
                pass(w, &mut self.first, |pair| match pair {
                    b"OE" => Some(b"U"),
                    b"DJ" => Some(b"J"),
                    b"TJ" => Some(b"C"),
                    _ => None,
                });
                self.second.clear();
                pass(&self.first, &mut self.second, |pair| match pair {
                    b"SJ" => Some(b"SY"),
                    b"NJ" => Some(b"NY"),
                    b"CH" => Some(b"KH"),
                    _ => None,
                });
                self.second.dedup();
                self.out.extend_from_slice(&self.second);
            }
        }
    }
}

/// One left-to-right pass replacing the letter pairs `replace` knows.
fn pass(word: &[u8], out: &mut Vec<u8>, replace: impl Fn(&[u8]) -> Option<&'static [u8]>) {
    let mut i = 0;
    while i < word.len() {
        match word.get(i..i + 2).and_then(&replace) {
            Some(r) => {
                out.extend_from_slice(r);
                i += 2;
            }
            None => {
                out.push(word[i]);
                i += 1;
            }
        }
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
