//! A small RFC 4180 line splitter.
//!
//! The library reads three kinds of CSV (the region lists, the register
//! export, change and payee files) and must not pull the `csv` crate into an
//! embedder's build. Records never span lines in these files, so a line-based
//! splitter is enough: fields are separated by commas, a field may be quoted
//! with `"`, and `""` inside quotes is one quote.

use std::borrow::Cow;

/// Splits one CSV line (without its line ending) into `out`, replacing what
/// `out` held. Unquoted fields borrow from `line`; quoted ones are unescaped.
///
/// Fails with a short reason on a stray quote or an unterminated quoted field.
pub fn split_into<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), &'static str> {
    out.clear();
    if !line.contains('"') {
        out.extend(line.split(',').map(Cow::Borrowed));
        return Ok(());
    }
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (field, after) = take_quoted(quoted)?;
            out.push(field);
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(()),
                None => return Err("text after a closing quote"),
            }
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let field = &rest[..end];
            if field.contains('"') {
                return Err("a quote inside an unquoted field");
            }
            out.push(Cow::Borrowed(field));
            if end == rest.len() {
                return Ok(());
            }
            rest = &rest[end + 1..];
        }
    }
}

/// Reads a quoted field's body up to its closing quote; returns the field and
/// what follows the closing quote.
fn take_quoted(s: &str) -> Result<(Cow<'_, str>, &str), &'static str> {
    let mut owned: Option<String> = None;
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                let buf = owned.get_or_insert_with(String::new);
                buf.push_str(&s[start..=i]);
                i += 2;
                start = i;
                continue;
            }
            let field = match owned {
                Some(mut buf) => {
                    buf.push_str(&s[start..i]);
                    Cow::Owned(buf)
                }
                None => Cow::Borrowed(&s[..i]),
            };
            return Ok((field, &s[i + 1..]));
        }
        i += 1;
    }
    Err("a quoted field is not closed")
}

/// Checks a header line (line ending and byte-order mark ignored) against
/// the expected one.
pub fn check_header(line: &str, expected: &str) -> Result<(), String> {
    let line = trim_line_end(line);
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if line == expected {
        Ok(())
    } else {
        Err(format!("header is {line:?}, expected {expected:?}"))
    }
}

/// Strips a trailing `\n` or `\r\n`.
pub fn trim_line_end(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, &'static str> {
        let mut out = Vec::new();
        split_into(line, &mut out)?;
        Ok(out.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            split(r#"1207281007,120728,"Lubuk Pakam I,II""#).unwrap(),
            ["1207281007", "120728", "Lubuk Pakam I,II"]
        );
        assert_eq!(split(r#""say ""hi""",x"#).unwrap(), [r#"say "hi""#, "x"]);
        assert_eq!(split("").unwrap(), [""]);
    }

    #[test]
    fn malformed_quotes_are_errors() {
        assert!(split(r#""open,b"#).is_err());
        assert!(split(r#"a"b,c"#).is_err());
        assert!(split(r#""a"b,c"#).is_err());
    }

    #[test]
    fn line_endings() {
        assert_eq!(trim_line_end("a,b\r\n"), "a,b");
        assert_eq!(trim_line_end("a,b\n"), "a,b");
        assert_eq!(trim_line_end("a,b"), "a,b");
    }
}
