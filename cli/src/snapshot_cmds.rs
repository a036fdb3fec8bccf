//! `tepat build`, `tepat get`, `tepat info`, `tepat verify`.

use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};
use tepat::register::Relation;
use tepat::snapshot::{IngestReport, Snapshot, SnapshotBuilder};
use tepat::store::PersonState;
use tepat::{ComponentSet, Date, Nik, Options, ProgramSet, RegionTable, Registry, Store};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The register export (CSV).
    #[arg(long)]
    pub(crate) register: PathBuf,
    /// A program registry file (TOML); default: the built-in eight programs.
    #[arg(long)]
    pub(crate) programs: Option<PathBuf>,
    /// The store directory (created if missing).
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Eligibility reference date (ages), YYYY-MM-DD; default: the first day
    /// of this month.
    #[arg(long, value_parser = crate::nik::parse_date)]
    pub(crate) as_of: Option<Date>,
    /// Where refused rows go; default: STORE/rejects-GENERATION.csv.
    #[arg(long)]
    pub(crate) rejects: Option<PathBuf>,
    /// Refuse the export when more than this percentage of its rows is
    /// rejected.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) max_rejected: f64,
    /// On an existing store: refuse the export when the person count moves
    /// by more than this percentage from the current generation.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) max_change: f64,
    /// Build and go live whatever the guards say (rejected rows, the person
    /// count, an export older than the changes applied).
    #[arg(long)]
    pub(crate) force: bool,
    /// On an existing store: build and compare with the current generation,
    /// print the difference, and switch nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) sign: crate::store_at::SignWith,
}

impl BuildArgs {
    /// The refresh guard these arguments ask for, with what reading the
    /// export found.
    pub(crate) fn guard(&self, report: &IngestReport) -> tepat::store::RefreshGuard {
        let guard = if self.force {
            tepat::store::RefreshGuard::force()
        } else {
            let mut g = tepat::store::RefreshGuard::default();
            g.max_rejected = self.max_rejected / 100.0;
            g.max_change = self.max_change / 100.0;
            g
        };
        guard.ingest(report.clone()).dry_run(self.dry_run)
    }
}

/// The eligibility reference date: `--as-of`, or the first day of this
/// month.
pub(crate) fn as_of(args: &BuildArgs) -> Date {
    let today = Date::today();
    args.as_of
        .unwrap_or(Date::new(today.year(), today.month(), 1).unwrap_or(today))
}

/// Stages the register export of `args` into `builder`; refused rows go to
/// the rejects file (`--rejects`, or STORE/rejects-GENERATION.csv), whose
/// path is returned with the counts.
pub(crate) fn stage_register(
    args: &BuildArgs,
    builder: &mut SnapshotBuilder<'_>,
    generation: u64,
) -> Result<(IngestReport, PathBuf), Box<dyn std::error::Error>> {
    let file = std::fs::File::open(&args.register)
        .map_err(|e| format!("{}: {e}", args.register.display()))?;
    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| args.store.join(format!("rejects-{generation:06}.csv")));
    let mut rejects = BufWriter::new(
        std::fs::File::create(&rejects_path)
            .map_err(|e| format!("{}: {e}", rejects_path.display()))?,
    );
    let show = std::io::stderr().is_terminal();
    let report = builder.add_csv(
        BufReader::with_capacity(1 << 20, file),
        &args.register.display().to_string(),
        &mut rejects,
        |rows| {
            if show {
                eprint!("\rread {rows} rows");
            }
        },
    )?;
    rejects.flush()?;
    if show {
        eprintln!();
    }
    Ok((report, rejects_path))
}

/// Builds a new store from a register export.
pub fn build(args: BuildArgs) -> CmdResult {
    let started = Instant::now();
    let registry = match &args.programs {
        Some(path) => Registry::from_toml_file(path)?,
        None => Registry::builtin().clone(),
    };
    let as_of = as_of(&args);
    // The directory is ours before anything (the rejects file) is written.
    let reservation = Store::reserve(&args.store)?;
    let generation = 1;
    let mut builder =
        SnapshotBuilder::new(registry, RegionTable::builtin(), as_of)?.signed_by(args.sign.key()?);
    let (report, rejects_path) = stage_register(&args, &mut builder, generation)?;
    let rejected = report.rejected as f64 > args.max_rejected / 100.0 * report.rows as f64;
    if rejected && !args.force {
        return Err(format!(
            "{} of {} rows of {} were rejected (listed in {}), more than {} %: no store is made \
             (--force to build anyway)",
            report.rejected,
            report.rows,
            args.register.display(),
            rejects_path.display(),
            args.max_rejected
        )
        .into());
    }
    let read_secs = started.elapsed().as_secs_f64();
    let (_store, summary) = reservation.create(builder, Options::default())?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "built generation {generation}: {} persons, {} families, {} profiles, {} duplicate-identity records",
        summary.persons, summary.families, summary.profiles, summary.duplicate_persons
    );
    eprintln!(
        "rows read {}, accepted {}, rejected {} (listed in {})",
        report.rows,
        report.accepted,
        report.rejected,
        rejects_path.display()
    );
    eprintln!(
        "{} bytes ({:.1} B/person) in {secs:.1} s (reading {read_secs:.1} s); eligibility as of {as_of}",
        summary.bytes,
        summary.bytes as f64 / summary.persons.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `tepat get`.
#[derive(clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// One JSON object per NIK and line.
    #[arg(long)]
    json: bool,
    /// NIKs to look up; one per line on stdin when none is given.
    niks: Vec<String>,
}

/// Opens the current snapshot of a store (alone: `info` and `verify` read
/// the file, not the store).
pub fn open_current(store: &std::path::Path) -> Result<Snapshot, Box<dyn std::error::Error>> {
    let path = Store::current_snapshot_path(store)?;
    Ok(Snapshot::open(&path)?)
}

/// Prints each NIK's current state — the snapshot's record, or the pending
/// state when a change was applied since — through the store, so that
/// `get` and `check` never disagree. Exit 0 when all are found, 1 when any
/// is missing or invalid.
pub fn get(args: GetArgs) -> CmdResult {
    let store = args.at.open()?;
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    let mut all_found = true;
    let inputs: Vec<String> = if args.niks.is_empty() {
        std::io::stdin().lock().lines().collect::<Result<_, _>>()?
    } else {
        args.niks
    };
    for input in &inputs {
        let v = describe(&store, input)?;
        all_found &= v["found"] == Value::Bool(true);
        if args.json {
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{}", readable(&v))?;
        }
    }
    out.flush()?;
    Ok(if all_found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The JSON description of one looked-up NIK in its current state;
/// `pending` says whether a change applied since the snapshot holds it,
/// `changed` which fields that change altered (`new`: not in the snapshot).
pub fn describe(store: &Store, input: &str) -> Result<Value, tepat::Error> {
    let nik = match Nik::parse(input) {
        Ok(n) => n,
        Err(e) => return Ok(json!({ "nik": input, "found": false, "error": e.to_string() })),
    };
    let snap = store.snapshot();
    let Some(state) = store.person(&snap, nik.get())? else {
        return Ok(json!({ "nik": input, "found": false }));
    };
    let now = state.to_live();
    let before = snap
        .find(nik.get())
        .and_then(|slot| snap.person_at(slot))
        .map(|p| PersonState::Snapshot(p).to_live());
    let pending = matches!(state, PersonState::Live(_));
    let changed = match (&before, pending) {
        (Some(before), true) => now.changed_fields(before),
        _ => Vec::new(),
    };
    let registry = snap.registry();
    let codes = |set: tepat::ProgramSet| -> Vec<String> {
        set.iter()
            .filter_map(|id| registry.get(id))
            .map(|p| p.code.clone())
            .collect()
    };
    let village_name = snap.regions().village(now.village).map(|r| r.name.clone());
    Ok(json!({
        "nik": input,
        "found": true,
        "kk": tepat::nik::identity_text(now.kk),
        "relation": Relation::from_code(now.relation).name(),
        "village_code": format!("{:010}", now.village),
        "village": village_name,
        "sex": if now.female { "F" } else { "M" },
        "birth_date": Date::from_unix_days(now.birth_days).map(|d| d.to_string()),
        "decile": now.decile,
        "deceased": now.deceased,
        "civil_servant": now.civil_servant,
        "duplicate": now.duplicate,
        "components": ComponentSet(now.components).to_string(),
        "eligible": codes(ProgramSet(now.eligible)),
        "enrolled": codes(ProgramSet(now.enrolled)),
        "pending": pending,
        "new": pending && before.is_none(),
        "changed": changed,
    }))
}

/// One readable block from [`describe`]'s JSON.
pub fn readable(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    if let Some(e) = v["error"].as_str() {
        return format!("{}  invalid: {e}", s("nik"));
    }
    if v["found"] != Value::Bool(true) {
        return format!("{}  not in the register", s("nik"));
    }
    let list = |k: &str| {
        let items: Vec<&str> = v[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(" ")
        }
    };
    let mut flags = Vec::new();
    for (k, label) in [
        ("deceased", "DECEASED"),
        ("civil_servant", "CIVIL SERVANT"),
        ("duplicate", "DUPLICATE NIK"),
    ] {
        if v[k] == Value::Bool(true) {
            flags.push(label);
        }
    }
    let pending = if v["new"] == Value::Bool(true) {
        "\n    pending change: new since the snapshot".to_owned()
    } else if v["pending"] == Value::Bool(true) {
        format!(
            "\n    pending change: {} (differs from the snapshot)",
            list("changed")
        )
    } else {
        String::new()
    };
    format!(
        "{}  {} {} born {}, KK {}, village {} {}, decile {}{}\n    enrolled: {}\n    eligible: {}{pending}",
        s("nik"),
        s("sex"),
        s("relation"),
        s("birth_date"),
        s("kk"),
        s("village_code"),
        s("village"),
        v["decile"],
        if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        },
        list("enrolled"),
        list("eligible"),
    )
}

/// Arguments of `tepat info` and `tepat verify`.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
}

/// Prints the generation, counts, sizes and the registry.
pub fn info(args: StoreArgs) -> CmdResult {
    let started = Instant::now();
    let snap = open_current(&args.store)?;
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    outln!("snapshot    {}", snap.path().display());
    outln!("generation  {}", snap.generation());
    outln!("as of       {}", snap.as_of());
    match snap.signer() {
        Some(key) => outln!("signed by   {key} (signature verified; --trust checks the key)"),
        None => outln!("signed by   nobody (unsigned)"),
    }
    if snap.is_keyed() {
        outln!("identities  keyed: pseudonyms, not NIKs (opens with its --key)");
    }
    // A payout point's store says what it was cut from.
    if let Ok(point) = std::fs::read_to_string(args.store.join(tepat::store::POINT_FILE)) {
        let fields: Vec<&str> = point.lines().filter(|l| !l.starts_with('#')).collect();
        outln!("point       {}", fields.join("; "));
    }
    outln!(
        "persons     {} ({} in duplicate identities)",
        snap.person_count(),
        snap.duplicate_count()
    );
    outln!("families    {}", snap.family_count());
    outln!("profiles    {}", snap.profile_count());
    let (lines, overflow) = snap.lines_and_overflow();
    outln!(
        "index       {lines} home lines of 3 slots, {overflow} records in the overflow; {} line scan",
        if snap.vector_scan() {
            "vector (AVX-512 VBMI)"
        } else {
            "scalar"
        }
    );
    outln!(
        "size        {} bytes, {:.2} B/person; opened in {open_ms:.2} ms",
        snap.byte_len(),
        snap.byte_len() as f64 / snap.person_count().max(1) as f64
    );
    for (name, len) in snap.section_sizes() {
        outln!("  {name:<14} {len:>14} bytes");
    }
    outln!("programs");
    for p in snap.registry().programs() {
        let excludes: Vec<String> = p
            .excludes
            .iter()
            .filter_map(|e| {
                snap.registry()
                    .get(e.program)
                    .map(|q| format!("{} ({:?})", q.code, e.level))
            })
            .collect();
        outln!(
            "  {:<11} {:<7} {:<8} {}{}",
            p.code,
            p.unit.name(),
            p.period.name(),
            p.name,
            if excludes.is_empty() {
                String::new()
            } else {
                format!("; excludes {}", excludes.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the person index put the records: what a lookup reads.
fn print_placement(snap: &Snapshot) -> std::io::Result<()> {
    let (lines, overflow) = snap.lines_and_overflow();
    let by = snap.displacements();
    let displaced: u64 = by[1..].iter().sum();
    let total = (by[0] + displaced + overflow).max(1) as f64;
    let pct = |n: u64| 100.0 * n as f64 / total;
    let far = by.iter().rposition(|n| *n > 0).unwrap_or(0);
    outln!(
        "person index: {lines} home lines; records in their home line {:.2} %, displaced {:.2} % (up to {far} lines on), in the overflow {:.4} % ({overflow})",
        pct(by[0]),
        pct(displaced),
        pct(overflow)
    );
    Ok(())
}

/// Arguments of `tepat verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// Check the current snapshot file only, without opening the store (it
    /// may then be open in another process).
    #[arg(long)]
    snapshot_only: bool,
}

/// Checks the whole store: that its parts belong together (opening it), the
/// snapshot byte for byte, every claims-log and live-state record. Exit 0
/// when all hold, 1 naming the first that does not.
pub fn verify(args: VerifyArgs) -> CmdResult {
    let started = Instant::now();
    if args.snapshot_only {
        let snap = open_current(&args.store)?;
        return Ok(match snap.verify() {
            Ok(()) => {
                outln!(
                    "{}: ok ({} bytes verified in {:.2} s)",
                    snap.path().display(),
                    snap.byte_len(),
                    started.elapsed().as_secs_f64()
                );
                print_placement(&snap)?;
                ExitCode::SUCCESS
            }
            Err(e) => refused(&e),
        });
    }
    let checked = crate::store_at::open(&args.store, Options::default())
        .and_then(|store| store.verify().map(|check| (store, check)));
    let (store, check) = match checked {
        Ok(done) => done,
        Err(e) => return Ok(refused(&e)),
    };
    outln!(
        "{}: ok in {:.2} s: snapshot {} ({} bytes), claims log {} records ({} bytes), live state {} records; store {}",
        args.store.display(),
        started.elapsed().as_secs_f64(),
        store.snapshot().path().display(),
        check.snapshot_bytes,
        check.claims_records,
        check.claims_log_bytes,
        check.live_records,
        store.id()
    );
    print_placement(&store.snapshot())?;
    Ok(ExitCode::SUCCESS)
}

/// Reports a part of a store that does not hold.
fn refused(e: &tepat::Error) -> ExitCode {
    eprintln!("tepat: verify: {e}");
    ExitCode::from(1)
}
