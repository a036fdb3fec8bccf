//! `tepat serve`: one process owns a store and serves every payout point,
//! bank and analyst over HTTP (axum on tokio). The library stays
//! synchronous: every store call runs on tokio's blocking pool
//! ([`state::blocking`]), so the runtime's threads never wait on a flush,
//! and concurrent claims share the claims log's flushes (group commit).
//!
//! | module | what |
//! |---|---|
//! | [`tokens`] | `tokens.toml`: token hashes, roles, regions |
//! | [`auth`] | bearer tokens against roles and regions |
//! | [`dci`] | the DCI Integrated Beneficiary Registry's messages |
//! | [`access_log`] | one line per request naming a NIK, the NIK keyed-hashed |
//! | [`errors`] | the one error shape |
//! | [`json_body`] | request bodies, with the field at fault named |
//! | [`metrics`] | `/metrics` |
//! | [`openapi`] | `/openapi.json`, generated from the handlers |
//! | [`query`] | query parameters, in the error shape when unreadable |
//! | [`rate_limit`] | the public routes' per-address limit |
//! | [`state`] | what requests share; the blocking pool |
//! | [`verdict_json`] | verdicts as `tepat check --json` prints them |
//! | `routes` | the routes and their middleware |

#![forbid(unsafe_code)]

pub mod access_log;
pub mod auth;
pub mod claim_sync;
pub mod dci;
pub mod errors;
pub mod json_body;
pub mod ledger_sync;
pub mod metrics;
pub mod openapi;
pub mod private_file;
pub mod query;
pub mod rate_limit;
pub mod report_json;
mod routes;
pub mod state;
pub mod tls;
pub mod tokens;
pub mod verdict_json;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use routes::router;
pub use state::{AppState, Limits};

/// How a service is started.
#[derive(Clone, Debug)]
pub struct Config {
    /// The store directory.
    pub store: PathBuf,
    /// How the store is opened (its date, residency).
    pub options: tepat::Options,
    /// Where to listen (`127.0.0.1:7700`; port 0 picks one).
    pub listen: SocketAddr,
    /// The tokens file.
    pub tokens: PathBuf,
    /// The access log (default: `access.log` in the store directory).
    pub access_log: Option<PathBuf>,
    /// Limits on requests.
    pub limits: Limits,
    /// Serve HTTPS with this certificate and key (else plain HTTP, for
    /// loopback or behind a TLS proxy).
    pub tls: Option<tls::TlsFiles>,
    /// Reserve every claim in this central ledger before paying it
    /// (`--ledger URL --point ID`).
    pub ledger: Option<LedgerConfig>,
}

/// The central ledger a service reserves claims in.
#[derive(Clone, Debug)]
pub struct LedgerConfig {
    /// The ledger's PostgreSQL URL.
    pub url: String,
    /// This payout point's id in it.
    pub point: String,
    /// How long a reservation may take before the claim is decided as
    /// `ledger_unreachable`.
    pub deadline: std::time::Duration,
    /// Ship the claims log to the ledger this often, and once more at the
    /// end (`None`: never; `tepat sync` does it).
    pub sync_every: Option<std::time::Duration>,
}

/// What can stop a service from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] tepat::Error),
    /// The tokens file cannot be read.
    #[error(transparent)]
    Tokens(#[from] tokens::TokensError),
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The central ledger's settings cannot be used.
    #[error(transparent)]
    Ledger(#[from] tepat_ledger::Error),
    /// A socket, the access log or its key failed.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// Opens the store, the tokens and the access log.
pub fn open(config: &Config) -> Result<Arc<AppState>, ServeError> {
    let tokens = tokens::Tokens::load(&config.tokens)?;
    let store = tepat::Store::open_with(&config.store, config.options.clone())?;
    let log_path = config
        .access_log
        .clone()
        .unwrap_or_else(|| config.store.join("access.log"));
    let key_path = access_log::key_path_beside(&config.tokens);
    let access = access_log::AccessLog::open(&log_path, &key_path)
        .map_err(io(format!("access log {}", log_path.display())))?;
    let mut state = AppState::new(Arc::new(store), tokens, access, config.limits)
        .map_err(io("the claims log's syncer thread"))?;
    if let Some(l) = &config.ledger {
        let store_id = state.store.id().to_string();
        let central =
            tepat_ledger::reserve::PgReserver::new(&l.url, &l.point, &store_id, l.deadline)?;
        state.central = Some(Arc::new(central));
        state.ledger_url = Some(l.url.clone());
        if let Some(every) = l.sync_every {
            let target = ledger_sync::SyncTarget {
                url: l.url.clone(),
                point: l.point.clone(),
                every,
            };
            state.ledger_sync = Some(
                ledger_sync::LedgerSync::start(&state.store, target)
                    .map_err(io("the ledger sync's thread"))?,
            );
        }
    }
    Ok(Arc::new(state))
}

/// The TLS acceptor `config` asks for, if any.
fn acceptor(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, ServeError> {
    Ok(config
        .tls
        .as_ref()
        .map(tls::TlsFiles::acceptor)
        .transpose()?)
}

/// Serves `state` on `listener` (over TLS with `tls`) until `shutdown`
/// resolves; then stops accepting, finishes the requests in flight (every
/// claim answered is durable: it was before its answer), and writes out
/// the access log.
///
/// The accept loop is hyper's own rather than `axum::serve`, for the
/// header timeout: a connection that sends its headers too slowly, or
/// stays idle between requests longer than [`Limits::header_timeout`], is
/// closed, so that slow or silent clients cannot pile up.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let app = router(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, a connection reset before it
                // was accepted: wait a little, go on serving the others.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            app: app.clone(),
            peer,
            header_timeout: state.limits.header_timeout,
            watcher: graceful.watcher(),
            open: state.metrics.connection(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection.serve(stream).await,
                Some(tls) => {
                    let handshake =
                        tokio::time::timeout(connection.header_timeout, tls.accept(stream));
                    // A failed or too slow handshake ends that connection.
                    if let Ok(Ok(stream)) = handshake.await {
                        connection.serve(stream).await;
                    }
                }
            }
        });
    }
    state.draining.store(true, Ordering::Relaxed);
    drop(listener);
    graceful.shutdown().await;
    state.claim_sync.close();
    if let Some(sync) = &state.ledger_sync {
        // One last round: what was paid before the stop reaches the
        // ledger now, not at the next start.
        sync.close();
    }
    state.access.close();
    Ok(())
}

/// One accepted connection, served on its own task.
struct Connection {
    app: axum::Router,
    peer: SocketAddr,
    header_timeout: std::time::Duration,
    watcher: hyper_util::server::graceful::Watcher,
    /// Counted as open until this task ends.
    open: metrics::OpenConnection,
}

impl Connection {
    /// HTTP/1.1 on `io` (a TCP or TLS stream) until the client or a
    /// graceful stop ends it.
    async fn serve<I>(self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (app, peer) = (self.app, self.peer);
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(io), service);
        // A connection's error (reset, timeout) ends that connection.
        let _ = self.watcher.watch(conn).await;
        drop(self.open);
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs a service until SIGTERM or SIGINT: `tepat serve`. `ready` is
/// called with the address once it listens.
pub fn run(config: &Config, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let tls = acceptor(config)?;
    let state = open(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tepat-serve")
        .build()
        .map_err(io("the runtime"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(io(format!("listening on {}", config.listen)))?;
        let addr = listener.local_addr().map_err(io("the listening address"))?;
        ready(addr);
        serve(listener, state, tls, termination()).await
    })
}

/// A service running on a thread of its own (tests, embedders).
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    /// Starts a service on a thread of its own.
    pub fn start(config: &Config) -> Result<Running, ServeError> {
        let tls = acceptor(config)?;
        let state = open(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(io("the runtime"))?;
        let std_listener = std::net::TcpListener::bind(config.listen)
            .map_err(io(format!("listening on {}", config.listen)))?;
        std_listener
            .set_nonblocking(true)
            .map_err(io("the listener"))?;
        let addr = std_listener
            .local_addr()
            .map_err(io("the listening address"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).map_err(io("the listener"))?;
                serve(listener, state, tls, async move {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Ok(Running {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops it as SIGTERM would, and waits.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ServeError::Io {
                what: "the service's thread".into(),
                source: std::io::Error::other("panicked"),
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
