//! Just enough JSON writing for one flat object per line (the batch
//! verifier's and the audit's JSON lines), so that the library needs no
//! JSON crate. NIKs and KKs go in as strings: they exceed 2^53.

/// A flat JSON object being written.
pub(crate) struct Object(String);

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Object {
    /// An empty object.
    pub(crate) fn new() -> Object {
        Object(String::from("{"))
    }
    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        escape(k, &mut self.0);
        self.0.push(':');
    }
    pub(crate) fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        escape(v, &mut self.0);
    }
    pub(crate) fn num(&mut self, k: &str, v: u64) {
        self.key(k);
        self.0.push_str(&v.to_string());
    }
    pub(crate) fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.0.push_str(if v { "true" } else { "false" });
    }
    pub(crate) fn list<'a>(&mut self, k: &str, items: impl Iterator<Item = &'a str>) {
        self.key(k);
        self.0.push('[');
        for (i, it) in items.enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            escape(it, &mut self.0);
        }
        self.0.push(']');
    }
    /// A string field, or `null`.
    pub(crate) fn opt_str(&mut self, k: &str, v: Option<&str>) {
        match v {
            Some(v) => self.str(k, v),
            None => {
                self.key(k);
                self.0.push_str("null");
            }
        }
    }

    /// A number field, or `null`.
    pub(crate) fn opt_num(&mut self, k: &str, v: Option<u64>) {
        match v {
            Some(v) => self.num(k, v),
            None => {
                self.key(k);
                self.0.push_str("null");
            }
        }
    }

    pub(crate) fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}
