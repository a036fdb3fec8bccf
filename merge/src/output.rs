//! The output directory: everything is made under `OUT/.merge.tmp/` and
//! renamed into place only when the whole merge has succeeded, so a failed
//! or killed run leaves no half-written output (and the next run removes
//! the scratch a killed one left behind).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tepat::Date;

use crate::error::{Result, io};
use crate::resolve::Resolved;
use crate::rules::TARGETS;
use crate::schema::Rec;
use crate::{Args, Progress, Reason, csv, spill};

/// The scratch directory's name inside the output directory.
pub const SCRATCH: &str = ".merge.tmp";

/// The work list's header.
pub const WORKLIST_HEADER: &str =
    "source,line,id,nik,full_name,birth_date,village_code,reason,candidates,detail";

/// `links.csv`'s header.
pub const LINKS_HEADER: &str = "source,line,id,nik_given,nik,method";

/// A merge's output, staged.
pub struct Staging {
    out: PathBuf,
    root: PathBuf,
    scratch: PathBuf,
    staged: PathBuf,
    created_out: bool,
}

impl Staging {
    /// Creates `out` if needed and a fresh scratch directory in it.
    pub fn begin(out: &Path) -> Result<Staging> {
        let created_out = !out.exists();
        std::fs::create_dir_all(out).map_err(io(out))?;
        let root = out.join(SCRATCH);
        if root.exists() {
            // Left by a run that was killed: nothing in it can be trusted.
            std::fs::remove_dir_all(&root).map_err(io(&root))?;
        }
        let scratch = root.join("scratch");
        let staged = root.join("out");
        for dir in [&scratch, &staged.join("worklist")] {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        Ok(Staging {
            out: out.to_owned(),
            root,
            scratch,
            staged,
            created_out,
        })
    }

    /// Where the passes spill.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// Where the outputs are made.
    pub fn staged(&self) -> &Path {
        &self.staged
    }

    /// Moves every output into place (replacing older ones) and removes
    /// the scratch.
    pub fn commit(self) -> Result<()> {
        std::fs::remove_dir_all(&self.scratch).map_err(io(&self.scratch))?;
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.staged)
            .map_err(io(&self.staged))?
            .map(|e| e.map(|e| e.path()).map_err(io(&self.staged)))
            .collect::<Result<_>>()?;
        names.sort();
        for from in names {
            let Some(name) = from.file_name() else {
                continue;
            };
            let to = self.out.join(name);
            if to.is_dir() {
                std::fs::remove_dir_all(&to).map_err(io(&to))?;
            }
            std::fs::rename(&from, &to).map_err(io(&to))?;
        }
        std::fs::remove_dir_all(&self.root).map_err(io(&self.root))
    }

    /// Removes everything this run made.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.root);
        if self.created_out {
            let _ = std::fs::remove_dir(&self.out);
        }
    }
}

/// What the writing pass wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Rows of the work list.
    pub work_items: u64,
    /// Its files.
    pub work_files: u64,
}

/// Writes `register.csv`, `links.csv` (when asked) and the work list.
pub fn write(
    staging: &Staging,
    args: &Args,
    names: &[String],
    resolved: &Resolved,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Written> {
    let scratch = staging.scratch();
    let mut written = Written::default();
    let parts: Vec<PathBuf> = resolved
        .parts
        .iter()
        .map(|p| scratch.join(format!("reg-{p:04}.csv")))
        .collect();
    concat(
        &staging.staged().join("register.csv"),
        tepat::register::HEADER,
        &parts,
    )?;
    if args.links {
        let parts: Vec<PathBuf> = resolved
            .parts
            .iter()
            .map(|p| scratch.join(format!("links-{p:04}.csv")))
            .collect();
        concat(&staging.staged().join("links.csv"), LINKS_HEADER, &parts)?;
    }
    let items = spill::files(scratch, "w")?;
    for (n, paths) in items.values().enumerate() {
        let mut recs = spill::read_all(paths)?;
        recs.sort_unstable_by_key(|r| (r.village / 10_000, r.source, r.line));
        for district in recs.chunk_by(|a, b| a.village / 10_000 == b.village / 10_000) {
            let code = district[0].village / 10_000;
            let path = staging.staged().join(format!("worklist/{code:06}.csv"));
            write_worklist(&path, names, district)?;
            written.work_files += 1;
            written.work_items += district.len() as u64;
        }
        progress(Progress {
            step: "writing the work list",
            done: n as u64 + 1,
            total: items.len() as u64,
        });
    }
    Ok(written)
}

/// `header` and then every file of `parts`, in order.
fn concat(to: &Path, header: &str, parts: &[PathBuf]) -> Result<()> {
    let file = File::create(to).map_err(io(to))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "{header}").map_err(io(to))?;
    for part in parts {
        let mut input = File::open(part).map_err(io(part))?;
        std::io::copy(&mut input, &mut out).map_err(io(to))?;
    }
    out.flush().map_err(io(to))?;
    out.get_ref().sync_all().map_err(io(to))
}

fn write_worklist(path: &Path, names: &[String], recs: &[Rec]) -> Result<()> {
    let mut out = Vec::with_capacity(recs.len() * 120 + 100);
    out.extend_from_slice(WORKLIST_HEADER.as_bytes());
    out.push(b'\n');
    for r in recs {
        let reason = Reason::from_code(r.method).unwrap_or(Reason::NoCivilIdentity);
        let candidates: Vec<String> = r.candidates.iter().map(|c| format!("{c:016}")).collect();
        let detail = match reason {
            Reason::MissingField => {
                let field = TARGETS.get(usize::from(r.missing).wrapping_sub(1));
                format!("no source gives {}", field.map_or("?", |t| t.0))
            }
            other => other.sentence().to_owned(),
        };
        let birth =
            Date::from_unix_days(i64::from(r.birth)).map_or(String::new(), |d| d.to_string());
        let source = names.get(usize::from(r.source)).map_or("?", String::as_str);
        let _ = writeln!(
            out,
            "{source},{},{},{},{},{birth},{:010},{},{},{}",
            r.line,
            csv::field(&r.id),
            csv::field(&r.given_nik()),
            csv::field(&r.full_name),
            r.village,
            reason.name(),
            candidates.join("|"),
            csv::field(&detail),
        );
    }
    std::fs::write(path, out).map_err(io(path))
}

/// Bytes of the files in `dir` (not recursive).
pub fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        total += entry.metadata().map_err(io(dir))?.len();
    }
    Ok(total)
}
