//! Speed gate for every built-in rule on adversarial input built from the rule itself: its
//! keywords repeated, its examples with the secret cut or spoiled (near misses), long runs of
//! characters from its regex's classes, and a 1 MB line packed with keyword hits.
//!
//! Speed is proven by benchmarks (`benches/rules.rs`); this test only catches a rule that is
//! pathologically slow before it ships. To stay robust on a noisy shared machine, each rule is
//! timed against a *reference* in the same process: the same input through a trivial rule with
//! the same keywords (so the same candidates), one timed run each. A rule fails only when it
//! is both `MAX_SLOWDOWN` times slower than its reference and below an absolute floor, and
//! again when timed a second time. A planted slow rule proves the gate can fail. Apart from the
//! gate, a rule that reads on past its match must cost about as much in a long line as in whole
//! lines (long lines were quadratic for it), and runtime partial records must cost about what
//! complete ones do (joining them was quadratic in a batch). The tests run optimised only
//! (`.ci/run`: `--release`).
//!
//! Never prints input text: only rule ids and figures.

#[path = "../benches/support/adversarial.rs"]
mod adversarial;

use std::time::{Duration, Instant};

use adversarial::{adversarial, alone, reference_for, Adversarial, LONG_LINE};
use logredact::detect::{Detector, WHOLE_LINE_LIMIT};
use logredact::rules::{Rule, RuleSet};

/// How much slower than its reference a rule may be before the floor is checked.
const MAX_SLOWDOWN: f64 = 50.0;
/// Absolute floor in MB/s (optimised build: the gate is skipped unoptimised).
const FLOOR_MB_S: f64 = 5.0;
const RUNS: usize = 1;
/// A rule that fails is timed again, up to this many times in all, and fails the gate only if it
/// fails every time: a stall on a shared machine rarely hits the same rule twice.
const ATTEMPTS: usize = 2;

/// Best of `RUNS` passes of `detector` over `input`.
fn time(detector: &Detector, input: &Adversarial) -> Duration {
    let mut scratch = detector.scratch();
    let mut findings = Vec::new();
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for batch in &input.batches {
                findings.clear();
                detector.find(batch, &mut scratch, &mut findings);
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// One rule's figures on its own adversarial input.
struct Measured {
    id: String,
    mb_s: f64,
    slowdown: f64,
}

impl Measured {
    /// `rule` on `input`, against its reference on the same input.
    fn of(rule: &Rule, input: &Adversarial) -> Self {
        let detector = alone(rule);
        let reference = reference_for(rule);
        let rule_time = time(&detector, input).as_secs_f64().max(1e-9);
        let reference_time = time(&reference, input).as_secs_f64().max(1e-9);
        Measured {
            id: rule.id.clone(),
            mb_s: input.bytes as f64 / 1e6 / rule_time,
            slowdown: rule_time / reference_time,
        }
    }

    /// Slow both relative to the reference and in absolute terms.
    fn too_slow(&self) -> bool {
        self.slowdown > MAX_SLOWDOWN && self.mb_s < FLOOR_MB_S
    }

    /// The gate's verdict on `rule` with its adversarial input.
    fn gate(rule: &Rule) -> Self {
        Measured::gate_on(rule, &adversarial(rule, &alone(rule)))
    }

    /// The gate's verdict on `rule` with `input`: its first measurement that is not too slow, or
    /// the last of `ATTEMPTS` that all were.
    fn gate_on(rule: &Rule, input: &Adversarial) -> Self {
        let mut m = Measured::of(rule, input);
        for _ in 1..ATTEMPTS {
            if !m.too_slow() {
                break;
            }
            m = Measured::of(rule, input);
        }
        m
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "a timing gate over 311 rules: too slow unoptimised; .ci/run runs it with --release"
)]
fn no_builtin_rule_is_pathologically_slow_on_adversarial_input() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let mut measured: Vec<Measured> = set.rules.iter().map(Measured::gate).collect();
    measured.sort_by(|a, b| a.mb_s.total_cmp(&b.mb_s));
    eprintln!("slowest built-in rules on adversarial input (MB/s, x slower than reference):");
    for m in measured.iter().take(10) {
        eprintln!("  {:<40} {:>9.1} MB/s {:>7.1}x", m.id, m.mb_s, m.slowdown);
    }
    let failing: Vec<String> = measured
        .iter()
        .filter(|m| m.too_slow())
        .map(|m| format!("{} ({:.2} MB/s, {:.0}x)", m.id, m.mb_s, m.slowdown))
        .collect();
    assert!(
        failing.is_empty(),
        "rules below {FLOOR_MB_S} MB/s and over {MAX_SLOWDOWN}x slower than a trivial rule: {}",
        failing.join(", ")
    );
}

/// A slow rule as an author could write it: `docker-login-password` as it was (a character gap
/// between the command and its `-p`), with the gap widened to 16000 bytes so that long command
/// lines still match, as one alternative beside a `--registry-password` flag (a wide gap on every
/// match's path is widened to `[^\n]*` by the confirm regex; one inside an alternative is kept
/// bounded, see `rules::repeats::Widen`). A bounded character gap keeps one regex thread alive
/// per keyword hit for the whole gap (an unbounded `[^\n]*` would merge them into one); on the
/// 1 MB line, with a hit every ~40 bytes, ~400 are alive at once and almost every byte leaves a
/// new set of them, so the regex crate's lazy DFA cannot reuse its states and runs at
/// thread-simulation speed. Measured ~3000x slower than its reference at ~0.1 MB/s, both over
/// 20x past the thresholds (the same rule with its 200-byte gap: ~60x at ~6 MB/s, which is why
/// the built-in changed).
const SLOW_RULE: &str = r#"
[[rules]]
id = "docker-login-password-wide-gap"
regex = '''(?i)(?:(?:docker|podman|buildah|skopeo|helm registry|nerdctl|crane) login\b[^\n]{0,16000}\s(?:-p|--password)|--registry-password)(?:\s{1,3}|=)["']?([^\s"']{1,256})'''
keywords = ["docker login", "podman login", "buildah login", "skopeo login", "registry login", "nerdctl login", "crane login"]
examples = [
  'docker login -u shopci -p l_#Oz.Zo30!z(gqmd1-p registry.shop.test',
  'podman login --username deploy --password=aNsPU1dRLyh2YfJFdE5PU4rc quay.io',
]
"#;

/// The gate must be able to fail: it does for `SLOW_RULE`, with the same input and verdict.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing is only meaningful optimised; .ci/run runs it with --release"
)]
fn the_gate_catches_a_slow_rule() {
    let mut set = RuleSet::default();
    set.add_toml("slow.toml", SLOW_RULE)
        .expect("slow rule loads");
    let m = Measured::gate(&set.rules[0]);
    eprintln!(
        "planted slow rule: {:.2} MB/s, {:.0}x slower than its reference",
        m.mb_s, m.slowdown
    );
    assert!(
        m.too_slow(),
        "the gate passed the planted slow rule ({:.2} MB/s, {:.0}x): it needs a slower one",
        m.mb_s,
        m.slowdown
    );
}

/// A rule that reads on past its match: an optional unbounded tail (`[^\n]*;expires=…`) keeps the
/// regex reading after every `token=` match. In a long line, whose windows merge into one, each
/// search used to read to the end of the line: quadratic. `detect` now stops each search
/// `max_match_len` past the earliest match, so a long line costs what the same bytes cost as
/// whole lines. Its adversarial input has no match (`token=` is followed by `=` or a space
/// there), so the lines of matches are built here.
const TAIL_RULE: &str = r#"
[[rules]]
id = "token-with-optional-expiry"
regex = '''token=([a-z0-9]{16,64})(?:[^\n]*;expires=([0-9]+))?'''
keywords = ["token="]
"#;

/// How much slower the long line may be than the same bytes as whole lines (measured ~2x; ~70x
/// when searches read to the end of the line).
const MAX_LONG_LINE_SLOWDOWN: f64 = 8.0;

/// About `LONG_LINE` bytes of `token=<secret> ` (the issue's reproducer), as one line or as lines
/// of at most `WHOLE_LINE_LIMIT` bytes in batches of at most 256 KiB (as `stream` hands them on).
fn tail_rule_matches(line_len: usize) -> Adversarial {
    let piece = b"token=a1b2c3d4e5f6a7b8c9d0 ";
    let mut line = piece.repeat((line_len - 1) / piece.len());
    line.push(b'\n');
    let lines = LONG_LINE / line.len();
    let per_batch = (256 * 1024 / line.len()).max(1);
    let batches: Vec<Vec<u8>> = (0..lines)
        .step_by(per_batch)
        .map(|first| line.repeat(per_batch.min(lines - first)))
        .collect();
    Adversarial {
        bytes: batches.iter().map(Vec::len).sum(),
        batches,
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing is only meaningful optimised; .ci/run runs it with --release"
)]
fn a_long_line_costs_about_what_its_bytes_cost_as_whole_lines() {
    let mut set = RuleSet::default();
    set.add_toml("tail.toml", TAIL_RULE)
        .expect("tail rule loads");
    let rule = &set.rules[0];
    let detector = alone(rule);
    let long = tail_rule_matches(LONG_LINE);
    let whole = tail_rule_matches(WHOLE_LINE_LIMIT);
    let slowdown = || {
        let per_byte =
            |input: &Adversarial| time(&detector, input).as_secs_f64() / input.bytes as f64;
        per_byte(&long) / per_byte(&whole).max(1e-15)
    };
    let mut measured = slowdown();
    for _ in 1..ATTEMPTS {
        if measured <= MAX_LONG_LINE_SLOWDOWN {
            break;
        }
        measured = slowdown();
    }
    // Against the trivial reference the rule still costs up to `max_match_len` (here the 16 KiB
    // cap) of reading per match, in whole lines as in long ones: the gate's verdict is printed,
    // not asserted.
    let (gate_long, gate_whole) = (Measured::of(rule, &long), Measured::of(rule, &whole));
    eprintln!(
        "rule with an unbounded optional tail: long line {measured:.1}x its bytes as whole lines; \
         vs its reference: long line {:.2} MB/s {:.0}x, whole lines {:.2} MB/s {:.0}x",
        gate_long.mb_s, gate_long.slowdown, gate_whole.mb_s, gate_whole.slowdown
    );
    assert!(
        measured <= MAX_LONG_LINE_SLOWDOWN,
        "a long line took {measured:.1}x what its bytes take as whole lines \
         (over {MAX_LONG_LINE_SLOWDOWN}x): searches in long lines are not linear"
    );
}

/// How much more a batch of runtime partial records (`P` lines joined to their `F`) may cost per
/// byte than the same lines as complete records. Joining visited the rest of the batch for every
/// group: 11x for short `P`/`F` pairs before it was linear, about 1.3x since.
const MAX_PARTIAL_RECORD_SLOWDOWN: f64 = 4.0;

/// CRI lines, `pairs` pairs of a short first line and a short second: partial (`P` then `F`,
/// each pair one record) or complete (`F` and `F`).
fn cri_pairs(pairs: usize, partial: bool) -> Vec<u8> {
    let first = if partial { 'P' } else { 'F' };
    let mut input = String::new();
    for i in 0..pairs {
        input.push_str(&format!(
            "2024-05-01T10:00:00Z stdout {first} a{i}\n2024-05-01T10:00:00Z stdout F b\n"
        ));
    }
    input.into_bytes()
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing is only meaningful optimised; .ci/run runs it with --release"
)]
fn partial_records_cost_about_what_complete_records_cost() {
    use logredact::engine::{self, EngineChoice};
    use logredact::filter::Filter;
    use logredact::stats::Stats;
    use logredact::stream::{self, StreamOptions};

    let rules = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&rules, EngineChoice::Auto).expect("engine");
    let filter = Filter::new(Detector::new(rules, matcher));
    let seconds = |input: &[u8]| {
        let mut stats = Stats::new(filter.detector().rules().rules.len());
        let mut out = Vec::with_capacity(input.len());
        let start = Instant::now();
        stream::run(
            &mut &input[..],
            &mut out,
            &filter,
            StreamOptions::default(),
            &mut stats,
        )
        .expect("stream");
        let took = start.elapsed().as_secs_f64();
        assert_eq!(out, input, "nothing in these lines is a secret");
        took
    };
    // ~7 MB each: every 256 KiB batch holds ~3,500 groups.
    let (partial, complete) = (cri_pairs(100_000, true), cri_pairs(100_000, false));
    let slowdown = || seconds(&partial) / seconds(&complete).max(1e-9);
    let mut measured = slowdown();
    for _ in 1..ATTEMPTS {
        if measured <= MAX_PARTIAL_RECORD_SLOWDOWN {
            break;
        }
        measured = slowdown();
    }
    eprintln!("partial records: {measured:.1}x the time of complete records");
    assert!(
        measured <= MAX_PARTIAL_RECORD_SLOWDOWN,
        "partial records took {measured:.1}x the time of complete records \
         (over {MAX_PARTIAL_RECORD_SLOWDOWN}x): joining them is not linear"
    );
}
