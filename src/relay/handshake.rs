//! The Forward protocol's shared-key handshake (spec v1, "Handshake Messages"): HELO from the
//! server, PING from the client, PONG back, each side proving it knows the shared key with
//! `sha512_hex(salt + hostname + nonce + shared_key)`. Both sides are here: the relay is the
//! server towards Fluent Bit's `forward` output (`Shared_Key`) and the client towards the next
//! hop's `forward` input.
//!
//! Owns: nonces, salts, digests. Must never: log a key or a digest; accept a PING whose digest
//! does not match (the connection is closed after a PONG saying so). User/password auth is not
//! supported: the HELO asks for none. Fluent Bit's `forward` output runs the handshake only
//! over TLS, so with Fluent Bit senders `--shared-key-file` needs `--tls-cert`/`--tls-key`
//! (tested in tests/relay_tls.rs); both sides are tested against the real Fluent Bit.

use sha2::{Digest, Sha512};

use super::msgpack::{encode, str, Value};
use super::server::{Conn, Framer};

fn digest(salt: &[u8], hostname: &[u8], nonce: &[u8], key: &[u8]) -> Vec<u8> {
    let mut h = Sha512::new();
    h.update(salt);
    h.update(hostname);
    h.update(nonce);
    h.update(key);
    h.finalize()
        .iter()
        .flat_map(|b| {
            let hex = b"0123456789abcdef";
            [hex[usize::from(b >> 4)], hex[usize::from(b & 15)]]
        })
        .collect()
}

fn random16() -> Result<Vec<u8>, String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| format!("random nonce: {e}"))?;
    Ok(b.to_vec())
}

fn send(conn: &mut dyn Conn, v: &Value) -> Result<(), String> {
    let mut out = Vec::new();
    encode(v, &mut out);
    conn.write_all(&out)
        .and_then(|()| conn.flush())
        .map_err(|e| format!("handshake write: {e}"))
}

fn array(v: Value, what: &'static str) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(a) if a.first().and_then(Value::as_bytes) == Some(what.as_bytes()) => Ok(a),
        _ => Err(format!("handshake: expected {what}")),
    }
}

/// Server side: HELO, check the client's PING, answer PONG. Errors close the connection.
pub fn accept(
    conn: &mut dyn Conn,
    framer: &mut Framer,
    key: &[u8],
    hostname: &[u8],
) -> Result<(), String> {
    let nonce = random16()?;
    let helo = Value::Array(vec![
        str(b"HELO"),
        Value::Map(vec![
            (str(b"nonce"), Value::Bin(nonce.clone())),
            (str(b"auth"), Value::Bin(Vec::new())),
            (str(b"keepalive"), Value::Bool(true)),
        ]),
    ]);
    send(conn, &helo)?;
    let ping = framer.next(conn)?.ok_or("handshake: closed before PING")?;
    let ping = array(ping, "PING")?;
    let field = |i: usize| ping.get(i).and_then(Value::as_bytes).unwrap_or_default();
    let (client_host, salt, their_digest) = (field(1), field(2), field(3));
    let ok = !salt.is_empty() && digest(salt, client_host, &nonce, key) == their_digest;
    let pong = Value::Array(vec![
        str(b"PONG"),
        Value::Bool(ok),
        str(if ok { b"" } else { b"shared key mismatch" }),
        str(hostname),
        str(&digest(salt, hostname, &nonce, key)),
    ]);
    send(conn, &pong)?;
    if ok {
        Ok(())
    } else {
        Err("handshake: shared key mismatch".into())
    }
}

/// Client side: read HELO, send PING, check the server's PONG.
pub fn connect(
    conn: &mut dyn Conn,
    framer: &mut Framer,
    key: &[u8],
    hostname: &[u8],
) -> Result<(), String> {
    let helo = array(
        framer.next(conn)?.ok_or("handshake: closed before HELO")?,
        "HELO",
    )?;
    let options = helo.get(1).ok_or("handshake: HELO without options")?;
    let nonce = options
        .get(b"nonce")
        .and_then(Value::as_bytes)
        .ok_or("handshake: HELO without a nonce")?
        .to_vec();
    // Fluent Bit's forward input sends an auth salt even with no users configured; we answer
    // as its own forward output does with no username: empty name, digest of salt + "" + "".
    let auth = options
        .get(b"auth")
        .and_then(Value::as_bytes)
        .map(<[u8]>::to_vec);
    // Fluent Bit's forward input wants a str salt; 16 hex characters keep it valid UTF-8.
    let salt: Vec<u8> = random16()?
        .iter()
        .take(8)
        .flat_map(|b| format!("{b:02x}").into_bytes())
        .collect();
    let ping = Value::Array(vec![
        str(b"PING"),
        str(hostname),
        Value::Str(salt.clone()),
        str(&digest(&salt, hostname, &nonce, key)),
        str(b""),
        str(&auth.map(|a| digest(&a, b"", b"", b"")).unwrap_or_default()),
    ]);
    send(conn, &ping)?;
    let pong = array(
        framer.next(conn)?.ok_or("handshake: closed before PONG")?,
        "PONG",
    )?;
    if pong.get(1) != Some(&Value::Bool(true)) {
        return Err("handshake: next hop refused our shared key".into());
    }
    let server_host = pong.get(3).and_then(Value::as_bytes).unwrap_or_default();
    let theirs = pong.get(4).and_then(Value::as_bytes).unwrap_or_default();
    if digest(&salt, server_host, &nonce, key) != theirs {
        return Err("handshake: next hop does not know the shared key".into());
    }
    Ok(())
}
