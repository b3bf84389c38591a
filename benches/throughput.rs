//! End-to-end throughput of the filter (stream → engine → detect → redact) over generated corpora,
//! in memory (no syscalls), with the built-in rules on the pure-Rust engine.
//! `cargo bench --bench throughput`

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/in_memory.rs"]
mod in_memory;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::rules::RuleSet;

fn filter(choice: EngineChoice) -> Filter {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&rules, choice).expect("engine builds");
    Filter::new(Detector::new(rules, matcher))
}

fn bench(c: &mut Criterion) {
    let filter = filter(EngineChoice::Regex);
    let corpora = [
        ("clean", corpus::Kind::Clean),
        (
            "typical",
            corpus::Kind::Typical {
                secret_permille: 10,
            },
        ),
        ("worst", corpus::Kind::Worst),
    ];
    let mut group = c.benchmark_group("filter-regex-engine");
    group.sample_size(10);
    for (name, kind) in corpora {
        let data = corpus::generate(kind, 8_000_000, 7);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| in_memory::filter_to_sink(&filter, &data))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
