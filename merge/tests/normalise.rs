//! The normaliser undoes every spelling variant the generator writes, and
//! keeps the generator's misspellings apart.

use tepat::Sex;
use tepat_gen::names::{self, Lineage, Style};
use tepat_gen::rng::Rng;
use tepat_merge::names::key;

const STYLES: [Style; 16] = [
    Style::Javanese,
    Style::Sundanese,
    Style::Malay,
    Style::Acehnese,
    Style::Batak,
    Style::Minang,
    Style::Balinese,
    Style::Sasak,
    Style::Bugis,
    Style::Buton,
    Style::Minahasa,
    Style::Ambon,
    Style::Ntt,
    Style::Dayak,
    Style::Papuan,
    Style::Chinese,
];

#[test]
fn variants_normalise_to_the_name_and_typos_do_not() {
    let mut rng = Rng::stream(5, 6, 7);
    let (mut typos, mut kept_apart) = (0, 0);
    for style in STYLES {
        for i in 0..400 {
            let lineage = Lineage::new(&mut rng, style);
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            let name = names::full_name(&mut rng, lineage, sex, i % 5);
            for _ in 0..5 {
                let v = names::variant(&mut rng, &name);
                assert_eq!(key(&v), key(&name), "{style:?}: {name:?} written {v:?}");
            }
            let t = names::typo(&mut rng, &name);
            typos += 1;
            kept_apart += u32::from(key(&t) != key(&name));
        }
    }
    // A typo that drops one of a doubled letter normalises away; others
    // must not.
    assert!(kept_apart * 100 >= typos * 95, "{kept_apart} of {typos}");
}
