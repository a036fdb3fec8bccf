//! TLS for `tepat serve --tls-cert F --tls-key F`: rustls (with *ring*),
//! HTTP/1.1 over it. A payout point's counter and a bank call the service
//! across networks the ministry does not own; tokens and NIKs must not
//! cross them in clear. The handshake runs on the connection's own task,
//! under the header timeout, so a client that opens a connection and
//! never finishes its handshake holds only that connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and private key files (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub file: String,
    /// What is wrong with it.
    pub message: String,
}

impl TlsFiles {
    /// Reads both files into an acceptor, naming the file at fault.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let fail = |file: &Path| {
            let file = file.display().to_string();
            move |message: String| TlsError { file, message }
        };
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| fail(&self.cert)(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(&self.cert)(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail(&self.cert)("holds no PEM certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| fail(&self.key)(format!("no usable PEM private key: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(&self.cert)(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| fail(&self.key)(format!("does not fit the certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
