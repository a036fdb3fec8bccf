//! Connecting to the ledger's PostgreSQL.
//!
//! The client is `postgres` (synchronous, on `tokio-postgres`): the
//! commands that use it (`tepat ledger`, `tepat sync`) are synchronous, as
//! is the library, and a runtime of its own inside the client keeps tokio
//! out of every signature. A service that runs on tokio already can use
//! `tokio-postgres` with the same SQL.

use std::str::FromStr;
use std::time::Duration;

use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::{Client, Config, NoTls, Socket};

use crate::error::{DbContext, Error, Result};

/// How long a connection attempt waits when the URL does not say
/// (`connect_timeout=`): a server that does not answer is an error, not a
/// hang.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `url` (`postgresql://user@host:port/db?...` or `key=value`
/// pairs) without TLS: the local server, or one on a trusted network.
pub fn connect(url: &str) -> Result<Client> {
    connect_with(url, NoTls)
}

/// Connects to `url` through `tls`, any `MakeTlsConnect` connector
/// (`postgres-native-tls`, `postgres-openssl`, `tokio-postgres-rustls`):
/// the path a deployment over an untrusted network takes.
pub fn connect_with<T>(url: &str, tls: T) -> Result<Client>
where
    T: MakeTlsConnect<Socket> + 'static + Send,
    T::TlsConnect: Send,
    T::Stream: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let mut config = Config::from_str(url).map_err(|e| {
        Error::Usage(format!(
            "--db {:?} is not a PostgreSQL URL: {e}",
            redact(url)
        ))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    config
        .connect(tls)
        .db(|| format!("connecting to the ledger at {}", redact(url)))
}

/// The URL without its password (`user:PASSWORD@`, `password=PASSWORD`
/// in a key-value string or a URL's query), for messages.
pub fn redact(url: &str) -> String {
    let url = redact_password_params(url);
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}:***{}", &url[..scheme + 3 + colon], &url[at..]),
                None => url,
            }
        }
        _ => url,
    }
}

fn redact_password_params(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(at) = rest.find("password=") {
        let value = at + "password=".len();
        out.push_str(&rest[..value]);
        out.push_str("***");
        let end = rest[value..]
            .find(|c: char| c.is_whitespace() || c == '&')
            .map_or(rest.len(), |e| value + e);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db"
        );
        assert_eq!(redact("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(
            redact("host=h password=secret dbname=d"),
            "host=h password=*** dbname=d"
        );
        assert_eq!(
            redact("postgresql://h/db?password=secret&sslmode=require"),
            "postgresql://h/db?password=***&sslmode=require"
        );
    }
}
