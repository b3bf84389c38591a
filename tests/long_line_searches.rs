//! Long lines are confirmed in windows; there a rule without a finite maximum match length stops
//! each search the cap past the earliest match (`detect::bounded_search_end`). These tests pin
//! what that must not change: a rule finds in a long line exactly what a search of the whole line
//! finds, as long as its matches are no longer than its `max_match_len`; and a rule with an
//! unbounded tail (whose longer matches are cut) still has every secret redacted, through the
//! real binary too.
//!
//! Failure messages name rules, seeds and counts only, never the text.

mod common;

use logredact::detect::{is_placeholder, Detector, RuleMatch, WHOLE_LINE_LIMIT};
use logredact::engine::{self, EngineChoice};
use logredact::rules::{RuleSet, MAX_MATCH_LEN_CAP};

/// A bounded optional tail that reads up to 3000 bytes past the token.
const BOUNDED_TAIL: &str = r#"
[[rules]]
id = "bounded-tail"
regex = '''token=([a-z0-9]{16,64})(?:[^\n]{0,3000};expires=([0-9]{1,10}))?'''
keywords = ["token="]
"#;

/// The same with word boundaries and a line-end anchor after the tail.
const BOUNDED_TAIL_ANCHORED: &str = r#"
[[rules]]
id = "bounded-tail-anchored"
regex = '''\btoken=([a-z0-9]{16,64})\b(?:[^\n]{0,3000}\bexpires=([0-9]{1,10})$)?'''
keywords = ["token="]
"#;

/// Unbounded tails (`max_match_len` is the cap) that stop at the nearest expiry, so that every
/// match in `mixed_line` fits the cap.
const UNBOUNDED_LAZY_TAIL: &str = r#"
[[rules]]
id = "unbounded-lazy-tail"
regex = '''token=([a-z0-9]{16,64})(?:[^\n]*?;expires=([0-9]+))?'''
keywords = ["token="]
"#;

const UNBOUNDED_LAZY_TAIL_WORDS: &str = r#"
[[rules]]
id = "unbounded-lazy-tail-words"
regex = '''\btoken=([a-z0-9]{16,64})\b(?:[^\n]*?\bexpires=([0-9]+)\b)?'''
keywords = ["token="]
"#;

/// The issue's reproducer: an unbounded optional tail (`max_match_len` is the cap).
const UNBOUNDED_TAIL: &str = r#"
[[rules]]
id = "t"
regex = '''token=([a-z0-9]{16,64})(?:[^\n]*;expires=([0-9]+))?'''
keywords = ["token="]
"#;

fn detector(toml: &str, choice: EngineChoice) -> Detector {
    let mut set = RuleSet::default();
    set.add_toml("t.toml", toml).expect("rule loads");
    let matcher = engine::build(&set, choice).expect("engine builds");
    Detector::new(set, matcher)
}

/// What the detector finds in `line` (no newline in it).
fn found(detector: &Detector, line: &[u8]) -> Vec<RuleMatch> {
    let mut out = Vec::new();
    detector.find(line, &mut detector.scratch(), &mut out);
    out
}

/// What one search of the whole line after another finds: the rule's regex, its first non-empty
/// group as the secret, placeholders vetoed (the rules here have no other gate, and their
/// matches do not overlap).
fn whole_line_search(detector: &Detector, line: &[u8]) -> Vec<RuleMatch> {
    let regex = detector.rules().rules[0].regex();
    regex
        .captures_iter(line)
        .filter_map(|caps| {
            let whole = caps.get_match()?;
            let secret = (1..caps.group_len())
                .filter_map(|g| caps.get_group(g))
                .find(|g| !g.is_empty())?;
            (!is_placeholder(&line[secret.range()])).then_some(RuleMatch {
                rule: 0,
                start: secret.start,
                end: secret.end,
                match_start: whole.start(),
                match_end: whole.end(),
            })
        })
        .collect()
}

/// A small deterministic generator, so a failure names a seed that reproduces it.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn bytes(&mut self, alphabet: &[u8], len: u64) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
            .collect()
    }
}

const SECRET_BYTES: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const FILLER_BYTES: &[u8] = b"abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789 .,:/-_()";

/// About `len` bytes of tokens (secrets of 8 to 80 bytes, so some are too short or too long),
/// filler of up to 2000 bytes and `;expires=` values, some right after a token, some thousands
/// of bytes on, some ending the line.
fn mixed_line(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Lcg(seed);
    let mut line = Vec::with_capacity(len + 4096);
    while line.len() < len {
        match rng.below(10) {
            0..=3 => {
                line.extend_from_slice(b"token=");
                let secret_len = 8 + rng.below(73);
                line.extend(rng.bytes(SECRET_BYTES, secret_len));
                line.push(b' ');
            }
            4..=5 => {
                let filler_len = rng.below(2000);
                line.extend(rng.bytes(FILLER_BYTES, filler_len));
            }
            _ => {
                line.extend_from_slice(if rng.below(2) == 0 {
                    b";expires="
                } else {
                    b" expires="
                });
                let digits = 1 + rng.below(12);
                line.extend(rng.bytes(b"0123456789", digits));
            }
        }
    }
    if rng.below(2) == 0 {
        line.extend_from_slice(b";expires=42");
    }
    line
}

#[test]
fn a_long_line_gives_what_a_whole_line_search_gives_for_matches_within_the_cap() {
    // With `\b` or `$`: not on Hyperscan, whose windows (around match ends) can end inside a
    // near-miss token with no window of its own, where `\b` then holds at the window's end: an
    // extra finding a whole-line search does not make, with or without bounded searches.
    let rules = [
        (BOUNDED_TAIL, false),
        (BOUNDED_TAIL_ANCHORED, true),
        (UNBOUNDED_LAZY_TAIL, false),
        (UNBOUNDED_LAZY_TAIL_WORDS, true),
    ];
    let runs = rules.iter().flat_map(|&(toml, assertions)| {
        engine::compiled_in()
            .into_iter()
            .filter(move |&e| !(assertions && e == EngineChoice::Hyperscan))
            .map(move |e| (toml, e))
    });
    for (toml, choice) in runs {
        let detector = detector(toml, choice);
        let rule = &detector.rules().rules[0];
        let mut long_tails = 0;
        for seed in 1..=6 {
            let line = mixed_line(seed, 200_000);
            let expected = whole_line_search(&detector, &line);
            let actual = found(&detector, &line);
            assert!(
                expected.len() > 20,
                "{} seed {seed}: too few matches",
                rule.id
            );
            long_tails += expected
                .iter()
                .filter(|f| f.match_end - f.match_start > 1000)
                .count();
            assert!(
                expected
                    .iter()
                    .all(|f| f.match_end - f.match_start <= rule.max_match_len),
                "{} seed {seed}: a match longer than the rule's maximum",
                rule.id
            );
            let first_difference = expected.iter().zip(&actual).position(|(e, a)| e != a);
            assert!(
                expected.len() == actual.len() && first_difference.is_none(),
                "{} {choice:?} seed {seed}: {} findings in the long line, {} in a whole-line \
                 search, first difference at finding {first_difference:?}",
                rule.id,
                actual.len(),
                expected.len()
            );
        }
        assert!(long_tails > 0, "{}: no match with a long tail", rule.id);
    }
}

/// `token=<20 bytes unique to i>`: lowercase hex and digits, so the rule's secret class.
fn token(i: usize) -> String {
    format!(
        "{:016x}{:04}",
        (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        i % 10_000
    )
}

/// `tokens` of `token=<secret> ` in a row.
fn tokens(range: std::ops::Range<usize>) -> Vec<u8> {
    range
        .flat_map(|i| format!("token={} ", token(i)).into_bytes())
        .collect()
}

#[test]
fn an_unbounded_rule_finds_what_a_whole_line_search_finds_when_its_matches_fit_the_cap() {
    for choice in engine::compiled_in() {
        let detector = detector(UNBOUNDED_TAIL, choice);
        unbounded_rule_within_the_cap(&detector, &format!("{choice:?}"));
    }
}

fn unbounded_rule_within_the_cap(detector: &Detector, engine: &str) {
    // Filler, then tokens whose tails end at one `;expires=` (a match of ~12 KB, under the cap),
    // then tokens with no `;expires=` after them.
    let mut line = vec![b'.'; 40_000];
    line.extend(tokens(0..300));
    line.extend_from_slice(b"a;expires=1700000000 ");
    line.extend(tokens(300..2000));
    let expected = whole_line_search(detector, &line);
    let actual = found(detector, &line);
    assert_eq!(
        expected.len(),
        1 + 1700,
        "one match to the expiry, then one per token"
    );
    assert!(
        expected
            .iter()
            .all(|f| f.match_end - f.match_start < MAX_MATCH_LEN_CAP),
        "every match fits the cap"
    );
    assert!(
        expected == actual,
        "{engine}: {} findings in the long line, {} in a whole-line search",
        actual.len(),
        expected.len()
    );
}

/// `count` tokens in a row, then `;expires=…` ending 40 bytes past the cap after the last token's
/// start: inside the last token's window (`max_match_len + 64`), out of reach of every search
/// (which stops the cap past the earliest match end, 22 bytes into a token).
fn tokens_then_expiry_past_the_cap(count: usize) -> Vec<u8> {
    let mut line = tokens(0..count);
    let last_token = line.len() - 27;
    let expiry = b";expires=1700000000";
    line.resize(last_token + MAX_MATCH_LEN_CAP + 40 - expiry.len(), b'-');
    line.extend_from_slice(expiry);
    line
}

#[test]
fn an_unbounded_tail_past_the_cap_still_leaves_every_secret_found() {
    for choice in engine::compiled_in() {
        let detector = detector(UNBOUNDED_TAIL, choice);
        unbounded_tail_past_the_cap(&detector, &format!("{choice:?}"));
    }
}

fn unbounded_tail_past_the_cap(detector: &Detector, engine: &str) {
    let line = tokens_then_expiry_past_the_cap(2000);
    // A search to the window's end (or the line's) takes one match from the first token to the
    // expiry, longer than the cap, and reports the first token only; the cut searches report
    // every token, each with its own secret group.
    let whole_line = whole_line_search(detector, &line).len();
    assert_eq!(
        whole_line, 1,
        "one match past the cap in a whole-line search"
    );
    let findings = found(detector, &line);
    assert_eq!(findings.len(), 2000, "{engine}: one finding per token");
    for (i, f) in findings.iter().enumerate() {
        assert!(
            &line[f.start..f.end] == token(i).as_bytes(),
            "{engine}: finding {i} is not token {i}"
        );
    }
}

/// The issue's reproducer through the real binary: a long line of `token=` secrets with an expiry
/// past the cap, then a short line; every secret is redacted and nothing else changes.
#[test]
fn the_binary_redacts_every_token_in_a_long_line_with_an_unbounded_tail_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("tail.toml");
    std::fs::write(&rules, UNBOUNDED_TAIL).expect("write rules");
    let count = 6000;
    let mut input = tokens_then_expiry_past_the_cap(count);
    assert!(
        input.len() > 8 * WHOLE_LINE_LIMIT,
        "the line is confirmed in windows"
    );
    input.extend_from_slice(b"\nshort line token=");
    input.extend_from_slice(token(count).as_bytes());
    input.push(b'\n');
    let mut expected = Vec::with_capacity(input.len());
    let mut copied = 0;
    for i in 0..=count {
        let secret = token(i);
        let at = copied + find(&input[copied..], secret.as_bytes()).expect("token in input");
        expected.extend_from_slice(&input[copied..at]);
        expected.extend_from_slice(b"[REDACTED:t]");
        copied = at + secret.len();
    }
    expected.extend_from_slice(&input[copied..]);
    let rules = rules.to_str().expect("utf-8 path");
    let out = common::run(&["--no-default-rules", "--rules", rules], &input);
    assert!(out.status.success(), "logredact exits 0");
    let redacted = common::count(&out.stdout, b"token=[REDACTED:t]");
    assert_eq!(redacted, count + 1, "every token redacted");
    assert!(
        out.stdout == expected,
        "output differs from the input with every token redacted"
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
