//! A line-based CSV splitter (RFC 4180 without line breaks inside fields):
//! fields separated by commas, optionally quoted with `"`, `""` inside
//! quotes for one quote.

use std::borrow::Cow;

/// Splits `line` (without its line ending) into `out`. Fails with a short
/// reason on a stray or unclosed quote.
pub fn split<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), &'static str> {
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

fn take_quoted(s: &str) -> Result<(Cow<'_, str>, &str), &'static str> {
    let mut owned = String::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                owned.push_str(&s[start..=i]);
                i += 2;
                start = i;
                continue;
            }
            let field = if owned.is_empty() && start == 0 {
                Cow::Borrowed(&s[..i])
            } else {
                owned.push_str(&s[start..i]);
                Cow::Owned(owned)
            };
            return Ok((field, &s[i + 1..]));
        }
        i += 1;
    }
    Err("a quoted field is not closed")
}

/// Quotes a field for output when it needs it.
pub fn field(value: &str) -> Cow<'_, str> {
    if value.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(line: &str) -> Result<Vec<String>, &'static str> {
        let mut out = Vec::new();
        split(line, &mut out)?;
        Ok(out.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn quotes_and_commas() {
        assert_eq!(parts("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            parts("\"a,b\",\"say \"\"hi\"\"\",c").unwrap(),
            ["a,b", "say \"hi\"", "c"]
        );
        assert!(parts("\"open,b").is_err());
        assert!(parts("a\"b,c").is_err());
        assert_eq!(field("SITI, S.PD"), "\"SITI, S.PD\"");
        assert_eq!(parts(&field("x\"y")).unwrap(), ["x\"y"]);
    }
}
