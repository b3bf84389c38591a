//! Helpers shared by the integration tests: run the real binary through real pipes.
// Each test file compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_logredact");

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` with its three streams piped, writing `input` to its stdin from a separate thread
/// (so a large input cannot deadlock against a full stdout pipe). Also returns how the write
/// went: an error means the process exited without reading all of `input`.
fn feed(cmd: &mut Command, input: &[u8]) -> (Output, std::io::Result<()>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command under test");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for the command");
    let written = feeder.join().expect("feeder thread");
    (out, written)
}

/// Runs `cmd` on `input` and panics unless it read all of it: for tests where the process must
/// take its whole input (a filter, or a config error that still answers every message).
pub fn run_reading_all(cmd: &mut Command, input: &[u8]) -> Output {
    let (out, written) = feed(cmd, input);
    written.expect("the command reads all of its stdin");
    out
}

/// Runs logredact with `args` and the environment variables `env` on `input`. It may exit
/// without reading all of `input` (a configuration error does): callers check the status.
pub fn run_env(args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    feed(
        Command::new(BIN).args(args).envs(env.iter().copied()),
        input,
    )
    .0
}

/// Runs logredact with `args` on `input`, as [`run_env`] does.
pub fn run(args: &[&str], input: &[u8]) -> Output {
    run_env(args, &[], input)
}

/// Runs with only the test fixture rules.
pub fn run_fixture(extra: &[&str], input: &[u8]) -> Output {
    let rules = fixture("rules.toml");
    let mut args = vec!["--no-default-rules", "--rules", rules.as_str()];
    args.extend_from_slice(extra);
    run(&args, input)
}

/// Counts non-overlapping occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

/// Peak resident memory of a live process, from /proc.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts `cmd` with stdin, stdout and stderr piped, for tests that talk to it line by line.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command under test")
}

/// Starts logredact with only the test fixture rules plus `extra`, stdin and stdout piped.
pub fn spawn_fixture(extra: &[&str]) -> Child {
    let rules = fixture("rules.toml");
    Command::new(BIN)
        .args(["--no-default-rules", "--rules", &rules])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn logredact")
}

/// Runs the bash `script`, which prints logredact's exit status (from `PIPESTATUS`) after the
/// reader of its output has gone: that must be 0, with nothing on stderr.
pub fn assert_ends_quietly_on_a_closed_pipe(script: &str) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the real-rsyslog tests find `rsyslogd`.
pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// Whether the real-rsyslog tests can run. On a machine with only the Rust toolchain they say
/// SKIPPED and pass, so the quick start's `cargo test` works there; `.ci/run` installs rsyslog and
/// sets `LOGREDACT_REQUIRE_RSYSLOG=1`, and then a missing `rsyslogd` fails the test instead of
/// skipping it unseen.
pub fn rsyslogd_available(test: &str) -> bool {
    if std::path::Path::new(RSYSLOGD).exists() {
        return true;
    }
    assert!(
        std::env::var_os("LOGREDACT_REQUIRE_RSYSLOG").is_none(),
        "{RSYSLOGD} is missing but LOGREDACT_REQUIRE_RSYSLOG is set: `apt-get install rsyslog`"
    );
    eprintln!("SKIPPED {test}: {RSYSLOGD} not installed (`apt-get install rsyslog`)");
    false
}
