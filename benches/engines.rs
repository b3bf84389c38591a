//! Engine benchmarks: the pure-Rust engine (aho-corasick keywords → regex) against the Hyperscan
//! engine (one database → regex confirm), with the full built-in rule set, on three generated
//! corpora (clean, typical ~1 % secrets, worst case; plus `e2e-typical`, the end-to-end
//! benchmark's typical corpus). One core, detection only (no redaction or
//! I/O): `cargo bench --features hyperscan --bench engines`.
//!
//! Per corpus: `regex` and `hyperscan` (candidates + confirm = `Detector::find`), their candidate
//! stages alone (`*-prefilter`), and Hyperscan variants: `hyperscan-som` (HS_FLAG_SOM_LEFTMOST) and
//! `hyperscan-widen16` / `hyperscan-widen256` (bounded repeats wider than 16 / 256 widened; the
//! default is 64), `hyperscan-no-standins` (every
//! regex in the database, no keyword stand-ins). Also the database load from the
//! cache and a full compile.

#[path = "engines/corpus.rs"]
mod corpus;
/// The end-to-end benchmark's corpus (`benches/e2e.sh`), for comparison.
#[path = "support/corpus.rs"]
mod e2e_corpus;
#[path = "support/in_memory.rs"]
mod in_memory;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use logredact::detect::Detector;
use logredact::engine::{Candidate, HyperscanMatcher, HyperscanOptions, KeywordMatcher, Matcher};
use logredact::rules::RuleSet;

use corpus::Kind;

const CORPUS_BYTES: usize = 8 << 20;
/// Batches as `stream` makes them: one read's worth of whole lines.
const BATCH_BYTES: usize = 256 * 1024;

fn hyperscan(rules: &RuleSet, tweak: impl FnOnce(&mut HyperscanOptions)) -> HyperscanMatcher {
    let mut options = HyperscanOptions::uncached();
    tweak(&mut options);
    HyperscanMatcher::new(rules, &options).expect("built-in rules build a Hyperscan database")
}

fn engines(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let detectors: Vec<(&str, Detector)> = vec![
        (
            "regex",
            Detector::new(
                rules.clone(),
                Box::new(KeywordMatcher::new(&rules).unwrap()),
            ),
        ),
        (
            "hyperscan",
            Detector::new(rules.clone(), Box::new(hyperscan(&rules, |_| {}))),
        ),
        (
            "hyperscan-som",
            Detector::new(
                rules.clone(),
                Box::new(hyperscan(&rules, |o| o.som_leftmost = true)),
            ),
        ),
        (
            "hyperscan-no-standins",
            Detector::new(
                rules.clone(),
                Box::new(hyperscan(&rules, |o| o.keyword_stand_ins = false)),
            ),
        ),
        (
            "hyperscan-widen16",
            Detector::new(
                rules.clone(),
                Box::new(hyperscan(&rules, |o| o.widest_bounded_repeat = 16)),
            ),
        ),
        (
            "hyperscan-widen256",
            Detector::new(
                rules.clone(),
                Box::new(hyperscan(&rules, |o| o.widest_bounded_repeat = 256)),
            ),
        ),
    ];
    let prefilters: Vec<(&str, Box<dyn Matcher>)> = vec![
        (
            "regex-prefilter",
            Box::new(KeywordMatcher::new(&rules).unwrap()),
        ),
        ("hyperscan-prefilter", Box::new(hyperscan(&rules, |_| {}))),
    ];

    let e2e_typical = e2e_corpus::Kind::Typical {
        secret_permille: 10,
    };
    let corpora = Kind::ALL
        .iter()
        .map(|&kind| {
            // The worst case is ~100x slower per byte; a smaller corpus keeps the run short.
            let bytes = match kind {
                Kind::Worst => CORPUS_BYTES / 8,
                _ => CORPUS_BYTES,
            };
            (kind.name(), corpus::generate(kind, &rules, bytes, 42))
        })
        .chain([(
            "e2e-typical",
            e2e_corpus::generate(e2e_typical, CORPUS_BYTES, 42),
        )]);
    for (name, text) in corpora {
        let pieces = in_memory::batches(&text, BATCH_BYTES);
        let mut group = c.benchmark_group(format!("engines/{name}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        for (name, detector) in &detectors {
            let mut scratch = detector.scratch();
            let mut findings = Vec::new();
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    in_memory::find_in_batches(detector, &pieces, &mut scratch, &mut findings)
                })
            });
        }
        for (name, matcher) in &prefilters {
            let mut candidates: Vec<Candidate> = Vec::new();
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    let mut total = 0;
                    for piece in &pieces {
                        candidates.clear();
                        matcher.candidates(piece, &mut candidates);
                        total += candidates.len();
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

fn database(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let dir = tempfile::tempdir().expect("temp dir");
    let cached = HyperscanOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..HyperscanOptions::uncached()
    };
    hyperscan(&rules, |o| *o = cached.clone()); // fills the cache
    let mut group = c.benchmark_group("database");
    group.sample_size(10);
    group.bench_function("load-from-cache", |b| {
        b.iter(|| HyperscanMatcher::new(&rules, &cached).expect("cached database loads"))
    });
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("compile", |b| b.iter(|| hyperscan(&rules, |_| {})));
    group.finish();
}

criterion_group!(benches, engines, database);
criterion_main!(benches);
