//! Speed gate for every built-in rule on adversarial input built from the rule itself: its
//! keywords repeated, its examples with the secret cut or spoiled (near misses), long runs of
//! characters from its regex's classes, and a 1 MB line packed with keyword hits.
//!
//! Speed is proven by benchmarks (`benches/rules.rs`); this test only catches a rule that is
//! pathologically slow before it ships. To stay robust on a noisy shared machine, each rule is
//! timed against a *reference* in the same process: the same input through a trivial rule with
//! the same keywords (so the same candidates), one timed run each. A rule fails only when it
//! is both `MAX_SLOWDOWN` times slower than its reference and below an absolute floor.
//!
//! Never prints input text: only rule ids and figures.

#[path = "../benches/support/adversarial.rs"]
mod adversarial;

use std::time::{Duration, Instant};

use adversarial::{adversarial, alone, reference_for, Adversarial};
use logredact::detect::Detector;
use logredact::rules::RuleSet;

/// How much slower than its reference a rule may be before the floor is checked.
const MAX_SLOWDOWN: f64 = 50.0;
/// Absolute floor in MB/s (optimised build: the gate is skipped unoptimised).
const FLOOR_MB_S: f64 = 5.0;
const RUNS: usize = 1;

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

struct Measured {
    id: String,
    mb_s: f64,
    slowdown: f64,
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "a timing gate over 311 rules: too slow unoptimised; .ci/run runs it with --release"
)]
fn no_builtin_rule_is_pathologically_slow_on_adversarial_input() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let mut measured = Vec::new();
    for rule in &set.rules {
        let detector = alone(rule);
        let input = adversarial(rule, &detector);
        let reference = reference_for(rule);
        let rule_time = time(&detector, &input).as_secs_f64().max(1e-9);
        let reference_time = time(&reference, &input).as_secs_f64().max(1e-9);
        measured.push(Measured {
            id: rule.id.clone(),
            mb_s: input.bytes as f64 / 1e6 / rule_time,
            slowdown: rule_time / reference_time,
        });
    }
    measured.sort_by(|a, b| a.mb_s.total_cmp(&b.mb_s));
    eprintln!("slowest built-in rules on adversarial input (MB/s, x slower than reference):");
    for m in measured.iter().take(10) {
        eprintln!("  {:<40} {:>9.1} MB/s {:>7.1}x", m.id, m.mb_s, m.slowdown);
    }
    let failing: Vec<String> = measured
        .iter()
        .filter(|m| m.slowdown > MAX_SLOWDOWN && m.mb_s < FLOOR_MB_S)
        .map(|m| format!("{} ({:.2} MB/s, {:.0}x)", m.id, m.mb_s, m.slowdown))
        .collect();
    assert!(
        failing.is_empty(),
        "rules below {FLOOR_MB_S} MB/s and over {MAX_SLOWDOWN}x slower than a trivial rule: {}",
        failing.join(", ")
    );
}

/// A wide bounded run: on a long line every keyword hit is confirmed over a window twice the
/// rule's maximum match length, so the 1 MB line costs hundreds of MB of regex work.
const SLOW_PATTERN: &str = "k=([a-z0-9 =]{1,1000})!";

/// The gate must be able to fail.
#[test]
#[ignore = "merging a long line's per-hit windows in detect made this planted rule linear (10x, \
            not 50x): it needs a new pathological pattern before the gate can prove itself again"]
fn the_gate_catches_a_slow_rule() {
    let mut set = RuleSet::default();
    set.add_toml(
        "slow.toml",
        &format!("[[rules]]\nid = 'slow'\nregex = '''{SLOW_PATTERN}'''\nkeywords = ['k=']\n"),
    )
    .expect("slow rule loads");
    let rule = &set.rules[0];
    let detector = alone(rule);
    let mut input = adversarial(rule, &detector);
    // A 128 KiB long line is enough to show it (still windowed: over 16 KiB), and keeps this fast.
    if let Some(long) = input.batches.last_mut() {
        long.truncate(128 * 1024);
        long.push(b'\n');
    }
    input.bytes = input.batches.iter().map(Vec::len).sum();
    let rule_time = time(&detector, &input).as_secs_f64();
    let reference_time = time(&reference_for(rule), &input).as_secs_f64();
    eprintln!(
        "slow rule: {:.1}x, {:.2} MB/s",
        rule_time / reference_time,
        input.bytes as f64 / 1e6 / rule_time
    );
    assert!(
        rule_time / reference_time > MAX_SLOWDOWN,
        "only {:.1}x slower than the reference",
        rule_time / reference_time
    );
}
