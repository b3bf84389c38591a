//! `--format` through the real binary: one corpus per format (input and expected output under
//! `tests/fixtures/formats/`), and the rsyslog `mmexternal` protocol rules (one reply per
//! message, flushed at once, nothing on stderr, fail closed).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output};

use common::BIN;

fn fixture(name: &str) -> String {
    common::fixture(&format!("formats/{name}"))
}

/// logredact with the format corpora's rules, then `args`.
fn logredact(args: &[&str]) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(BIN);
    cmd.args(["--no-default-rules", "--rules"])
        .arg(format!("{root}/patterns/context.toml"))
        .args(["--rules", &fixture("context-rules.toml")])
        .args(["--rules", &fixture("tokens.toml")])
        .args(args);
    cmd
}

fn run(args: &[&str], input: &[u8]) -> Output {
    common::run_reading_all(&mut logredact(args), input)
}

fn corpus(name: &str, args: &[&str]) {
    let input = std::fs::read(fixture(&format!("{name}.in"))).unwrap();
    let expected = std::fs::read(fixture(&format!("{name}.out"))).unwrap();
    let out = run(args, &input);
    assert!(out.status.success(), "{name}: exit status");
    assert!(out.stderr.is_empty(), "{name}: nothing on stderr");
    let got = String::from_utf8_lossy(&out.stdout);
    let want = String::from_utf8_lossy(&expected);
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{name}: line {}", i + 1);
    }
    assert_eq!(out.stdout, expected, "{name}: whole output");
    let lines_in = input.iter().filter(|&&b| b == b'\n').count();
    let lines_out = out.stdout.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        lines_in, lines_out,
        "{name}: one output line per input line"
    );
}

#[test]
fn corpus_auto() {
    corpus("auto", &["--format", "auto"]);
}

#[test]
fn corpus_text() {
    corpus("text", &["--format", "text"]);
}

#[test]
fn corpus_json() {
    corpus("json", &["--format", "json"]);
    let out = run(
        &["--format", "json"],
        &std::fs::read(fixture("json.in")).unwrap(),
    );
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("every line is JSON");
        assert!(v.is_object(), "every line is a JSON object");
    }
}

#[test]
fn corpus_docker() {
    corpus("docker", &["--format", "docker"]);
}

#[test]
fn corpus_cri() {
    corpus("cri", &["--format", "cri"]);
}

#[test]
fn corpus_logfmt() {
    corpus("logfmt", &["--format", "logfmt"]);
}

#[test]
fn corpus_rsyslog_msg() {
    corpus("rsyslog", &["--format", "rsyslog"]);
}

#[test]
fn corpus_rsyslog_fulljson() {
    corpus(
        "rsyslog-fulljson",
        &["--format", "rsyslog", "--rsyslog-input", "fulljson"],
    );
}

#[test]
fn auto_reads_docker_and_cri_corpora_like_their_own_formats() {
    for name in ["docker", "cri"] {
        let input = std::fs::read(fixture(&format!("{name}.in"))).unwrap();
        let out = run(&["--format", "auto"], &input);
        assert_eq!(
            out.stdout,
            std::fs::read(fixture(&format!("{name}.out"))).unwrap(),
            "{name} under auto"
        );
    }
}

#[test]
fn private_key_block_state_crosses_reads() {
    // Each line arrives in its own write, so the block spans many batches.
    let mut child = common::spawn(&mut logredact(&[]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let lines = [
        "-----BEGIN EC PRIVATE KEY-----",
        "MHcCAQEEIBkLq8mE2",
        "oAoGCCqGSM49AwEHoU",
        "-----END EC PRIVATE KEY-----",
        "MHcCAQEEnotakeyanymore",
    ];
    let mut got = Vec::new();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
        stdin.flush().unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        got.push(reply.trim_end().to_string());
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        got,
        [
            lines[0],
            "[REDACTED:private-key-block]",
            "[REDACTED:private-key-block]",
            lines[3],
            lines[4]
        ]
    );
}

#[test]
fn unterminated_private_key_block_is_bounded() {
    let mut input = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for _ in 0..300 {
        input.push_str("AAAAB3NzaC1yc2EAAAADAQAB\n");
    }
    input.push_str("user=bob visible\n");
    let out = run(&[], input.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 302);
    assert_eq!(lines[200], "[REDACTED:private-key-block]");
    assert_eq!(
        lines[201], "AAAAB3NzaC1yc2EAAAADAQAB",
        "state resets after 200 lines"
    );
    assert_eq!(lines[301], "user=bob visible");
}

#[test]
fn rsyslog_replies_one_line_per_message_in_order() {
    let mut input = Vec::new();
    for i in 0..5000 {
        if i % 7 == 0 {
            writeln!(input, " msg {i} password=pw{i}secret").unwrap();
        } else {
            writeln!(input, " msg {i} clean").unwrap();
        }
    }
    let out = run(&["--format", "rsyslog"], &input);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    let replies: Vec<&[u8]> = out.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(replies.len(), 5001, "5000 replies and a final newline");
    for (i, r) in replies[..5000].iter().enumerate() {
        if i % 7 == 0 {
            let expected =
                format!("{{\"msg\":\" msg {i} password=[REDACTED:t-secret-assignment]\"}}");
            assert_eq!(*r, expected.as_bytes(), "reply {i}");
        } else {
            assert_eq!(*r, b"{}", "reply {i}");
        }
    }
}

#[test]
fn rsyslog_reply_is_flushed_before_the_next_message() {
    let mut child = common::spawn(&mut logredact(&["--format", "rsyslog"]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for i in 0..20 {
        // The next message is only sent once the reply is in: a buffered reply would hang here.
        writeln!(stdin, " request {i} token=abc{i}defghij").unwrap();
        stdin.flush().unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        assert_eq!(
            reply,
            format!("{{\"msg\":\" request {i} token=[REDACTED:t-secret-assignment]\"}}\n")
        );
    }
    drop(stdin);
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(err.is_empty());
}

#[test]
fn rsyslog_fails_closed_and_stays_silent() {
    // An over-long message is replied to as wholly redacted, and the next one is still in step.
    let mut input = vec![b'x'; 10_000];
    input.extend_from_slice(b" password=hunter2\n clean\n");
    let out = run(&["--format", "rsyslog", "--max-line-bytes", "4096"], &input);
    assert!(out.stderr.is_empty());
    assert_eq!(
        out.stdout,
        b"{\"msg\":\"[REDACTED:unprocessable-message]\"}\n{}\n"
    );

    // A broken configuration must not write to stderr (rsyslog would read it as a reply):
    // every message is replied to as redacted instead.
    let out = common::run_reading_all(
        Command::new(BIN).args(["--format", "rsyslog", "--rules", "/nonexistent/rules.toml"]),
        b" a\n b\n",
    );
    assert!(out.stderr.is_empty());
    assert_eq!(
        out.stdout,
        b"{\"msg\":\"[REDACTED:unprocessable-message]\"}\n{\"msg\":\"[REDACTED:unprocessable-message]\"}\n"
    );
}

#[test]
fn rsyslog_mode_never_writes_stderr_even_with_stats() {
    let out = run(
        &["--format", "rsyslog", "--stats"],
        b" password=hunter2\n\xff\xfe\x00 binary\n",
    );
    assert!(out.stderr.is_empty());
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), 2);
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("reply is JSON");
        assert!(v.is_object());
    }
}

#[test]
fn secret_named_keys_are_redacted_without_any_rule_matching() {
    // Only the token rule is loaded: no rule knows about passwords, so the key name alone
    // (found by the fast-path prefilter) must get these values redacted.
    let tokens = fixture("tokens.toml");
    let input = concat!(
        "{\"user\":\"bob\",\"password\":\"pw\",\"n\":1}\n",
        "{\"x-internal-sig\":\"abc\",\"msg\":\"hello\"}\n",
        "{\"msg\":\"no secret here\",\"token_type\":\"bearer\"}\n",
        "2024-05-01T10:00:00.1Z stdout F {\"DB_PASSWORD\":\"x1\"}\n",
    );
    let out = common::run_reading_all(
        Command::new(BIN).args([
            "--no-default-rules",
            "--rules",
            &tokens,
            "--secret-key",
            "x-internal-sig",
        ]),
        input.as_bytes(),
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        concat!(
            "{\"user\":\"bob\",\"password\":\"[REDACTED:secret-field]\",\"n\":1}\n",
            "{\"x-internal-sig\":\"[REDACTED:secret-field]\",\"msg\":\"hello\"}\n",
            "{\"msg\":\"no secret here\",\"token_type\":\"bearer\"}\n",
            "2024-05-01T10:00:00.1Z stdout F {\"DB_PASSWORD\":\"[REDACTED:secret-field]\"}\n",
        )
    );
}

/// Rules that need a neighbouring JSON key (`"auth":"…"`) match the raw line; the replacement
/// stays inside that string value and the line stays valid JSON.
#[test]
fn raw_line_findings_inside_a_json_string_are_redacted() {
    let line =
        b"{\"auths\":{\"registry.internal:5000\":{\"auth\":\"Y2lfYm90OlF3ZXJ0eTEyMyFAIw==\"}}}\n";
    let out = common::run_reading_all(&mut Command::new(BIN), line);
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        !text.contains("Y2lfYm90OlF3ZXJ0eTEyMyFAIw"),
        "docker auth survived"
    );
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).expect("still JSON");
    assert!(v["auths"]["registry.internal:5000"]["auth"]
        .as_str()
        .is_some_and(|s| s.starts_with("[REDACTED:")));
}
