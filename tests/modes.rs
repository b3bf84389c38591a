//! End-to-end tests of redaction modes (issue 6) on the real binary: mask, keyed hash, partial,
//! templates, per-rule overrides, idempotence, key handling, `--stats-format json` and `SIGUSR1`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Command;

use common::BIN;

fn fixture() -> String {
    common::fixture("modes_rules.toml")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_env(args: &[&str], env: &[(&str, &str)], input: &str) -> Run {
    let rules = fixture();
    let mut all_args = vec!["--no-default-rules", "--rules", &rules];
    all_args.extend_from_slice(args);
    let out = common::run_env(&all_args, env, input.as_bytes());
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str], input: &str) -> Run {
    run_env(args, &[], input)
}

/// Writes a key file readable by its owner only, as keys should be.
fn key_file(dir: &Path, name: &str, key: &[u8]) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, key).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_key_file_others_can_read_is_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let private = key_file(dir.path(), "key", KEY);
    let r = run(&["--mode", "hash", "--hash-key-file", &private], "x\n");
    assert_eq!(r.stderr, "");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(&["--mode", "hash", "--hash-key-file", &private], "x\n");
    assert_eq!(r.code, 2, "issue 14, M7: refused, not only warned about");
    assert!(
        r.stderr.contains("readable by group or others"),
        "{}",
        r.stderr
    );
    let r = run(
        &[
            "--mode",
            "hash",
            "--hash-key-file",
            &private,
            "--allow-readable-key",
        ],
        "x\n",
    );
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
}

const GH: &str = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
const GH2: &str = "ghp_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8";
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";

/// The hex tags in `[REDACTED:<rule>:<tag>]` markers of `text`, in order.
fn tags(text: &str) -> Vec<String> {
    text.split("[REDACTED:")
        .skip(1)
        .filter_map(|m| {
            let marker = &m[..m.find(']')?];
            let tag = marker.rsplit(':').next()?;
            (tag.len() == 12 && tag.bytes().all(|b| b.is_ascii_hexdigit())).then(|| tag.into())
        })
        .collect()
}

#[test]
fn hash_tags_are_stable_across_processes_and_key_sources() {
    let dir = tempfile::tempdir().unwrap();
    let file = key_file(dir.path(), "key", KEY);
    let with_newline = key_file(dir.path(), "key-nl", &[KEY, b"\n"].concat());
    let input = format!("a token={GH}\nb token={GH2}\nc again {GH}\n");
    let a = run(&["--mode", "hash", "--hash-key-file", &file], &input);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let t = tags(&a.stdout);
    assert_eq!(t.len(), 3, "{}", a.stdout);
    assert_eq!(t[0], t[2], "same secret, same tag");
    assert_ne!(t[0], t[1], "different secrets, different tags");
    assert!(a
        .stdout
        .starts_with(&format!("a token=[REDACTED:test-github-pat:{}]\n", t[0])));

    let b = run(
        &["--mode", "hash", "--hash-key-file", &with_newline],
        &input,
    );
    let key = std::str::from_utf8(KEY).unwrap();
    let c = run_env(
        &["--mode", "hash", "--hash-key-env", "LR_TEST_KEY"],
        &[("LR_TEST_KEY", key)],
        &input,
    );
    assert_eq!(
        a.stdout, b.stdout,
        "a trailing newline is not part of the key"
    );
    assert_eq!(
        a.stdout, c.stdout,
        "file and environment give the same tags"
    );

    let other = key_file(dir.path(), "other", b"another key for a second set of tags");
    let d = run(&["--mode", "hash", "--hash-key-file", &other], &input);
    assert_ne!(tags(&d.stdout)[0], t[0], "another key, another tag");
}

#[test]
fn hash_tag_is_hmac_sha256_of_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    // Not `kkkk…`: a key of one repeated byte is refused as weak (issue 14, M7).
    let file = key_file(dir.path(), "key", b"0123456789abcdef0123456789abcdef");
    let input = "token=ghp_s3cr3Ts3cr3Ts3cr3Ts3cr3Ts3cr3Ts3cr3T\n";
    let r = run(&["--mode", "hash", "--hash-key-file", &file], input);
    // printf ghp_s3cr3Ts3cr3Ts3cr3Ts3cr3Ts3cr3Ts3cr3T | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
    assert_eq!(r.stdout, "token=[REDACTED:test-github-pat:fbc0669902d4]\n");
}

#[test]
fn ephemeral_key_correlates_within_one_run_only() {
    let input = format!("{GH}\n{GH}\n");
    let a = run(&["--mode", "hash", "--ephemeral-key"], &input);
    let b = run(&["--mode", "hash", "--ephemeral-key"], &input);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let (ta, tb) = (tags(&a.stdout), tags(&b.stdout));
    assert_eq!(ta.len(), 2);
    assert_eq!(ta[0], ta[1]);
    assert_ne!(ta[0], tb[0]);
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("only within this one run"), "{help}");
}

#[test]
fn key_problems_are_configuration_errors_that_never_show_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let short_key = "Sh0rtKeyValue-9";
    let short = key_file(dir.path(), "short", short_key.as_bytes());
    let good = key_file(dir.path(), "good", KEY);
    let inline = format!("--hash-key={short_key}");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--mode", "hash"],
        vec!["--mode", "hash", "--hash-key-file", &short],
        vec!["--mode", "hash", "--hash-key-file", "/nonexistent/key"],
        vec!["--mode", "hash", "--hash-key-file", "/"],
        vec!["--mode", "hash", "--hash-key", short_key],
        vec!["--mode", "hash", &inline],
        vec!["--mode", "hash", "--hash-key-env", "LR_TEST_SHORT"],
        vec!["--mode", "hash", "--hash-key-env", "LR_TEST_UNSET_VARIABLE"],
        vec!["--hash-key-file", &good, "--ephemeral-key"],
        vec!["--template", "[REDACTED:{hash}]"],
    ];
    for args in cases {
        let r = run_env(&args, &[("LR_TEST_SHORT", short_key)], &format!("{GH}\n"));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: nothing is filtered");
        assert!(!r.stderr.contains(short_key), "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("logredact: ") || r.stderr.starts_with("error: "));
    }
}

#[test]
fn partial_keeps_public_prefix_and_last_four() {
    let input = format!("t={GH}\nk=sk_live_4eC39HqLyjWDarjtT1zdp7dc9f\npassword=Tr0ub4dor&3\n");
    let r = run(&["--mode", "partial"], &input);
    assert_eq!(
        r.stdout,
        "t=[REDACTED:test-github-pat:ghp_...Q7r8]\n\
         k=[REDACTED:test-stripe-key:sk_live_...dc9f]\n\
         password=[REDACTED:test-password]\n"
    );
}

#[test]
fn rule_override_beats_the_global_mode() {
    // test-slack-bot says `redact = "partial"`; the others follow --mode.
    let input = format!("{GH} xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n");
    let r = run(&[], &input);
    assert_eq!(
        r.stdout,
        "[REDACTED:test-github-pat] [REDACTED:test-slack-bot:xoxb-...UvWx]\n"
    );
}

#[test]
fn templates_fill_placeholders_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", KEY);
    let template = "[REDACTED {rule} {prefix}*{suffix} #{hash}]";
    let r = run(
        &[
            "--mode",
            "partial",
            "--hash-key-file",
            &key,
            "--template",
            template,
        ],
        &format!("t={GH}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let h = run(
        &["--mode", "hash", "--hash-key-file", &key],
        &format!("t={GH}\n"),
    );
    let tag = &tags(&h.stdout)[0];
    assert_eq!(
        r.stdout,
        format!("t=[REDACTED test-github-pat ghp_*Q7r8 #{tag}]\n")
    );
    for bad in [
        "{rule}",
        "[REDACTED:{secret}]",
        "***",
        "[REDACTED:{rule}]]",
        "[REDACTED {match}]",
    ] {
        let r = run(&["--template", bad], &format!("{GH}\n"));
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("--template"), "{}", r.stderr);
    }
}

/// Every mode: the output run through again is unchanged, and no marker is a finding.
#[test]
fn every_mode_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", KEY);
    let input = format!(
        "a token={GH} and {GH2}\nstripe sk_live_4eC39HqLyjWDarjtT1zdp7dc9f\n\
         db password=Tr0ub4dor&3 ok\nlogin {{\"password\": \"hunter2-Zq9\"}}\n\
         slack xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\nno secret here\n"
    );
    let modes: Vec<Vec<&str>> = vec![
        vec!["--mode", "mask"],
        vec!["--mode", "hash", "--hash-key-file", &key],
        vec!["--mode", "partial"],
        vec![
            "--mode",
            "partial",
            "--hash-key-file",
            &key,
            "--template",
            "[REDACTED {rule} {prefix}*{suffix} #{hash}]",
        ],
        vec!["--template", "[REDACTED]"],
    ];
    for args in modes {
        let once = run(&args, &input);
        assert_eq!(once.code, 0, "{args:?}: {}", once.stderr);
        assert_eq!(once.stdout.lines().count(), input.lines().count());
        assert!(once.stdout.ends_with("no secret here\n"));
        let mut again_args = args.clone();
        again_args.extend(["--stats", "--stats-format", "json"]);
        let twice = run(&again_args, &once.stdout);
        assert_eq!(twice.stdout, once.stdout, "{args:?}");
        let stats: serde_json::Value = serde_json::from_str(twice.stderr.trim()).unwrap();
        assert_eq!(
            stats["findings_total"], 0,
            "{args:?}: a marker was detected"
        );
    }
}

#[test]
fn stats_json_reports_counts_per_rule() {
    let input = format!("{GH}\nnothing\n{GH} {GH2} password=Tr0ub4dor&3\n");
    let r = run(&["--stats-format", "json"], &input);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(v["lines"], 3);
    assert_eq!(v["bytes"], input.len());
    assert_eq!(v["findings_total"], 4);
    assert_eq!(
        v["findings"],
        serde_json::json!({"test-github-pat": 3, "test-password": 1})
    );
    assert_eq!(v["lines_changed"], 2);
    assert_eq!(v["final"], true);
    assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
}

/// `kill -USR1` prints the running stats (with the next line under trickle) and the filter goes on.
#[test]
fn sigusr1_prints_running_stats_without_stopping() {
    sigusr1_case("1");
}

/// The same with scanning threads: the writer thread answers, with the reader's byte count.
#[test]
fn sigusr1_prints_running_stats_with_threads() {
    sigusr1_case("2");
}

fn sigusr1_case(threads: &str) {
    let rules = fixture();
    let mut child = common::spawn(Command::new(BIN).args([
        "--no-default-rules",
        "--rules",
        &rules,
        "--stats-format",
        "json",
        "--threads",
        threads,
    ]));
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    writeln!(stdin, "first {GH}").unwrap();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "first [REDACTED:test-github-pat]\n");
    // The handler is installed before the first read, so it is in place now.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-USR1", &pid])
        .status()
        .unwrap()
        .success());
    writeln!(stdin, "second line").unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "second line\n", "still running after the signal");
    let mut report = String::new();
    stderr.read_line(&mut report).unwrap();
    let v: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(v["final"], false);
    assert_eq!(v["findings_total"], 1);
    assert!(v["lines"].as_u64().unwrap() >= 1);
    assert!(
        v["bytes"].as_u64().unwrap() >= 47,
        "the first line was read: {v}"
    );
    drop(stdin);
    let mut last = String::new();
    stderr.read_line(&mut last).unwrap();
    let v: serde_json::Value = serde_json::from_str(last.trim()).unwrap();
    assert_eq!(v["final"], true);
    assert_eq!(v["lines"], 2);
    assert!(child.wait().unwrap().success());
}

/// Values of secret-named JSON fields (found by key name, not by a rule) follow the mode too.
#[test]
fn secret_named_json_fields_follow_the_mode() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", KEY);
    let input = "{\"msg\":\"login\",\"db_password\":\"correct-horse-battery-staple\"}\n\
                 {\"db_password\":\"correct-horse-battery-staple\",\"api_key\":\"short1\"}\n";
    let partial = run(&["--mode", "partial"], input);
    assert_eq!(
        partial.stdout,
        "{\"msg\":\"login\",\"db_password\":\"[REDACTED:secret-field:...aple]\"}\n\
         {\"db_password\":\"[REDACTED:secret-field:...aple]\",\"api_key\":\"[REDACTED:secret-field]\"}\n"
    );
    let hash = run(&["--mode", "hash", "--hash-key-file", &key], input);
    let t = tags(&hash.stdout);
    assert_eq!(t.len(), 3, "{}", hash.stdout);
    assert_eq!(t[0], t[1], "same value, same tag");
    assert_ne!(t[1], t[2]);
    let again = run(&["--mode", "hash", "--hash-key-file", &key], &hash.stdout);
    assert_eq!(again.stdout, hash.stdout);
}
