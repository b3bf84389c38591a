//! The confirm regexes' caches live under one byte budget shared by all threads
//! (`detect::CacheBudget`); over it, a thread drops its largest caches. These tests pin that doing
//! so never changes a finding: a zero or tiny budget, in one thread or several sharing it, finds
//! exactly what an unbounded one finds, on the built-in rules with every compiled-in engine, over
//! the realistic corpus's mix, the shared noseyparker examples and long lines confirmed in
//! windows. And the budget's accounting returns to zero when the scratches are gone.
//!
//! Failure messages name engines, budgets, batch numbers and counts only, never the text.

#[path = "../benches/support/realistic/mod.rs"]
mod realistic;

use std::sync::Arc;

use logredact::detect::{CacheBudget, Detector, RuleMatch, WHOLE_LINE_LIMIT};
use logredact::engine::{self, EngineChoice};
use logredact::rules::RuleSet;

/// Lines per `Detector::find` call: small batches, so budgets are settled often.
const BATCH_LINES: usize = 40;

fn detectors() -> Vec<(EngineChoice, Detector)> {
    engine::compiled_in()
        .into_iter()
        .map(|choice| {
            let rules = RuleSet::builtin().expect("built-in rules load");
            let matcher = engine::build(&rules, choice).expect("engine builds");
            (choice, Detector::new(rules, matcher))
        })
        .collect()
}

/// Batches of mixed input: realistic container logs (JSON, CRI, Docker, secrets, decoys), the
/// shared noseyparker examples' texts, and a few lines longer than `WHOLE_LINE_LIMIT` packed with
/// secrets (confirmed in windows, with bounded searches).
fn batches() -> Vec<Vec<u8>> {
    let (text, _, _) = realistic::generate_lines(1_500, 13);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/noseyparker-examples.jsonl");
    let examples = std::fs::read_to_string(corpus).expect("shared corpus is readable");
    for record in examples.lines() {
        let value: serde_json::Value = serde_json::from_str(record).expect("corpus record parses");
        if let Some(example) = value["text"].as_str() {
            lines.extend(example.lines().map(str::to_string));
        }
    }
    let secrets: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("password") || l.contains("token") || l.contains("ghp_"))
        .take(400)
        .cloned()
        .collect();
    for n in 0..3 {
        let mut long = String::new();
        for (i, s) in secrets.iter().enumerate().skip(n) {
            long.push_str(s);
            long.push(' ');
            long.push_str(&"x".repeat(300 * (i % 7)));
        }
        assert!(long.len() > WHOLE_LINE_LIMIT, "long line {n} is too short");
        lines.insert(n * 700 + 3, long);
    }
    lines
        .chunks(BATCH_LINES)
        .map(|chunk| {
            let mut batch = chunk.join("\n").into_bytes();
            batch.push(b'\n');
            batch
        })
        .collect()
}

/// What `detector` finds in each batch with a scratch under `budget`; `after_each` sees the
/// scratch after every batch.
fn findings(
    detector: &Detector,
    batches: &[Vec<u8>],
    budget: Arc<CacheBudget>,
    mut after_each: impl FnMut(usize, &logredact::detect::Scratch),
) -> Vec<Vec<RuleMatch>> {
    let mut scratch = detector.scratch_with_budget(budget);
    batches
        .iter()
        .enumerate()
        .map(|(n, batch)| {
            let mut out = Vec::new();
            detector.find(batch, &mut scratch, &mut out);
            after_each(n, &scratch);
            out
        })
        .collect()
}

fn assert_same(engine: EngineChoice, what: &str, got: &[Vec<RuleMatch>], want: &[Vec<RuleMatch>]) {
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "{engine:?}, {what}: batch {n} has {} findings, unbounded has {}",
            g.len(),
            w.len()
        );
    }
}

#[test]
fn a_zero_or_tiny_budget_finds_what_an_unbounded_one_finds() {
    let batches = batches();
    for (engine, detector) in detectors() {
        let mut largest = 0;
        let unbounded = findings(&detector, &batches, CacheBudget::new(usize::MAX), |_, s| {
            largest = largest.max(s.cache_bytes())
        });
        let total: usize = unbounded.iter().map(Vec::len).sum();
        assert!(total > 500, "{engine:?}: only {total} findings");
        // The tiny budget below must actually make it drop caches.
        assert!(
            largest > 256 << 10,
            "{engine:?}: caches grew to {largest} bytes only"
        );

        let zero = CacheBudget::new(0);
        let got = findings(&detector, &batches, zero.clone(), |n, s| {
            assert_eq!(s.cache_bytes(), 0, "{engine:?}: batch {n} kept caches");
        });
        assert_same(engine, "zero budget", &got, &unbounded);
        assert_eq!(zero.in_use(), 0, "{engine:?}");

        let tiny = CacheBudget::new(256 << 10);
        let got = findings(&detector, &batches, tiny.clone(), |n, s| {
            assert!(
                s.cache_bytes() <= 256 << 10,
                "{engine:?}: batch {n} kept {} bytes",
                s.cache_bytes()
            );
        });
        assert_same(engine, "256 KiB budget", &got, &unbounded);
        assert_eq!(
            tiny.in_use(),
            0,
            "{engine:?}: scratch dropped, bytes still counted"
        );
    }
}

#[test]
fn threads_sharing_a_small_budget_find_what_an_unbounded_one_finds() {
    let batches = batches();
    for (engine, detector) in detectors() {
        let unbounded = findings(&detector, &batches, CacheBudget::new(usize::MAX), |_, _| ());
        let shared = CacheBudget::new(1 << 20);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let (detector, batches, shared) = (&detector, &batches, shared.clone());
                    // Each thread starts at another batch, so their caches grow differently.
                    scope.spawn(move || {
                        let mut order: Vec<usize> = (0..batches.len()).collect();
                        order.rotate_left(t * batches.len() / 4);
                        let mut scratch = detector.scratch_with_budget(shared);
                        order
                            .into_iter()
                            .map(|n| {
                                let mut out = Vec::new();
                                detector.find(&batches[n], &mut scratch, &mut out);
                                (n, out)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                let mut got = worker.join().expect("worker does not panic");
                got.sort_by_key(|(n, _)| *n);
                let got: Vec<_> = got.into_iter().map(|(_, f)| f).collect();
                assert_same(engine, "1 MiB shared by 4 threads", &got, &unbounded);
            }
        });
        assert_eq!(
            shared.in_use(),
            0,
            "{engine:?}: bytes counted for gone scratches"
        );
    }
}
