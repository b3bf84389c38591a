//! Regression tests for issue 14's hardening items that live outside detection and formats
//! (ADVERSARIAL.md L14, L15, D2, D4, K1, C3, M2–M7), each through the real binary as its
//! reproducer does. Failure messages name the case, never a secret.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::BIN;

/// The README's made-up GitHub token (valid checksum).
const GHP: &str = "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";
const PASSWORD: &str = "Qw3rtyU1op";

fn engines() -> Vec<&'static str> {
    let mut all = vec!["regex"];
    if cfg!(feature = "hyperscan") {
        all.push("hyperscan");
    }
    all
}

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
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
    let out = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn owner_only(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

// ---- L14: a forged Hyperscan cache file ----

#[cfg(feature = "hyperscan")]
/// The v0.1 cache checksum, recomputed as an attacker would (ADVERSARIAL.md's forge.py).
fn forged_checksum(b: &[u8]) -> u64 {
    let mut s = 0xcbf2_9ce4_8422_2325u64 ^ b.len() as u64;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        s = (s ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    s = (s ^ u64::from_le_bytes(tail)).wrapping_mul(0x0000_0100_0000_01b3);
    s ^ (s >> 31)
}

#[cfg(feature = "hyperscan")]
fn sections(b: &[u8]) -> Vec<Vec<u8>> {
    let mut p = 16;
    let mut out = Vec::new();
    for _ in 0..4 {
        let n = u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes")) as usize;
        out.push(b[p + 8..p + 8 + n].to_vec());
        p += 8 + n;
    }
    out
}

#[cfg(feature = "hyperscan")]
#[test]
fn l14_a_forged_cache_file_is_detected_recompiled_and_redacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let cache_s = cache.to_str().expect("utf8");
    let env = [("XDG_CACHE_HOME", cache_s)];
    let db_dir = cache.join("logredact");
    let dbs = || -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = fs::read_dir(&db_dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        v.retain(|p| p.extension().is_some_and(|e| e == "db"));
        v
    };
    let out = run_in(dir.path(), &["--engine", "hyperscan"], &env, b"x\n");
    assert_eq!(out.status.code(), Some(0));
    let real = dbs();
    assert_eq!(real.len(), 1, "one cache file after the first run");
    let mode = fs::metadata(&db_dir)
        .expect("cache dir")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "cache directory is owner-only");

    let mut harmless = String::new();
    for i in 1..=100 {
        harmless.push_str(&format!(
            "[[rules]]\nid = \"h{i}\"\nregex = \"zq{i}x[0-9a-f]{{40}}\"\nkeywords = [\"zq{i}x\"]\n"
        ));
    }
    fs::write(dir.path().join("harmless.toml"), harmless).expect("write rules");
    let args = [
        "--engine",
        "hyperscan",
        "--no-default-rules",
        "--rules",
        "harmless.toml",
    ];
    assert_eq!(
        run_in(dir.path(), &args, &env, b"x\n").status.code(),
        Some(0)
    );
    let donor = dbs()
        .into_iter()
        .find(|p| *p != real[0])
        .expect("a donor database");

    let list = run_in(dir.path(), &["rules", "list"], &[], b"");
    let nrules = text(&list.stdout).lines().count() as u32;
    let key = sections(&fs::read(&real[0]).expect("read real"))[0].clone();
    let db = sections(&fs::read(&donor).expect("read donor"))[3].clone();
    let pb = |x: &[u8]| [&(x.len() as u64).to_le_bytes()[..], x].concat();
    let ids: Vec<u8> = (0..nrules).flat_map(|i| i.to_le_bytes()).collect();
    let body = [
        &b"logredact-hsdb2\n"[..],
        &pb(&key),
        &pb(&ids),
        &pb(b""),
        &pb(&db),
    ]
    .concat();
    let forged = [&body[..], &forged_checksum(&body).to_le_bytes()].concat();
    fs::write(&real[0], forged).expect("forge");

    let input = format!("export GITHUB_TOKEN={GHP}\npassword: \"Tr0ub4dor&3\"\n");
    for round in ["forged cache", "rewritten cache"] {
        let out = run_in(
            dir.path(),
            &["--engine", "hyperscan"],
            &env,
            input.as_bytes(),
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{round}");
        assert!(
            !stdout.contains(GHP) && !stdout.contains("Tr0ub4dor"),
            "{round}: a secret passed through"
        );
        assert!(stdout.contains("[REDACTED:github-pat]"), "{round}");
        let warned = text(&out.stderr).contains("compiling it again");
        assert_eq!(warned, round == "forged cache", "{round}: warning");
    }
}

// ---- D2: SIGTERM/SIGINT with a partial line buffered ----

#[test]
fn d2_a_signal_ends_the_filter_promptly_while_a_partial_line_is_held() {
    for threads in ["1", "2"] {
        for (sig, name, code) in [(15, "TERM", 143), (2, "INT", 130)] {
            let mut child = Command::new(BIN)
                .args(["--threads", threads])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"line1\npartial").expect("write");
            stdin.flush().expect("flush");
            // The scenario is "a partial line is held": wait until the complete line before it
            // is out (start-up may take a while with a cold Hyperscan cache on a busy machine).
            let mut stdout = child.stdout.take().expect("stdout");
            let mut first = [0u8; 6];
            std::io::Read::read_exact(&mut stdout, &mut first).expect("line1 written");
            assert_eq!(&first, b"line1\n", "threads {threads}: first line");
            std::thread::sleep(Duration::from_millis(100));
            let killed = Command::new("kill")
                .args([&format!("-{name}"), &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(killed.success());
            let started = Instant::now();
            // The writer stays open: the filter must not wait for the line's end.
            let status = loop {
                if let Some(status) = child.try_wait().expect("try_wait") {
                    break status;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(3),
                    "threads {threads}: still running 3 s after SIG{name}"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            drop(stdin);
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read");
            let out = format!("line1\n{rest}");
            assert!(
                status.code() == Some(code) || status.signal() == Some(sig),
                "threads {threads} SIG{name}: {status:?}"
            );
            assert_eq!(
                out, "line1\n",
                "threads {threads} SIG{name}: partial line dropped"
            );
        }
    }
}

// ---- L15: the --hash-key-env key through /proc ----

#[test]
fn l15_the_key_variable_is_not_readable_by_the_run_child() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = "0123456789abcdef0123456789abcdefXYZ";
    let script =
        "echo \"env: [$SEC]\"; tr '\\0' '\\n' < /proc/$PPID/environ | grep -c '^SEC=' || true";
    let out = run_in(
        dir.path(),
        &[
            "run",
            "--mode",
            "hash",
            "--hash-key-env",
            "SEC",
            "--",
            "sh",
            "-c",
            script,
        ],
        &[("SEC", key)],
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "run exit");
    assert!(!stdout.contains("XYZ"), "the child saw the key");
    assert_eq!(
        stdout, "env: []\n0\n",
        "env empty and no SEC= in the parent's environ"
    );
}

#[test]
fn l15_lint_refuses_a_short_key_as_the_filter_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.log"), format!("password={PASSWORD}\n")).expect("write");
    let lint = ["lint", "--no-progress", "--hash-key-env", "K", "a.log"];
    let filter = ["--mode", "hash", "--hash-key-env", "K"];
    for args in [&lint[..], &filter[..]] {
        let out = run_in(dir.path(), args, &[("K", "short-key")], b"x\n");
        assert_eq!(out.status.code(), Some(2), "{}", args[0]);
        let err = text(&out.stderr);
        assert!(err.contains("at least 32"), "{}: {err}", args[0]);
        assert!(
            !err.contains("short-key"),
            "{}: the key was echoed",
            args[0]
        );
    }
}

// ---- D4: rule files ----

#[test]
fn d4_rule_files_that_are_not_small_regular_files_are_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    let huge = dir.path().join("huge.toml");
    fs::File::create(&huge)
        .and_then(|f| f.set_len(64 * 1024 * 1024))
        .expect("sparse file");
    for path in [
        "/dev/zero",
        fifo.to_str().expect("utf8"),
        huge.to_str().expect("utf8"),
    ] {
        let started = Instant::now();
        let out = run_in(dir.path(), &["--rules", path], &[], b"");
        assert_eq!(out.status.code(), Some(2), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path}: not at once"
        );
        assert!(text(&out.stderr).contains(path), "{path}: names the file");
    }
}

// ---- K1: --threads ----

#[test]
fn k1_large_thread_counts_are_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in [
        "65",
        "100000",
        "4294967295",
        "18446744073709551615",
        "99999999999999999999",
    ] {
        let out = run_in(dir.path(), &["--threads", n], &[], b"x\n");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--threads {n}: {err}");
        assert!(!err.contains("internal error"), "--threads {n}");
    }
    let out = run_in(dir.path(), &["--threads", "64"], &[], b"x\n");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "x\n".into())
    );
}

/// The threads of a filter started with `--threads N`, counted in `/proc` while it runs (after
/// it answered a line, so its workers are up).
fn threads_while_running(n: usize) -> usize {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(["--threads", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn logredact");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"x\n").expect("write a line");
    stdin.flush().expect("flush");
    let mut first = [0u8; 2];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("the line comes back");
    let tasks = fs::read_dir(format!("/proc/{}/task", child.id()))
        .expect("/proc/<pid>/task")
        .count();
    drop(stdin);
    assert!(child.wait().expect("wait").success(), "--threads {n}");
    tasks
}

/// Threads beyond the cores would only wait for one, each holding its own buffers and caches:
/// `--threads N` runs at most one scanning thread per available core (what the test process,
/// in the same affinity mask and cgroup, may use), whatever N asks for.
#[test]
fn k1_scanning_threads_are_capped_at_the_available_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 16 {
        eprintln!("skipped: {cores} cores, so --threads 16 is not above them");
        return;
    }
    assert_eq!(
        threads_while_running(16),
        threads_while_running(cores),
        "--threads 16 on {cores} cores"
    );
}

// ---- C3: filter with several files ----

#[test]
fn c3_a_missing_file_is_reported_and_skipped_and_dash_is_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("fa.log"), "a\n").expect("write");
    fs::write(dir.path().join("fb.log"), "b\n").expect("write");
    let out = run_in(
        dir.path(),
        &["filter", "fa.log", "missing.log", "-", "fb.log"],
        &[],
        b"from stdin\n",
    );
    assert_eq!(text(&out.stdout), "a\nfrom stdin\nb\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing.log"));
}

#[test]
fn c3_each_file_end_is_a_line_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.log"), "user=bob").expect("write");
    fs::write(
        dir.path().join("b.log"),
        format!("password={PASSWORD}\nlast"),
    )
    .expect("write");
    let out = run_in(dir.path(), &["filter", "a.log", "b.log"], &[], b"");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains(PASSWORD), "the password passed through");
    assert_eq!(
        stdout, "user=bob\npassword=[REDACTED:password-assignment]\nlast",
        "two lines, not one; the last file's last line as it came"
    );
}

// ---- M2, M3: rule files ----

#[test]
fn m2_rules_that_can_never_match_are_rejected_with_file_rule_and_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("''''''", ""),
        ("'''^$'''", ""),
        ("'''a{0}'''", ""),
        ("'''(?:)|\\b'''", ""),
        ("'''\\A\\z'''", ""),
        ("'''x()'''", "secretGroup = 1\n"),
    ];
    for (i, (regex, extra)) in cases.iter().enumerate() {
        let file = format!("n{i}.toml");
        let toml =
            format!("[[rules]]\nid = \"never{i}\"\nregex = {regex}\n{extra}keywords = [\"x\"]\n");
        fs::write(dir.path().join(&file), toml).expect("write");
        for args in [&["rules", "check", &file][..], &["--rules", &file][..]] {
            let out = run_in(dir.path(), args, &[], b"");
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{regex} via {}: {err}", args[0]);
            assert!(
                err.contains(&file)
                    && err.contains(&format!("never{i}"))
                    && err.contains("empty string"),
                "{regex}: {err}"
            );
        }
    }
}

#[test]
fn m3_an_unknown_validator_name_is_not_echoed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!("[[rules]]\nid = \"a\"\nregex = \"x\"\nvalidate = \"{GHP}\"\n");
    fs::write(dir.path().join("v.toml"), toml).expect("write");
    let out = run_in(dir.path(), &["--rules", "v.toml"], &[], b"");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(!err.contains(GHP), "the validator value was echoed");
    assert!(err.contains("unknown validator") && err.contains("'a'") && err.contains("v.toml"));
}

// ---- M4: lint text output ----

#[test]
fn m4_lint_escapes_controls_newlines_and_bidi_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("esc")).expect("mkdir");
    let name = "a\x1b[31mred\nb\u{202e}gol.log";
    let line = format!("password={PASSWORD} \u{2066}x\u{2069} \x07bell\n");
    fs::write(dir.path().join("esc").join(name), line).expect("write");
    let out = run_in(
        dir.path(),
        &["lint", "--no-progress", "--color", "never", "esc"],
        &[],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for bad in ['\x1b', '\x07', '\u{202e}', '\u{2066}', '\u{2069}'] {
        assert!(
            !stdout.contains(bad),
            "U+{:04X} reached the report",
            bad as u32
        );
    }
    assert_eq!(
        stdout.lines().count(),
        2,
        "one report line and one preview line"
    );
    assert!(stdout.starts_with("esc/a\\x1b[31mred\\nb\\u{202e}gol.log:1:10: password-assignment"));
}

// ---- M5: run after a clean child exit ----

#[test]
fn m5_run_reports_the_stop_not_a_failure_when_a_daemon_holds_the_pipe() {
    let mut child = Command::new(BIN)
        .args(["run", "--", "sh", "-c"])
        .arg("setsid sh -c 'while :; do echo tick; sleep 1; done' & exit 0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    // Dropping our end of the pipe makes the orphaned ticker die of SIGPIPE on its next echo.
    drop(child.stdout.take());
    assert_eq!(status.code(), Some(143), "{status:?}");
}

// ---- M6: closed stdout ----

#[test]
fn m6_a_closed_stdout_is_an_error() {
    let out = Command::new("sh")
        .args([
            "-c",
            "printf 'password=Qw3rtyU1op\\n' | \"$0\" >&-; echo \"rc=$?\"",
            BIN,
        ])
        .output()
        .expect("sh");
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("rc=0"), "closed stdout went unnoticed");
    assert!(text(&out.stderr).contains("error writing output"));
    // `> /dev/null` stays fine.
    let out = Command::new("sh")
        .args(["-c", "echo x | \"$0\" > /dev/null; echo \"rc=$?\"", BIN])
        .output()
        .expect("sh");
    assert_eq!(text(&out.stdout), "rc=0\n");
}

// ---- M7: weak and readable keys ----

#[test]
fn m7_weak_or_readable_key_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weak: [(&str, Vec<u8>); 3] = [
        ("newlines", vec![b'\n'; 34]),
        ("spaces", vec![b' '; 40]),
        ("one byte", vec![b'k'; 40]),
    ];
    for (name, bytes) in weak {
        let path = dir.path().join("k");
        fs::write(&path, bytes).expect("write");
        owner_only(&path);
        let out = run_in(
            dir.path(),
            &["--mode", "hash", "--hash-key-file", "k"],
            &[],
            b"x\n",
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
    }
    let path = dir.path().join("good");
    fs::write(&path, "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3\n").expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    let args = ["--mode", "hash", "--hash-key-file", "good"];
    assert_eq!(
        run_in(dir.path(), &args, &[], b"x\n").status.code(),
        Some(2),
        "0644"
    );
    owner_only(&path);
    assert_eq!(
        run_in(dir.path(), &args, &[], b"x\n").status.code(),
        Some(0),
        "0600"
    );
}

/// Every engine this build has keeps the hardening above engine-independent where it should be.
#[test]
fn hardened_inputs_behave_the_same_on_every_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.log"), "user=bob").expect("write");
    fs::write(dir.path().join("b.log"), format!("password={PASSWORD}\n")).expect("write");
    for engine in engines() {
        let out = run_in(
            dir.path(),
            &["filter", "--engine", engine, "a.log", "b.log"],
            &[],
            b"",
        );
        assert_eq!(
            text(&out.stdout),
            "user=bob\npassword=[REDACTED:password-assignment]\n",
            "{engine}"
        );
    }
}
