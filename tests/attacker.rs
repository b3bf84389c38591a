//! The attacker model (issue 14, point 6): someone who controls part of a logged line — text
//! before and after a secret on its line, and whole lines around it — must not be able to make a
//! secret survive or make a neighbouring line change. For every built-in example secret, with a
//! prefix and suffix drawn from marker fragments (`[REDACTED`, `[REDACTED:x]`), armour lines,
//! quotes, backslash escapes, invalid UTF-8 and JSON structure, in plain text, CRI and Docker
//! envelopes, and cut in two by CRI `P`/`F` or Docker partial records, on every compiled engine:
//! the secret is gone from the output and every neighbour line is unchanged byte for byte.
//! Failure messages name the engine, rule id, example and wrapper — never the secret.

mod common;

use common::builtin_filters as filters;

use std::sync::OnceLock;

use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};
use proptest::prelude::*;

const TIME: &str = "2024-05-01T10:00:00.123456789Z";

/// Rules anchored at a line's start: a prefix on their line hides them by design (see
/// tests/envelopes.rs).
const LINE_ANCHORED: &[&str] = &["gradle-credentials-password", "netrc-password"];

/// Every (rule id, example) of the built-in rules that a prefix may precede.
fn examples() -> &'static [(String, String)] {
    static EXAMPLES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules load");
        rules
            .rules
            .iter()
            .filter(|r| !LINE_ANCHORED.contains(&r.id.as_str()))
            .flat_map(|r| r.examples.iter().map(|e| (r.id.clone(), e.clone())))
            .collect()
    })
}

fn redact(filter: &Filter, input: &[u8]) -> Vec<u8> {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::new();
    let options = StreamOptions {
        max_line_bytes: 4096,
        ..StreamOptions::default()
    };
    stream::run(&mut &input[..], &mut out, filter, options, &mut stats).expect("in-memory stream");
    out
}

/// The secrets of the bare example: the bytes of each finding that can be told apart from the
/// rest of the example (8 bytes or more, once in it).
fn secrets_of(filter: &Filter, example: &str) -> Vec<Vec<u8>> {
    let mut scratch = filter.scratch();
    let input = format!("{example}\n");
    let bytes = input.as_bytes();
    filter
        .findings(bytes, &mut scratch)
        .iter()
        .map(|f| bytes[f.start..f.end].to_vec())
        .filter(|s| s.len() >= 8)
        .filter(|s| bytes.windows(s.len()).filter(|w| w == s).count() == 1)
        .collect()
}

/// JSON string content for arbitrary bytes: quotes, backslashes and controls escaped, every other
/// byte (invalid UTF-8 too) as it is, as a tolerant writer would.
fn json_escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            b => out.push(b),
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Pieces an attacker puts into a field.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        &b"bob"[..],
        b"[REDACTED",
        b"[REDACTED:x]",
        b"[REDACTED:github-pat",
        b"]",
        b"-----BEGIN RSA PRIVATE KEY-----",
        b"-----BEGIN OPENSSH PRIVATE KEY-----",
        b"\"",
        b"'",
        b"\\",
        b"\\\"",
        b"\\n",
        b"{",
        b"}",
        b"[",
        b"{\"a\":\"b\"}",
        b"\":\"",
        b",",
        b"=",
        b" ",
        "\u{e9}".as_bytes(),
        b"\xff",
        b"\xc3",
        b"2024-05-01T10:00:00Z stdout P ",
        b"{\"log\":\"",
    ])
    .prop_map(<[u8]>::to_vec)
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..5).prop_map(|v| v.concat())
}

/// A neighbour line: attacker fragments after a text head, so it is never shaped like key
/// material (that would rightly be hidden after an armour line), and an armour line only at its
/// end (text glued after `-----BEGIN…-----` is rightly taken for the start of a key body).
fn neighbour() -> impl Strategy<Value = Vec<u8>> {
    let armour = prop::sample::select(vec![
        &b""[..],
        b"",
        b"-----BEGIN RSA PRIVATE KEY-----",
        b"-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ]);
    (field(), armour).prop_map(|(f, a)| {
        let f: Vec<u8> = if contains(&f, b"-----BEGIN") {
            b"bob".to_vec()
        } else {
            f
        };
        [&b"n: "[..], &f, a].concat()
    })
}

/// How the example's line is written: its records (lines without newline).
#[derive(Debug, Clone, Copy)]
enum Wrapper {
    Plain,
    Cri,
    CriSplit,
    Docker,
    DockerSplit,
    JsonValue,
}

const WRAPPERS: [Wrapper; 6] = [
    Wrapper::Plain,
    Wrapper::Cri,
    Wrapper::CriSplit,
    Wrapper::Docker,
    Wrapper::DockerSplit,
    Wrapper::JsonValue,
];

fn docker(log: &[u8]) -> Vec<u8> {
    [
        &b"{\"log\":\""[..],
        &json_escape(log),
        b"\",\"stream\":\"stdout\",\"time\":\"",
        TIME.as_bytes(),
        b"\"}",
    ]
    .concat()
}

/// The records of `line`; split wrappers cut it at `cut`.
fn wrap(wrapper: Wrapper, line: &[u8], cut: usize) -> Vec<Vec<u8>> {
    let cri = |tag: &str, m: &[u8]| [format!("{TIME} stdout {tag} ").as_bytes(), m].concat();
    match wrapper {
        Wrapper::Plain => vec![line.to_vec()],
        Wrapper::Cri => vec![cri("F", line)],
        Wrapper::CriSplit => vec![cri("P", &line[..cut]), cri("F", &line[cut..])],
        Wrapper::Docker => vec![docker(&[line, b"\n"].concat())],
        Wrapper::DockerSplit => vec![
            docker(&line[..cut]),
            docker(&[&line[cut..], b"\n"].concat()),
        ],
        Wrapper::JsonValue => vec![[
            &b"{\"user\":\"bob\",\"msg\":\""[..],
            &json_escape(line),
            b"\"}",
        ]
        .concat()],
    }
}

/// What went wrong for one case, without any secret in it (`Ok(false)`: the example has no
/// secret that can be told apart, nothing to check).
fn check(
    filter: &Filter,
    example: &str,
    wrapper: Wrapper,
    prefix: &[u8],
    suffix: &[u8],
    before: &[Vec<u8>],
    after: &[Vec<u8>],
) -> Result<bool, String> {
    let secrets = secrets_of(filter, example);
    let Some(first) = secrets.first() else {
        return Ok(false);
    };
    let line = [prefix, b" ", example.as_bytes(), b" ", suffix].concat();
    // Cut split records in the middle of the first secret.
    let Some(at) = line.windows(first.len()).position(|w| w == &first[..]) else {
        return Ok(false);
    };
    let cut = at + first.len() / 2;
    let records = wrap(wrapper, &line, cut);
    let mut input = Vec::new();
    for l in before.iter().chain(&records).chain(after) {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let out = redact(filter, &input);
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    let want = before.len() + records.len() + after.len() + 1;
    if lines.len() != want {
        return Err(format!("{} lines out, {} in", lines.len() - 1, want - 1));
    }
    for (i, n) in before.iter().enumerate() {
        if lines[i] != &n[..] {
            return Err(format!("neighbour line {i} before changed"));
        }
    }
    for (i, n) in after.iter().enumerate() {
        if lines[before.len() + records.len() + i] != &n[..] {
            return Err(format!("neighbour line {i} after changed"));
        }
    }
    // The records' messages joined, as a reader of the reassembled line sees them.
    let own = &lines[before.len()..before.len() + records.len()];
    let mut joined = Vec::new();
    for r in own {
        joined.extend_from_slice(r);
    }
    for (i, secret) in secrets.iter().enumerate() {
        for form in [secret.clone(), json_escape(secret)] {
            if contains(&out, &form) || contains(&joined, &form) {
                return Err(format!("secret {i} left"));
            }
            // A secret cut by records: neither half may stay (when the half is telling).
            if i == 0 && matches!(wrapper, Wrapper::CriSplit | Wrapper::DockerSplit) {
                let half = first.len() / 2;
                for part in [&first[..half], &first[half..]] {
                    if part.len() >= 8 && count(&input, part) == 1 && contains(&out, part) {
                        return Err("a half of the cut secret left".into());
                    }
                }
            }
        }
    }
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_prefix_suffix_or_neighbour_lets_a_secret_through(
        pick in any::<prop::sample::Index>(),
        wrapper in prop::sample::select(WRAPPERS.to_vec()),
        prefix in field(),
        suffix in field(),
        before in prop::collection::vec(neighbour(), 0..3),
        after in prop::collection::vec(neighbour(), 0..3),
    ) {
        let index = pick.index(examples().len());
        let (rule, example) = &examples()[index];
        for (choice, filter) in filters() {
            let failure = check(filter, example, wrapper, &prefix, &suffix, &before, &after);
            prop_assert!(
                failure.is_ok(),
                "{choice:?} rule {rule} example #{index} {wrapper:?}: {}",
                failure.err().unwrap_or_default()
            );
        }
    }
}

/// Every example in every wrapper with one fixed hostile prefix, suffix and neighbours.
#[test]
fn every_example_in_every_wrapper_with_hostile_neighbours() {
    let prefix = b"GET /q?x=[REDACTED&u=\"\\ -----BEGIN RSA PRIVATE KEY----- \xff";
    let suffix = b"[REDACTED:x] \\\" } \xc3";
    let before = vec![
        b"n: -----BEGIN OPENSSH PRIVATE KEY-----".to_vec(),
        b"n: [REDACTED".to_vec(),
    ];
    let after = vec![b"n: {\"a\":\"[REDACTED\"".to_vec(), b"n: tail".to_vec()];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (choice, filter) in filters() {
        for (index, (rule, example)) in examples().iter().enumerate() {
            for wrapper in WRAPPERS {
                match check(filter, example, wrapper, prefix, suffix, &before, &after) {
                    Ok(true) => checked += 1,
                    Ok(false) => {}
                    Err(f) => failures.push(format!("{choice:?} {rule} #{index} {wrapper:?}: {f}")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:#?}",
        failures.len()
    );
    assert!(checked > 2000, "cases checked: {checked}");
}

/// C6 as a class: logredact's own output is a fixed point. For every example in every wrapper
/// (split records joined back as the stream writes them), a second pass over the first pass's
/// output prints exactly what the first printed, on every engine.
#[test]
fn a_second_pass_prints_what_the_first_printed_for_every_example() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (choice, filter) in filters() {
        for (index, (rule, example)) in examples().iter().enumerate() {
            let line = example.as_bytes();
            let cut = line.len() / 2;
            for wrapper in WRAPPERS {
                let input: Vec<u8> = wrap(wrapper, line, cut)
                    .into_iter()
                    .flat_map(|record| [record, b"\n".to_vec()].concat())
                    .collect();
                let first = redact(filter, &input);
                let second = redact(filter, &first);
                checked += 1;
                if second != first {
                    failures.push(format!("{choice:?} {rule} #{index} {wrapper:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} examples change on a second pass: {failures:#?}",
        failures.len()
    );
    assert!(checked > 2000, "cases checked: {checked}");
}
