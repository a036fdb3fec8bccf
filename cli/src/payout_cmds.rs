//! `tepat check`, `claim`, `reverse`, `apply`, `audit`: the payout point's
//! and the register keeper's commands on a store.

use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use tepat::{ClaimRequest, Registry, Verdict};
use tepat_server::verdict_json;

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The NIK.
    nik: String,
    /// The program code (PKH, SEMBAKO, ...).
    program: String,
    /// The period: 2026-11, 2026-Q4, 2026 or once.
    period: String,
}

/// Arguments of `tepat claim`.
#[derive(clap::Args)]
pub struct ClaimArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// The request id; a retry reuses it and gets the first outcome.
    #[arg(long, required_unless_present = "batch")]
    request: Option<String>,
    /// Claim every row of this payee list (CSV with nik, program, period,
    /// the request id column and optionally amount): idempotent per row, so
    /// a rerun pays nobody twice. The outcomes go to `--out`.
    #[arg(long, conflicts_with_all = ["request", "amount", "json"])]
    batch: Option<PathBuf>,
    /// With --batch: the column that holds each row's request id.
    #[arg(long, default_value = "request_id", requires = "batch")]
    request_column: String,
    /// With --batch: where the outcomes go (default: the list's name with
    /// `.claims.csv`); each row is written once its claim is durable.
    #[arg(long, requires = "batch")]
    out: Option<PathBuf>,
    /// The amount paid, in whole rupiah.
    #[arg(long)]
    amount: Option<u64>,
    /// The operator or device that pays (recorded with the claim).
    #[arg(long, default_value = "")]
    operator: String,
    /// Free text kept with the claim.
    #[arg(long, default_value = "")]
    meta: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Reserve the claim's key in this central ledger (PostgreSQL URL)
    /// before paying it, as `tepat serve --ledger` does. Needs --point; not
    /// with --batch.
    #[arg(long, requires = "point", conflicts_with = "batch")]
    ledger: Option<String>,
    /// This payout point's id in the central ledger.
    #[arg(long, requires = "ledger")]
    point: Option<String>,
    /// The NIK.
    #[arg(required_unless_present = "batch")]
    nik: Option<String>,
    /// The program code.
    #[arg(required_unless_present = "batch")]
    program: Option<String>,
    /// The period.
    #[arg(required_unless_present = "batch")]
    period: Option<String>,
}

/// Arguments of `tepat reverse`.
#[derive(clap::Args)]
pub struct ReverseArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// This reversal's request id.
    #[arg(long)]
    request: String,
    /// Why the payout failed.
    #[arg(long, default_value = "")]
    reason: String,
    /// The operator or device that reverses (recorded with the reversal).
    #[arg(long, default_value = "")]
    operator: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The request id of the claim to reverse.
    original: String,
}

/// Arguments of `tepat apply`.
#[derive(clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// The change file (CSV).
    changes: PathBuf,
}

/// Arguments of `tepat audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Only entries of this NIK.
    #[arg(long)]
    nik: Option<String>,
    /// Only entries of this request id.
    #[arg(long)]
    request: Option<String>,
    /// Only claims and reversals of this period (2026-Q4, 2026-11, ...).
    #[arg(long)]
    period: Option<String>,
    /// Only entries recorded on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = crate::nik::parse_date)]
    from: Option<tepat::Date>,
    /// Only entries recorded before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = crate::nik::parse_date)]
    to: Option<tepat::Date>,
    /// At a keyed point's store, print the NIKs and KKs behind the
    /// pseudonyms (needs the point's `--key`: the register keeper's).
    #[arg(long, requires = "key")]
    reveal: bool,
}

/// The `reasons` array of the JSON output: a stable `code` each, whether it
/// blocks, and its details (the service's, so that the two never differ).
pub fn reasons_json(registry: &Registry, v: &Verdict) -> Value {
    verdict_json::reasons(registry, v)
}

/// The reasons array as one readable line.
pub fn readable_reasons(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let code = r["code"].as_str().unwrap_or("?");
            let mut s = code.to_owned();
            if r["blocks"] == Value::Bool(false) {
                s.push_str(" (warning)");
            }
            if let Some(by) = r["by"].as_array() {
                let names: Vec<String> = by
                    .iter()
                    .map(|b| {
                        format!(
                            "{} at {} level",
                            b["program"].as_str().unwrap_or("?"),
                            b["level"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                s.push_str(&format!(": {}", names.join(", ")));
            }
            if let Some(id) = r["request_id"].as_str() {
                s.push_str(&format!(
                    ": by request {id} (NIK {})",
                    r["nik"].as_str().unwrap_or("?")
                ));
            }
            s
        })
        .collect();
    if items.is_empty() {
        "no reasons".into()
    } else {
        items.join("; ")
    }
}

/// An amount as Indonesians write it: `Rp 1.250.000`.
pub fn rupiah(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::from("Rp ");
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(d);
    }
    out
}

/// `tepat check`: exit 0 when payable, 1 when not.
pub fn check(args: CheckArgs) -> CmdResult {
    let store = args.at.open()?;
    let registry = store.registry();
    let v = store.check_str(&args.nik, &args.program, &args.period)?;
    let entitled = store.entitlement(&args.nik, &args.program, &args.period)?;
    let reasons = reasons_json(&registry, &v);
    if args.json {
        let asked = verdict_json::Asked {
            nik: &args.nik,
            program: &args.program,
            period: &args.period,
        };
        outln!("{}", verdict_json::check(&registry, &asked, &v, entitled));
    } else {
        outln!(
            "{} {} {}: {}{} ({})",
            args.nik,
            args.program,
            args.period,
            if v.payable { "PAYABLE" } else { "NOT PAYABLE" },
            entitled.map_or(String::new(), |a| format!(", entitled to {}", rupiah(a))),
            readable_reasons(&reasons)
        );
    }
    Ok(if v.payable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tepat claim --batch`: every row of a list claimed, the outcomes
/// streamed to a file; exit 0 when every row was claimed (paid, refused or
/// replayed), 1 when a row could not be.
fn claim_list(args: &ClaimArgs, list: &std::path::Path) -> CmdResult {
    let store = args.at.open()?;
    let input = std::fs::File::open(list).map_err(|e| format!("{}: {e}", list.display()))?;
    let out_path = args.out.clone().unwrap_or_else(|| {
        let name = list.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        list.with_file_name(format!("{stem}.claims.csv"))
    });
    let file =
        std::fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let mut out = BufWriter::new(file);
    let label = list.display().to_string();
    let s = tepat::bulk::claim_csv(
        &store,
        BufReader::with_capacity(1 << 20, input),
        &label,
        &args.request_column,
        &args.operator,
        &mut out,
        |s| eprint!("\rclaimed {} rows", s.rows),
    )?;
    out.flush()?;
    eprintln!(
        "\r{label}: {} rows: {} paid, {} replayed (recorded before), {} refused, {} not claimed; outcomes in {}",
        s.rows,
        s.paid,
        s.replayed,
        s.refused,
        s.errors,
        out_path.display()
    );
    Ok(if s.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tepat claim`: exit 0 when paid, 1 when refused.
pub fn claim(args: ClaimArgs) -> CmdResult {
    if let Some(list) = &args.batch {
        return claim_list(&args, list);
    }
    let store = args.at.open()?;
    let registry = store.registry();
    let field = |f: &Option<String>| f.clone().unwrap_or_default();
    let (nik, program, period) = (field(&args.nik), field(&args.program), field(&args.period));
    let req = ClaimRequest {
        request_id: field(&args.request),
        nik: nik.clone(),
        program: program.clone(),
        period: period.clone(),
        amount: args.amount,
        operator: args.operator.clone(),
        meta: args.meta.clone(),
    };
    let out = match (&args.ledger, &args.point) {
        (Some(url), Some(point)) => {
            let central = tepat_ledger::reserve::PgReserver::new(
                url,
                point,
                &store.id().to_string(),
                tepat_ledger::reserve::DEFAULT_DEADLINE,
            )?;
            store.claim_reserved(&req, &central)?
        }
        _ => store.claim(&req)?,
    };
    let reasons = reasons_json(&registry, &out.verdict);
    if args.json {
        let asked = verdict_json::Asked {
            nik: &nik,
            program: &program,
            period: &period,
        };
        outln!("{}", verdict_json::claim(&registry, &asked, &out));
    } else {
        outln!(
            "request {}: {}{}{}{} ({})",
            out.request_id,
            if out.paid { "PAID" } else { "REFUSED" },
            match (out.paid, out.amount, out.entitled) {
                (true, Some(a), _) => format!(" {}", rupiah(a)),
                (false, Some(a), Some(e)) if a != e => {
                    format!(" {} (entitled to {})", rupiah(a), rupiah(e))
                }
                _ => String::new(),
            },
            if out.replayed {
                ", a retry answered from the first outcome"
            } else {
                ""
            },
            match (&out.reversed, &out.elsewhere) {
                (Some(r), _) => format!(
                    ", since REVERSED by {} ({}): do not pay it out",
                    r.request_id, r.reason
                ),
                (None, Some(h)) =>
                    format!(", held at point {} by request {}", h.point, h.request_id),
                (None, None) => String::new(),
            },
            readable_reasons(&reasons)
        );
    }
    Ok(if out.paid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `tepat reverse`.
pub fn reverse(args: ReverseArgs) -> CmdResult {
    let store = args.at.open()?;
    let out = store.reverse_request(&tepat::store::ReverseRequest {
        request_id: args.request.clone(),
        original: args.original.clone(),
        reason: args.reason.clone(),
        operator: args.operator.clone(),
    })?;
    if args.json {
        outln!(
            "{}",
            json!({ "outcome": "reversed", "request_id": out.request_id, "reversed": out.reversed, "replayed": out.replayed })
        );
    } else {
        outln!(
            "request {}: reversed the claim of request {}{}",
            out.request_id,
            out.reversed,
            if out.replayed { " (a retry)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `tepat apply`: the whole file or nothing.
pub fn apply(args: ApplyArgs) -> CmdResult {
    let store = args.at.open()?;
    let file = std::fs::File::open(&args.changes)
        .map_err(|e| format!("{}: {e}", args.changes.display()))?;
    let label = args.changes.display().to_string();
    let applied = store.apply_csv(BufReader::new(file), &label)?;
    match &applied.before {
        Some(before) => eprintln!(
            "{label} was applied before (as {}, {} rows, at {}): nothing changed",
            before.file,
            before.rows,
            tepat::date::iso_utc(before.at_ms)
        ),
        None => eprintln!("applied {} changes from {label}", applied.rows),
    }
    Ok(ExitCode::SUCCESS)
}

/// `tepat audit`: one JSON object per entry and line, oldest first.
pub fn audit(args: AuditArgs) -> CmdResult {
    let store = args.at.open()?;
    let day_ms = |d: tepat::Date| d.to_unix_days().max(0) as u64 * 86_400_000;
    let mut filter = tepat::store::AuditFilter::default();
    filter.nik = match &args.nik {
        Some(n) => Some(n.parse::<tepat::Nik>()?.get()),
        None => None,
    };
    filter.request = args.request.clone();
    filter.period = args.period.clone();
    filter.from_ms = args.from.map(day_ms);
    filter.to_ms = args.to.map(day_ms);
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut write_error = None;
    let reveal = args
        .reveal
        .then(|| args.at.identity_key())
        .transpose()?
        .flatten();
    store
        .audit_each(&filter, |mut r| {
            if let Some(key) = &reveal {
                r.reveal(key);
            }
            if let Err(e) = writeln!(out, "{}", r.to_json_line()) {
                write_error = Some(e);
                return Err(tepat::Error::Input {
                    file: "stdout".into(),
                    message: "the reader went away".into(),
                });
            }
            Ok(())
        })
        .map_err(|e| match write_error.take() {
            Some(io) => Box::new(io) as Box<dyn std::error::Error>,
            None => e.into(),
        })?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of the hidden `tepat stress-claims` (the kill -9 test's child).
#[derive(clap::Args)]
pub struct StressArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Claiming threads.
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Request id prefix (unique per run).
    #[arg(long)]
    prefix: String,
    /// A file of `nik,program,period` lines to claim, round-robin.
    #[arg(long)]
    work: PathBuf,
}

/// Claims from several threads until killed, printing `ack <request id>
/// <paid|refused>` to stdout (flushed) once each claim has returned.
pub fn stress(args: StressArgs) -> CmdResult {
    let store = args.at.open()?;
    let work: Vec<(String, String, String)> = std::fs::read_to_string(&args.work)?
        .lines()
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((
                f.next()?.to_owned(),
                f.next()?.to_owned(),
                f.next()?.to_owned(),
            ))
        })
        .collect();
    if work.is_empty() {
        return Err("no work".into());
    }
    let stdout = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..args.threads {
            let (store, work, stdout, prefix) = (&store, &work, &stdout, &args.prefix);
            s.spawn(move || {
                let mut i = t;
                loop {
                    let (nik, program, period) = &work[i % work.len()];
                    let id = format!("{prefix}-{t}-{i}");
                    let out = store.claim(&ClaimRequest {
                        request_id: id.clone(),
                        nik: nik.clone(),
                        program: program.clone(),
                        period: period.clone(),
                        meta: String::new(),
                        ..Default::default()
                    });
                    if let Ok(out) = out {
                        let mut o = stdout.lock().unwrap_or_else(|p| p.into_inner());
                        let _ =
                            writeln!(o, "ack {id} {}", if out.paid { "paid" } else { "refused" });
                        let _ = o.flush();
                    }
                    i += args.threads;
                }
            });
        }
    });
    Ok(ExitCode::SUCCESS)
}
