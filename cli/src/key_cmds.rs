//! `tepat key new`: the register keeper's signing key pair (docs/FORMAT.md,
//! "Signed snapshots").

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tepat::snapshot::SigningKey;
use tepat_server::private_file;

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat key`.
#[derive(clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(clap::Subcommand)]
enum KeyCommand {
    /// Make a key: `--signing` writes an Ed25519 key pair, the secret to
    /// FILE (mode 0600) and the public key to FILE.pub.
    New(NewArgs),
}

#[derive(clap::Args)]
struct NewArgs {
    /// An Ed25519 signing key pair, for `--sign-key` (the secret) and
    /// `--trust` (the public key).
    #[arg(long)]
    signing: bool,
    /// Where the secret key goes (refused if it exists); the public key
    /// goes beside it, with `.pub` appended.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `tepat key`.
pub fn run(args: KeyArgs) -> CmdResult {
    match args.command {
        KeyCommand::New(args) => new(args),
    }
}

fn new(args: NewArgs) -> CmdResult {
    if !args.signing {
        return Err(
            "tepat key new makes signing keys (--signing); keyed payout-point \
                    identities are not built yet"
                .into(),
        );
    }
    let public_path = {
        let mut name = args.out.clone().into_os_string();
        name.push(".pub");
        PathBuf::from(name)
    };
    if public_path.exists() {
        return Err(format!("{} exists: not overwritten", public_path.display()).into());
    }
    let key = SigningKey::generate()?;
    private_file::create_new(&args.out, key.to_file_text().as_bytes()).map_err(|e| {
        format!(
            "{}: {e} (an existing key is never overwritten)",
            args.out.display()
        )
    })?;
    let public = key.public_key();
    std::fs::write(&public_path, format!("{public}\n"))
        .map_err(|e| format!("{}: {e}", public_path.display()))?;
    eprintln!(
        "secret key in {} (mode 0600: keep it with the register keeper), public key in {}",
        args.out.display(),
        public_path.display()
    );
    outln!("{public}");
    Ok(ExitCode::SUCCESS)
}

/// Warns when a secret key file can be read by others than its owner.
pub fn warn_if_loose(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                eprintln!(
                    "tepat: warning: {} is readable by others (mode {mode:03o}); a secret key \
                     should be 0600",
                    path.display()
                );
            }
        }
    }
}
