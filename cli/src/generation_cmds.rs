//! `tepat compact` and `tepat build` on an existing store (a full refresh):
//! the next snapshot generation, made while the store keeps its claims,
//! audit and (for a refresh) the pending changes the export does not
//! reflect.

use std::process::ExitCode;
use std::time::Instant;

use tepat::generations::GenerationChange;
use tepat::snapshot::SnapshotBuilder;
use tepat::{RegionTable, Registry, Store};

use crate::snapshot_cmds::{BuildArgs, as_of, stage_register};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat compact`.
#[derive(clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    #[command(flatten)]
    sign: crate::store_at::SignWith,
}

/// Whether `dir` already holds a store (a refresh, not a first build).
pub fn is_store(dir: &std::path::Path) -> bool {
    Store::exists(dir)
}

/// Folds the pending changes into the next generation.
pub fn compact(args: CompactArgs) -> CmdResult {
    let options = args.at.options()?.signing_key(args.sign.key()?);
    let store = crate::store_at::open(&args.at.store, options)?;
    let change = store.compact()?;
    print_change("compacted", &change);
    Ok(ExitCode::SUCCESS)
}

/// Builds the next generation of an existing store from a new register
/// export (the registry stays the store's unless `--programs` names one).
pub fn refresh(args: BuildArgs) -> CmdResult {
    let started = Instant::now();
    let options = tepat::Options::default().signing_key(args.sign.key()?);
    let store = crate::store_at::open(&args.store, options)?;
    let current = store.snapshot();
    let registry = match &args.programs {
        Some(path) => Registry::from_toml_file(path)?,
        None => current.registry().clone(),
    };
    let next = current.generation() + 1;
    drop(current);
    let mut builder = SnapshotBuilder::new(registry, RegionTable::builtin(), as_of(&args))?;
    let (report, rejects_path) = stage_register(&args, &mut builder, next)?;
    let change = store.refresh_guarded(builder, &args.guard(&report))?;
    print_change(
        if change.switched {
            "refreshed"
        } else {
            "dry run, nothing switched"
        },
        &change,
    );
    eprintln!(
        "rows read {}, accepted {}, rejected {} (listed in {}); {:.1} s in all",
        report.rows,
        report.accepted,
        report.rejected,
        rejects_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Switches back to the previous generation.
pub fn rollback(args: CompactArgs) -> CmdResult {
    let store = args.at.open()?;
    let change = store.rollback()?;
    print_change("rolled back", &change);
    Ok(ExitCode::SUCCESS)
}

/// What a refresh changes, person by person.
fn print_diff(d: &tepat::store::GenerationDiff) {
    eprintln!(
        "difference from the current generation: {} persons added, {} removed, {} changed; \
         {} deaths, {} back from the dead",
        d.added, d.removed, d.changed, d.deaths, d.revived
    );
    let moved: Vec<String> = d
        .enrolment
        .iter()
        .filter(|(_, g, l)| *g > 0 || *l > 0)
        .map(|(code, g, l)| format!("{code} +{g} -{l}"))
        .collect();
    if !moved.is_empty() {
        eprintln!("enrolment: {}", moved.join(", "));
    }
}

fn print_change(what: &str, c: &GenerationChange) {
    if let Some(d) = &c.diff {
        print_diff(d);
    }
    eprintln!(
        "{what}: generation {} -> {}: {} persons, {} families, {} bytes",
        c.from, c.to, c.persons, c.families, c.bytes
    );
    eprintln!(
        "pending changes: {} folded into the snapshot, {} still pending",
        c.folded, c.carried
    );
    eprintln!(
        "build {:.2} s, switch {:.3} s (claims waited this long), finish {:.2} s{}",
        c.build_secs,
        c.switch_secs,
        c.finish_secs,
        if c.finished {
            ""
        } else {
            "; cleanup deferred: calls still held the old generation (it runs at the next open)"
        }
    );
}
