//! `tepat subset`: payout-point stores cut from a national store (README,
//! "Payout points").

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use tepat::RegionCode;
use tepat::store::PointSpec;

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat subset`.
#[derive(clap::Args)]
pub struct SubsetArgs {
    /// The national store directory.
    #[arg(long)]
    store: PathBuf,
    /// Open only a national snapshot signed by this public key (as
    /// `--trust` of every store command).
    #[arg(long = "trust", value_name = "PUBKEY")]
    trust: Vec<String>,
    /// Key the point's store with this identity key (a file of `tepat key
    /// new`): every NIK and KK in it a pseudonym (docs/FORMAT.md, "Keyed
    /// snapshots").
    #[arg(long, value_name = "KEYFILE", conflicts_with = "plan")]
    key: Option<PathBuf>,
    /// With `--plan`: key each point's store with DIR/POINT_ID.key (a point
    /// without one gets a new key there, mode 0600).
    #[arg(long, value_name = "DIR", requires = "plan")]
    keys: Option<PathBuf>,
    /// Province, regency, district or village codes of residence, comma
    /// separated (`3201,317101`): one point.
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with = "plan",
        required_unless_present = "plan"
    )]
    regions: Vec<String>,
    /// The programs the point pays, comma separated; default: all.
    #[arg(long, value_delimiter = ',', conflicts_with = "plan")]
    programs: Vec<String>,
    /// Many points in one pass: a CSV with the header
    /// `point_id,regions,programs` (regions and programs `|`-separated,
    /// programs empty for all); each point's store goes to OUT/POINT_ID.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// The point's store directory (new or empty); with `--plan`, the
    /// directory the points' stores are made in.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    sign: crate::store_at::SignWith,
}

/// Cuts the points' stores and prints one line for each.
pub fn run(args: SubsetArgs) -> CmdResult {
    let started = Instant::now();
    let points = match &args.plan {
        Some(plan) => read_plan(plan, &args.out, args.keys.as_deref())?,
        None => vec![PointSpec {
            id: args
                .out
                .file_name()
                .map_or_else(|| "point".into(), |n| n.to_string_lossy().into_owned()),
            regions: parse_regions(args.regions.iter().map(String::as_str), "--regions")?,
            programs: (!args.programs.is_empty()).then(|| args.programs.clone()),
            out: args.out.clone(),
            key: args.key.as_deref().map(read_key).transpose()?,
        }],
    };
    let key = args.sign.key()?;
    let at = crate::store_at::At {
        store: args.store.clone(),
        today: None,
        trust: args.trust.clone(),
        key: None,
    };
    let store = at.open()?;
    let cut = store.subset(&points, key.as_ref())?;
    outln!("point\tpersons\tfamilies\tbytes\tB/person\tbirth_dates\tprograms");
    for p in cut.iter().filter(|p| p.persons == 0) {
        eprintln!(
            "tepat: warning: point {}: nobody lives in its regions",
            p.id
        );
    }
    for p in &cut {
        outln!(
            "{}\t{}\t{}\t{}\t{:.1}\t{}\t{}",
            p.id,
            p.persons,
            p.families,
            p.bytes,
            p.bytes as f64 / p.persons.max(1) as f64,
            if p.birth_dates { "kept" } else { "dropped" },
            p.programs.join("|")
        );
    }
    eprintln!(
        "{} point stores cut in {:.2} s{}",
        cut.len(),
        started.elapsed().as_secs_f64(),
        if key.is_some() { ", signed" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

/// A plan point's key: its file, or a new one made there.
fn point_key(path: &Path) -> Result<tepat::snapshot::IdentityKey, Box<dyn std::error::Error>> {
    if path.exists() {
        return Ok(read_key(path)?);
    }
    let key = crate::key_cmds::write_identity_key(path)?;
    eprintln!("tepat: new identity key {}", path.display());
    Ok(key)
}

fn read_key(path: &Path) -> Result<tepat::snapshot::IdentityKey, tepat::Error> {
    crate::key_cmds::warn_if_loose(path);
    tepat::snapshot::IdentityKey::from_file(path)
}

fn parse_regions<'a>(
    codes: impl Iterator<Item = &'a str>,
    where_: &str,
) -> Result<Vec<RegionCode>, Box<dyn std::error::Error>> {
    let regions = codes
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| RegionCode::parse(c).map_err(|e| format!("{where_}: region {c:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if regions.is_empty() {
        return Err(format!("{where_}: no region").into());
    }
    Ok(regions)
}

/// Reads `point_id,regions,programs` rows; errors name the line and field.
fn read_plan(
    plan: &Path,
    out: &Path,
    keys: Option<&Path>,
) -> Result<Vec<PointSpec>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(plan).map_err(|e| format!("{}: {e}", plan.display()))?;
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, h)| h.trim_start_matches('\u{feff}').trim());
    if header != Some("point_id,regions,programs") {
        return Err(format!(
            "{}:1: the header must be point_id,regions,programs",
            plan.display()
        )
        .into());
    }
    let mut points = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let at = format!("{}:{}", plan.display(), i + 1);
        let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        let [id, regions, programs] = fields[..] else {
            return Err(format!("{at}: {} fields, expected 3", fields.len()).into());
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if id.is_empty() || !id.chars().all(valid) {
            return Err(format!("{at}: point_id {id:?}: letters, digits, _ and - only").into());
        }
        if points.iter().any(|p: &PointSpec| p.id == id) {
            return Err(format!("{at}: point_id {id} appears twice").into());
        }
        let programs: Vec<String> = programs
            .split('|')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        points.push(PointSpec {
            id: id.to_owned(),
            regions: parse_regions(regions.split('|'), &format!("{at}: regions"))?,
            programs: (!programs.is_empty()).then_some(programs),
            out: out.join(id),
            key: keys
                .map(|dir| point_key(&dir.join(format!("{id}.key"))))
                .transpose()
                .map_err(|e| format!("{at}: point {id}: {e}"))?,
        });
    }
    Ok(points)
}
