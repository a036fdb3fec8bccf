//! `tepat key new`: a payout point's identity key (docs/FORMAT.md, "Keyed
//! snapshots") or the register keeper's signing key pair ("Signed
//! snapshots").

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tepat::snapshot::{IdentityKey, SigningKey};
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
    /// Make a key: a payout point's identity key in FILE (mode 0600); with
    /// `--signing` an Ed25519 key pair, the secret to FILE (mode 0600) and
    /// the public key to FILE.pub.
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
        write_identity_key(&args.out)?;
        eprintln!(
            "identity key in {} (mode 0600): the point's store is cut with it (tepat subset \
             --key) and opens only with it; the register keeper keeps a copy to reveal the \
             point's pseudonyms",
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
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

/// Writes a new identity key to `path` (mode 0600, never over a file).
pub fn write_identity_key(path: &Path) -> Result<IdentityKey, Box<dyn std::error::Error>> {
    let key = IdentityKey::generate()?;
    private_file::create_new(path, key.to_file_text().as_bytes()).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AlreadyExists => " (an existing key is never overwritten)",
            std::io::ErrorKind::NotFound => " (its directory does not exist)",
            _ => "",
        };
        format!("{}: {e}{why}", path.display())
    })?;
    Ok(key)
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
