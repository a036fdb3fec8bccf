//! `tepat serve` (the store over HTTP: server/) and `tepat token new`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tepat_server::tokens::{self, Role};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Arguments of `tepat serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    at: crate::store_at::At,
    /// Where to listen; port 0 picks a free port (the address is printed).
    #[arg(long, default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// The tokens file (`tepat token new` writes it); the access log's key
    /// is kept beside it.
    #[arg(long)]
    tokens: PathBuf,
    /// The access log (default: access.log in the store directory).
    #[arg(long)]
    access_log: Option<PathBuf>,
    /// Largest JSON request body, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    max_body: usize,
    /// Largest payee list (`POST /v1/batch`), bytes.
    #[arg(long, default_value_t = 4 << 30)]
    max_batch: u64,
    /// Longest a request (other than a payee list) may take, seconds.
    #[arg(long, default_value_t = 30)]
    request_timeout: u64,
    /// Longest a connection may take to send a request's headers, or stay
    /// idle between requests, seconds (then it is closed).
    #[arg(long, default_value_t = 30)]
    header_timeout: u64,
    /// Self-service status requests (`POST /v1/self-status`) allowed per
    /// client address and minute.
    #[arg(long, default_value_t = 10)]
    self_service_per_minute: u32,
    /// Read the snapshot into memory backed by huge pages.
    #[arg(long)]
    resident: bool,
    /// Serve HTTPS: the certificate chain (PEM), with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Reserve every claim in this central ledger (PostgreSQL URL) before
    /// paying it: a key another point holds is refused
    /// (claimed_elsewhere), a ledger that does not answer in time gives
    /// ledger_unreachable (the registry's policy decides). Needs --point.
    #[arg(long, requires = "point")]
    ledger: Option<String>,
    /// This payout point's id in the central ledger (as `tepat sync
    /// --point` names it).
    #[arg(long, requires = "ledger")]
    point: Option<String>,
    /// Milliseconds a reservation may take.
    #[arg(long, default_value_t = 300)]
    ledger_deadline_ms: u64,
    /// Seconds between background syncs of the claims log to the central
    /// ledger (also one at the stop); 0: none (run `tepat sync`).
    #[arg(long, default_value_t = 30, requires = "ledger")]
    sync_every: u64,
    /// Sign the generations the admin routes write (compact, refresh).
    #[command(flatten)]
    sign: crate::store_at::SignWith,
}

/// `tepat serve`: runs until SIGTERM or Ctrl-C, then finishes the requests
/// in flight and exits 0.
pub fn serve(args: ServeArgs) -> CmdResult {
    let config = tepat_server::Config {
        store: args.at.store.clone(),
        options: args
            .at
            .options()?
            .resident(args.resident)
            .signing_key(args.sign.key()?),
        listen: args.listen,
        tokens: args.tokens,
        access_log: args.access_log,
        limits: tepat_server::Limits {
            json_body: args.max_body,
            batch_body: args.max_batch,
            request_timeout: Duration::from_secs(args.request_timeout),
            self_service_per_minute: args.self_service_per_minute,
            header_timeout: Duration::from_secs(args.header_timeout),
        },
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(tepat_server::tls::TlsFiles { cert, key }),
            _ => None,
        },
        ledger: match (args.ledger, args.point) {
            (Some(url), Some(point)) => Some(tepat_server::LedgerConfig {
                url,
                point,
                deadline: Duration::from_millis(args.ledger_deadline_ms),
                sync_every: (args.sync_every > 0).then(|| Duration::from_secs(args.sync_every)),
            }),
            _ => None,
        },
    };
    let mut write_error = None;
    tepat_server::run(&config, |addr| {
        // The address on stdout, flushed: a script (or a test) starting
        // the service on port 0 reads it.
        let print = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {addr}")?;
            out.flush()
        };
        write_error = print().err();
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    eprintln!("tepat serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// `tepat token ...`.
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Make a token: printed once, its hash appended to the tokens file.
    New(NewTokenArgs),
}

/// Arguments of `tepat token new`.
#[derive(clap::Args)]
struct NewTokenArgs {
    /// payout_point (persons, check, claim, reverse), bank (batch, check),
    /// analyst (reports) or keeper (everything).
    #[arg(long)]
    role: String,
    /// Region code prefixes the token is limited to (2-10 digits each,
    /// comma-separated): a payout point of 3201 cannot see a person of 3171.
    #[arg(long, value_delimiter = ',')]
    regions: Vec<String>,
    /// The tokens file (created, mode 0600, if missing).
    #[arg(long)]
    tokens: PathBuf,
    /// The token's id, as the access log names it (default: the role and
    /// part of the token's hash).
    #[arg(long)]
    id: Option<String>,
}

/// `tepat token new`.
pub fn token(args: TokenArgs) -> CmdResult {
    let TokenCommand::New(args) = args.command;
    let role = Role::parse(&args.role).ok_or_else(|| {
        format!(
            "unknown role {:?}: payout_point, bank, analyst or keeper",
            args.role
        )
    })?;
    let token = tokens::generate()?;
    let id = args.id.unwrap_or_else(|| {
        let hash = tokens::to_hex(&tokens::hash(&token));
        format!("{}-{}", role.name().replace('_', "-"), &hash[..8])
    });
    tokens::append(&args.tokens, &id, role, &args.regions, &token)?;
    eprintln!(
        "token {id} ({}{}) added to {}; it is shown only now:",
        role.name(),
        if args.regions.is_empty() {
            String::new()
        } else {
            format!(", regions {}", args.regions.join(","))
        },
        args.tokens.display()
    );
    outln!("{token}");
    Ok(ExitCode::SUCCESS)
}
