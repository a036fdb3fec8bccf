//! Register rows, change rows and registry files from arbitrary text: a
//! clear error or a value, never a panic; a parsed register row writes back
//! to a row that parses to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tepat::Registry;
use tepat::change::ChangeParser;
use tepat::register::RowParser;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let registry = Registry::builtin();
    let parser = RowParser::new(registry);
    for line in text.lines() {
        if let Ok(record) = parser.parse(line) {
            let mut out = Vec::new();
            record.write_csv(registry, &mut out).unwrap();
            let again = parser.parse(std::str::from_utf8(&out).unwrap()).unwrap();
            assert_eq!(again, record);
        }
        let _ = ChangeParser::new(registry).parse(line);
    }
    let _ = RowParser::check_header(text);
    let _ = Registry::from_toml_str(text, None);
});
