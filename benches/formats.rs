//! Cost of `--format` on the data path: the clean-line fast path must keep its speed.
//! Compares, per corpus, the detector alone over 256 KiB batches (what the fast path cost before
//! formats existed) with the whole filter under `--format text`, `auto` and `json`.
//! `cargo bench --bench formats`

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/in_memory.rs"]
mod in_memory;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::format::{Format, FormatOptions};
use logredact::rules::RuleSet;
use logredact::stream;

fn detector() -> Detector {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine builds");
    Detector::new(rules, matcher)
}

fn filter(format: Format) -> Filter {
    let options = FormatOptions {
        format,
        ..FormatOptions::default()
    };
    Filter::with_format(detector(), &options)
}

fn bench(c: &mut Criterion) {
    let corpora = [
        ("clean", corpus::Kind::Clean),
        (
            "typical",
            corpus::Kind::Typical {
                secret_permille: 10,
            },
        ),
    ];
    let detector = detector();
    let filters = [
        ("text", filter(Format::Text)),
        ("auto", filter(Format::Auto)),
        ("json", filter(Format::Json)),
    ];
    let mut group = c.benchmark_group("formats");
    group.sample_size(10);
    for (name, kind) in corpora {
        let data = corpus::generate(kind, 8_000_000, 7);
        group.throughput(Throughput::Bytes(data.len() as u64));
        let pieces = in_memory::batches(&data, stream::DEFAULT_READ_BYTES);
        group.bench_function(BenchmarkId::new("detector-only", name), |b| {
            let mut scratch = detector.scratch();
            let mut findings = Vec::new();
            b.iter(|| in_memory::find_in_batches(&detector, &pieces, &mut scratch, &mut findings))
        });
        for (format, filter) in &filters {
            group.bench_function(BenchmarkId::new(format!("filter-{format}"), name), |b| {
                b.iter(|| in_memory::filter_to_sink(filter, &data))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
