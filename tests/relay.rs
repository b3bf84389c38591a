//! `logredact relay`: Forward-protocol modes and the ack rule against real sockets, and end to
//! end with the real Fluent Bit (tail -> forward -> relay -> forward input -> file), including a
//! kill -9 of the relay under load. Failure messages name fields and counts, never secrets.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use logredact::relay::msgpack::{decode, encode, str, Value};
use logredact::relay::protocol::{encode_forward, parse, parse_raw, Batch, Mode};

const SECRET: &str = "Sup3rS3cretValue1";

fn event_time() -> Value {
    Value::Ext(0, vec![0x5f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07])
}

fn record(msg: &str) -> Value {
    Value::Map(vec![
        (str(b"log"), str(msg.as_bytes())),
        (str(b"n"), Value::Int(vec![0x2a])),
    ])
}

fn entry(msg: &str) -> Value {
    Value::Array(vec![event_time(), record(msg)])
}

fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out);
    out
}

fn chunk_option(extra: Option<(&str, &str)>) -> Value {
    let mut m = vec![(str(b"chunk"), str(b"c1"))];
    if let Some((k, v)) = extra {
        m.push((str(k.as_bytes()), str(v.as_bytes())));
    }
    Value::Map(m)
}

#[test]
fn every_mode_parses_to_the_same_batch_and_event_time_round_trips() {
    let packed: Vec<u8> = [enc(&entry("a")), enc(&entry("b"))].concat();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&packed).unwrap();
    let gz = gz.finish().unwrap();
    let cases = [
        (
            Value::Array(vec![
                str(b"t"),
                event_time(),
                record("a"),
                chunk_option(None),
            ]),
            Mode::Message,
            1,
        ),
        (
            Value::Array(vec![
                str(b"t"),
                Value::Array(vec![entry("a"), entry("b")]),
                chunk_option(None),
            ]),
            Mode::Forward,
            2,
        ),
        (
            Value::Array(vec![
                str(b"t"),
                Value::Bin(packed.clone()),
                chunk_option(None),
            ]),
            Mode::PackedForward,
            2,
        ),
        (
            Value::Array(vec![
                str(b"t"),
                Value::Bin(gz),
                chunk_option(Some(("compressed", "gzip"))),
            ]),
            Mode::CompressedPackedForward,
            2,
        ),
    ];
    for (msg, want_mode, n) in cases {
        let bytes = enc(&msg);
        let (decoded, used) = decode(&bytes).expect("decodes");
        assert_eq!(used, bytes.len());
        let (batch, mode) = parse(decoded, 1 << 20).expect("parses");
        assert_eq!(mode, want_mode);
        assert_eq!(batch.tag, b"t");
        assert_eq!(batch.chunk.as_deref(), Some(&b"c1"[..]));
        assert_eq!(batch.entries.len(), n, "{want_mode:?}");
        assert_eq!(batch.entries[0], (event_time(), record("a")));
        // Re-encoded in Forward mode, the EventTime ext bytes are unchanged.
        let mut out = Vec::new();
        encode_forward(&batch, Some(b"x"), &mut out);
        let needle = enc(&event_time());
        assert!(out.windows(needle.len()).any(|w| w == needle.as_slice()));
        let (again, _) = decode(&out).expect("own output decodes");
        let (b2, m2) = parse(again, 1 << 20).expect("own output parses");
        assert_eq!((m2, b2.entries), (Mode::Forward, batch.entries));
        // The relay's zero-copy parse sees the same message.
        let mut inflated = Vec::new();
        let raw = parse_raw(&bytes, 1 << 20, &mut inflated).expect("parses raw");
        assert_eq!(
            (raw.tag, raw.chunk, raw.mode),
            (&b"t"[..], Some(&b"c1"[..]), want_mode)
        );
    }
}

/// Each mode through a running relay: forwarded in Forward mode, the secret gone, the other
/// entries and the EventTime exactly as sent, the chunk acked after the next hop's ack.
#[test]
fn every_mode_through_the_relay_arrives_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("relay.sock");
    let hop = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hop.local_addr().unwrap().port();
    let _relay = start_relay(
        &format!("unix:{}", sock.display()),
        &format!("tcp:127.0.0.1:{port}"),
    );
    common::wait_until_listening(&sock);
    let mut up = UnixStream::connect(&sock).unwrap();
    let line = format!("login password={SECRET} ok");
    let packed = [enc(&entry(&line)), enc(&entry("b"))].concat();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&packed).unwrap();
    let gz = gz.finish().unwrap();
    let t = || str(b"t");
    let msgs = [
        (
            vec![t(), event_time(), record(&line), chunk_option(None)],
            1,
        ),
        (
            vec![
                t(),
                Value::Array(vec![entry(&line), entry("b")]),
                chunk_option(None),
            ],
            2,
        ),
        (vec![t(), Value::Bin(packed.clone()), chunk_option(None)], 2),
        (vec![t(), str(&packed), chunk_option(None)], 2),
        (
            vec![
                t(),
                Value::Bin(gz),
                chunk_option(Some(("compressed", "gzip"))),
            ],
            2,
        ),
    ];
    let mut down = None;
    for (i, (msg, n)) in msgs.into_iter().enumerate() {
        up.write_all(&enc(&Value::Array(msg))).unwrap();
        if down.is_none() {
            down = Some(hop.accept().unwrap().0);
        }
        let d = down.as_mut().unwrap();
        let got = read_value(d).expect("next hop gets a message");
        let (batch, mode) = parse(got, 1 << 20).unwrap();
        assert_eq!(
            (mode, batch.entries.len()),
            (Mode::Forward, n),
            "message {i}"
        );
        let (time, rec) = &batch.entries[0];
        assert_eq!(time, &event_time(), "message {i}");
        let log = rec.get(b"log").and_then(Value::as_bytes).unwrap();
        assert!(log.starts_with(b"login password=") && !log.ends_with(SECRET.as_bytes()));
        assert!(
            !String::from_utf8_lossy(log).contains(SECRET),
            "message {i}"
        );
        assert_eq!(rec.get(b"n"), Some(&Value::Int(vec![0x2a])));
        if n == 2 {
            assert_eq!(batch.entries[1], (event_time(), record("b")), "message {i}");
        }
        let mut ack = Vec::new();
        logredact::relay::protocol::encode_ack(batch.chunk.as_deref().unwrap(), &mut ack);
        d.write_all(&ack).unwrap();
        let reply = read_value(&mut up).expect("ack upstream");
        assert!(
            logredact::relay::protocol::is_ack_for(&reply, b"c1"),
            "message {i}"
        );
    }
}

#[test]
fn truncated_garbage_and_bombs_are_errors_not_panics() {
    let good = enc(&Value::Array(vec![
        str(b"t"),
        Value::Array(vec![entry("a")]),
    ]));
    for cut in 0..good.len() {
        assert!(decode(&good[..cut]).is_err(), "prefix {cut} decoded");
    }
    assert!(decode(&[0xc1]).is_err());
    // An array header claiming 4 billion elements must not allocate them.
    assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    let deep: Vec<u8> = std::iter::repeat(0x91).take(10_000).collect();
    assert!(decode(&deep).is_err());
    // A gzip bomb over the cap is refused.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0x90u8; 4 << 20]).unwrap();
    let msg = Value::Array(vec![
        str(b"t"),
        Value::Bin(gz.finish().unwrap()),
        Value::Map(vec![(str(b"compressed"), str(b"gzip"))]),
    ]);
    assert!(parse(msg, 1 << 20).is_err());
    let _ = Batch {
        tag: vec![],
        entries: vec![],
        chunk: None,
    };
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_logredact")
}

struct Relay(Child);
impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_relay(listen: &str, forward: &str) -> Relay {
    let child = Command::new(bin())
        .args(["relay", "--listen", listen, "--forward", forward])
        .stdin(Stdio::null())
        .spawn()
        .expect("relay starts");
    Relay(child)
}

fn read_value(r: &mut impl Read) -> Option<Value> {
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

/// The relay acks upstream only after the next hop acked; secrets are gone in what it forwards;
/// other fields and the EventTime are unchanged; a non-loopback listen is refused.
#[test]
fn ack_only_after_the_next_hop_acked_and_records_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("relay.sock");
    let hop = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hop.local_addr().unwrap().port();
    let _relay = start_relay(
        &format!("unix:{}", sock.display()),
        &format!("tcp:127.0.0.1:{port}"),
    );
    common::wait_until_listening(&sock);
    let mut up = UnixStream::connect(&sock).unwrap();
    let line = format!("login password={SECRET} ok");
    // A nested record: a secret-named key deep down, a multi-line value inside an array.
    let nested = Value::Map(vec![
        (
            str(b"kubernetes"),
            Value::Map(vec![(
                str(b"labels"),
                Value::Map(vec![(str(b"api_key"), str(b"plainvalue42"))]),
            )]),
        ),
        (
            str(b"lines"),
            Value::Array(vec![str(
                format!("first\npassword={SECRET}\nlast").as_bytes()
            )]),
        ),
        (str(b"raw"), Value::Bin(b"bin password=kept".to_vec())),
    ]);
    let msg = Value::Array(vec![
        str(b"app"),
        Value::Array(vec![entry(&line), Value::Array(vec![event_time(), nested])]),
        chunk_option(None),
    ]);
    up.write_all(&enc(&msg)).unwrap();
    let (mut down, _) = hop.accept().unwrap();
    let got = read_value(&mut down).expect("next hop gets a message");
    let (batch, mode) = parse(got, 1 << 20).unwrap();
    assert_eq!(mode, Mode::Forward);
    assert_eq!(batch.tag, b"app");
    let (time, rec) = &batch.entries[0];
    assert_eq!(time, &event_time());
    let log = rec.get(b"log").and_then(Value::as_bytes).unwrap();
    assert!(
        !String::from_utf8_lossy(log).contains(SECRET),
        "log field not redacted"
    );
    assert!(log.starts_with(b"login password="));
    assert_eq!(rec.get(b"n"), Some(&Value::Int(vec![0x2a])));
    let (_, nested) = &batch.entries[1];
    let key = nested
        .get(b"kubernetes")
        .and_then(|k| k.get(b"labels"))
        .and_then(|l| l.get(b"api_key"));
    assert!(
        key.and_then(Value::as_bytes)
            .is_some_and(|v| v != b"plainvalue42"),
        "api_key kept"
    );
    let Some(Value::Array(lines)) = nested.get(b"lines") else {
        panic!("lines field lost")
    };
    let text = String::from_utf8_lossy(lines[0].as_bytes().unwrap()).to_string();
    assert!(
        !text.contains(SECRET) && text.starts_with("first\npassword=") && text.ends_with("\nlast")
    );
    assert_eq!(
        nested.get(b"raw"),
        Some(&Value::Bin(b"bin password=kept".to_vec()))
    );
    // No ack upstream yet: the next hop has not acked.
    up.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut b = [0u8; 64];
    assert!(
        up.read(&mut b).is_err(),
        "relay acked before the next hop did"
    );
    let mut ack = Vec::new();
    logredact::relay::protocol::encode_ack(batch.chunk.as_deref().unwrap(), &mut ack);
    down.write_all(&ack).unwrap();
    up.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let reply = read_value(&mut up).expect("ack upstream");
    assert!(logredact::relay::protocol::is_ack_for(&reply, b"c1"));

    let out = Command::new(bin())
        .args([
            "relay",
            "--listen",
            "tcp:0.0.0.0:1",
            "--forward",
            "tcp:127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn fluent_bit() -> Option<PathBuf> {
    common::fluent_bit("relay")
}

/// The example config with the test's paths, minus the kubernetes filter.
fn example_config(dir: &Path, sock: &Path, port: u16) -> PathBuf {
    let conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fluent-bit-relay/fluent-bit.conf"),
    )
    .unwrap();
    let mut keep = true;
    let mut text = String::new();
    for l in conf.lines() {
        if l.contains("KUBERNETES-FILTER-BEGIN") {
            keep = false;
        }
        if keep {
            text.push_str(l);
            text.push('\n');
        }
        if l.contains("KUBERNETES-FILTER-END") {
            keep = true;
        }
    }
    let d = dir.display().to_string();
    let text = text
        .replace("${LOGREDACT_FB_STORAGE}", &format!("{d}/storage"))
        .replace("${LOGREDACT_FB_PATH}", &format!("{d}/logs/*.log"))
        .replace("${LOGREDACT_FB_DB}", &format!("{d}/tail.db"))
        .replace("${LOGREDACT_RELAY_SOCKET}", &sock.display().to_string())
        .replace("${LOGREDACT_FB_FORWARD_PORT}", &port.to_string())
        .replace("${LOGREDACT_FB_OUT_DIR}", &format!("{d}/out"));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let path = dir.join("fluent-bit.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Reads the file output until `n` records are there (or 20 s pass); returns the `log` values
/// of each record, per tag.
fn shipped(dir: &Path, n: usize) -> Vec<(String, serde_json::Value)> {
    let path = dir.join("out/out.jsonl");
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let recs: Vec<(String, serde_json::Value)> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| (String::new(), v))
            .collect();
        if recs.len() >= n || t.elapsed() > Duration::from_secs(40) {
            return recs;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_lines(path: &Path, from: usize, to: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..to {
        writeln!(f, "line {i} user=bob password={SECRET}{i} done").unwrap();
    }
}

/// What a run may promise about order: without a failure, exactly the order of the file; after
/// a kill, Fluent Bit retries failed chunks at-least-once and on its own schedule, so a retried
/// chunk may arrive after a later one (its own order, not ours) — nothing may be lost.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    Kept,
    RetriedAfterKill,
}

fn check(recs: &[(String, serde_json::Value)], files: &[(&str, usize)], order: Order) {
    let all: String = recs.iter().map(|r| r.1.to_string()).collect();
    assert!(!all.contains(SECRET), "a secret reached the output");
    for (name, n) in files {
        let seq: Vec<usize> = recs
            .iter()
            .filter(|r| r.1["log"].as_str().is_some())
            .filter_map(|r| {
                let log = r.1["log"].as_str()?;
                // Fluent Bit's tail adds no file name here; the line number tells the file.
                let i: usize = log.split(' ').nth(1)?.parse().ok()?;
                Some(i)
            })
            .filter(|i| name.is_empty() || *i < *n)
            .collect();
        // A chunk retried after a kill may arrive twice (at-least-once); never lost.
        let mut dedup = seq.clone();
        dedup.dedup();
        let lost = (0..*n).filter(|i| !seq.contains(i)).count();
        let ordered = order == Order::RetriedAfterKill || dedup.windows(2).all(|w| w[0] < w[1]);
        assert!(
            lost == 0 && ordered,
            "{lost} of {n} lines lost, in order: {ordered}, {} records",
            seq.len()
        );
    }
}

struct Fb(Child);
impl Drop for Fb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_fb(fb: &Path, conf: &Path) -> Fb {
    Fb(Command::new(fb)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .spawn()
        .expect("fluent-bit starts"))
}

#[test]
fn fluent_bit_example_through_the_relay_keeps_tags_order_and_loses_nothing_on_kill() {
    let Some(fb) = fluent_bit() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("relay.sock");
    let port = free_port();
    let conf = example_config(dir.path(), &sock, port);
    let forward = format!("tcp:127.0.0.1:{port}");
    let listen = format!("unix:{}", sock.display());
    let log = dir.path().join("logs/app.log");
    write_lines(&log, 0, 2000);
    let mut relay = start_relay(&listen, &forward);
    common::wait_until_listening(&sock);
    let _fb = start_fb(&fb, &conf);
    let recs = shipped(dir.path(), 2000);
    assert_eq!(recs.len(), 2000, "records shipped");
    check(&recs, &[("", 2000)], Order::Kept);
    let first = &recs[0].1;
    assert!(first["log"].as_str().unwrap().contains("password="));

    // Kill -9 under load, write while it is down, restart: nothing lost, nothing in clear.
    write_lines(&log, 2000, 6000);
    std::thread::sleep(Duration::from_millis(300));
    relay.0.kill().unwrap();
    relay.0.wait().unwrap();
    write_lines(&log, 6000, 8000);
    std::thread::sleep(Duration::from_millis(500));
    let _relay2 = start_relay(&listen, &forward);
    let recs = shipped(dir.path(), 8000);
    check(&recs, &[("", 8000)], Order::RetriedAfterKill);
}

/// Fluent Bit's `Shared_Key` on its forward input (the next hop): the relay passes the handshake
/// with the right key; with a wrong key nothing is shipped. (Fluent Bit's forward output runs the
/// handshake only over TLS, so the sender side is tested with our own client below.)
#[test]
fn fluent_bit_forward_input_shared_key_right_and_wrong() {
    let Some(fb) = fluent_bit() else { return };
    for (relay_key, want) in [("n3xt-hop", 300), ("k3y-wrong", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("relay.sock");
        let port = free_port();
        let conf = example_config(dir.path(), &sock, port);
        let text = std::fs::read_to_string(&conf)
            .unwrap()
            .replace(
                "    Tag_Prefix     redacted.\n",
                "    Tag_Prefix     redacted.\n    Shared_Key     n3xt-hop\n    Self_Hostname  fb-agg\n",
            );
        std::fs::write(&conf, text).unwrap();
        std::fs::write(dir.path().join("in.key"), format!("{relay_key}\n")).unwrap();
        write_lines(&dir.path().join("logs/app.log"), 0, 300);
        let child = Command::new(bin())
            .args(["relay", "--listen"])
            .arg(format!("unix:{}", sock.display()))
            .arg("--forward")
            .arg(format!("tcp:127.0.0.1:{port}"))
            .arg("--forward-shared-key-file")
            .arg(dir.path().join("in.key"))
            .spawn()
            .unwrap();
        let _relay = Relay(child);
        common::wait_until_listening(&sock);
        let _fb = start_fb(&fb, &conf);
        if want == 0 {
            std::thread::sleep(Duration::from_secs(4));
            let text =
                std::fs::read_to_string(dir.path().join("out/out.jsonl")).unwrap_or_default();
            assert_eq!(text.lines().count(), 0, "records passed a wrong shared key");
        } else {
            let recs = shipped(dir.path(), want);
            assert_eq!(recs.len(), want, "records through the handshakes");
            check(&recs, &[("", want)], Order::Kept);
        }
    }
}

/// The sender side of the handshake (the relay as server): our own client with the right key
/// gets its chunk acked; with a wrong key the relay closes the connection.
#[test]
fn relay_checks_the_senders_shared_key() {
    use logredact::relay::handshake;
    use logredact::relay::server::Framer;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("relay.sock");
    std::fs::write(dir.path().join("k"), "s3cr3t-key\n").unwrap();
    let hop = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hop.local_addr().unwrap().port();
    let child = Command::new(bin())
        .args(["relay", "--listen"])
        .arg(format!("unix:{}", sock.display()))
        .arg(format!("--forward=tcp:127.0.0.1:{port}"))
        .arg("--shared-key-file")
        .arg(dir.path().join("k"))
        .spawn()
        .unwrap();
    let _relay = Relay(child);
    common::wait_until_listening(&sock);
    let mut bad = UnixStream::connect(&sock).unwrap();
    let mut f = Framer::new(1 << 20);
    assert!(handshake::connect(&mut bad, &mut f, b"wrong", b"client").is_err());
    let mut good = UnixStream::connect(&sock).unwrap();
    let mut f = Framer::new(1 << 20);
    handshake::connect(&mut good, &mut f, b"s3cr3t-key", b"client").expect("handshake");
    let msg = Value::Array(vec![
        str(b"t"),
        Value::Array(vec![entry("x")]),
        chunk_option(None),
    ]);
    good.write_all(&enc(&msg)).unwrap();
    let (mut down, _) = hop.accept().unwrap();
    let got = read_value(&mut down).expect("forwarded");
    let (batch, _) = parse(got, 1 << 20).unwrap();
    let mut ack = Vec::new();
    logredact::relay::protocol::encode_ack(batch.chunk.as_deref().unwrap(), &mut ack);
    down.write_all(&ack).unwrap();
    let reply = f.next(&mut good).unwrap().expect("ack");
    assert!(logredact::relay::protocol::is_ack_for(&reply, b"c1"));
}

/// Malformed msgpack or a message over the cap closes that connection with a reason that
/// quotes no content; the relay keeps serving the next connection.
#[test]
fn malformed_or_oversized_input_closes_the_connection_not_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("relay.sock");
    let child = Command::new(bin())
        .args(["relay", "--max-message-bytes", "4096", "--listen"])
        .arg(format!("unix:{}", sock.display()))
        .arg("--forward=tcp:127.0.0.1:1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut relay = Relay(child);
    common::wait_until_listening(&sock);
    let bad = [
        [&[0x93u8, 0xa1, b't', 0xc1][..], SECRET.as_bytes()].concat(),
        [
            &[0xdb, 0, 1, 0, 0][..],
            &[b'x'; 8000][..],
            SECRET.as_bytes(),
        ]
        .concat(),
    ];
    for input in bad {
        let mut c = UnixStream::connect(&sock).unwrap();
        let _ = c.write_all(&input);
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 16];
        assert!(
            matches!(c.read(&mut b), Ok(0) | Err(_)),
            "connection not closed"
        );
    }
    assert!(UnixStream::connect(&sock).is_ok(), "relay stopped serving");
    // Read stderr as it comes and stop the relay once both reasons are there (or after 10 s):
    // a loaded machine may log them after the connections were seen closed.
    let mut stderr = relay.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut err = String::new();
    let t = Instant::now();
    while !(err.contains("malformed msgpack") && err.contains("byte cap"))
        && t.elapsed() < Duration::from_secs(10)
    {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            err.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let _ = relay.0.kill();
    assert!(
        err.contains("malformed msgpack") && err.contains("byte cap"),
        "reasons logged"
    );
    assert!(!err.contains(SECRET), "stderr quotes input");
}
