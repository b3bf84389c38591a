//! The relay between two real Fluent Bit pipelines, TLS with verification on every hop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, refusals, wait_for_port, Ca, Relay, SECRET};

/// How the Fluent Bit run authenticates, on top of TLS with verified certificates both ways
/// round (Fluent Bit verifies the relay, the relay verifies Fluent Bit's forward input).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    TlsOnly,
    /// Fluent Bit's `Shared_Key` on its forward output (to the relay) and forward input (from
    /// the relay): the handshake runs inside TLS.
    SharedKeys,
    /// The relay requires a client certificate (`--tls-client-ca`) and presents one to the
    /// next hop, whose forward input requires it (`tls.verify_client_cert`).
    ClientCerts,
}

struct Fb(Child);
impl Drop for Fb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes one Fluent Bit config with two pipelines: tail -> forward output (TLS, to the relay),
/// and forward input (TLS, from the relay) -> file output in Fluent Bit's default `tag: [time,
/// record]` format, so the tags can be checked.
#[allow(clippy::too_many_arguments)]
fn fb_config(
    dir: &Path,
    ca: &Path,
    relay_port: u16,
    hop_port: u16,
    hop: &(PathBuf, PathBuf),
    agent: &(PathBuf, PathBuf),
    auth: Auth,
) -> PathBuf {
    let d = dir.display();
    let (mut out_extra, mut in_extra) = (String::new(), String::new());
    match auth {
        Auth::TlsOnly => {}
        Auth::SharedKeys => {
            out_extra = "    Shared_Key     agent-k3y\n    Self_Hostname  fb-agent\n".into();
            in_extra = "    Shared_Key     hop-k3y\n    Self_Hostname  fb-hop\n".into();
        }
        Auth::ClientCerts => {
            out_extra = format!(
                "    tls.crt_file   {}\n    tls.key_file   {}\n",
                agent.0.display(),
                agent.1.display()
            );
            in_extra = format!(
                "    tls.verify_client_cert on\n    tls.ca_file    {}\n",
                ca.display()
            );
        }
    }
    let text = format!(
        "[SERVICE]\n    Flush          1\n    Log_Level      warn\n    scheduler.base 1\n    \
         scheduler.cap  4\n    storage.path   {d}/storage\n\n\
         [INPUT]\n    Name           tail\n    Path           {d}/logs/*.log\n    \
         Tag            kube.*\n    DB             {d}/tail.db\n    Read_from_Head true\n    \
         storage.type   filesystem\n\n\
         [OUTPUT]\n    Name           forward\n    Match          kube.*\n    \
         Host           127.0.0.1\n    Port           {relay_port}\n    \
         Require_ack_response true\n    Retry_Limit    False\n    tls            on\n    \
         tls.verify     on\n    tls.verify_hostname on\n    tls.vhost      localhost\n    \
         tls.ca_file    {ca}\n{out_extra}\n\
         [INPUT]\n    Name           forward\n    Listen         127.0.0.1\n    \
         Port           {hop_port}\n    Tag_Prefix     redacted.\n    tls            on\n    \
         tls.crt_file   {hc}\n    tls.key_file   {hk}\n{in_extra}\n\
         [OUTPUT]\n    Name           file\n    Match          redacted.*\n    Path           {d}/out\n    \
         File           out.txt\n",
        ca = ca.display(),
        hc = hop.0.display(),
        hk = hop.1.display(),
    );
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let path = dir.join("fluent-bit.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn write_lines(path: &Path, name: &str, n: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    for i in 0..n {
        writeln!(f, "{name} {i} user=bob password={SECRET}{i} done").unwrap();
    }
}

/// The records of the file output as (tag, record), once `n` are there or 40 s passed.
fn shipped(dir: &Path, n: usize) -> (Vec<(String, serde_json::Value)>, String) {
    let path = dir.join("out/out.txt");
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let recs: Vec<(String, serde_json::Value)> = text
            .lines()
            .filter_map(|l| {
                let (tag, rest) = l.split_once(": ")?;
                let v: serde_json::Value = serde_json::from_str(rest).ok()?;
                Some((tag.to_string(), v.get(1)?.clone()))
            })
            .collect();
        if recs.len() >= n || t.elapsed() > Duration::from_secs(40) {
            return (recs, text);
        }
        std::thread::sleep(Duration::from_millis(100));
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

/// Real Fluent Bit on both sides of the relay, TLS everywhere with verification on: every
/// record of two files arrives once, in order per file, with its tag and without the password;
/// with the shared-key handshake inside TLS on both sides, and with client certificates.
#[test]
fn fluent_bit_over_tls_both_sides_keeps_tags_order_and_redacts() {
    let Some(fb) = crate::common::fluent_bit("relay_tls") else {
        return;
    };
    for auth in [Auth::TlsOnly, Auth::SharedKeys, Auth::ClientCerts] {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "one");
        let relay_id = ca.leaf("relay", &["localhost", "127.0.0.1"]);
        let hop_id = ca.leaf("hop", &["127.0.0.1"]);
        let agent_id = ca.leaf("agent", &["agent.example"]);
        let (relay_port, hop_port) = (free_port(), free_port());
        let conf = fb_config(
            dir.path(),
            &ca.cert_path(),
            relay_port,
            hop_port,
            &hop_id,
            &agent_id,
            auth,
        );
        let (n_app, n_db) = (400, 250);
        write_lines(&dir.path().join("logs/app.log"), "app", n_app);
        write_lines(&dir.path().join("logs/db.log"), "db", n_db);
        let mut args: Vec<String> = vec![
            format!("--listen=tcp:127.0.0.1:{relay_port}"),
            format!("--tls-cert={}", relay_id.0.display()),
            format!("--tls-key={}", relay_id.1.display()),
            format!("--forward=tcp:127.0.0.1:{hop_port}"),
            "--forward-tls".into(),
            format!("--forward-tls-ca={}", ca.cert_path().display()),
        ];
        match auth {
            Auth::TlsOnly => {}
            Auth::SharedKeys => {
                std::fs::write(dir.path().join("agent.k"), "agent-k3y\n").unwrap();
                std::fs::write(dir.path().join("hop.k"), "hop-k3y\n").unwrap();
                args.push(format!(
                    "--shared-key-file={}",
                    dir.path().join("agent.k").display()
                ));
                args.push(format!(
                    "--forward-shared-key-file={}",
                    dir.path().join("hop.k").display()
                ));
            }
            Auth::ClientCerts => {
                args.push(format!("--tls-client-ca={}", ca.cert_path().display()));
                args.push(format!("--forward-tls-cert={}", agent_id.0.display()));
                args.push(format!("--forward-tls-key={}", agent_id.1.display()));
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut relay = Relay::start(&args);
        wait_for_port(relay_port);
        let _fb = start_fb(&fb, &conf);
        let (recs, text) = shipped(dir.path(), n_app + n_db);
        assert!(
            !text.contains(SECRET),
            "{auth:?}: a secret reached the output"
        );
        for (name, n) in [("app", n_app), ("db", n_db)] {
            let want_tag = format!(".{name}.log");
            let seq: Vec<usize> = recs
                .iter()
                .filter(|(tag, _)| tag.starts_with("redacted.kube.") && tag.ends_with(&want_tag))
                .filter_map(|(_, r)| {
                    let log = r["log"].as_str()?;
                    if !log.contains("password=") || !log.starts_with(name) {
                        return None;
                    }
                    log.split(' ').nth(1)?.parse().ok()
                })
                .collect();
            assert_eq!(
                seq,
                (0..n).collect::<Vec<_>>(),
                "{auth:?}: {name}: {} records with the right tag, {} shipped in all",
                seq.len(),
                recs.len()
            );
        }
        assert_eq!(recs.len(), n_app + n_db, "{auth:?}: records shipped");
        let err = relay.stderr_now().to_string();
        assert!(!err.contains(SECRET), "{auth:?}: relay stderr quotes input");
        // Nothing had to be retried: every connection's handshakes passed at the first try
        // (a resumed session to an input checking client certificates once failed every
        // other connection, which retries hid).
        assert!(
            refusals(&err) == 0 && !err.contains("next hop"),
            "{auth:?}: a connection failed: {}",
            err.lines()
                .filter(|l| l.contains("failed") || l.contains("next hop"))
                .count()
        );
    }
}

/// The relay does not trust the next hop's CA: its handshakes fail, no chunk is acked, nothing
/// reaches the output, and Fluent Bit retries; restarted with the right CA on the same port,
/// the relay delivers every record (the retried chunks), still redacted.
#[test]
fn fluent_bit_next_hop_with_an_untrusted_ca_gets_nothing_until_the_relay_trusts_it() {
    let Some(fb) = crate::common::fluent_bit("relay_tls") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "one");
    let other = Ca::new(dir.path(), "other");
    let relay_id = ca.leaf("relay", &["localhost", "127.0.0.1"]);
    let hop_id = ca.leaf("hop", &["127.0.0.1"]);
    let (relay_port, hop_port) = (free_port(), free_port());
    let conf = fb_config(
        dir.path(),
        &ca.cert_path(),
        relay_port,
        hop_port,
        &hop_id,
        &relay_id,
        Auth::TlsOnly,
    );
    let n = 300;
    write_lines(&dir.path().join("logs/app.log"), "app", n);
    let args = |trusted: &Path| {
        vec![
            format!("--listen=tcp:127.0.0.1:{relay_port}"),
            format!("--tls-cert={}", relay_id.0.display()),
            format!("--tls-key={}", relay_id.1.display()),
            format!("--forward=tcp:127.0.0.1:{hop_port}"),
            "--forward-tls".into(),
            format!("--forward-tls-ca={}", trusted.display()),
        ]
    };
    let wrong = args(&other.cert_path());
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let mut relay = Relay::start(&wrong);
    wait_for_port(relay_port);
    let _fb = start_fb(&fb, &conf);
    // Two failed attempts: Fluent Bit sent, got no ack, and tried again.
    let err = relay
        .stderr_until(|e| e.matches("next hop TLS").count() >= 2)
        .to_string();
    assert!(
        err.matches("next hop TLS").count() >= 2,
        "no retried chunk failed at the next hop's certificate"
    );
    assert!(!err.contains(SECRET), "relay stderr quotes input");
    let text = std::fs::read_to_string(dir.path().join("out/out.txt")).unwrap_or_default();
    assert_eq!(
        text.lines().count(),
        0,
        "records passed an untrusted next hop"
    );
    drop(relay);
    let right = args(&ca.cert_path());
    let right: Vec<&str> = right.iter().map(String::as_str).collect();
    let _relay = Relay::start(&right);
    let (recs, text) = shipped(dir.path(), n);
    assert!(!text.contains(SECRET), "a secret reached the output");
    let mut seq: Vec<usize> = recs
        .iter()
        .filter_map(|(_, r)| r["log"].as_str()?.split(' ').nth(1)?.parse().ok())
        .collect();
    // Retried chunks may arrive twice (at-least-once); none may be missing.
    seq.sort_unstable();
    seq.dedup();
    assert_eq!(seq.len(), n, "records delivered after the fix");
}
