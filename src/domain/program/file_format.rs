//! The registry's TOML file format (`data/programs.toml` is the built-in
//! one), read with the position of every value so that an error names the
//! file, line, column and field.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    policy: Option<PolicyFile>,
    #[serde(default)]
    program: Vec<Spanned<ProgramFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    warn: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    code: String,
    name: String,
    unit: Unit,
    period: PeriodKind,
    #[serde(default)]
    eligibility: EligibilityFile,
    #[serde(default)]
    excludes: Vec<ExclusionFile>,
    #[serde(default)]
    window: Option<Window>,
    #[serde(default)]
    amount: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EligibilityFile {
    decile: Option<[u8; 2]>,
    age: Option<[u16; 2]>,
    #[serde(default)]
    any_of: Vec<String>,
    #[serde(default)]
    all_of: Vec<String>,
    civil_servants: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExclusionFile {
    program: String,
    level: ExclusionLevel,
}

struct Context<'a> {
    text: &'a str,
    file: Option<&'a Path>,
}

impl Context<'_> {
    fn error(&self, offset: Option<usize>, field: Option<String>, message: String) -> Error {
        let (line, column) = match offset {
            Some(o) => {
                let before = &self.text[..o.min(self.text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        Error::Registry {
            file: self.file.map(Path::to_path_buf),
            line,
            column,
            field,
            message,
        }
    }

    /// Names the field at a byte offset from the text around it: the
    /// enclosing `[[program]]` (counted) or `[table]`, and the key on
    /// the offset's line.
    fn field_at(&self, offset: usize, missing: Option<&str>) -> Option<String> {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line = &self.text[line_start..line_end];
        let mut table = String::new();
        let mut programs = 0usize;
        for l in self.text[..line_start].lines() {
            let l = l.trim();
            if l == "[[program]]" {
                programs += 1;
                table = format!("program[{}]", programs - 1);
            } else if let Some(name) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                table = name.trim_matches(['[', ']']).trim().to_owned();
            }
        }
        if line.trim() == "[[program]]" {
            table = format!("program[{programs}]");
        }
        let key = missing.map(str::to_owned).or_else(|| {
            let (k, _) = line.split_once('=')?;
            let k = k.trim();
            (!k.is_empty() && !k.starts_with('[')).then(|| k.to_owned())
        });
        match (table.is_empty(), key) {
            (true, None) => None,
            (true, Some(k)) => Some(k),
            (false, None) => Some(table),
            (false, Some(k)) => Some(format!("{table}.{k}")),
        }
    }
}

pub(super) fn parse(text: &str, file: Option<&Path>) -> Result<Registry> {
    let cx = Context { text, file };
    let parsed: RegistryFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_owned();
        let offset = e.span().map(|s| s.start);
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = offset.and_then(|o| cx.field_at(o, missing));
        cx.error(offset, field, message)
    })?;
    if parsed.program.len() > MAX_PROGRAMS {
        return Err(Error::TooManyPrograms {
            limit: MAX_PROGRAMS,
            got: parsed.program.len(),
        });
    }
    let codes: Vec<&str> = parsed
        .program
        .iter()
        .map(|p| p.get_ref().code.as_str())
        .collect();
    let mut programs = Vec::with_capacity(codes.len());
    for (i, spanned) in parsed.program.iter().enumerate() {
        programs.push(program_of(&cx, i, spanned, &codes)?);
    }
    let policy = match parsed.policy {
        Some(p) => policy_of(&cx, p)?,
        None => Policy::default(),
    };
    Registry::new(programs, policy).map_err(|e| match e {
        Error::Registry { field, message, .. } => cx.error(None, field, message),
        other => other,
    })
}

/// The `[policy]` table: its `warn` codes, each checked where it is written.
fn policy_of(cx: &Context<'_>, p: PolicyFile) -> Result<Policy> {
    let mut warn = Vec::with_capacity(p.warn.len());
    for (i, code) in p.warn.into_iter().enumerate() {
        let at = code.span().start;
        let code = code.into_inner();
        check_warn(&code).map_err(|m| cx.error(Some(at), Some(format!("policy.warn[{i}]")), m))?;
        warn.push(code);
    }
    Ok(Policy { warn })
}

/// The `i`-th `[[program]]` table, checked against the codes of all.
fn program_of(
    cx: &Context<'_>,
    i: usize,
    spanned: &Spanned<ProgramFile>,
    codes: &[&str],
) -> Result<Program> {
    let at = spanned.span().start;
    let p = spanned.get_ref();
    let fail = |field: &str, message: String| {
        cx.error(Some(at), Some(format!("program[{i}].{field}")), message)
    };
    check_code(&p.code).map_err(|m| fail("code", m))?;
    if codes[..i].contains(&p.code.as_str()) {
        return Err(fail("code", format!("code {} appears twice", p.code)));
    }
    let mut excludes = Vec::new();
    for (j, x) in p.excludes.iter().enumerate() {
        let id = codes
            .iter()
            .position(|c| *c == x.program)
            .filter(|k| *k != i)
            .and_then(ProgramId::new)
            .ok_or_else(|| {
                fail(
                    &format!("excludes[{j}].program"),
                    format!("{:?} is not another program of this registry", x.program),
                )
            })?;
        excludes.push(Exclusion {
            program: id,
            level: x.level,
        });
    }
    Ok(Program {
        code: p.code.clone(),
        name: p.name.clone(),
        unit: p.unit,
        period: p.period,
        eligibility: eligibility_of(&p.eligibility, &fail)?,
        excludes,
        window: p.window.unwrap_or_default(),
        entitlement: match &p.amount {
            Some(a) => Some(entitlement_of(a.get_ref()).map_err(|m| {
                cx.error(
                    Some(a.span().start),
                    Some(format!("program[{i}].amount")),
                    m,
                )
            })?),
            None => None,
        },
    })
}

/// A value as an error message shows it.
fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::String(s) => format!("{s:?}"),
        other => format!("a {}", other.type_str()),
    }
}

/// A program's `amount`: a number of rupiah per period, or
/// `{ per_member = { component = rupiah, ... }, max_members = N }`.
fn entitlement_of(value: &toml::Value) -> std::result::Result<Entitlement, String> {
    const FORM: &str = "an amount is a number of rupiah per period, or \
                        { per_member = { component = rupiah, ... }, max_members = N }";
    let rupiah = |v: &toml::Value, what: &str| match v.as_integer() {
        Some(n) if n > 0 => Ok(n as u64),
        _ => Err(format!(
            "{what}: {} is not a positive number of rupiah",
            shown(v)
        )),
    };
    let e = match value {
        toml::Value::Integer(_) => Entitlement::Flat(rupiah(value, "amount")?),
        toml::Value::Table(t) => {
            let mut amounts = Vec::new();
            let mut max_members = None;
            for (key, v) in t {
                match key.as_str() {
                    "per_member" => {
                        let per = v.as_table().ok_or_else(|| FORM.to_owned())?;
                        for (name, a) in per {
                            let c = Component::from_name(name)
                                .ok_or_else(|| format!("unknown component {name:?}"))?;
                            amounts.push((c, rupiah(a, name)?));
                        }
                    }
                    "max_members" => {
                        let n = v.as_integer().and_then(|n| u16::try_from(n).ok());
                        max_members = Some(n.ok_or_else(|| {
                            format!("max_members: {} is not a number of members", shown(v))
                        })?);
                    }
                    other => return Err(format!("unknown key {other:?}; {FORM}")),
                }
            }
            Entitlement::PerComponent {
                amounts,
                max_members,
            }
        }
        _ => return Err(FORM.to_owned()),
    };
    e.validate()?;
    Ok(e)
}

/// A program's `eligibility` table; `fail(field, message)` makes the error.
fn eligibility_of(
    e: &EligibilityFile,
    fail: &impl Fn(&str, String) -> Error,
) -> Result<Eligibility> {
    let decile = match e.decile {
        Some([lo, hi]) if (1..=10).contains(&lo) && (lo..=10).contains(&hi) => Some((lo, hi)),
        Some([lo, hi]) => {
            let message = format!("[{lo}, {hi}] is not a range within 1-10");
            return Err(fail("eligibility.decile", message));
        }
        None => None,
    };
    let age = match e.age {
        Some([lo, hi]) if lo <= hi => Some((lo, hi)),
        Some([lo, hi]) => {
            return Err(fail(
                "eligibility.age",
                format!("[{lo}, {hi}] is not a range"),
            ));
        }
        None => None,
    };
    let components = |field: &str, names: &[String]| {
        names.iter().try_fold(ComponentSet(0), |set, n| {
            Component::from_name(n)
                .map(|c| set.with(c))
                .ok_or_else(|| fail(field, format!("unknown component {n:?}")))
        })
    };
    Ok(Eligibility {
        decile,
        age,
        any_of: components("eligibility.any_of", &e.any_of)?,
        all_of: components("eligibility.all_of", &e.all_of)?,
        civil_servants_allowed: e.civil_servants.unwrap_or(true),
    })
}
