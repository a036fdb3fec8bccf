//! `tepat serve --tls-cert --tls-key`: HTTPS with a throwaway certificate,
//! a client that trusts only it, a claim over it; plain HTTP and a silent
//! client on the TLS port get nothing and hold nothing; unusable files are
//! refused at start, naming the file.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use support::{Fixture, nik, payable};
use tepat_server::tls::TlsFiles;

/// A self-signed certificate for 127.0.0.1 written as PEM files in `dir`;
/// the certificate's DER for the client to trust.
fn certificate(dir: &std::path::Path) -> (TlsFiles, CertificateDer<'static>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let files = TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, cert.cert.pem()).unwrap();
    std::fs::write(&files.key, cert.key_pair.serialize_pem()).unwrap();
    (files, cert.cert.der().clone())
}

/// One HTTPS request (`Connection: close`) trusting only `trusted`: the
/// status and the JSON body.
fn https(
    addr: SocketAddr,
    trusted: &CertificateDer<'static>,
    request: &str,
) -> Result<(u16, Value), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // The server closes without a TLS close_notify now and then; what
    // arrived before is the answer.
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no answer")?;
    let status = head.split(' ').nth(1).ok_or("no status")?.parse().unwrap();
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn post(path: &str, token: &str, body: &Value) -> String {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_claim_over_https_and_nothing_for_plain_http_or_a_silent_client() {
    let f = Fixture::new(40, 23);
    // The payable person is found over plain HTTP first.
    let who = {
        let plain = f.start();
        payable(&support::Client::new(plain.addr), &f, true, 0)
    };
    let (files, trusted) = certificate(f.dir.path());
    let mut config = f.config();
    config.tls = Some(files);
    let s = tepat_server::Running::start(&config).unwrap();

    let claim = post(
        "/v1/claim",
        &f.tokens.payout,
        &json!({"request_id": "TLS-1", "nik": who, "program": "PBI_JK", "period": "2026-11"}),
    );
    let (status, body) = https(s.addr, &trusted, &claim).unwrap();
    assert_eq!((status, &body["outcome"]), (200, &json!("paid")), "{body}");
    let (status, body) = https(s.addr, &trusted, &claim).unwrap();
    assert_eq!((status, &body["replayed"]), (200, &json!(true)), "{body}");

    // Plain HTTP to the TLS port: no HTTP answer, and no NIK echoed back.
    let mut plain = TcpStream::connect(s.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(post("/v1/check", &f.tokens.payout, &json!({"nik": who})).as_bytes())
        .unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    // A client that connects and never says a word is closed after the
    // header timeout (2 s in the fixture), handshake or not.
    let mut silent = TcpStream::connect(s.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = std::time::Instant::now();
    let n = silent.read(&mut [0u8; 64]).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(8));
    // The service goes on serving.
    let info = format!(
        "GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        f.tokens.payout
    );
    let (status, _) = https(s.addr, &trusted, &info).unwrap();
    assert_eq!(status, 200);
    assert!(f.records.iter().any(|r| nik(r) == who));
}

#[test]
fn unusable_certificate_or_key_files_are_refused_naming_the_file() {
    let f = Fixture::new(10, 29);
    let (files, _) = certificate(f.dir.path());
    let start = |tls: TlsFiles| {
        let mut config = f.config();
        config.tls = Some(tls);
        match tepat_server::Running::start(&config) {
            Ok(_) => panic!("started with {tls:?}", tls = config.tls),
            Err(e) => e.to_string(),
        }
    };
    let missing = f.dir.path().join("missing.pem");
    let e = start(TlsFiles {
        cert: missing.clone(),
        ..files.clone()
    });
    assert!(e.contains("missing.pem"), "{e}");
    // A key given as the certificate, and the certificate as the key.
    let e = start(TlsFiles {
        cert: files.key.clone(),
        key: files.key.clone(),
    });
    assert!(
        e.contains("key.pem") && e.contains("no PEM certificate"),
        "{e}"
    );
    let e = start(TlsFiles {
        cert: files.cert.clone(),
        key: files.cert.clone(),
    });
    assert!(e.contains("cert.pem") && e.contains("private key"), "{e}");
    // Another certificate's key.
    let (other, _) = certificate(&{
        let d = f.dir.path().join("other");
        std::fs::create_dir(&d).unwrap();
        d
    });
    let e = start(TlsFiles {
        cert: files.cert.clone(),
        key: other.key,
    });
    assert!(e.contains("key.pem"), "{e}");
}
