//! `tepat demo`: the whole story on generated data, in under a minute —
//! generate a national-looking register, build a store, look NIKs up, check
//! and claim a payout (and its retry), verify a payee list, apply a month of
//! changes.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use tepat::register::{PersonRecord, Relation, RowParser};
use tepat::snapshot::SnapshotBuilder;
use tepat::{ClaimRequest, Options, RegionTable, Registry, Store};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Persons to generate.
    #[arg(long, default_value_t = 1_000_000)]
    persons: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Working directory (created; reused only if an earlier demo made it).
    #[arg(long, default_value = "tepat-demo")]
    dir: PathBuf,
}

const MARKER: &str = ".tepat-demo";

fn prepare(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(format!(
                "{} exists and was not made by `tepat demo`; choose another --dir",
                dir.display()
            )
            .into());
        }
        for sub in ["data", "store"] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "made by tepat demo\n")?;
    Ok(())
}

fn step(n: u32, title: &str) -> std::io::Result<()> {
    outln!("\n{n}. {title}");
    Ok(())
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> CmdResult {
    let total = Instant::now();
    prepare(&args.dir)?;
    let data = args.dir.join("data");
    let store_path = args.dir.join("store");
    outln!(
        "tepat demo: {} persons, seed {}, in {}",
        args.persons,
        args.seed,
        args.dir.display()
    );

    step(1, "Generate a synthetic national register (tepat-gen)")?;
    let t = Instant::now();
    let config = tepat_gen::Config {
        persons: args.persons,
        seed: args.seed,
        ..tepat_gen::Config::default()
    };
    let as_of = config.as_of;
    let generator = tepat_gen::Generator::new(config)?;
    let summary = tepat_gen::output::write_all(&generator, &data, |_| {})?;
    let truth = &summary.truth;
    outln!(
        "   {} persons in {} families; register.csv {:.0} MB, payees.csv, changes.csv, truth.json — {:.1} s",
        truth["persons"],
        truth["families"],
        summary.register_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    step(2, "Build the store: a memory-mapped snapshot + live state")?;
    let t = Instant::now();
    let reservation = Store::reserve(&store_path)?;
    let mut builder =
        SnapshotBuilder::new(Registry::builtin().clone(), RegionTable::builtin(), as_of)?;
    let file = std::fs::File::open(data.join("register.csv"))?;
    let mut rejects = std::io::BufWriter::new(std::fs::File::create(
        store_path.join("rejects-000001.csv"),
    )?);
    let report = builder.add_csv(
        BufReader::with_capacity(1 << 20, file),
        "register.csv",
        &mut rejects,
        |_| {},
    )?;
    drop(rejects);
    // The store runs on the register's date, so that the periods the
    // generated payee list asks for are the open ones whenever the demo runs.
    let options = Options::default().today(as_of);
    let (store, built) = reservation.create(builder, options.clone())?;
    outln!(
        "   {} rows read, {} rejected; {} persons, {} families, {} distinct profiles, {} in duplicate identities",
        report.rows,
        report.rejected,
        built.persons,
        built.families,
        built.profiles,
        built.duplicate_persons
    );
    outln!(
        "   snapshot {:.1} MB = {:.1} bytes/person, written, synced, verified — {:.1} s",
        built.bytes as f64 / 1e6,
        built.bytes as f64 / built.persons.max(1) as f64,
        t.elapsed().as_secs_f64()
    );
    drop(store);
    let t = Instant::now();
    let store = Store::open_with(&store_path, options)?;
    outln!("   opened in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let snap = store.snapshot();
    let registry = snap.registry().clone();

    let records = read_register(&data.join("register.csv"))?;
    let pkh = registry.require("PKH")?;
    let head = records
        .iter()
        .find(|r| {
            r.relation == Relation::Head
                && r.programs.contains(pkh)
                && !r.deceased
                && !r.civil_servant
        })
        .ok_or("no PKH family in the generated data")?;
    let member = records
        .iter()
        .find(|r| r.kk == head.kk && r.nik != head.nik)
        .unwrap_or(head);
    let dead = records
        .iter()
        .find(|r| r.deceased && !r.programs.is_empty());
    let papua = records
        .iter()
        .find(|r| matches!(r.nik.province_code(), 91 | 92));

    step(3, "Look NIKs up (tepat get)")?;
    for r in [Some(head), dead, papua].into_iter().flatten() {
        let v = crate::snapshot_cmds::describe(&store, &r.nik.to_string())?;
        outln!(
            "   {}",
            crate::snapshot_cmds::readable(&v).replace('\n', "\n   ")
        );
    }
    let t = Instant::now();
    let probes: Vec<u64> = records.iter().step_by(7).map(|r| r.nik.get()).collect();
    let mut found = 0;
    for n in &probes {
        found += usize::from(snap.find(*n).is_some());
    }
    let per = t.elapsed().as_secs_f64() * 1e9 / probes.len().max(1) as f64;
    outln!(
        "   {} point lookups, {found} found: {per:.0} ns each (one thread, unwarmed)",
        probes.len()
    );

    step(4, "Check and claim a payout (tepat check / tepat claim)")?;
    let period = "2026-Q4";
    let v = store.check_str(&head.nik.to_string(), "PKH", period)?;
    outln!(
        "   check {} PKH {period}: {}",
        head.nik,
        verdict_line(&registry, &v)
    );
    let claim = |id: &str, nik: &str| {
        store.claim(&ClaimRequest {
            request_id: id.into(),
            nik: nik.into(),
            program: "PKH".into(),
            period: period.into(),
            meta: "Kantor Pos demo".into(),
            ..Default::default()
        })
    };
    let out = claim("demo-0001", &head.nik.to_string())?;
    outln!(
        "   claim demo-0001 for {}: {}",
        head.nik,
        outcome_line(&registry, &out)
    );
    let out = claim("demo-0001", &head.nik.to_string())?;
    outln!(
        "   the same request retried: {}",
        outcome_line(&registry, &out)
    );
    let out = claim("demo-0002", &member.nik.to_string())?;
    outln!(
        "   claim demo-0002 for {} (same family): {}",
        member.nik,
        outcome_line(&registry, &out)
    );
    if let Some(d) = dead {
        let code = registry.format_set(d.programs);
        let program = code.split('|').next().unwrap_or("PKH");
        let kind = registry.program(registry.require(program)?).period;
        let p = tepat::Period::containing(kind, as_of).to_string();
        let v = store.check_str(&d.nik.to_string(), program, &p)?;
        outln!(
            "   check {} {program} {p}: {}",
            d.nik,
            verdict_line(&registry, &v)
        );
    }

    step(5, "Verify the bank's payee list (tepat batch payees.csv)")?;
    verify_payees(&store, &data)?;

    step(
        6,
        "Apply a month of changes (changes.csv), whole or not at all",
    )?;
    let t = Instant::now();
    let file = std::fs::File::open(data.join("changes.csv"))?;
    let n = store.apply_csv(BufReader::new(file), "changes.csv")?.rows;
    let kinds: Vec<String> = truth["changes"]["by_kind"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    outln!(
        "   {n} changes ({}) applied durably in {:.2} s",
        kinds.join(", "),
        t.elapsed().as_secs_f64()
    );

    step(
        7,
        "Analysts' reports (tepat report): conflicts, deceased still enrolled, inclusion errors, overlap",
    )?;
    reports(&store)?;

    outln!(
        "\nDone in {:.1} s. The store is in {}; try:",
        total.elapsed().as_secs_f64(),
        store_path.display()
    );
    outln!("   tepat get --store {} {}", store_path.display(), head.nik);
    outln!(
        "   tepat check --store {} --today {as_of} {} PKH {period}",
        store_path.display(),
        member.nik
    );
    Ok(ExitCode::SUCCESS)
}

fn read_register(path: &Path) -> Result<Vec<PersonRecord>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let parser = RowParser::new(Registry::builtin());
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        out.push(parser.parse(line).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn verdict_line(registry: &Registry, v: &tepat::Verdict) -> String {
    let reasons = crate::payout_cmds::reasons_json(registry, v);
    format!(
        "{} ({})",
        if v.payable { "PAYABLE" } else { "NOT PAYABLE" },
        crate::payout_cmds::readable_reasons(&reasons)
    )
}

fn outcome_line(registry: &Registry, out: &tepat::ClaimOutcome) -> String {
    format!(
        "{}{} — {}",
        if out.paid { "PAID" } else { "REFUSED" },
        if out.replayed {
            " (replayed: the first outcome, nothing paid twice)"
        } else {
            ""
        },
        verdict_line(registry, &out.verdict)
    )
}

/// Verifies the payee list with the batch verifier and compares each row's
/// outcome with the generator's truth.
fn verify_payees(store: &Store, data: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let input = std::fs::File::open(data.join("payees.csv"))?;
    let mut out = Vec::new();
    let summary = tepat::batch::verify_csv(
        store,
        BufReader::new(input),
        "payees.csv",
        &mut out,
        tepat::batch::OutputFormat::Csv,
        |_| {},
    )?;
    let secs = t.elapsed().as_secs_f64();
    std::fs::write(data.join("payees.verdicts.csv"), &out)?;
    outln!(
        "   {} rows: {} payable, {} refused — {:.2} s, {:.0} rows/s (tepat batch; verdicts in payees.verdicts.csv)",
        summary.rows,
        summary.payable,
        summary.refused,
        secs,
        summary.rows as f64 / secs.max(1e-9)
    );
    for (reason, n) in &summary.refused_by_reason {
        outln!("     refused {n:>7}  {reason}");
    }
    for (reason, n) in &summary.warnings {
        outln!("     warning {n:>7}  {reason} (payable)");
    }
    let truth = std::fs::read_to_string(data.join("payees_truth.csv"))?;
    let categories: Vec<&str> = truth
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').map(|(_, c)| c))
        .collect();
    let text = String::from_utf8(out)?;
    let (mut agree, mut judged) = (0u64, 0u64);
    for (row, category) in text.lines().skip(1).zip(&categories) {
        // `payable` is the third field from the end (before reasons, detail).
        let payable = row.contains(",true,");
        judged += 1;
        agree += u64::from(payable == (*category == "payable"));
    }
    outln!("   agrees with the generator's truth on {agree} of {judged} rows");
    Ok(())
}

/// The analysts' view: the national tables.
fn reports(store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    use tepat::report::{By, Kind};
    let t = Instant::now();
    let counts = store.counts(By::Province, 0)?;
    let secs = t.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    for kind in [Kind::Conflicts, Kind::Deceased, Kind::Inclusion] {
        let mut report = counts.report(kind);
        report.rows.retain(|r| r.region_code == "00");
        crate::analyst_cmds::write_table(&mut out, &report)?;
    }
    let overlap = counts.report(Kind::Overlap);
    outln!("\n== overlap (nationally, the largest pairs) ==");
    let mut pairs: Vec<_> = overlap.national().collect();
    pairs.sort_by_key(|r| std::cmp::Reverse(r.persons));
    for r in pairs.iter().take(6) {
        outln!(
            "   {:<8} & {:<8} {:>9} persons{}",
            r.keys[0],
            r.keys[1],
            r.persons,
            r.families
                .map_or(String::new(), |f| format!(", {f} families"))
        );
    }
    outln!(
        "   (one scan of every person, by province, with pending changes: {:.3} s)",
        secs
    );
    Ok(())
}
