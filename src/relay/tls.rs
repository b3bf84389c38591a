//! TLS for the relay (rustls with the `ring` provider, blocking `StreamOwned`): the listen side
//! (`--tls-cert`/`--tls-key`, optional `--tls-client-ca` for client certificates) and the
//! forward side (`--forward-tls`, roots from `--forward-tls-ca` or the bundled webpki roots,
//! the name checked, an optional client certificate).
//!
//! Owns: loading certificates, keys and roots (errors name the file and a fixed reason), building
//! the rustls configs, and completing a handshake before any Forward-protocol byte is read or
//! written. Must never: log or return key material or file content (PEM parse errors can quote a
//! line, so they are mapped to fixed reasons), disable certificate or name verification, or fall
//! back to plaintext when a handshake fails.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls::{ConnectionCommon, StreamOwned};

use super::server::Conn;

/// How long a peer may take to finish the TLS handshake: a silent client must not hold a
/// connection thread for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the close_notify alert may take to leave when a connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A socket the relay can put TLS on (the read timeout bounds the handshake, the write timeout
/// the closing alert).
pub trait Socket: Read + Write + Send + 'static {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, t)
    }
}

impl Socket for UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, t)
    }
}

/// The side data of a rustls connection (names [`Closing`]'s bound for both sides).
trait Side {
    type Data: rustls::SideData;
}
impl Side for ServerConnection {
    type Data = rustls::server::ServerConnectionData;
}
impl Side for ClientConnection {
    type Data = rustls::client::ClientConnectionData;
}

/// A TLS stream that says goodbye: dropped, it sends close_notify, so the peer sees a clean end
/// rather than a truncation (Fluent Bit logs an `[error] unexpected eof` for that).
struct Closing<C, S: Socket>(StreamOwned<C, S>)
where
    C: std::ops::DerefMut<Target = ConnectionCommon<<C as Side>::Data>> + Side;

impl<C, S: Socket> Read for Closing<C, S>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<<C as Side>::Data>> + Side,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<C, S: Socket> Write for Closing<C, S>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<<C as Side>::Data>> + Side,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<C, S: Socket> Drop for Closing<C, S>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<<C as Side>::Data>> + Side,
{
    fn drop(&mut self) {
        self.0.conn.send_close_notify();
        // Bounded: a peer that stopped reading must not hold this thread.
        if self.0.sock.set_write_timeout(Some(CLOSE_TIMEOUT)).is_ok() {
            while self.0.conn.wants_write() {
                if self.0.conn.write_tls(&mut self.0.sock).is_err() {
                    break;
                }
            }
        }
    }
}

/// The forward side's settings: the client config and the name the next hop's certificate
/// must carry.
pub struct ForwardTls {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

/// Where the relay's client certificate for the next hop comes from (`--forward-tls-cert`,
/// `--forward-tls-key`).
pub struct ClientIdentity<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// rustls 0.23.48 marks the ring provider deprecated because it lacks post-quantum key exchange
/// (X25519MLKEM768); its classical suites are still rustls' safe defaults. aws-lc-rs, the
/// provider with it, needs cmake/nasm on the build machine, which the project does not install.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {what}: {e}", path.display()))
}

/// A fixed reason per PEM error: some variants carry a line of the file, which for a key file
/// would be key material.
fn pem_reason(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "PEM section without its END line",
        pem::Error::IllegalSectionStart { .. } => "malformed PEM BEGIN line",
        pem::Error::Base64Decode(_) => "PEM section is not valid base64",
        pem::Error::NoItemsFound => "no PEM item of the expected type",
        pem::Error::SectionTooLarge => "PEM section too large",
        _ => "unreadable PEM",
    }
}

fn load_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {what}: {}", path.display(), pem_reason(&e)))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: {what}: no PEM CERTIFICATE found",
            path.display()
        ));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        format!(
            "{}: private key: {} (PKCS#8, PKCS#1 or SEC1 PEM expected)",
            path.display(),
            pem_reason(&e)
        )
    })
}

fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path, "CA certificates")? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: CA certificate: {e}", path.display()))?;
    }
    Ok(roots)
}

/// The listen side's config from `--tls-cert`, `--tls-key` and (mTLS) `--tls-client-ca`.
pub fn listen_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, String> {
    let chain = load_certs(cert, "certificate chain")?;
    let key_der = load_key(key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(load_roots(ca)?), provider())
                    .build()
                    .map_err(|e| format!("{}: client CA: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key_der).map_err(|e| {
        format!(
            "{} / {}: certificate and key: {e}",
            cert.display(),
            key.display()
        )
    })?;
    Ok(Arc::new(config))
}

/// The forward side's config: `--forward-tls-ca` (only those roots) or the bundled webpki
/// roots, the name to verify, and an optional client certificate.
pub fn forward_config(
    ca: Option<&Path>,
    server_name: &str,
    identity: Option<ClientIdentity<'_>>,
) -> Result<ForwardTls, String> {
    let roots = match ca {
        Some(ca) => load_roots(ca)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|_| format!("TLS server name '{server_name}' is not a DNS name or IP address"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| format!("next hop roots: {e}"))?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_webpki_verifier(verifier);
    let mut config = match identity {
        Some(id) => {
            let chain = load_certs(id.cert, "client certificate chain")?;
            let key = load_key(id.key)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "{} / {}: client certificate and key: {e}",
                    id.cert.display(),
                    id.key.display()
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    // No session resumption: an OpenSSL server that checks client certificates without a
    // session id context (Fluent Bit 5.1.1's forward input with `tls.verify_client_cert on`)
    // fails a resumed handshake ("session id context uninitialized"), which cost every other
    // connection a refused chunk. Connections are long-lived, so a full handshake each is cheap.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(ForwardTls {
        config: Arc::new(config),
        name,
    })
}

/// Runs the handshake to its end so that a failure is reported as one (with rustls' reason:
/// alert, certificate error, not TLS), never as a later read error or as plaintext.
fn handshake<D>(
    conn: &mut ConnectionCommon<D>,
    sock: &mut impl Socket,
) -> Result<(), HandshakeError> {
    let mut received = 0;
    while conn.is_handshaking() {
        let (read, _) = conn.complete_io(sock).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof if received == 0 => HandshakeError::NothingSent,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                HandshakeError::Failed("timed out".to_string())
            }
            io::ErrorKind::UnexpectedEof => {
                HandshakeError::Failed("peer closed the connection".to_string())
            }
            _ => HandshakeError::failed(e),
        })?;
        received += read;
    }
    // The last flight (the client's Finished, or a TLS 1.3 server's tickets) may still be
    // buffered.
    while conn.wants_write() {
        conn.write_tls(sock).map_err(HandshakeError::failed)?;
    }
    Ok(())
}

/// Why a TLS handshake did not complete.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer closed the connection without sending a byte: a TCP health check or a port
    /// probe, not a sender that failed (the listener does not log it: probes come every few
    /// seconds).
    NothingSent,
    /// A reason for the log (never content): an alert, a certificate error, not TLS, a timeout.
    Failed(String),
}

impl HandshakeError {
    fn failed(why: impl std::fmt::Display) -> HandshakeError {
        HandshakeError::Failed(why.to_string())
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::NothingSent => f.write_str("peer closed the connection at once"),
            HandshakeError::Failed(why) => f.write_str(why),
        }
    }
}

/// Server side: the handshake with a sender, bounded by `HANDSHAKE_TIMEOUT`. The error is a
/// reason for the log (no content; the caller adds the peer).
pub fn accept<S: Socket>(
    config: &Arc<ServerConfig>,
    mut sock: S,
) -> Result<Box<dyn Conn>, HandshakeError> {
    let mut conn = ServerConnection::new(Arc::clone(config)).map_err(HandshakeError::failed)?;
    sock.set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(HandshakeError::failed)?;
    handshake(&mut conn, &mut sock)?;
    sock.set_read_timeout(None)
        .map_err(HandshakeError::failed)?;
    Ok(Box::new(Closing(StreamOwned::new(conn, sock))))
}

/// Client side: the handshake with the next hop, verifying its certificate against the roots
/// and the server name. The socket's own read timeout bounds it.
pub fn connect<S: Socket>(tls: &ForwardTls, mut sock: S) -> Result<Box<dyn Conn>, String> {
    let mut conn = ClientConnection::new(Arc::clone(&tls.config), tls.name.clone())
        .map_err(|e| e.to_string())?;
    handshake(&mut conn, &mut sock).map_err(|e| e.to_string())?;
    Ok(Box::new(Closing(StreamOwned::new(conn, sock))))
}
