//! Helpers shared by the integration tests: run the real binary through real pipes.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_logredact");

pub fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs logredact with `args`, feeding `input` on stdin from a separate thread.
pub fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logredact");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait logredact");
    feeder.join().expect("feeder thread");
    out
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

/// Starts logredact with only the test fixture rules plus `extra`, stdin and stdout piped.
pub fn spawn_fixture(extra: &[&str]) -> std::process::Child {
    let rules = fixture("rules.toml");
    Command::new(BIN)
        .args(["--no-default-rules", "--rules", &rules])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn logredact")
}
