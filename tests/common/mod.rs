//! Helpers shared by the integration tests: run the real binary through real pipes.
// Each test file compiles its own copy of this module and uses only some of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::rules::RuleSet;

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

/// Where the real-Fluent-Bit tests find `fluent-bit`: `$LOGREDACT_FLUENT_BIT`, else the prebuilt
/// 5.1.1 beside the repository (`../shared/tools/fluent-bit/fluent-bit`). Missing: the test says
/// SKIPPED and passes, unless `LOGREDACT_REQUIRE_FLUENT_BIT=1` (set by `.ci/run`), which fails it.
pub fn fluent_bit(test: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("LOGREDACT_FLUENT_BIT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/tools/fluent-bit/fluent-bit")
        });
    daemon(
        test,
        "LOGREDACT_FLUENT_BIT",
        "LOGREDACT_REQUIRE_FLUENT_BIT",
        path,
    )
}

/// The root of an unpacked `syslog-ng-core` (`dpkg -x` of it and its libraries, as `.ci/run`
/// does): `$LOGREDACT_SYSLOG_NG`. Missing: SKIPPED, unless `LOGREDACT_REQUIRE_SYSLOG_NG=1`.
pub fn syslog_ng_root(test: &str) -> Option<std::path::PathBuf> {
    // Unset: look at a path that cannot exist, so the message names the variable to set.
    let root = std::env::var_os("LOGREDACT_SYSLOG_NG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/$LOGREDACT_SYSLOG_NG-is-not-set"));
    daemon(
        test,
        "LOGREDACT_SYSLOG_NG",
        "LOGREDACT_REQUIRE_SYSLOG_NG",
        root.join("usr/sbin/syslog-ng"),
    )
    .map(|_| root)
}

fn daemon(
    test: &str,
    var: &str,
    require: &str,
    p: std::path::PathBuf,
) -> Option<std::path::PathBuf> {
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var(require).as_deref() != Ok("1"),
        "{require}=1 but {} is missing (set {var})",
        p.display()
    );
    eprintln!("SKIPPED {test}: {} not found (set {var})", p.display());
    None
}

/// Runs `cmd` with stdout and stderr captured; kills it after `limit` (then `timed_out` is
/// true). Daemon tests use it so a hang fails the test instead of stalling CI.
pub struct Bounded {
    pub status: Option<std::process::ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
}

pub fn run_bounded(cmd: &mut Command, limit: std::time::Duration) -> Bounded {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command under test");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = std::time::Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Bounded {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
        timed_out,
    }
}

/// The direct children of process `pid`, from /proc (for kill tests that must hit one process
/// of a daemon's pipeline by its id).
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

/// A filter of the built-in rules for every compiled-in engine, built once per test binary.
pub fn builtin_filters() -> &'static [(EngineChoice, Filter)] {
    static FILTERS: OnceLock<Vec<(EngineChoice, Filter)>> = OnceLock::new();
    FILTERS.get_or_init(|| {
        engine::compiled_in()
            .into_iter()
            .map(|choice| {
                let rules = RuleSet::builtin().expect("built-in rules load");
                let matcher = engine::build(&rules, choice).expect("engine builds");
                (choice, Filter::new(Detector::new(rules, matcher)))
            })
            .collect()
    })
}

/// Per rule id: how many `[REDACTED:id…]` markers `text` holds.
pub fn markers(text: &[u8]) -> BTreeMap<String, u64> {
    let text = String::from_utf8_lossy(text);
    let mut counts = BTreeMap::new();
    for piece in text.split("[REDACTED:").skip(1) {
        let id: String = piece
            .chars()
            .take_while(|&c| c != ']' && c != ':')
            .collect();
        *counts.entry(id).or_default() += 1;
    }
    counts
}

/// Waits (up to 10 s) until a process listens on the Unix socket `path`. The file appears at
/// `bind`, a moment before `listen`: a connect in between is refused (seen in CI), so this waits
/// for the kernel's listening flag (`__SO_ACCEPTCON` in /proc/net/unix) rather than for the file,
/// and without a probe connection that the listener would log.
pub fn wait_until_listening(path: &std::path::Path) {
    let listening = || {
        let table = std::fs::read_to_string("/proc/net/unix").unwrap_or_default();
        let path = path.to_string_lossy();
        table.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() >= 8 && fields[3] == "00010000" && fields[7] == path
        })
    };
    let t = std::time::Instant::now();
    while !listening() && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
