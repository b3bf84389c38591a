//! The candidate stage alone (`Matcher::candidates`) over generated corpora (clean, typical and
//! the realistic container logs of issue 13), with the built-in rules: what the keyword prefilter
//! costs before any regex runs. `cargo bench --bench prefilter`

#[path = "support/corpus.rs"]
mod corpus;
// Both corpora load `support/random_text.rs` as their own private module.
#[allow(clippy::duplicate_mod)]
#[path = "support/realistic/mod.rs"]
mod realistic;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logredact::engine::{self, EngineChoice};
use logredact::rules::RuleSet;

fn bench(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine builds");
    let mut group = c.benchmark_group("prefilter-regex-engine");
    group.sample_size(10);
    let corpora = [
        ("clean", corpus::generate(corpus::Kind::Clean, 8_000_000, 7)),
        (
            "typical",
            corpus::generate(
                corpus::Kind::Typical {
                    secret_permille: 10,
                },
                8_000_000,
                7,
            ),
        ),
        // Context words at the rates of real container logs (issue 13).
        ("realistic", realistic::generate(8_000_000, 42).0),
    ];
    for (name, data) in corpora {
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
