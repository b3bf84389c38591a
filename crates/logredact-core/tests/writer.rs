//! `RedactingWriter`: whatever the chunking of the writes, the output is what the CLI's filter
//! makes of the same lines written whole; lines without secrets pass byte for byte; the number of
//! lines never changes; an over-long line is redacted in bounded memory.
//!
//! Failure messages name example numbers and split points, never the example text (rule examples
//! are made-up secrets, but they are secret-shaped).

use std::io::Write;
use std::sync::{Arc, OnceLock};

use logredact_core::filter::{Filter, Outcome};
use logredact_core::rules::RuleSet;
use logredact_core::stats::Stats;
use logredact_core::{builtin_filter, RedactingWriter};
use proptest::prelude::*;

fn filter() -> Arc<Filter> {
    static FILTER: OnceLock<Arc<Filter>> = OnceLock::new();
    FILTER
        .get_or_init(|| Arc::new(builtin_filter().expect("built-in filter builds")))
        .clone()
}

/// Every example line of every built-in rule (made-up secrets).
fn examples() -> &'static [String] {
    static EXAMPLES: OnceLock<Vec<String>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules load");
        rules
            .rules
            .iter()
            .flat_map(|r| r.examples.iter().cloned())
            .collect()
    })
}

/// Words that hold no secret, for the text around the examples.
const WORDS: &[&str] = &[
    "GET",
    "/health",
    "200",
    "ok",
    "user=ann",
    "took",
    "12ms",
    "level=info",
    "retry",
    "{}",
    "é",
    "\t",
    "msg=\"done\"",
];

fn words(indices: &[usize]) -> String {
    indices
        .iter()
        .map(|&i| WORDS[i % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the CLI's filter makes of `input` written in one piece (the reference).
fn whole(input: &[u8]) -> Vec<u8> {
    let filter = filter();
    let mut scratch = filter.scratch();
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::new();
    match filter.process_lines(input, &mut scratch, &mut out, &mut stats) {
        Outcome::Unchanged => input.to_vec(),
        Outcome::Rewritten { .. } => out,
    }
}

/// `input` written through a `RedactingWriter` in pieces cut at `cuts` (positions, any order).
fn through_writer(input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut writer = RedactingWriter::new(Vec::new(), filter());
    let mut from = 0;
    for cut in cuts.into_iter().chain([input.len()]) {
        writer.write_all(&input[from..cut]).expect("write to a Vec");
        from = cut;
    }
    writer.finish().expect("finish to a Vec")
}

fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A secret (a rule example) between lines of ordinary words, written in random pieces,
    /// comes out exactly as the filter redacts it whole, and it is changed.
    #[test]
    fn a_secret_in_any_chunking_is_redacted_as_by_the_filter(
        example in 0usize..10_000,
        before in prop::collection::vec(0usize..100, 0..6),
        after in prop::collection::vec(0usize..100, 0..6),
        cuts in prop::collection::vec(0usize..100_000, 0..12),
        trailing_newline in any::<bool>(),
    ) {
        let n = example % examples().len();
        // The example on a line of its own: some rules are anchored at a line's start or end.
        let mut input = format!("{}\n{}\n{}", words(&before), examples()[n], words(&after));
        if trailing_newline {
            input.push('\n');
        }
        let expected = whole(input.as_bytes());
        let got = through_writer(input.as_bytes(), &cuts);
        prop_assert!(got == expected, "example #{} differs from the whole-line redaction", n);
        prop_assert!(got != input.as_bytes(), "example #{} not redacted", n);
        prop_assert_eq!(newlines(&got), newlines(input.as_bytes()));
    }

    /// Lines without secrets come out byte for byte, whatever the chunking.
    #[test]
    fn text_without_secrets_passes_unchanged(
        lines in prop::collection::vec(prop::collection::vec(0usize..100, 0..12), 0..20),
        cuts in prop::collection::vec(0usize..100_000, 0..20),
        trailing_newline in any::<bool>(),
    ) {
        let mut input = lines.iter().map(|l| words(l)).collect::<Vec<_>>().join("\n");
        if trailing_newline {
            input.push('\n');
        }
        let got = through_writer(input.as_bytes(), &cuts);
        prop_assert!(got == input.as_bytes(), "output differs from the input");
    }
}

#[test]
fn a_partial_line_waits_for_its_end_or_for_finish() {
    let mut writer = RedactingWriter::new(Vec::new(), filter());
    writer.write_all(b"ok\npassword=hunter2hunter2").unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.get_ref().unwrap().as_slice(), b"ok\n");
    assert_eq!(writer.buffered_len(), "password=hunter2hunter2".len());
    let out = writer.finish().unwrap();
    assert_eq!(out, b"ok\npassword=[REDACTED:password-assignment]");
}

#[test]
fn dropping_the_writer_writes_the_partial_line_redacted() {
    let mut out = Vec::new();
    {
        let mut writer = RedactingWriter::new(&mut out, filter());
        writer.write_all(b"password=hunter2hunter2").unwrap();
    }
    assert_eq!(out, b"password=[REDACTED:password-assignment]");
}

/// A line much longer than the bound goes out in windows as it arrives: the writer never holds
/// more than the bound, the secrets in it (one across a window edge whatever the chunking) are
/// redacted, and it stays one line.
#[test]
fn an_over_long_line_is_redacted_in_bounded_memory() {
    let bound = 8 * 1024;
    let secret = "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"; // made up (a rule example)
    let mut line = String::new();
    while line.len() < 20 * bound {
        line.push_str("filler text ");
        if line.len() % 7 == 0 {
            line.push_str(&format!("token={secret} "));
        }
    }
    line.push_str(&format!("token={secret}\nshort line\n"));
    let planted = line.matches(secret).count();
    for chunk in [1, 7, 4096, 100_000] {
        let mut writer = RedactingWriter::new(Vec::new(), filter()).with_max_line_bytes(bound);
        let mut most_held = 0;
        for piece in line.as_bytes().chunks(chunk) {
            writer.write_all(piece).unwrap();
            most_held = most_held.max(writer.buffered_len());
        }
        let held_at_most = writer.max_line_bytes();
        assert!(held_at_most < 4 * bound, "the bound is near what was asked");
        assert!(
            most_held < held_at_most,
            "chunk {chunk}: held {most_held} bytes"
        );
        let counted = writer.stats().findings.iter().sum::<u64>();
        let out = String::from_utf8(writer.finish().unwrap()).unwrap();
        assert!(!out.contains(secret), "chunk {chunk}: a secret left");
        assert_eq!(
            out.matches("[REDACTED:github-pat]").count(),
            planted,
            "chunk {chunk}"
        );
        assert_eq!(counted, planted as u64, "chunk {chunk}: stats");
        assert_eq!(newlines(out.as_bytes()), 2, "chunk {chunk}");
        assert!(out.ends_with("\nshort line\n"));
    }
}
