//! `logredact relay`: a Forward-protocol hop inside Fluent Bit's (or Fluentd's) record stream.
//! Receives records from a `forward` output, redacts every string value, forwards them to the
//! next hop's `forward` input and acks each chunk only once the next hop acked it.
//!
//! Owns: the subcommand's options and the listen policy (Unix socket or loopback unless
//! `--listen-any`). Must never: listen beyond loopback by default, or print record content.

pub mod handshake;
pub mod msgpack;
pub mod protocol;
pub mod redact;
pub mod server;

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
    /// Where Fluent Bit's `forward` output connects: unix:PATH or tcp:127.0.0.1:PORT.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The next hop's `forward` input: unix:PATH or tcp:HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub forward: String,
    /// Allow a TCP listen address that is not loopback (no TLS yet: only on a trusted network).
    #[arg(long)]
    pub listen_any: bool,
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

/// Runs the relay until killed.
pub fn run(filter_args: &FilterArgs, args: &RelayArgs) -> Result<u8, Failure> {
    let config = |m: String| Failure {
        code: 2,
        message: m,
    };
    let listen = parse_addr(&args.listen).map_err(config)?;
    let forward = parse_addr(&args.forward).map_err(config)?;
    if let Addr::Tcp(a) = &listen {
        if !a.ip().is_loopback() && !args.listen_any {
            return Err(config(format!(
                "--listen {a} is not loopback: records would be readable by the network; \
                 pass --listen-any to allow it"
            )));
        }
    }
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
    });
    server::serve(&listen, shared).map_err(|e| Failure {
        code: 1,
        message: format!("relay: {e}"),
    })?;
    Ok(0)
}
