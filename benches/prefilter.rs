//! The candidate stage alone (`Matcher::candidates`) over generated corpora, with the built-in
//! rules: what the keyword prefilter costs before any regex runs. `cargo bench --bench prefilter`

#[path = "support/corpus.rs"]
mod corpus;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logredact::engine::{self, EngineChoice};
use logredact::rules::RuleSet;

fn bench(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine builds");
    let mut group = c.benchmark_group("prefilter-regex-engine");
    group.sample_size(10);
    for (name, kind) in [
        ("clean", corpus::Kind::Clean),
        (
            "typical",
            corpus::Kind::Typical {
                secret_permille: 10,
            },
        ),
    ] {
        let data = corpus::generate(kind, 8_000_000, 7);
        group.throughput(Throughput::Bytes(data.len() as u64));
        let mut out = Vec::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for batch in data.chunks(256 * 1024) {
                    matcher.candidates(batch, &mut out);
                }
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
