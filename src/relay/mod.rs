//! `logredact relay`: a Forward-protocol hop inside Fluent Bit's (or Fluentd's) record stream.
//! Receives records from a `forward` output, redacts every string value, forwards them to the
//! next hop's `forward` input and acks each chunk only once the next hop acked it.
//!
//! Owns: the subcommand's options and the listen policy (Unix socket or loopback, unless the
//! listener serves TLS or `--listen-any` is given). Must never: listen beyond loopback in
//! plaintext by default, or print record content.

pub mod handshake;
pub mod msgpack;
pub mod protocol;
pub mod redact;
pub mod server;
pub mod tls;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use clap::Args;

use crate::cli::{build_filter, load_rules, Failure, FilterArgs};
use crate::format::keys::SecretKeys;

/// Options of `logredact relay`.
#[derive(Debug, Args, Clone)]
pub struct RelayArgs {
    /// Where Fluent Bit's `forward` output connects: unix:PATH or tcp:HOST:PORT. A TCP address
    /// that is not loopback needs --tls-cert/--tls-key (or --listen-any).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The next hop's `forward` input: unix:PATH or tcp:HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub forward: String,
    /// Allow a plaintext TCP listen address that is not loopback (only on a trusted network;
    /// with TLS it is not needed).
    #[arg(long)]
    pub listen_any: bool,
    /// TLS on either side (boxed: the options are many and the subcommand enum holds them).
    #[command(flatten)]
    pub tls: Box<RelayTlsArgs>,
    /// Largest message accepted (compressed chunks: after inflating); a larger one closes the
    /// connection unacknowledged.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_message_bytes: usize,
    /// File holding the shared key senders must prove (Fluent Bit's `Shared_Key`); read from a
    /// file so that it is not visible in the process list.
    #[arg(long, value_name = "FILE")]
    pub shared_key_file: Option<PathBuf>,
    /// File holding the shared key of the next hop's `forward` input.
    #[arg(long, value_name = "FILE")]
    pub forward_shared_key_file: Option<PathBuf>,
    /// The hostname given in the handshake.
    #[arg(long, default_value = "logredact-relay", value_name = "NAME")]
    pub self_hostname: String,
}

/// The TLS options of `logredact relay` (see [`tls`]).
#[derive(Debug, Args, Clone)]
pub struct RelayTlsArgs {
    /// Serve TLS to senders with this PEM certificate chain (leaf first); needs --tls-key.
    /// Read once at start: a renewed certificate needs a restart.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require senders to present a client certificate issued by a CA in this PEM file (mTLS).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Connect to the next hop with TLS; its certificate is verified against --forward-tls-ca
    /// (or the bundled Mozilla roots) and --forward-tls-server-name.
    #[arg(long)]
    pub forward_tls: bool,
    /// Trust only the CA certificates in this PEM file for the next hop (instead of the bundled
    /// Mozilla roots).
    #[arg(long, value_name = "FILE", requires = "forward_tls")]
    pub forward_tls_ca: Option<PathBuf>,
    /// The name the next hop's certificate must carry (default: the host of --forward).
    #[arg(long, value_name = "NAME", requires = "forward_tls")]
    pub forward_tls_server_name: Option<String>,
    /// Client certificate chain (PEM) presented to the next hop; needs --forward-tls-key.
    #[arg(long, value_name = "FILE", requires_all = ["forward_tls", "forward_tls_key"])]
    pub forward_tls_cert: Option<PathBuf>,
    /// The PEM private key of --forward-tls-cert.
    #[arg(long, value_name = "FILE", requires_all = ["forward_tls", "forward_tls_cert"])]
    pub forward_tls_key: Option<PathBuf>,
}

/// Reads a key file; one trailing newline is not part of the key.
fn read_key(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let mut key = std::fs::read(path).map_err(|e| Failure {
        code: 2,
        message: format!("{}: {e}", path.display()),
    })?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.is_empty() {
        return Err(Failure {
            code: 2,
            message: format!("{}: empty shared key", path.display()),
        });
    }
    Ok(Some(key))
}

/// A socket address of `--listen` / `--forward`.
#[derive(Debug, Clone)]
pub enum Addr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

/// Parses `unix:PATH` or `tcp:HOST:PORT`.
pub fn parse_addr(s: &str) -> Result<Addr, String> {
    if let Some(p) = s.strip_prefix("unix:") {
        return Ok(Addr::Unix(PathBuf::from(p)));
    }
    let Some(hp) = s.strip_prefix("tcp:") else {
        return Err(format!(
            "address '{s}': expected unix:PATH or tcp:HOST:PORT"
        ));
    };
    hp.to_socket_addrs()
        .map_err(|e| format!("address '{s}': {e}"))?
        .next()
        .map(Addr::Tcp)
        .ok_or_else(|| format!("address '{s}': no address"))
}

/// The host part of `tcp:HOST:PORT` (brackets of an IPv6 literal removed): the default name
/// the next hop's certificate is checked against.
fn forward_host(s: &str) -> Option<&str> {
    let (host, _port) = s.strip_prefix("tcp:")?.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then_some(host)
}

/// The listen side's TLS config, if asked for.
fn listen_tls(args: &RelayTlsArgs) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            tls::listen_config(cert, key, args.tls_client_ca.as_deref()).map(Some)
        }
        (None, None) => Ok(None),
        _ => Err("--tls-cert and --tls-key go together".into()),
    }
}

/// The forward side's TLS config, if asked for.
fn forward_tls(args: &RelayTlsArgs, forward: &str) -> Result<Option<tls::ForwardTls>, String> {
    if !args.forward_tls {
        return Ok(None);
    }
    let name = match (&args.forward_tls_server_name, forward_host(forward)) {
        (Some(n), _) => n.as_str(),
        (None, Some(h)) => h,
        (None, None) => {
            return Err(format!(
                "--forward {forward}: no host name to verify; pass --forward-tls-server-name"
            ))
        }
    };
    let identity = match (&args.forward_tls_cert, &args.forward_tls_key) {
        (Some(cert), Some(key)) => Some(tls::ClientIdentity { cert, key }),
        (None, None) => None,
        _ => return Err("--forward-tls-cert and --forward-tls-key go together".into()),
    };
    tls::forward_config(args.forward_tls_ca.as_deref(), name, identity).map(Some)
}

/// Runs the relay until killed.
pub fn run(filter_args: &FilterArgs, args: &RelayArgs) -> Result<u8, Failure> {
    let config = |m: String| Failure {
        code: 2,
        message: m,
    };
    let listen = parse_addr(&args.listen).map_err(config)?;
    let forward = parse_addr(&args.forward).map_err(config)?;
    let listen_tls = listen_tls(&args.tls).map_err(config)?;
    if let Addr::Tcp(a) = &listen {
        if !a.ip().is_loopback() && listen_tls.is_none() && !args.listen_any {
            return Err(config(format!(
                "--listen {a} is not loopback: records would be readable by the network; \
                 serve TLS (--tls-cert, --tls-key) or pass --listen-any to allow plaintext"
            )));
        }
    }
    let forward_tls = forward_tls(&args.tls, &args.forward).map_err(config)?;
    let rules = load_rules(&filter_args.rules)?;
    let filter = build_filter(filter_args, rules)?;
    let shared = Arc::new(server::Shared {
        redaction: redact::Redaction {
            filter,
            keys: SecretKeys::new(&filter_args.secret_keys),
        },
        forward,
        max_bytes: args.max_message_bytes,
        chunks: AtomicU64::new(0),
        listen_key: read_key(&args.shared_key_file)?,
        forward_key: read_key(&args.forward_shared_key_file)?,
        hostname: args.self_hostname.clone().into_bytes(),
        listen_tls,
        forward_tls,
    });
    server::serve(&listen, shared).map_err(|e| Failure {
        code: 1,
        message: format!("relay: {e}"),
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::forward_host;

    /// The default name checked on the next hop's certificate is the host of `--forward`.
    #[test]
    fn forward_host_is_the_name_or_address_without_port_or_brackets() {
        assert_eq!(forward_host("tcp:agg.example:24224"), Some("agg.example"));
        assert_eq!(forward_host("tcp:127.0.0.1:24224"), Some("127.0.0.1"));
        assert_eq!(forward_host("tcp:[::1]:24224"), Some("::1"));
        assert_eq!(forward_host("tcp::24224"), None);
        assert_eq!(forward_host("unix:/run/x.sock"), None);
    }
}
