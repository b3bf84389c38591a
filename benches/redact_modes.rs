//! Cost of writing replacements per redaction mode (mask, keyed hash, partial, template), on
//! lines that each hold one secret — the worst case for redaction, with detection left out.
//! `cargo bench --bench redact_modes`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logredact::finding::{Encoding, Finding, FindingKind, Precedence};
use logredact::redact::{HashKey, Mode, RedactConfig, Redactor, Template};
use logredact::rules::RuleSet;

const RULES: &str = "[[rules]]\nid='github-pat'\nregex='ghp_'\nprefix='ghp_'\n";
const LINES: usize = 10_000;

fn corpus() -> (Vec<u8>, Vec<Finding>) {
    let mut text = Vec::new();
    let mut findings = Vec::new();
    for i in 0..LINES {
        text.extend_from_slice(b"2026-11-29T13:00:00Z INFO request authorized token=");
        let start = text.len();
        text.extend_from_slice(format!("ghp_{i:08}A1b2C3d4E5f6G7h8I9j0K1l2M3n4").as_bytes());
        findings.push(Finding {
            kind: FindingKind::Rule(0),
            start,
            end: text.len(),
            encoding: Encoding::Raw,
            precedence: Precedence::Specific,
        });
        text.extend_from_slice(b" user=42\n");
    }
    (text, findings)
}

fn bench(c: &mut Criterion) {
    let mut rules = RuleSet::default();
    rules.add_toml("bench", RULES).expect("bench rule loads");
    let key = HashKey::from_bytes(&[7u8; 32], "bench").expect("32-byte key");
    let template =
        Template::parse("[REDACTED {rule} {prefix}~{suffix} #{hash}]").expect("template");
    let configs = [
        ("mask", Mode::Mask, None),
        ("hash", Mode::Hash, None),
        ("partial", Mode::Partial, None),
        ("template-partial-hash", Mode::Partial, Some(template)),
    ];
    let (text, findings) = corpus();
    let mut group = c.benchmark_group("redact-modes");
    group.throughput(Throughput::Elements(LINES as u64));
    for (name, mode, template) in configs {
        let config = RedactConfig {
            mode,
            key: Some(key.clone()),
            template,
        };
        let redactor = Redactor::configured(&rules, &config).expect("redactor");
        let mut out = Vec::with_capacity(text.len() * 2);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                redactor.apply(&text, &findings, &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
