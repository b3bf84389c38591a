//! `logredact relay` with TLS: our own rustls peers on both sides (redaction and acks over TLS,
//! a plaintext client to a TLS listener, mTLS, a next hop with the wrong CA or name), config
//! errors (exit 2 naming the file, never its content), linear framing of TLS-sized reads, and
//! (relay_tls/fluent_bit.rs) end to end with the real Fluent Bit (forward output with `tls on`
//! → relay → forward input with `tls on`). Certificates are made per test with rcgen
//! (relay_tls/support.rs). Failure messages name fields and counts, never secrets.

mod common;
#[path = "relay_tls/fluent_bit.rs"]
mod fluent_bit;
#[path = "relay_tls/support.rs"]
mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logredact::relay::msgpack::{decode, str, Value};
use logredact::relay::protocol::{encode_ack, is_ack_for, parse};

use support::*;

/// Senders speak TLS to the relay, the relay speaks verified TLS to the next hop (default name:
/// the host of --forward, here an IP address in the certificate): the record arrives redacted
/// and the chunk is acked after the next hop's ack. A plaintext client gets no ack, its
/// connection alone is closed and logged with its peer, and the relay serves the next one.
#[test]
fn tls_on_both_sides_redacts_and_acks_and_a_plaintext_client_gets_no_ack() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "one");
    let (relay_cert, relay_key) = ca.leaf("relay", &["localhost", "127.0.0.1"]);
    let (hop_cert, hop_key) = ca.leaf("hop", &["127.0.0.1"]);
    let hop = TcpListener::bind("127.0.0.1:0").unwrap();
    let hop_port = hop.local_addr().unwrap().port();
    let port = free_port();
    let mut relay = Relay::start(&[
        &format!("--listen=tcp:127.0.0.1:{port}"),
        "--tls-cert",
        s(&relay_cert),
        "--tls-key",
        s(&relay_key),
        &format!("--forward=tcp:127.0.0.1:{hop_port}"),
        "--forward-tls",
        "--forward-tls-ca",
        s(&ca.cert_path()),
    ]);
    wait_for_port(port);

    // Plaintext to the TLS listener: no ack (rustls answers with an alert, then closes).
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain.write_all(&chunk("plain")).unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(
        decode(&got).map_or(true, |(v, _)| !is_ack_for(&v, b"c1")),
        "a plaintext client was acked"
    );
    let err = relay.stderr_until(|e| refusals(e) >= 1);
    assert!(
        refusals(err) == 1 && err.contains("TLS handshake with 127.0.0.1:"),
        "handshake failure not logged once with its peer (a probe that sent nothing is not \
         logged)"
    );
    // A health check that connects and closes at once is not a failed handshake: no log line.
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    assert_eq!(
        refusals(relay.stderr_now()),
        1,
        "a connection that sent nothing was logged"
    );

    // A TLS client: redacted at the next hop, acked after the hop's ack.
    let mut up = tls_client(port, client_config(&ca.cert_path(), None));
    up.write_all(&chunk("app.tls")).unwrap();
    up.flush().unwrap();
    let (sock, _) = hop.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let conn = rustls::ServerConnection::new(server_config(&hop_cert, &hop_key)).unwrap();
    let mut down = rustls::StreamOwned::new(conn, sock);
    let got = read_value(&mut down).expect("next hop gets a message over TLS");
    let (batch, _) = parse(got, 1 << 20).unwrap();
    assert_eq!(batch.tag, b"app.tls");
    let log = batch.entries[0].1.get(b"log").and_then(Value::as_bytes);
    let log = String::from_utf8_lossy(log.expect("log field kept")).to_string();
    assert!(
        log.starts_with("login password=") && !log.contains(SECRET),
        "log field not redacted"
    );
    let mut ack = Vec::new();
    encode_ack(batch.chunk.as_deref().unwrap(), &mut ack);
    down.write_all(&ack).unwrap();
    down.flush().unwrap();
    let reply = read_value(&mut up).expect("ack over TLS");
    assert!(is_ack_for(&reply, b"c1"));
    // The sender leaves cleanly; the relay closes its next-hop connection with a close_notify
    // (a clean end, Ok(0)), not a bare TCP close (which rustls reports as UnexpectedEof).
    up.conn.send_close_notify();
    up.flush().unwrap();
    drop(up);
    let mut b = [0u8; 16];
    let end = down.read(&mut b);
    assert!(
        matches!(end, Ok(0)),
        "next hop connection not closed with close_notify: {:?}",
        end.map_err(|e| e.kind())
    );
    assert!(!relay.seen.contains(SECRET), "stderr quotes input");
}

/// `--tls-client-ca`: a sender without a certificate, or with one from another CA, is refused
/// (no ack, logged); one with a certificate from the CA is served.
#[test]
fn mtls_requires_a_client_certificate_from_the_given_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "one");
    let other = Ca::new(dir.path(), "other");
    let (relay_cert, relay_key) = ca.leaf("relay", &["localhost"]);
    let good = ca.leaf("agent", &["agent.example"]);
    let stranger = other.leaf("stranger", &["agent.example"]);
    let hop = TcpListener::bind("127.0.0.1:0").unwrap();
    let hop_port = hop.local_addr().unwrap().port();
    let port = free_port();
    let mut relay = Relay::start(&[
        &format!("--listen=tcp:127.0.0.1:{port}"),
        "--tls-cert",
        s(&relay_cert),
        "--tls-key",
        s(&relay_key),
        "--tls-client-ca",
        s(&ca.cert_path()),
        &format!("--forward=tcp:127.0.0.1:{hop_port}"),
    ]);
    wait_for_port(port);
    for (i, identity) in [None, Some(&stranger)].into_iter().enumerate() {
        let mut up = tls_client(port, client_config(&ca.cert_path(), identity));
        // TLS 1.3: the client's side of the handshake completes before the server checked
        // its certificate, so the refusal shows up as an alert on the next read.
        let _ = up.write_all(&chunk("refused"));
        let _ = up.flush();
        assert!(read_value(&mut up).is_none(), "client {i} acked");
    }
    let err = relay.stderr_until(|e| refusals(e) >= 2);
    assert_eq!(refusals(err), 2, "refusals logged");
    let mut up = tls_client(port, client_config(&ca.cert_path(), Some(&good)));
    up.write_all(&chunk("app.mtls")).unwrap();
    up.flush().unwrap();
    let (mut down, _) = hop.accept().unwrap();
    let got = read_value(&mut down).expect("forwarded");
    let (batch, _) = parse(got, 1 << 20).unwrap();
    assert_eq!(batch.tag, b"app.mtls");
    let mut ack = Vec::new();
    encode_ack(batch.chunk.as_deref().unwrap(), &mut ack);
    down.write_all(&ack).unwrap();
    assert!(is_ack_for(&read_value(&mut up).expect("ack"), b"c1"));
}

/// Records what a socket received, for checking that nothing crossed it in clear.
struct Recording<S> {
    inner: S,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<S: Read> Read for Recording<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<S: Write> Write for Recording<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The next hop's certificate from a CA the relay does not trust, or for another name: the
/// relay's handshake fails, the chunk is not acked (the sender will retry), and no byte of the
/// record crosses to the next hop.
#[test]
fn next_hop_with_wrong_ca_or_name_gets_nothing_and_the_chunk_is_not_acked() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "one");
    let other = Ca::new(dir.path(), "other");
    let (wrong_ca_cert, wrong_ca_key) = other.leaf("hop-other", &["127.0.0.1"]);
    let (wrong_name_cert, wrong_name_key) = ca.leaf("hop-name", &["elsewhere.example"]);
    for (case, cert, key) in [
        ("wrong CA", &wrong_ca_cert, &wrong_ca_key),
        ("wrong name", &wrong_name_cert, &wrong_name_key),
    ] {
        let hop = TcpListener::bind("127.0.0.1:0").unwrap();
        let hop_port = hop.local_addr().unwrap().port();
        let sock = dir.path().join(format!("{}.sock", case.replace(' ', "-")));
        let mut relay = Relay::start(&[
            &format!("--listen=unix:{}", s(&sock)),
            &format!("--forward=tcp:127.0.0.1:{hop_port}"),
            "--forward-tls",
            "--forward-tls-ca",
            s(&ca.cert_path()),
        ]);
        common::wait_until_listening(&sock);
        let mut up = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        up.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        up.write_all(&chunk("app.wrong")).unwrap();
        let (tcp, _) = hop.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut rec = Recording {
            inner: tcp,
            seen: Arc::clone(&seen),
        };
        let mut conn = rustls::ServerConnection::new(server_config(cert, key)).unwrap();
        let mut hs = Ok((0, 0));
        while conn.is_handshaking() && hs.is_ok() {
            hs = conn.complete_io(&mut rec);
        }
        // Whatever rustls made of it, read what else the relay sends until it closes.
        let mut rest = Vec::new();
        let _ = rec.read_to_end(&mut rest);
        assert!(read_value(&mut up).is_none(), "{case}: chunk acked");
        let seen = seen.lock().unwrap();
        assert!(
            !seen.windows(SECRET.len()).any(|w| w == SECRET.as_bytes())
                && !seen.windows(9).any(|w| w == b"app.wrong"),
            "{case}: record content crossed to the next hop"
        );
        let err = relay.stderr_until(|e| e.contains("next hop TLS"));
        assert!(err.contains("next hop TLS"), "{case}: failure not logged");
        assert!(!err.contains(SECRET), "{case}: stderr quotes input");
    }
}

fn run_relay(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(bin())
        .arg("relay")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Missing, unreadable or invalid certificates and keys stop the relay at start with exit 2,
/// naming the file and a reason and never quoting the file; half a pair is refused by clap;
/// a non-loopback listen needs TLS or --listen-any.
#[test]
fn bad_certificates_and_keys_exit_2_naming_the_file_not_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "one");
    let (cert, key) = ca.leaf("relay", &["localhost"]);
    let (_, other_key) = ca.leaf("other", &["localhost"]);
    let key_text = std::fs::read_to_string(&key).unwrap();
    // A key body line: must never appear in an error.
    let key_line = key_text.lines().nth(1).unwrap().to_string();
    let garbled = dir.path().join("garbled.key");
    std::fs::write(
        &garbled,
        format!("-----BEGIN PRIVATE KEY-----\n{SECRET}!!{key_line}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    let bad_start = dir.path().join("bad-start.key");
    std::fs::write(&bad_start, format!("-----BEGIN {SECRET}\n{key_line}\n")).unwrap();
    let missing = dir.path().join("missing.key");
    let a_dir = dir.path().join("a-directory.key");
    std::fs::create_dir(&a_dir).unwrap();
    let listen = "--listen=tcp:127.0.0.1:1";
    let forward = "--forward=tcp:127.0.0.1:1";
    let cases: Vec<(&str, Vec<&str>, Vec<&Path>)> = vec![
        (
            "missing key",
            vec!["--tls-cert", s(&cert), "--tls-key", s(&missing)],
            vec![&missing],
        ),
        (
            "key is a directory",
            vec!["--tls-cert", s(&cert), "--tls-key", s(&a_dir)],
            vec![&a_dir],
        ),
        (
            "garbled key",
            vec!["--tls-cert", s(&cert), "--tls-key", s(&garbled)],
            vec![&garbled],
        ),
        (
            "malformed BEGIN line",
            vec!["--tls-cert", s(&cert), "--tls-key", s(&bad_start)],
            vec![&bad_start],
        ),
        (
            "key of another certificate",
            vec!["--tls-cert", s(&cert), "--tls-key", s(&other_key)],
            vec![&cert, &other_key],
        ),
        (
            "a key where the certificate belongs",
            vec!["--tls-cert", s(&key), "--tls-key", s(&key)],
            vec![&key],
        ),
        (
            "garbled client CA",
            vec![
                "--tls-cert",
                s(&cert),
                "--tls-key",
                s(&key),
                "--tls-client-ca",
                s(&garbled),
            ],
            vec![&garbled],
        ),
        (
            "garbled next-hop CA",
            vec!["--forward-tls", "--forward-tls-ca", s(&garbled)],
            vec![&garbled],
        ),
        (
            "missing next-hop client key",
            vec![
                "--forward-tls",
                "--forward-tls-cert",
                s(&cert),
                "--forward-tls-key",
                s(&missing),
            ],
            vec![&missing],
        ),
        (
            "certificate without key",
            vec!["--tls-cert", s(&cert)],
            vec![],
        ),
        (
            "next-hop CA without --forward-tls",
            vec!["--forward-tls-ca", s(&cert)],
            vec![],
        ),
    ];
    for (case, extra, named) in cases {
        let mut args = vec![listen, forward];
        args.extend(extra);
        let (code, err) = run_relay(&args);
        assert_eq!(code, Some(2), "{case}");
        for p in named {
            assert!(err.contains(s(p)), "{case}: file not named");
        }
        assert!(
            !err.contains(SECRET) && !err.contains(&key_line),
            "{case}: error quotes the file"
        );
    }
    let (code, err) = run_relay(&["--listen=tcp:0.0.0.0:0", forward]);
    assert_eq!(code, Some(2), "plaintext non-loopback listen accepted");
    assert!(err.contains("--tls-cert"), "the error points to TLS");
    // With TLS a non-loopback address is allowed: the relay starts and keeps running.
    let mut relay = Relay::start(&[
        "--listen=tcp:0.0.0.0:0",
        forward,
        "--tls-cert",
        s(&cert),
        "--tls-key",
        s(&key),
    ]);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        relay.child.try_wait().unwrap().is_none(),
        "TLS relay on a non-loopback address exited: {}",
        relay.stderr_until(|_| true)
    );
}

/// Hands out its bytes `step` at a time, as a TLS stream does (one record, at most 16 KiB, per
/// read): every read is short.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Framing a large message that arrives in TLS-record-sized reads costs about what it costs in
/// one read: linear, not a re-parse (nor a re-zeroing) of the whole buffer per record. Ratio
/// measured in the same run: 140-150x before the resumable walk (20.4 s for 8 MiB, debug
/// build), 2.7x after.
#[test]
fn framing_a_large_message_in_tls_record_sized_reads_is_linear() {
    use logredact::relay::server::Framer;
    let entry = enc(&Value::Array(vec![
        Value::Int(vec![7]),
        Value::Map(vec![(str(b"log"), str(&[b'x'; 200]))]),
    ]));
    let count = (8 << 20) / entry.len();
    let mut msg = vec![0x93, 0xa1, b't', 0xdd];
    msg.extend_from_slice(&u32::try_from(count).unwrap().to_be_bytes());
    for _ in 0..count {
        msg.extend_from_slice(&entry);
    }
    msg.extend_from_slice(&enc(&Value::Map(vec![(str(b"chunk"), str(b"c1"))])));
    let time = |step: usize| {
        let mut r = Trickle {
            data: msg.clone(),
            pos: 0,
            step,
        };
        let mut f = Framer::new(64 << 20);
        let t = Instant::now();
        let range = f.next_raw(&mut r).unwrap().expect("one message");
        assert_eq!(range.len(), msg.len());
        t.elapsed()
    };
    // The best of three each: a shared machine's stalls only ever add time.
    let best = |step: usize| (0..3).map(|_| time(step)).min().unwrap_or_default();
    let whole = best(msg.len()).max(Duration::from_millis(1));
    let records = best(16 << 10);
    let ratio = records.as_secs_f64() / whole.as_secs_f64();
    eprintln!(
        "framing 8 MiB: all bytes available {whole:?}, 16 KiB reads {records:?} ({ratio:.1}x)"
    );
    assert!(ratio < 20.0, "framing is not linear: {ratio:.1}x");
}
