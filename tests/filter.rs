//! The filter through real pipes: line framing, byte-exact pass-through, flushing, long lines,
//! memory, exit codes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::{count, fixture, peak_rss_kib, run, run_fixture, spawn_fixture, BIN};

const TOKEN: &str = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

#[test]
fn redacts_secret_and_keeps_context() {
    let out = run_fixture(
        &[],
        format!("a token {TOKEN} here\nlogin password=hunter2x ok\n").as_bytes(),
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a token [REDACTED:test-gh-token] here\nlogin password=[REDACTED:test-password] ok\n"
    );
}

#[test]
fn clean_bytes_pass_through_exactly() {
    let mut input = Vec::new();
    input.extend_from_slice(b"plain line\r\n");
    input.extend_from_slice(b"invalid utf8 \xff\xfe\xc3( here\n");
    input.extend_from_slice(b"nul \0 byte\n\n\n");
    input.extend_from_slice(b"last line without newline");
    let out = run_fixture(&[], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout, input);
}

#[test]
fn empty_input_gives_empty_output() {
    let out = run_fixture(&[], b"");
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn unterminated_last_line_with_secret_stays_unterminated() {
    let out = run_fixture(&[], format!("x\n{TOKEN}").as_bytes());
    assert_eq!(out.stdout, b"x\n[REDACTED:test-gh-token]");
}

#[test]
fn line_count_and_order_are_kept() {
    let mut input = String::new();
    for i in 0..20_000 {
        if i % 7 == 0 {
            input.push_str(&format!("{i} password=pw{i:06}x\n"));
        } else {
            input.push_str(&format!("{i} nothing to see\n"));
        }
    }
    let out = run_fixture(&[], input.as_bytes());
    let text = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 20_000);
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{i} ")), "line {i} out of order");
        assert_eq!(
            line.contains("[REDACTED:test-password]"),
            i % 7 == 0,
            "line {i}"
        );
    }
}

/// A slow producer's line must come out at once, while the pipe stays open.
#[test]
fn each_line_is_flushed_before_waiting_for_more_input() {
    flushes_each_line("1");
    flushes_each_line("3");
}

fn flushes_each_line(threads: &str) {
    let mut child = spawn_fixture(&["--threads", threads]);
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for round in 0..3 {
        writeln!(stdin, "round {round} token {TOKEN}").expect("write");
        stdin.flush().expect("flush");
        let line = rx
            .recv_timeout(Duration::from_secs(1))
            .expect("line not forwarded within 1 s");
        assert_eq!(
            line,
            format!("round {round} token [REDACTED:test-gh-token]\n")
        );
    }
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

/// Secrets packed densely into one long line: many cross window edges, none may survive.
#[test]
fn secrets_across_window_edges_are_redacted() {
    let mut line = Vec::new();
    let mut secrets = 0;
    let mut i = 0u64;
    while line.len() < 3_000_000 {
        // Vary the filler so secrets land at every offset relative to window edges.
        line.extend(std::iter::repeat_n(b'.', (i * 7919 % 500) as usize + 1));
        line.extend_from_slice(format!("password=Pw{i:08}z ").as_bytes());
        line.extend_from_slice(TOKEN.as_bytes());
        secrets += 2;
        i += 1;
    }
    line.push(b'\n');
    let out = run_fixture(&["--max-line-bytes", "4096"], &line);
    assert!(out.status.success());
    assert_eq!(count(&out.stdout, b"\n"), 1, "one line in, one line out");
    assert_eq!(count(&out.stdout, b"[REDACTED:"), secrets);
    assert_eq!(count(&out.stdout, b"ghp_"), 0, "a token survived");
    assert_eq!(count(&out.stdout, b"=Pw"), 0, "a password survived");
}

/// A 64 MiB line is processed in bounded memory and still redacted, by one thread or several.
#[test]
fn a_64_mib_line_stays_under_64_mib_of_memory() {
    a_64_mib_line_with_threads("1");
    a_64_mib_line_with_threads("3");
}

fn a_64_mib_line_with_threads(threads: &str) {
    let mut child = spawn_fixture(&["--threads", threads]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        let (mut total, mut markers, mut tokens, mut carry) = (0usize, 0usize, 0usize, Vec::new());
        loop {
            let n = stdout.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            total += n;
            carry.extend_from_slice(&buf[..n]);
            let keep = carry.len().saturating_sub(64);
            markers += count(&carry[..keep], b"[REDACTED:");
            tokens += count(&carry[..keep], b"ghp_");
            carry.drain(..keep);
        }
        markers += count(&carry, b"[REDACTED:");
        tokens += count(&carry, b"ghp_");
        (total, markers, tokens)
    });
    let chunk_len = 1 << 20;
    let mut planted = 0;
    for k in 0..64 {
        let mut chunk = vec![b'x'; chunk_len];
        // A token across every MiB boundary (space-delimited, so it is a whole token) and one
        // in the middle of each MiB.
        if k > 0 {
            chunk[..20].copy_from_slice(&TOKEN.as_bytes()[20..]);
            chunk[20] = b' ';
            planted += 1;
        }
        if k < 63 {
            chunk[chunk_len - 21] = b' ';
            chunk[chunk_len - 20..].copy_from_slice(&TOKEN.as_bytes()[..20]);
        }
        chunk[500_000 - 1] = b' ';
        chunk[500_000..500_000 + TOKEN.len()].copy_from_slice(TOKEN.as_bytes());
        chunk[500_000 + TOKEN.len()] = b' ';
        planted += 1;
        stdin.write_all(&chunk).expect("write");
    }
    stdin.write_all(b" tail\n").expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
    let peak = peak_rss_kib(child.id());
    drop(stdin);
    let (total, markers, tokens) = reader.join().expect("reader");
    assert!(child.wait().expect("wait").success());
    assert_eq!(markers, planted, "every planted token is redacted");
    assert_eq!(tokens, 0, "a token survived");
    assert!(total > 60 << 20);
    let peak = peak.expect("VmHWM readable");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn ten_megabyte_line_round_trips() {
    let mut input = vec![b'a'; 10 << 20];
    input.push(b'\n');
    let out = run_fixture(&[], &input);
    assert!(out.status.success());
    assert_eq!(out.stdout, input);
}

#[test]
fn closed_stdout_ends_quietly() {
    let rules = fixture("rules.toml");
    let script = format!(
        "yes 'some log line that goes on' | head -c 50000000 | {BIN} --no-default-rules --rules {rules} | head -n 1 >/dev/null; echo ${{PIPESTATUS[2]}}"
    );
    common::assert_ends_quietly_on_a_closed_pipe(&script);
}

#[test]
fn unreadable_input_file_is_exit_1() {
    let out = run(
        &[
            "filter",
            "--no-default-rules",
            "--rules",
            &fixture("rules.toml"),
            "/nonexistent/x.log",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.log"));
}

#[test]
fn filter_reads_files_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    std::fs::write(&a, format!("one {TOKEN}\n")).expect("write");
    std::fs::write(&b, "two\n").expect("write");
    let rules = fixture("rules.toml");
    let out = run(
        &[
            "filter",
            "--no-default-rules",
            "--rules",
            &rules,
            a.to_str().unwrap_or(""),
            b.to_str().unwrap_or(""),
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "one [REDACTED:test-gh-token]\ntwo\n"
    );
}

#[test]
fn stats_count_without_showing_secrets() {
    let out = run_fixture(
        &["--stats"],
        format!("{TOKEN}\nok\npassword=abcdefgh\n").as_bytes(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 lines"), "{err}");
    assert!(err.contains("2 findings"), "{err}");
    assert!(err.contains("test-gh-token"), "{err}");
    assert!(
        !err.contains(TOKEN) && !err.contains("abcdefgh"),
        "stats leaked a secret"
    );
}

#[test]
fn any_thread_count_gives_the_same_output() {
    let mut input = String::new();
    for i in 0..30_000 {
        match i % 5 {
            0 => input.push_str(&format!("{i} token {TOKEN}\n")),
            1 => input.push_str(&format!("{i} password=pw{i:06}x ok\n")),
            _ => input.push_str(&format!("{i} nothing here at all, just a log line\n")),
        }
    }
    input.push_str("last line without newline");
    let one = run_fixture(&["--threads", "1"], input.as_bytes());
    let three = run_fixture(&["--threads", "3"], input.as_bytes());
    assert!(one.status.success() && three.status.success());
    assert_eq!(one.stdout, three.stdout);
    assert_eq!(count(&one.stdout, b"[REDACTED:"), 12_000);
}

#[test]
fn output_is_idempotent() {
    let input = format!("a {TOKEN} password=hunter22 b\n");
    let once = run_fixture(&[], input.as_bytes()).stdout;
    let twice = run_fixture(&[], &once).stdout;
    assert_ne!(once, input.as_bytes());
    assert_eq!(once, twice);
}

/// SIGTERM while lines stream in: the output is a whole-line prefix of the expected output, in
/// order — nothing read is half-written or dropped from the middle.
#[test]
fn sigterm_mid_stream_writes_only_whole_lines_in_order() {
    let mut child = spawn_fixture(&[]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let writer = std::thread::spawn(move || {
        for i in 0..2_000_000u32 {
            if writeln!(
                stdin,
                "{i:07} token {TOKEN} and more text to make the line longer"
            )
            .is_err()
            {
                break;
            }
        }
    });
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        all
    });
    std::thread::sleep(Duration::from_millis(400));
    let t0 = std::time::Instant::now();
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    let out = reader.join().expect("reader");
    drop(writer);
    eprintln!("stopped after {:?}", t0.elapsed());
    assert!(
        status.code() == Some(143)
            || std::os::unix::process::ExitStatusExt::signal(&status) == Some(15),
        "terminated by the signal: {status:?}"
    );
    assert!(!out.is_empty(), "some lines were written before the signal");
    assert_eq!(out.last(), Some(&b'\n'), "the output ends on a whole line");
    for (i, line) in out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let expected =
            format!("{i:07} token [REDACTED:test-gh-token] and more text to make the line longer");
        assert_eq!(line, expected.as_bytes(), "line {i}");
    }
}
