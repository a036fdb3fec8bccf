//! A small RFC 4180 line splitter, and the numbered-line reader every CSV
//! input of the library goes through.
//!
//! The library reads four kinds of CSV (the region lists, the register
//! export, change and payee files) and must not pull the `csv` crate into an
//! embedder's build. Records never span lines in these files, so a line-based
//! splitter is enough: fields are separated by commas, a field may be quoted
//! with `"`, and `""` inside quotes is one quote.

use std::borrow::Cow;
use std::io::BufRead;

use crate::error::{Error, Result};

/// The lines of a CSV input after its header, numbered from 2, with the
/// line ending (`\n` or `\r\n`) removed. Reading the header strips a UTF-8
/// byte-order mark. A line that is not UTF-8 is handed out as such (with
/// the byte where it goes wrong), so that the caller treats it as one bad
/// row instead of stopping the file.
pub(crate) struct Lines<R> {
    reader: R,
    file: String,
    raw: Vec<u8>,
    line_no: u64,
    /// xxh3 of every byte read so far, line endings included.
    digest: xxhash_rust::xxh3::Xxh3,
}

/// One line of a [`Lines`] reader.
pub(crate) enum Line<'a> {
    /// The line's text.
    Text(&'a str),
    /// The line is not UTF-8: the text with the bad bytes replaced, and the
    /// 1-based byte where the first bad sequence starts.
    NotUtf8(Cow<'a, str>, usize),
}

impl Line<'_> {
    /// The line's text, bad bytes replaced.
    pub(crate) fn text(&self) -> &str {
        match self {
            Line::Text(t) => t,
            Line::NotUtf8(t, _) => t,
        }
    }

    /// Why the line cannot be read as text, if it cannot.
    pub(crate) fn utf8_error(&self) -> Option<String> {
        match self {
            Line::Text(_) => None,
            Line::NotUtf8(_, byte) => Some(format!("not valid UTF-8 at byte {byte} of the line")),
        }
    }
}

impl<R: BufRead> Lines<R> {
    /// Reads the header line of `reader` (named `file` in errors) and
    /// returns it without its byte-order mark and line ending. An empty
    /// input is an error: a CSV file has a header.
    pub(crate) fn open(mut reader: R, file: &str) -> Result<(Lines<R>, String)> {
        let mut raw = Vec::new();
        let read = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| Error::io(file, e))?;
        if read == 0 {
            return Err(Error::Input {
                file: file.to_owned(),
                message: "empty file: no header".into(),
            });
        }
        let mut digest = xxhash_rust::xxh3::Xxh3::new();
        digest.update(&raw);
        let header = String::from_utf8_lossy(&raw);
        // Every carriage return before the line feed goes: a header saved
        // by an editor that doubled them still names its columns.
        let header = header.trim_end_matches('\n').trim_end_matches('\r');
        let header = header.trim_start_matches('\u{feff}').to_owned();
        let lines = Lines {
            reader,
            file: file.to_owned(),
            raw,
            line_no: 1,
            digest,
        };
        Ok((lines, header))
    }

    /// The xxh3-64 of every byte read so far (the whole input once
    /// [`Lines::next_line`] has said `None`): what recognises a file applied
    /// before.
    pub(crate) fn digest(&self) -> u64 {
        self.digest.digest()
    }

    /// The next line and its 1-based number, `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, Line<'_>)>> {
        self.raw.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.raw)
            .map_err(|e| Error::Input {
                file: self.file.clone(),
                message: format!("line {}: {e}", self.line_no + 1),
            })?;
        if read == 0 {
            return Ok(None);
        }
        self.digest.update(&self.raw);
        self.line_no += 1;
        if self.raw.last() == Some(&b'\n') {
            self.raw.pop();
        }
        if self.raw.last() == Some(&b'\r') {
            self.raw.pop();
        }
        let line = match std::str::from_utf8(&self.raw) {
            Ok(text) => Line::Text(text),
            Err(e) => Line::NotUtf8(String::from_utf8_lossy(&self.raw), e.valid_up_to() + 1),
        };
        Ok(Some((self.line_no, line)))
    }
}

/// A field as CSV writes it: quoted (inner quotes doubled) when it holds a
/// comma, a quote or a line break, as it is otherwise.
pub fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Splits one CSV line (without its line ending) into `out`, replacing what
/// `out` held. Unquoted fields borrow from `line`; quoted ones are unescaped.
///
/// Fails with a short reason on a stray quote or an unterminated quoted field.
pub fn split_into<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), &'static str> {
    split_by(line, ',', out)
}

/// [`split_into`] with another separator (`;`, as spreadsheets set to a
/// decimal comma write CSV).
pub fn split_by<'a>(
    line: &'a str,
    sep: char,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), &'static str> {
    out.clear();
    if !line.contains('"') {
        out.extend(line.split(sep).map(Cow::Borrowed));
        return Ok(());
    }
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (field, after) = take_quoted(quoted)?;
            out.push(field);
            match after.strip_prefix(sep) {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(()),
                None => return Err("text after a closing quote"),
            }
        } else {
            let end = rest.find(sep).unwrap_or(rest.len());
            let field = &rest[..end];
            if field.contains('"') {
                return Err("a quote inside an unquoted field");
            }
            out.push(Cow::Borrowed(field));
            if end == rest.len() {
                return Ok(());
            }
            rest = &rest[end + sep.len_utf8()..];
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
