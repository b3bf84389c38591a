//! Issue 12, "Done when": for any input, `lint` reports exactly the findings the filter redacts,
//! and the per-kind counts of `--stats` equal the markers in the output. In process over random
//! mixes of built-in rule examples, benign lines, JSON / CRI / Docker wrappers, runtime partial
//! records that split a line (and so perhaps a secret), lines over `--max-line-bytes` and invalid
//! UTF-8, on every compiled-in engine; and once through the binary.
//!
//! Failure messages name rule ids, line numbers and counts, never example values.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use logredact::engine::EngineChoice;
use logredact::filter::Filter;
use logredact::finding::FindingKind;
use logredact::lint::fingerprint::FingerprintKey;
use logredact::lint::scan::{self as lint_scan, Framing, Located};
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};
use proptest::prelude::*;

use common::{builtin_filters as filters, run};

const MAX_LINE: usize = 4096;

/// Single-line built-in examples (no marker-like text, which the filter leaves alone).
fn examples() -> &'static [String] {
    static EXAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules load");
        rules
            .rules
            .iter()
            .flat_map(|r| r.examples.iter())
            .filter(|e| !e.contains('\n') && !e.contains("[REDACTED"))
            .cloned()
            .collect()
    })
}

const BENIGN: &[&str] = &[
    "GET /healthz 200 1.2ms",
    "user 42 logged in from 10.0.0.7",
    "retrying connection (attempt 3 of 5)",
    "cache hit ratio 0.97 after warm-up",
    "",
];

const TIME: &str = "2024-05-01T10:00:00.123456789Z";

/// One logical log line: a secret example or benign text, how it is wrapped, and where a
/// runtime cut it into partial records.
#[derive(Debug, Clone)]
struct Entry {
    text: Text,
    wrap: Wrap,
    /// For the split wraps: where the message is cut, as a fraction of its length (0..=100).
    cut: usize,
    /// Filler before the text, making the line longer than `--max-line-bytes` when large.
    pad: usize,
    /// Invalid UTF-8 before the text.
    bad_bytes: bool,
}

#[derive(Debug, Clone, Copy)]
enum Text {
    Example(usize),
    Benign(usize),
}

#[derive(Debug, Clone, Copy)]
enum Wrap {
    Bare,
    Json,
    CriFull,
    CriSplit,
    DockerFull,
    DockerSplit,
    /// The 2048-bit RSA armour around a body line.
    PrivateKey,
}

fn entry() -> impl Strategy<Value = Entry> {
    let text = prop_oneof![
        3 => (0..examples().len()).prop_map(Text::Example),
        1 => (0..BENIGN.len()).prop_map(Text::Benign),
    ];
    let wrap = prop_oneof![
        1 => Just(Wrap::Bare),
        1 => Just(Wrap::Json),
        1 => Just(Wrap::CriFull),
        2 => Just(Wrap::CriSplit),
        1 => Just(Wrap::DockerFull),
        2 => Just(Wrap::DockerSplit),
        1 => Just(Wrap::PrivateKey),
    ];
    let pad = prop_oneof![6 => Just(0usize), 1 => 0usize..12_000];
    (
        text,
        wrap,
        0usize..=100,
        pad,
        proptest::bool::weighted(0.15),
    )
        .prop_map(|(text, wrap, cut, pad, bad_bytes)| Entry {
            text,
            wrap,
            cut,
            pad,
            bad_bytes,
        })
}

fn filler(len: usize) -> String {
    "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

fn docker(log: &[u8], stream: &str) -> Vec<u8> {
    let log = String::from_utf8_lossy(log);
    let mut v = serde_json::json!({ "log": log, "stream": stream, "time": TIME })
        .to_string()
        .into_bytes();
    v.push(b'\n');
    v
}

fn render(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut message = Vec::new();
        if e.bad_bytes {
            message.extend_from_slice(b"\xff\xfe\xc3 ");
        }
        message.extend_from_slice(filler(e.pad).as_bytes());
        message.extend_from_slice(match e.text {
            Text::Example(i) => examples()[i].as_bytes(),
            Text::Benign(i) => BENIGN[i].as_bytes(),
        });
        let cut = message.len() * e.cut / 100;
        let (a, b) = message.split_at(cut);
        match e.wrap {
            Wrap::Bare => out.extend_from_slice(&message),
            Wrap::Json => {
                let msg = String::from_utf8_lossy(&message);
                let json = serde_json::json!({ "level": "info", "msg": msg }).to_string();
                out.extend_from_slice(json.as_bytes());
            }
            Wrap::CriFull => {
                out.extend_from_slice(format!("{TIME} stdout F ").as_bytes());
                out.extend_from_slice(&message);
            }
            Wrap::CriSplit => {
                out.extend_from_slice(format!("{TIME} stdout P ").as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(format!("\n{TIME} stdout F ").as_bytes());
                out.extend_from_slice(b);
            }
            Wrap::DockerFull => {
                out.extend_from_slice(&docker(&[&message[..], b"\n"].concat(), "stdout"));
                out.pop();
            }
            Wrap::DockerSplit => {
                out.extend_from_slice(&docker(a, "stderr"));
                out.extend_from_slice(&docker(&[b, b"\n"].concat(), "stderr"));
                out.pop();
            }
            Wrap::PrivateKey => {
                out.extend_from_slice(
                    b"-----BEGIN RSA PRIVATE KEY-----\n\
                      MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n\
                      -----END RSA PRIVATE KEY-----\n",
                );
                out.extend_from_slice(&message);
            }
        }
        out.push(b'\n');
    }
    out
}

/// What the filter did to `input`, and what lint found in it.
struct Outcome {
    output: Vec<u8>,
    stats: Stats,
    lint: Vec<Located>,
}

fn both(filter: &Filter, input: &[u8], read_bytes: usize) -> Outcome {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut output = Vec::new();
    let options = StreamOptions {
        max_line_bytes: MAX_LINE,
        read_bytes,
        ..StreamOptions::default()
    };
    stream::run(&mut &input[..], &mut output, filter, options, &mut stats)
        .expect("in-memory stream");
    let key = FingerprintKey::user(b"agreement-test-key-0123456789abcdef".to_vec()).expect("key");
    let mut lint = Vec::new();
    let framing = Framing {
        max_line_bytes: MAX_LINE,
        read_bytes,
    };
    lint_scan::scan(filter, &key, &mut &input[..], framing, &mut |l| {
        lint.push(l);
        Ok(())
    })
    .expect("in-memory lint");
    Outcome {
        output,
        stats,
        lint,
    }
}

fn id_of_counter(filter: &Filter, i: usize) -> String {
    let rule_count = filter.detector().rules().rules.len();
    let kind = match i {
        i if i < rule_count => FindingKind::Rule(i as u32),
        i if i == rule_count => FindingKind::SecretField,
        _ => FindingKind::PrivateKeyBody,
    };
    filter.id_of(kind).to_string()
}

fn lines_changed(input: &[u8], output: &[u8]) -> BTreeSet<u64> {
    input
        .split(|&b| b == b'\n')
        .zip(output.split(|&b| b == b'\n'))
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// The agreement, as a message naming what differs (ids, lines and counts only).
fn check(filter: &Filter, input: &[u8], o: &Outcome) -> Result<(), String> {
    let rule_count = filter.detector().rules().rules.len();
    let from_stats: BTreeMap<String, u64> = o
        .stats
        .findings
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| (id_of_counter(filter, i), n))
        .collect();
    let mut from_lint: BTreeMap<String, u64> = BTreeMap::new();
    for l in &o.lint {
        let i = l.kind.counter_index(rule_count);
        *from_lint.entry(id_of_counter(filter, i)).or_default() += 1;
    }
    let from_markers = common::markers(&o.output);
    if from_stats != from_markers {
        return Err(format!(
            "--stats {from_stats:?} vs markers in the output {from_markers:?}"
        ));
    }
    if from_lint != from_stats {
        return Err(format!("lint {from_lint:?} vs --stats {from_stats:?}"));
    }
    let changed = lines_changed(input, &o.output);
    let starts: BTreeSet<u64> = o.lint.iter().map(|l| l.line).collect();
    if let Some(line) = starts.difference(&changed).next() {
        return Err(format!(
            "lint flags line {line}, which the filter left alone"
        ));
    }
    let covered = |line: u64| o.lint.iter().any(|l| l.line <= line && line <= l.end_line);
    if let Some(line) = changed.iter().find(|&&line| !covered(line)) {
        return Err(format!(
            "the filter changed line {line}, which no lint finding covers"
        ));
    }
    for l in &o.lint {
        if l.end_line < l.line || l.end_column < l.column {
            return Err(format!(
                "finding at line {} has its end before its start",
                l.line
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn lint_stats_and_markers_agree_on_any_input(
        entries in proptest::collection::vec(entry(), 1..12),
        read_bytes in prop_oneof![Just(512usize), Just(4096), Just(65536)],
    ) {
        let input = render(&entries);
        for (choice, filter) in filters() {
            let o = both(filter, &input, read_bytes);
            if let Err(e) = check(filter, &input, &o) {
                return Err(TestCaseError::fail(format!("{choice:?}: {e}")));
            }
        }
    }
}

/// A secret that the runtime split over a CRI `P` and its `F` record is one finding, reported
/// where it starts (in the `P` record), with the same fingerprint as the whole secret.
#[test]
fn a_secret_split_over_partial_records_is_one_finding_where_it_starts() {
    let secret = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
    let whole = format!("noise\n{TIME} stdout F token={secret} end\n");
    let split = format!(
        "noise\n{TIME} stdout P token={}\n{TIME} stdout F {} end\n",
        &secret[..10],
        &secret[10..]
    );
    let prefix = TIME.len() + " stdout P token=".len();
    for (choice, filter) in filters() {
        let a = both(filter, whole.as_bytes(), 65536);
        let b = both(filter, split.as_bytes(), 65536);
        check(filter, whole.as_bytes(), &a).unwrap_or_else(|e| panic!("{choice:?}: {e}"));
        check(filter, split.as_bytes(), &b).unwrap_or_else(|e| panic!("{choice:?}: {e}"));
        assert_eq!(b.lint.len(), 1, "{choice:?}: one finding");
        let (fa, fb) = (&a.lint[0], &b.lint[0]);
        assert_eq!((fb.line, fb.end_line), (2, 3), "{choice:?}");
        assert_eq!(fb.column, prefix as u64 + 1, "{choice:?}");
        assert_eq!(fb.end_column, (prefix + 10) as u64 + 1, "{choice:?}");
        assert_eq!(fa.fingerprint, fb.fingerprint, "{choice:?}: same secret");
        assert_eq!(b.stats.total_findings(), 1, "{choice:?}");
    }
}

/// The same agreement through the binary: `logredact --stats` and `logredact lint` on one file
/// mixing every shape, both with a small `--max-line-bytes`. The wiring (options, reporters) is
/// engine-independent and the property above covers both engines: one engine here keeps the
/// test fast in debug builds.
#[test]
fn the_binary_agrees_with_itself() {
    let entries: Vec<Entry> = (0..examples().len())
        .step_by(3)
        .enumerate()
        .map(|(n, i)| Entry {
            text: Text::Example(i),
            wrap: [
                Wrap::Bare,
                Wrap::Json,
                Wrap::CriFull,
                Wrap::CriSplit,
                Wrap::DockerFull,
                Wrap::DockerSplit,
                Wrap::PrivateKey,
            ][n % 7],
            cut: (n * 37) % 101,
            pad: if n % 11 == 0 { 6000 } else { 0 },
            bad_bytes: n % 5 == 0,
        })
        .collect();
    let input = render(&entries);
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = dir.path().join("sample.log");
    std::fs::write(&sample, &input).expect("write sample");
    let max_line = MAX_LINE.to_string();
    {
        let engine = EngineChoice::Regex.to_string();
        let out = run(
            &[
                "--engine",
                &engine,
                "--max-line-bytes",
                &max_line,
                "--stats",
                "--stats-format",
                "json",
            ],
            &input,
        );
        assert!(out.status.success(), "{engine}: filter failed");
        let stats: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stderr).trim()).expect("stats JSON");
        let from_stats: BTreeMap<String, u64> = stats["findings"]
            .as_object()
            .expect("findings object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect();
        let lint = run(
            &[
                "lint",
                "--engine",
                &engine,
                "--max-line-bytes",
                &max_line,
                "--no-progress",
                "--report-format",
                "json",
                sample.to_str().expect("utf-8 path"),
            ],
            b"",
        );
        let mut from_lint: BTreeMap<String, u64> = BTreeMap::new();
        let mut starts = BTreeSet::new();
        for line in String::from_utf8_lossy(&lint.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("lint JSON line");
            if let Some(rule) = v["rule"].as_str() {
                *from_lint.entry(rule.to_string()).or_default() += 1;
                starts.insert(v["line"].as_u64().expect("line"));
            }
        }
        assert!(
            from_stats.values().sum::<u64>() > 100,
            "{engine}: findings counted"
        );
        assert_eq!(
            from_stats,
            common::markers(&out.stdout),
            "{engine}: --stats vs markers"
        );
        assert_eq!(from_lint, from_stats, "{engine}: lint vs --stats");
        let changed = lines_changed(&input, &out.stdout);
        assert!(
            starts.is_subset(&changed),
            "{engine}: lint flags unchanged lines"
        );
    }
}
