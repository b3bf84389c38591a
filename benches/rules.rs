//! The slowest built-in rules (as measured by `tests/rule_speed.rs`) on their own adversarial
//! input, each alone through `Detector::find`: the benchmark behind the rule speed gate.
//! `cargo bench --bench rules`; other rules: `LOGREDACT_BENCH_RULES=id1,id2 cargo bench --bench rules`.

#[path = "support/adversarial.rs"]
mod adversarial;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logredact::rules::RuleSet;

/// The slowest rules on adversarial input when this bench was written (see docs/fuzzing.md).
const WORST: &[&str] = &[
    "session-cookie",
    "kafka-jaas-password",
    "bearer-token",
    "authorization-token",
    "npmrc-auth-token",
    "password-assignment",
];

fn bench(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let wanted: Vec<String> = match std::env::var("LOGREDACT_BENCH_RULES") {
        Ok(list) => list.split(',').map(str::to_string).collect(),
        Err(_) => WORST.iter().map(|s| s.to_string()).collect(),
    };
    let mut group = c.benchmark_group("adversarial-rule-alone");
    group.sample_size(10);
    for id in &wanted {
        let Some(rule) = rules.rules.iter().find(|r| &r.id == id) else {
            eprintln!("no built-in rule '{id}'");
            continue;
        };
        let detector = adversarial::alone(rule);
        let input = adversarial::adversarial(rule, &detector);
        group.throughput(Throughput::Bytes(input.bytes as u64));
        let mut scratch = detector.scratch();
        let mut findings = Vec::new();
        group.bench_function(id.as_str(), |b| {
            b.iter(|| {
                for batch in &input.batches {
                    findings.clear();
                    detector.find(batch, &mut scratch, &mut findings);
                }
                findings.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
