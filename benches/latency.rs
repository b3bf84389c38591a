//! Per-line latency of the release binary under trickle input (issue 8: p99 ≤ 1 ms), through real
//! pipes: `cargo bench --bench latency` (add `--features hyperscan` for the Hyperscan engine).
//!
//! For each engine (`regex`, and `hyperscan` when the binary has it) and thread setting (default,
//! and `--threads 1`) it spawns the binary, writes one line at a time at a fixed pace, and times
//! each line from its `write()` returning to the redacted line being read back on stdout. Every
//! line must come back, in order: clean lines byte for byte, secret lines with the secret gone.
//! Prints n, p50, p90, p99, p99.9 and max in µs per configuration, and whether p99 ≤ 1 ms; `cat`
//! through the same pipes comes first, as the baseline of what the machine itself adds. To tell
//! the tool's time from a busy machine's, it also prints the subject's CPU time per line and how
//! long its threads waited, runnable, for a CPU (`/proc/<pid>/task/*/schedstat`).
//!
//! The binary is the one cargo builds for benchmarks (`CARGO_BIN_EXE_logredact`: the `bench`
//! profile, which inherits `release`, with the same features as the bench), so no separate
//! `cargo build --release` is needed. Environment: `LATENCY_LINES` (default 5000 per
//! configuration), `LATENCY_INTERVAL_US` (pause between lines, default 2000), `LATENCY_SLOWEST=N`
//! (also print the N slowest lines of each configuration: index, clean or secret, µs),
//! `LATENCY_BIN` (another logredact binary, to compare two builds in one sitting).

#[path = "support/corpus.rs"]
mod corpus;

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use corpus::{Kind, Rng};

const BUILT_BIN: &str = env!("CARGO_BIN_EXE_logredact");

/// The binary under test: the one cargo built, or `LATENCY_BIN` (to compare two builds).
fn bin() -> String {
    std::env::var("LATENCY_BIN").unwrap_or_else(|_| BUILT_BIN.to_string())
}
const DEFAULT_LINES: usize = 5000;
const DEFAULT_INTERVAL_US: u64 = 2000;
/// The target for p99.
const TARGET: Duration = Duration::from_millis(1);
/// About one line in this many carries a secret.
const SECRET_EVERY: usize = 8;
/// The first line also waits for start-up (rule compilation): it is reported apart.
const FIRST_LINE_TIMEOUT: Duration = Duration::from_secs(30);

const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// One input line and, for a secret line, where its secret is.
struct Line {
    bytes: Vec<u8>,
    secret: Option<std::ops::Range<usize>>,
}

fn main() {
    let lines = env_number("LATENCY_LINES", DEFAULT_LINES as u64) as usize;
    let interval = Duration::from_micros(env_number("LATENCY_INTERVAL_US", DEFAULT_INTERVAL_US));
    assert!(lines >= 2, "LATENCY_LINES must be at least 2");
    let input = generate(lines, 8);

    let mut engines = vec!["regex"];
    if engine_available("hyperscan") {
        engines.push("hyperscan");
    } else {
        println!(
            "note: this logredact has no Hyperscan engine (`--engine hyperscan` failed); \
             run `cargo bench --features hyperscan --bench latency` to measure it too"
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "logredact per-line latency under trickle input: {lines} lines per configuration, one \
         every {} µs ({} secret lines), {cores} cores, load average {}",
        interval.as_micros(),
        input.iter().filter(|l| l.secret.is_some()).count(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("binary: {}", bin());
    println!(
        "{:<10} {:<8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>8} {:>9}  p99<=1ms",
        "engine",
        "threads",
        "n",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "first-line",
        "cpu/line",
        "runq-wait"
    );
    let mut subjects = vec![Subject::Cat];
    for engine in &engines {
        for threads in [None, Some(1)] {
            subjects.push(Subject::Logredact { engine, threads });
        }
    }
    let slowest = env_number("LATENCY_SLOWEST", 0) as usize;
    let mut all_met = true;
    let mut baseline_met = true;
    for subject in subjects {
        let run = measure(subject, &input, interval);
        let mut sorted = run.latencies.clone();
        sorted.sort_unstable();
        let p99 = percentile(&sorted, 0.99);
        let met = p99 <= TARGET;
        match subject {
            Subject::Logredact { .. } => all_met &= met,
            Subject::Cat => baseline_met = met,
        }
        let (engine, threads) = subject.label();
        println!(
            "{:<10} {:<8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>8} {:>7}ms  {}",
            engine,
            threads,
            sorted.len(),
            micros(percentile(&sorted, 0.50)),
            micros(percentile(&sorted, 0.90)),
            micros(p99),
            micros(percentile(&sorted, 0.999)),
            micros(sorted.last().copied().unwrap_or_default()),
            micros(run.first_line),
            micros(run.sched.on_cpu / sorted.len().max(1) as u32),
            run.sched.waiting.as_millis(),
            if met { "yes" } else { "NO" }
        );
        if slowest > 0 {
            print_slowest(&run.latencies, &input[1..], slowest);
        }
    }
    println!(
        "µs from write() returning to the line read back; first-line includes start-up and is \
         not in the percentiles.\ncpu/line: CPU time of the subject's threads per line; \
         runq-wait: their total time runnable but waiting for a CPU (the machine, not the tool).\n\
         target p99 <= 1 ms: {}{}",
        if all_met { "met" } else { "NOT met" },
        if baseline_met {
            ""
        } else {
            " (and missed by `cat` itself: the machine is too busy for a verdict, rerun when idle)"
        }
    );
}

/// Diagnostics (`LATENCY_SLOWEST=N`): the N slowest lines, with their index and kind.
fn print_slowest(latencies: &[Duration], lines: &[Line], n: usize) {
    let mut order: Vec<usize> = (0..latencies.len()).collect();
    order.sort_unstable_by_key(|&i| std::cmp::Reverse(latencies[i]));
    let slow: Vec<String> = order
        .iter()
        .take(n)
        .map(|&i| {
            let kind = if lines[i].secret.is_some() { "s" } else { "c" };
            format!("#{}{kind}:{}", i + 1, latencies[i].as_micros())
        })
        .collect();
    println!(
        "    slowest (line, s=secret c=clean, µs): {}",
        slow.join(" ")
    );
}

/// What one configuration measured.
struct Run {
    /// Per line after the first.
    latencies: Vec<Duration>,
    first_line: Duration,
    /// Of the filter's threads, from the first line back to the last.
    sched: SchedTotals,
}

/// What to run: logredact with an engine and thread setting, or `cat` (the baseline: what the
/// pipes, the scheduler and this harness cost on this machine right now).
#[derive(Clone, Copy)]
enum Subject<'a> {
    Logredact {
        engine: &'a str,
        threads: Option<usize>,
    },
    Cat,
}

impl Subject<'_> {
    fn command(self) -> Command {
        match self {
            Subject::Logredact { engine, threads } => {
                let mut command = Command::new(bin());
                command.args(["--engine", engine]);
                if let Some(t) = threads {
                    command.args(["--threads", &t.to_string()]);
                }
                command
            }
            Subject::Cat => Command::new("cat"),
        }
    }

    fn label(self) -> (String, String) {
        match self {
            Subject::Logredact { engine, threads } => (
                engine.to_string(),
                threads.map_or("default".to_string(), |t| t.to_string()),
            ),
            Subject::Cat => ("cat".to_string(), "-".to_string()),
        }
    }
}

/// Spawns `subject` with real pipes, trickles `input` into it and times every line.
fn measure(subject: Subject, input: &[Line], interval: Duration) -> Run {
    let (engine, threads) = subject.label();
    let redacts = matches!(subject, Subject::Logredact { .. });
    let mut child = subject
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {engine}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (back_tx, back_rx) = mpsc::channel();
    let pid = child.id();
    let mut sched_start = SchedTotals::default();
    let mut sched_end = SchedTotals::default();

    let (sent, received) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_back(stdout, input, redacts, back_tx));
        let mut sent = Vec::with_capacity(input.len());
        let mut start = None;
        for (i, line) in input.iter().enumerate() {
            if let Some(start) = start {
                let deadline: Instant = start + interval * (i as u32);
                if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            // One write() per line: the pipe takes up to 64 KiB at once.
            if stdin.write_all(&line.bytes).is_err() {
                break; // the filter stopped: the reader says why
            }
            sent.push(Instant::now());
            if i == 0 {
                // Start the pace once the filter is up, so start-up is not in the percentiles.
                if back_rx.recv_timeout(FIRST_LINE_TIMEOUT).is_err() {
                    break;
                }
                sched_start = SchedTotals::of(pid);
                start = Some(Instant::now());
            }
        }
        // The filter's threads end at end of input: read their counters while they run.
        if sent.len() == input.len() && back_rx.recv_timeout(FIRST_LINE_TIMEOUT).is_ok() {
            sched_end = SchedTotals::of(pid);
        }
        drop(stdin);
        let received = match reader.join() {
            Ok(Ok(received)) => received,
            Ok(Err(problem)) => panic!("{engine}, threads {threads}: {problem}"),
            Err(_) => panic!("{engine}, threads {threads}: the reader thread panicked"),
        };
        (sent, received)
    });
    let status = child.wait().expect("wait for logredact");
    assert!(
        status.success(),
        "{engine}, threads {threads}: exited with {status}"
    );
    assert_eq!(
        sent.len(),
        input.len(),
        "{engine}, threads {threads}: not every line could be written"
    );
    let latencies: Vec<Duration> = sent
        .iter()
        .zip(&received)
        .map(|(s, r)| r.saturating_duration_since(*s))
        .collect();
    Run {
        first_line: latencies[0],
        latencies: latencies[1..].to_vec(),
        sched: sched_end.since(sched_start),
    }
}

/// Scheduler counters summed over a process's threads (`/proc/<pid>/task/*/schedstat`): time on
/// a CPU, and time runnable but waiting for one (what a busy machine adds to latency).
#[derive(Debug, Default, Clone, Copy)]
struct SchedTotals {
    on_cpu: Duration,
    waiting: Duration,
}

impl SchedTotals {
    /// Zero where the kernel does not report them.
    fn of(pid: u32) -> SchedTotals {
        let mut totals = SchedTotals::default();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return totals;
        };
        for task in tasks.flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
                continue;
            };
            let mut fields = text
                .split_whitespace()
                .map(|f| f.parse::<u64>().unwrap_or(0));
            totals.on_cpu += Duration::from_nanos(fields.next().unwrap_or(0));
            totals.waiting += Duration::from_nanos(fields.next().unwrap_or(0));
        }
        totals
    }

    fn since(self, earlier: SchedTotals) -> SchedTotals {
        SchedTotals {
            on_cpu: self.on_cpu.saturating_sub(earlier.on_cpu),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

/// Reads the filter's output line by line, noting when each arrived and checking it against
/// the input (only order and count when the subject does not redact). Problems name the line
/// index only, never its content.
fn read_back(
    stdout: ChildStdout,
    input: &[Line],
    redacts: bool,
    back: mpsc::Sender<()>,
) -> Result<Vec<Instant>, String> {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut received = Vec::with_capacity(input.len());
    let mut out = Vec::new();
    for (i, line) in input.iter().enumerate() {
        out.clear();
        match reader.read_until(b'\n', &mut out) {
            Ok(0) => return Err(format!("output ended after {i} of {} lines", input.len())),
            Ok(_) => {}
            Err(e) => return Err(format!("reading output line {i}: {e}")),
        }
        received.push(Instant::now());
        if i == 0 || i + 1 == input.len() {
            let _ = back.send(());
        }
        check_line(i, line, &out, redacts)?;
    }
    out.clear();
    match reader.read_until(b'\n', &mut out) {
        Ok(0) => Ok(received),
        Ok(_) => Err(format!("more than {} output lines", input.len())),
        Err(e) => Err(format!("reading past the last line: {e}")),
    }
}

fn check_line(index: usize, line: &Line, out: &[u8], redacts: bool) -> Result<(), String> {
    let seq_len = line.bytes.iter().position(|&b| b == b' ').unwrap_or(0);
    if out.get(..=seq_len) != line.bytes.get(..=seq_len) {
        return Err(format!(
            "output line {index} is not input line {index} (lost or reordered)"
        ));
    }
    if !redacts {
        return Ok(());
    }
    match &line.secret {
        None if out != line.bytes.as_slice() => Err(format!(
            "clean line {index} came back changed ({} bytes in, {} out)",
            line.bytes.len(),
            out.len()
        )),
        None => Ok(()),
        Some(span) => {
            let secret = &line.bytes[span.clone()];
            if contains(out, secret) || !contains(out, b"[REDACTED") {
                Err(format!("secret line {index} was not redacted"))
            } else {
                Ok(())
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `n` lines, each starting with its zero-padded index and a space: realistic clean log lines,
/// and about one in [`SECRET_EVERY`] with a made-up AWS key id or GitHub token in it.
fn generate(n: usize, seed: u64) -> Vec<Line> {
    let mut rng = Rng::new(seed);
    let mut lines = Vec::with_capacity(n);
    let mut body = String::new();
    for i in 0..n {
        let mut text = format!("{i:07} ");
        // Line 0 is clean: its round trip includes start-up.
        let secret = if i > 0 && rng.below(SECRET_EVERY) == 0 {
            let (before, secret, after) = secret_line(&mut rng);
            text.push_str(&before);
            let start = text.len();
            text.push_str(&secret);
            let span = start..text.len();
            text.push_str(&after);
            Some(span)
        } else {
            body.clear();
            corpus::line(&mut rng, Kind::Clean, &mut body);
            text.push_str(body.trim_end_matches('\n'));
            None
        };
        text.push('\n');
        lines.push(Line {
            bytes: text.into_bytes(),
            secret,
        });
    }
    lines
}

/// Text before the secret, the secret, text after it (no newline).
fn secret_line(rng: &mut Rng) -> (String, String, String) {
    let mut secret = String::new();
    if rng.below(2) == 0 {
        // aws-access-key-id: AKIA + 16 base32 characters.
        secret.push_str("AKIA");
        secret.push_str(&random_chars(rng, BASE32_UPPER, 16));
        (
            "2026-11-29T13:00:00.000Z INFO  [deploy] export AWS_ACCESS_KEY_ID=".into(),
            secret,
            " region=eu-west-1".into(),
        )
    } else {
        // github-pat: ghp_ + 30 base62 characters + their CRC-32 in 6 base62 digits.
        let random = random_chars(rng, BASE62, 30);
        secret.push_str("ghp_");
        secret.push_str(&random);
        secret.push_str(&base62_6(crc32(random.as_bytes())));
        (
            "2026-11-29T13:00:00.000Z stdout F git remote set-url origin https://x-access-token:"
                .into(),
            secret,
            "@github.com/shop/api.git".into(),
        )
    }
}

/// `n` random characters of `alphabet`, never a run the filter vetoes as a placeholder
/// (`XXXX`, `EXAMPLE`, `REDACTED`, in any case), so every generated secret must be redacted.
fn random_chars(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    loop {
        let mut text = String::new();
        rng.chars(alphabet, n, &mut text);
        let lower = text.to_ascii_lowercase();
        if !["xxxx", "example", "redacted"]
            .iter()
            .any(|veto| lower.contains(veto))
        {
            return text;
        }
    }
}

/// CRC-32 (IEEE), as GitHub's token checksum uses it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `n` in base62, left-padded with `0` to 6 digits.
fn base62_6(mut n: u32) -> String {
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// Whether the binary runs with `--engine <engine>` (on empty input).
fn engine_available(engine: &str) -> bool {
    Command::new(bin())
        .args(["--engine", engine])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
        Err(_) => default,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> String {
    d.as_micros().to_string()
}
