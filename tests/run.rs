//! `logredact run`: real child processes (`sh`), real pipes and real signals.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const SECRET: &str = "tok_abcdefghij012345";
const MARKER: &str = "[REDACTED:test-token]";

fn rules() -> String {
    common::fixture("runlint-rules.toml")
}

fn run_cmd(child_args: &[&str]) -> Command {
    let mut cmd = Command::new(common::BIN);
    cmd.args(["run", "--no-default-rules", "--rules", &rules(), "--"])
        .args(child_args);
    cmd
}

fn sh(script: &str) -> Output {
    run_cmd(&["sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn exits_with_the_childs_code() {
    for code in [0, 1, 3, 42, 255] {
        let out = sh(&format!("exit {code}"));
        assert_eq!(out.status.code(), Some(code), "exit {code}");
    }
}

#[test]
fn a_child_killed_by_signal_n_gives_128_plus_n() {
    for (name, n) in [("KILL", 9), ("TERM", 15), ("SEGV", 11)] {
        let out = sh(&format!("kill -{name} $$"));
        assert_eq!(out.status.code(), Some(128 + n), "SIG{name}");
    }
}

#[test]
fn a_command_that_cannot_start_exits_like_a_shell() {
    let out = run_cmd(&["/no/such/program-xyz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/no/such/program-xyz: command not found"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_cmd(&[script.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot execute"));
}

#[test]
fn stdout_and_stderr_are_redacted_each_to_its_own_stream() {
    let out = sh(&format!(
        "echo out1 {SECRET}; echo err1 password=hunter2x >&2; echo out2; echo err2 {SECRET} >&2"
    ));
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stdout, format!("out1 {MARKER}\nout2\n"));
    assert_eq!(
        stderr,
        format!("err1 password=[REDACTED:test-password]\nerr2 {MARKER}\n")
    );
}

#[test]
fn every_line_survives_an_abrupt_exit_including_a_last_line_without_newline() {
    let out = sh(&format!(
        "i=0; while [ $i -lt 3000 ]; do echo \"line $i {SECRET}\"; i=$((i+1)); done; \
         printf 'unterminated {SECRET}'; kill -KILL $$"
    ));
    assert_eq!(out.status.code(), Some(137));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.split('\n').collect();
    assert_eq!(lines.len(), 3001);
    for (i, line) in lines[..3000].iter().enumerate() {
        assert_eq!(*line, format!("line {i} {MARKER}"));
    }
    assert_eq!(lines[3000], format!("unterminated {MARKER}"));
}

#[test]
fn our_stdin_goes_to_the_child() {
    let input: String = (0..1000).map(|i| format!("in {i} {SECRET}\n")).collect();
    let out = common::run_reading_all(&mut run_cmd(&["cat"]), input.as_bytes());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1000);
    assert!(!text.contains(SECRET));
    assert!(text.starts_with(&format!("in 0 {MARKER}\n")));
}

fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reads the child's stdout until it prints `ready`.
fn wait_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    reader
}

#[test]
fn stop_and_user_signals_are_forwarded_to_the_child() {
    for signal in ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2"] {
        let script = format!(
            "trap 'echo got {signal} {SECRET}; exit 7' {signal}; echo ready; \
             while :; do sleep 0.05; done"
        );
        let mut child = run_cmd(&["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = wait_ready(&mut child);
        kill(child.id(), signal);
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(rest, format!("got {signal} {MARKER}\n"), "SIG{signal}");
        assert_eq!(status.code(), Some(7), "SIG{signal}");
    }
}

#[test]
fn a_signal_to_our_process_group_reaches_the_child_once() {
    // `kill -INT -PGID` (what a terminal's Ctrl-C does to the foreground job): the child must
    // see one SIGINT, forwarded by us, not a second one straight from the group signal.
    let script = "n=0; trap 'n=$((n+1))' INT; echo ready; \
                  while [ $n -lt 1 ]; do sleep 0.05; done; sleep 0.5; echo \"ints $n\"";
    let mut child = run_cmd(&["sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut reader = wait_ready(&mut child);
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "ints 1\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn an_untrapped_forwarded_signal_kills_the_child_and_gives_its_code() {
    let mut child = run_cmd(&["sh", "-c", "echo ready; exec sleep 30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _reader = wait_ready(&mut child);
    kill(child.id(), "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
}

#[test]
fn the_child_is_reaped_while_its_leftover_output_is_still_drained() {
    // The child exits at once; a background process it started holds stdout for 1.5 s and
    // writes a late line. The child must not linger as a zombie meanwhile, and the late line
    // must still be delivered.
    let mut child = run_cmd(&[
        "sh",
        "-c",
        &format!("echo $$; (sleep 1.5; echo late {SECRET}) & exit 3"),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut pid = String::new();
    reader.read_line(&mut pid).unwrap();
    let stat_path = format!("/proc/{}/stat", pid.trim());
    // A zombie for a moment is normal (exit, then SIGCHLD, then our wait); it must be gone well
    // before the late line, i.e. not only once the pipes are drained.
    let deadline = Instant::now() + Duration::from_millis(1000);
    let mut reaped = false;
    while Instant::now() < deadline {
        if fs::read_to_string(&stat_path).is_err() {
            reaped = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(reaped, "the exited child is still a zombie (or running)");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, format!("late {MARKER}\n"));
    assert_eq!(child.wait().unwrap().code(), Some(3));
}

#[test]
fn as_pid_1_orphans_handed_to_us_are_reaped() {
    // In a new PID namespace logredact is PID 1, as in a container: a process the child leaves
    // behind is re-parented to it and must not stay a zombie when it exits.
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: creating a PID namespace with unshare needs root");
        return;
    }
    let script = "(sleep 0.1 &); sleep 1.5; \
                  echo zombies $(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)";
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_logredact"))
        .args([
            "run",
            "--no-default-rules",
            "--rules",
            &rules(),
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "zombies 0\n");
}

/// `count` lines per stream, one in 100 with a secret, from two concurrent writers.
fn two_stream_script(count: u64) -> String {
    format!(
        "gen() {{ awk -v s=$1 'BEGIN{{for(i=0;i<{count};i++){{ if(i%100==0) printf \"%s %09d secret {SECRET} here\\n\", s, i; \
         else printf \"%s %09d plain log line with some text in it..\\n\", s, i }}}}'; }}; \
         gen err >&2 & gen out; wait"
    )
}

/// Checks one stream's lines: all there, in order, each whole, secrets redacted.
fn check_stream(name: &str, text: &[u8], count: u64) {
    let text = std::str::from_utf8(text).unwrap();
    let mut n = 0u64;
    for line in text.split_terminator('\n') {
        let expected = if n % 100 == 0 {
            format!("{name} {n:09} secret {MARKER} here")
        } else {
            format!("{name} {n:09} plain log line with some text in it..")
        };
        assert_eq!(line, expected, "{name} line {n}");
        n += 1;
    }
    assert_eq!(n, count, "{name}: line count");
    assert!(text.ends_with('\n'));
}

#[test]
fn a_hundred_megabytes_on_both_streams_at_once() {
    const LINES: u64 = 2_000_000; // 52 bytes each: 104 MB per stream
    let mut child = run_cmd(&["sh", "-c", &two_stream_script(LINES)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let err = err_reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.len() as u64, LINES * 52 - (LINES / 100) * 4);
    check_stream("out", &out, LINES);
    check_stream("err", &err, LINES);
}

#[test]
fn both_streams_into_one_pipe_interleave_only_between_lines() {
    // `logredact run ... 2>&1 | shipper`: both pumps write to the same pipe, where writes larger
    // than PIPE_BUF may interleave; each line must stay whole all the same.
    const LINES: u64 = 200_000;
    let bin = common::BIN;
    let rules = rules();
    let script = two_stream_script(LINES);
    let output = Command::new("sh")
        .args([
            "-c",
            "\"$@\" 2>&1",
            "sh",
            bin,
            "run",
            "--no-default-rules",
            "--rules",
        ])
        .args([rules.as_str(), "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for line in output.stdout.split_inclusive(|&b| b == b'\n') {
        match line.get(..4) {
            Some(b"out ") => out.extend_from_slice(line),
            Some(b"err ") => err.extend_from_slice(line),
            _ => panic!("a line was cut: {:?}", String::from_utf8_lossy(line)),
        }
    }
    check_stream("out", &out, LINES);
    check_stream("err", &err, LINES);
}
