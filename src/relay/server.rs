//! Connections: accepts Forward-protocol senders, and for each one keeps its own connection to
//! the next hop, so order per connection is kept. A chunk is acknowledged upstream only after
//! the next hop acknowledged the redacted copy: if anything fails the incoming connection is
//! closed without an ack and the sender (Fluent Bit) retries the chunk.
//!
//! Owns: sockets, framing, the size cap, timeouts. Must never: log record content (reasons name
//! the protocol construct only), ack a chunk that was not delivered, or panic on input.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::handshake;
use super::msgpack::{self, DecodeError, Value};
use super::protocol::{self, encode_ack, is_ack_for, RawEntries};
use super::redact::{redact_entries, Redaction};
use super::tls::{self, ForwardTls, Socket};
use super::Addr;

/// How long the next hop may take to acknowledge a chunk before we give up on it.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

pub trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// Settings shared by every connection.
pub struct Shared {
    pub redaction: Redaction,
    pub forward: Addr,
    pub max_bytes: usize,
    pub chunks: AtomicU64,
    /// `--shared-key-file`: senders must pass the handshake with this key.
    pub listen_key: Option<Vec<u8>>,
    /// `--forward-shared-key-file`: the key the next hop expects.
    pub forward_key: Option<Vec<u8>>,
    pub hostname: Vec<u8>,
    /// `--tls-cert`/`--tls-key`: senders must speak TLS.
    pub listen_tls: Option<Arc<rustls::ServerConfig>>,
    /// `--forward-tls`: the next hop is reached over verified TLS.
    pub forward_tls: Option<ForwardTls>,
}

/// Connects to the next hop, with TLS when `tls` is set (the handshake is done before this
/// returns; a failed one is an error, never a plaintext connection).
pub fn connect(addr: &Addr, tls: Option<&ForwardTls>) -> Result<Box<dyn Conn>, String> {
    fn wrap<S: Socket>(s: S, tls: Option<&ForwardTls>) -> Result<Box<dyn Conn>, String> {
        match tls {
            Some(t) => tls::connect(t, s).map_err(|why| format!("next hop TLS: {why}")),
            None => Ok(Box::new(s)),
        }
    }
    let io = |e: io::Error| format!("next hop: {e}");
    match addr {
        Addr::Unix(p) => {
            let s = UnixStream::connect(p).map_err(io)?;
            s.set_read_timeout(Some(ACK_TIMEOUT)).map_err(io)?;
            wrap(s, tls)
        }
        Addr::Tcp(a) => {
            let s = TcpStream::connect(a).map_err(io)?;
            s.set_nodelay(true).map_err(io)?;
            s.set_read_timeout(Some(ACK_TIMEOUT)).map_err(io)?;
            wrap(s, tls)
        }
    }
}

/// Accepts connections on `addr` forever, one thread per connection.
pub fn serve(addr: &Addr, shared: Arc<Shared>) -> io::Result<()> {
    match addr {
        Addr::Unix(p) => {
            // A stale socket file from a killed relay would make bind fail.
            let _ = std::fs::remove_file(p);
            let l = UnixListener::bind(p)?;
            for c in l.incoming() {
                match c {
                    Ok(c) => spawn(c, "unix socket peer".into(), &shared),
                    Err(e) => eprintln!("logredact relay: accept: {e}"),
                }
            }
        }
        Addr::Tcp(a) => {
            let l = TcpListener::bind(a)?;
            for c in l.incoming() {
                match c {
                    Ok(c) => {
                        let _ = c.set_nodelay(true);
                        let peer = c
                            .peer_addr()
                            .map_or_else(|_| "unknown peer".into(), |p| p.to_string());
                        spawn(c, peer, &shared)
                    }
                    Err(e) => eprintln!("logredact relay: accept: {e}"),
                }
            }
        }
    }
    Ok(())
}

/// One thread per connection; the TLS handshake runs there too, so a slow or silent client
/// never holds up the accept loop. Failures close this connection only, logged with the peer
/// and a reason (never content).
fn spawn<S: Socket>(sock: S, peer: String, shared: &Arc<Shared>) {
    let shared = Arc::clone(shared);
    std::thread::spawn(move || {
        let conn: Box<dyn Conn> = match &shared.listen_tls {
            Some(config) => match tls::accept(config, sock) {
                Ok(c) => c,
                Err(tls::HandshakeError::NothingSent) => return,
                Err(why) => {
                    eprintln!("logredact relay: TLS handshake with {peer} failed: {why}");
                    return;
                }
            },
            None => Box::new(sock),
        };
        if let Err(why) = handle(conn, &shared) {
            eprintln!("logredact relay: connection from {peer} closed: {why}");
        }
    });
}

/// Reads whole msgpack values from a stream, never buffering more than `max` bytes.
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl Framer {
    pub fn new(max: usize) -> Self {
        Framer {
            buf: Vec::new(),
            start: 0,
            max,
        }
    }

    /// The next value, or `None` at a clean end of stream.
    pub fn next(&mut self, r: &mut dyn Read) -> Result<Option<Value>, String> {
        let Some(range) = self.next_raw(r)? else {
            return Ok(None);
        };
        match msgpack::decode(&self.buf[range]) {
            Ok((v, _)) => Ok(Some(v)),
            Err(DecodeError::Invalid(why)) => Err(format!("malformed msgpack: {why}")),
            Err(DecodeError::Incomplete) => Err("malformed msgpack: value ends early".into()),
        }
    }

    /// The bytes of a range [`Framer::next_raw`] returned (valid until the next call).
    pub fn bytes(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Where the next whole value is in the buffer (validated, nothing decoded), or `None` at a
    /// clean end of stream.
    pub fn next_raw(&mut self, r: &mut dyn Read) -> Result<Option<std::ops::Range<usize>>, String> {
        // The walk resumes where the last read ran out, so framing is linear in the message
        // size however many reads it took (TLS: one per record of at most 16 KiB).
        let mut walk = msgpack::Resumable::default();
        loop {
            if self.buf.len() > self.start {
                match walk.resume(&self.buf[self.start..]) {
                    Ok(used) => {
                        let range = self.start..self.start + used;
                        self.start += used;
                        return Ok(Some(range));
                    }
                    Err(DecodeError::Invalid(why)) => {
                        return Err(format!("malformed msgpack: {why}"))
                    }
                    Err(DecodeError::Incomplete) => {}
                }
            }
            if self.start > 0 {
                // Only before the first read of a value: `walk` has not started, so the
                // positions it would keep are not shifted under it.
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if self.buf.len() >= self.max {
                return Err(format!("message over the {} byte cap", self.max));
            }
            // A fixed read window: `resize` zero-fills it, so a window growing with the buffer
            // would cost the whole buffer again on every short read.
            let have = self.buf.len();
            let want = (have + 64 * 1024).min(self.max);
            self.buf.resize(want, 0);
            let n = match r.read(&mut self.buf[have..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.buf.truncate(have);
                    continue;
                }
                // TLS: the peer closed without a close_notify. Between messages that is an end
                // like any other (nothing unacked is lost: the sender retries); inside one it
                // is reported below as a truncated message.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.buf.truncate(have);
                    0
                }
                Err(e) => {
                    self.buf.truncate(have);
                    return Err(format!("read: {e}"));
                }
            };
            self.buf.truncate(have + n);
            if n == 0 {
                return if have == 0 {
                    Ok(None)
                } else {
                    Err("stream ended inside a message".into())
                };
            }
        }
    }
}

fn handle(mut conn: Box<dyn Conn>, shared: &Shared) -> Result<(), String> {
    let mut framer = Framer::new(shared.max_bytes);
    let mut scratch = shared.redaction.scratch();
    let mut next: Option<(Box<dyn Conn>, Framer)> = None;
    // Reused for every chunk of the connection: the outgoing message, a compressed chunk's
    // inflated bytes, and Message mode's single entry.
    let mut out = Vec::new();
    let mut inflated = Vec::new();
    let mut one = Vec::new();
    if let Some(key) = &shared.listen_key {
        handshake::accept(&mut conn, &mut framer, key, &shared.hostname)?;
    }
    while let Some(range) = framer.next_raw(&mut conn)? {
        let batch = protocol::parse_raw(framer.bytes(range), shared.max_bytes, &mut inflated)?;
        let id = format!(
            "logredact-{}-{}",
            std::process::id(),
            shared.chunks.fetch_add(1, Ordering::Relaxed)
        );
        out.clear();
        // A Forward-mode message: [tag, entries, {"chunk": id}].
        out.push(0x93);
        msgpack::write_str_head(&mut out, batch.tag.len());
        out.extend_from_slice(batch.tag);
        let (bytes, count) = match batch.entries {
            RawEntries::Seq { bytes, count } => (bytes, count),
            RawEntries::One { time, record } => {
                one.clear();
                one.push(0x92);
                one.extend_from_slice(time);
                one.extend_from_slice(record);
                (one.as_slice(), Some(1))
            }
        };
        redact_entries(&shared.redaction, bytes, count, &mut scratch, &mut out)?;
        msgpack::encode(
            &Value::Map(vec![(msgpack::str(b"chunk"), msgpack::str(id.as_bytes()))]),
            &mut out,
        );
        if next.is_none() {
            let mut c = connect(&shared.forward, shared.forward_tls.as_ref())?;
            let mut replies = Framer::new(shared.max_bytes);
            if let Some(key) = &shared.forward_key {
                handshake::connect(&mut c, &mut replies, key, &shared.hostname)?;
            }
            next = Some((c, replies));
        }
        let Some((hop, replies)) = next.as_mut() else {
            continue;
        };
        hop.write_all(&out)
            .map_err(|e| format!("next hop write: {e}"))?;
        hop.flush().map_err(|e| format!("next hop write: {e}"))?;
        match replies.next(hop)? {
            Some(reply) if is_ack_for(&reply, id.as_bytes()) => {}
            Some(_) => return Err("next hop sent a wrong ack".into()),
            None => return Err("next hop closed before its ack".into()),
        }
        if let Some(chunk) = batch.chunk {
            out.clear();
            encode_ack(chunk, &mut out);
            conn.write_all(&out)
                .map_err(|e| format!("ack write: {e}"))?;
            conn.flush().map_err(|e| format!("ack write: {e}"))?;
        }
    }
    Ok(())
}
