//! Helpers of tests/relay_tls.rs: throwaway CAs and certificates (rcgen), rustls peers, the relay
//! as a child process with its stderr collected, Forward-protocol chunks.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logredact::relay::msgpack::{decode, encode, str, Value};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

pub const SECRET: &str = "Sup3rS3cretValue1";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_logredact")
}

#[allow(deprecated)] // see src/relay/tls.rs: ring lacks post-quantum key exchange only
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A throwaway CA that writes its certificate and leaf certificates into `dir`.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
    pub dir: PathBuf,
    pub name: String,
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca = Ca {
            issuer,
            dir: dir.to_path_buf(),
            name: name.to_string(),
        };
        std::fs::write(ca.cert_path(), ca.issuer.pem()).unwrap();
        ca
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A leaf for `names` (DNS names or IP addresses), usable as server and client certificate;
    /// returns (cert path, key path).
    pub fn leaf(&self, file: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (c, k) = (
            self.dir.join(format!("{file}.crt")),
            self.dir.join(format!("{file}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}

pub fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .map(|c| c.unwrap())
        .collect()
}

pub fn roots(ca: &Path) -> Arc<rustls::RootCertStore> {
    let mut r = rustls::RootCertStore::empty();
    for c in certs(ca) {
        r.add(c).unwrap();
    }
    Arc::new(r)
}

pub fn client_config(
    ca: &Path,
    identity: Option<&(PathBuf, PathBuf)>,
) -> Arc<rustls::ClientConfig> {
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca));
    Arc::new(match identity {
        Some((c, k)) => b
            .with_client_auth_cert(certs(c), PrivateKeyDer::from_pem_file(k).unwrap())
            .unwrap(),
        None => b.with_no_client_auth(),
    })
}

pub fn server_config(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs(cert), PrivateKeyDer::from_pem_file(key).unwrap())
            .unwrap(),
    )
}

pub type TlsClient = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

pub fn tls_client(port: u16, config: Arc<rustls::ClientConfig>) -> TlsClient {
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    rustls::StreamOwned::new(rustls::ClientConnection::new(config, name).unwrap(), sock)
}

pub fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out);
    out
}

/// A Forward-mode chunk `c1` with one record whose `log` holds a password.
pub fn chunk(tag: &str) -> Vec<u8> {
    let rec = Value::Map(vec![(
        str(b"log"),
        str(format!("login password={SECRET} ok").as_bytes()),
    )]);
    enc(&Value::Array(vec![
        str(tag.as_bytes()),
        Value::Array(vec![Value::Array(vec![Value::Int(vec![7]), rec])]),
        Value::Map(vec![(str(b"chunk"), str(b"c1"))]),
    ]))
}

pub fn read_value(r: &mut impl Read) -> Option<Value> {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        if let Ok((v, _)) = decode(&buf) {
            return Some(v);
        }
        match r.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

pub struct Relay {
    pub child: Child,
    pub stderr: mpsc::Receiver<Vec<u8>>,
    pub seen: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Relay {
    pub fn start(args: &[&str]) -> Relay {
        let mut child = Command::new(bin())
            .arg("relay")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("relay starts");
        let mut err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Relay {
            child,
            stderr: rx,
            seen: String::new(),
        }
    }

    /// The relay's stderr so far, waiting up to 10 s until `done` holds for it.
    pub fn stderr_until(&mut self, done: impl Fn(&str) -> bool) -> &str {
        let t = Instant::now();
        while !done(&self.seen) && t.elapsed() < Duration::from_secs(10) {
            if let Ok(chunk) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                self.seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        &self.seen
    }

    /// The relay's stderr so far, after what it wrote in the last 300 ms has been read.
    pub fn stderr_now(&mut self) -> &str {
        while let Ok(chunk) = self.stderr.recv_timeout(Duration::from_millis(300)) {
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        &self.seen
    }
}

/// Complete stderr lines about a refused TLS handshake. The readiness probes of
/// [`wait_for_port`] connect and close without a byte: the relay does not log those.
pub fn refusals(stderr: &str) -> usize {
    stderr
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n') && l.contains("TLS handshake with"))
        .count()
}

pub fn wait_for_port(port: u16) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() && t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
