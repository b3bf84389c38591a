//! End to end through a real rsyslog: `rsyslogd -n` started by the test with its own config in a
//! temp dir (imtcp on 127.0.0.1, mmexternal calling the built binary by absolute path, omfile
//! output); no system daemon, no syslog socket. CI installs rsyslog with `.ci/run`.

mod common;

use common::RSYSLOGD;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Messages sent, and whether each must come out changed.
const MESSAGES: &[(&str, bool)] = &[
    ("user=bob password=hunter2 login ok", true),
    ("GET /health 200 12ms", false),
    (
        "fetch https://deploy:Tr0ub4dor3@git.internal/repo.git",
        true,
    ),
    (
        "{\"level\":\"info\",\"token\":\"q8Zr2mWx7Lp4Tn6Ks1Vb\",\"n\":3}",
        true,
    ),
    ("caf\u{e9} ol\u{e9} \u{2014} unicode stays", false),
    ("Authorization: Bearer abcdefghijklmnop1234", true),
    ("plain text with quotes \" and backslash \\ stays", false),
];

struct Daemon {
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// The built-in rules, as a user would run it (rsyslog splits the command on spaces).
fn binary_command(input: &str) -> String {
    format!(
        "{} --format rsyslog --rsyslog-input {input}",
        env!("CARGO_BIN_EXE_logredact")
    )
}

fn start(dir: &Path, ports: (u16, u16)) -> Daemon {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = format!(
        r#"global(workDirectory="{work}" maxMessageSize="256k")
module(load="imtcp")
module(load="mmexternal")
template(name="msgonly" type="string" string="%msg%\n")
input(type="imtcp" address="127.0.0.1" port="{p1}" ruleset="bymsg")
input(type="imtcp" address="127.0.0.1" port="{p2}" ruleset="byjson")
ruleset(name="bymsg") {{
  action(type="mmexternal" interface.input="msg" binary="{msg_bin}")
  action(type="omfile" file="{out1}" template="msgonly")
}}
ruleset(name="byjson") {{
  action(type="mmexternal" interface.input="fulljson" binary="{json_bin}")
  action(type="omfile" file="{out2}" template="msgonly")
}}
"#,
        work = work.display(),
        p1 = ports.0,
        p2 = ports.1,
        msg_bin = binary_command("msg"),
        json_bin = binary_command("fulljson"),
        out1 = dir.join("msg.log").display(),
        out2 = dir.join("fulljson.log").display(),
    );
    let conf_path = dir.join("rsyslog.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(RSYSLOGD)
        .arg("-n")
        .arg("-f")
        .arg(&conf_path)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rsyslogd");
    Daemon { child }
}

fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("rsyslogd does not listen: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn wait_for_lines(path: &PathBuf, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rsyslog_mmexternal_redacts_end_to_end() {
    if !common::rsyslogd_available("rsyslog_mmexternal_redacts_end_to_end") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ports = (free_port(), free_port());
    let _daemon = start(dir.path(), ports);
    for port in [ports.0, ports.1] {
        let mut s = connect(port);
        for (text, _) in MESSAGES {
            // RFC 3164 framing over TCP, one message per LF.
            writeln!(s, "<13>Nov 29 10:00:00 testhost app: {text}").unwrap();
        }
        s.flush().unwrap();
    }
    for out in ["msg.log", "fulljson.log"] {
        let lines = wait_for_lines(&dir.path().join(out), MESSAGES.len());
        assert_eq!(
            lines.len(),
            MESSAGES.len(),
            "{out}: every message arrives once"
        );
        for (i, ((text, secret), got)) in MESSAGES.iter().zip(&lines).enumerate() {
            // rsyslog keeps the space that follows the tag in MSG.
            let sent = format!(" {text}");
            if *secret {
                assert_ne!(got, &sent, "{out}: message {i} must be redacted");
                assert!(
                    got.contains("[REDACTED:"),
                    "{out}: message {i} has a marker"
                );
            } else {
                assert_eq!(got, &sent, "{out}: message {i} must arrive unchanged");
            }
        }
        for secret in [
            "hunter2",
            "Tr0ub4dor3",
            "q8Zr2mWx7Lp4Tn6Ks1Vb",
            "abcdefghijklmnop1234",
        ] {
            assert!(
                lines.iter().all(|l| !l.contains(secret)),
                "{out}: a secret survived"
            );
        }
        // Order: the clean messages are where they were sent.
        assert_eq!(lines[1], " GET /health 200 12ms");
        assert!(lines[3].starts_with(" {\"level\":\"info\",\"token\":\"[REDACTED:"));
    }
}

/// examples/rsyslog-mmexternal with this machine's paths and our binary (default rules).
fn start_example(dir: &Path, port: u16) -> Daemon {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rsyslog-mmexternal/rsyslog.conf"),
    )
    .unwrap();
    for needle in [
        "queue.workerThreads=\"1\"",
        "--rsyslog-mark",
        "if $!lr != \"ok\" then",
    ] {
        assert!(example.contains(needle), "the example has {needle}");
    }
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let d = dir.display();
    let conf = example
        .replace("/usr/local/bin/logredact", env!("CARGO_BIN_EXE_logredact"))
        .replace("/var/spool/rsyslog", &work.display().to_string())
        .replace("port=\"10514\"", &format!("port=\"{port}\""))
        .replace("/var/log/", &format!("{d}/"))
        .replace("/var/cache/logredact", &format!("{d}/cache"));
    let conf_path = dir.join("rsyslog.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(RSYSLOGD)
        .arg("-n")
        .arg("-f")
        .arg(&conf_path)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rsyslogd");
    Daemon { child }
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

/// kill -9 of logredact under load, three times: mmexternal passes the messages in flight on
/// without a reply; the example's `$!lr` check drops them (metadata only in the dropped log), so
/// no secret reaches the output, and every message is accounted for (shipped or dropped).
#[test]
fn rsyslog_example_leaks_nothing_when_logredact_is_killed_under_load() {
    if !common::rsyslogd_available("rsyslog_example_leaks_nothing_when_logredact_is_killed") {
        return;
    }
    const N: usize = 6000;
    const SECRET: &str = "Sup3rS3cretPw";
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let daemon = start_example(dir.path(), port);
    let mut s = connect(port);
    let mut batch = String::new();
    for i in 0..N {
        batch.push_str(&format!(
            "<13>Nov 29 10:00:00 testhost app: seq {i} user=bob password={SECRET}{i} ok\n"
        ));
    }
    s.write_all(batch.as_bytes()).unwrap();
    s.flush().unwrap();
    let out = dir.path().join("redacted.log");
    let dropped = dir.path().join("logredact-dropped.log");
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = 0;
    while kills < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        let now = line_count(&out);
        if now <= last || now >= N * 9 / 10 {
            continue;
        }
        last = now;
        let pid = common::children(daemon.child.id()).into_iter().find(|p| {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .is_ok_and(|e| e == Path::new(env!("CARGO_BIN_EXE_logredact")))
        });
        if let Some(pid) = pid {
            Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
            kills += 1;
        }
    }
    while line_count(&out) + line_count(&dropped) < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(daemon);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let gone = std::fs::read_to_string(&dropped).unwrap_or_default();
    assert!(kills >= 1, "logredact was killed under load");
    assert_eq!(text.matches(SECRET).count(), 0, "secrets in the output");
    assert_eq!(
        gone.matches(SECRET).count(),
        0,
        "secrets in the dropped log"
    );
    let seq: Vec<usize> = text
        .lines()
        .filter_map(|l| l.strip_prefix(" seq ")?.split(' ').next()?.parse().ok())
        .collect();
    assert!(seq.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    assert_eq!(
        seq.len() + gone.lines().count(),
        N,
        "every message shipped or dropped ({kills} kills, {} dropped)",
        gone.lines().count()
    );
    eprintln!(
        "rsyslog kill test: {kills} kills, {} of {N} dropped, 0 leaked",
        gone.lines().count()
    );
}

/// `--cache-dir` under rsyslog's empty environment (no HOME, no XDG_CACHE_HOME): the Hyperscan
/// database is cached there, in a 0700 directory; a symlinked directory is not trusted.
#[cfg(feature = "hyperscan")]
#[test]
fn cache_dir_works_with_an_empty_environment_and_keeps_the_trust_checks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let run = |cache: &Path| {
        let out = common::run_reading_all(
            Command::new("env")
                .arg("-i")
                .arg(env!("CARGO_BIN_EXE_logredact"))
                .args([
                    "--format",
                    "rsyslog",
                    "--rsyslog-mark",
                    "--engine",
                    "hyperscan",
                ])
                .arg("--cache-dir")
                .arg(cache),
            b" a password=Sup3rS3cretPw9 b\n",
        );
        assert!(out.status.success());
        assert!(out.stderr.is_empty());
        let reply = String::from_utf8(out.stdout).unwrap();
        assert!(reply.contains("[REDACTED:") && reply.contains("\"lr\":\"ok\""));
    };
    let dbs = |d: &Path| {
        std::fs::read_dir(d)
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
                    .count()
            })
            .unwrap_or(0)
    };
    let cache = dir.path().join("cache");
    run(&cache);
    assert_eq!(dbs(&cache), 1, "a database cached in --cache-dir");
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    run(&cache);
    assert_eq!(dbs(&cache), 1, "the same entry is used again");

    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    run(&link);
    assert_eq!(dbs(&real), 0, "nothing cached through a symlink");
}
