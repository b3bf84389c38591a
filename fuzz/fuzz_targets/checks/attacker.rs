//! The attacker model (issue 14, point 6), fuzzer-driven: a built-in example secret on a line with
//! a prefix and suffix the attacker chose, between neighbour lines the attacker chose, as plain
//! text, a CRI record, CRI `P`+`F` records cut inside the secret, a Docker record, Docker partial
//! records cut inside the secret, or a JSON value. Invariants: the secret is gone from the output
//! (raw and JSON-escaped, and neither half of a cut secret stays); the line count is kept; every
//! neighbour line is unchanged byte for byte. The attacker's bytes are mapped onto fragments
//! (marker pieces, armour lines, quotes, escapes, invalid UTF-8, JSON and runtime envelopes), so
//! neighbours stay lines no rule may change. Panics name the example index and the wrapper only.

use std::sync::OnceLock;

use crate::support::{builtin_rules, contains, filter, newlines, run_stream};
use logredact::format::Format;

const TIME: &str = "2024-05-01T10:00:00.123456789Z";

/// Rules anchored at a line start: a prefix hides them by design (see tests/envelopes.rs).
const LINE_ANCHORED: &[&str] = &["gradle-credentials-password", "netrc-password"];

const FRAGMENTS: &[&[u8]] = &[
    b"bob",
    b"[REDACTED",
    b"[REDACTED:x]",
    b"[REDACTED:github-pat",
    b"]",
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
];

const ARMOUR: &[&[u8]] = &[
    b"-----BEGIN RSA PRIVATE KEY-----",
    b"-----BEGIN OPENSSH PRIVATE KEY-----",
    b"-----BEGIN PGP PRIVATE KEY BLOCK-----",
];

/// An example line and its secrets.
type Example = (String, Vec<Vec<u8>>);

/// (example, its secrets) for every example with a secret that can be told
/// apart from the rest of its line.
fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let filter = filter(Format::Auto);
        let mut all = Vec::new();
        for rule in &builtin_rules().rules {
            if LINE_ANCHORED.contains(&rule.id.as_str()) {
                continue;
            }
            for example in &rule.examples {
                let mut scratch = filter.scratch();
                let input = format!("{example}\n");
                let bytes = input.as_bytes();
                let secrets: Vec<Vec<u8>> = filter
                    .findings(bytes, &mut scratch)
                    .iter()
                    .map(|f| bytes[f.start..f.end].to_vec())
                    .filter(|s| s.len() >= 8)
                    .filter(|s| bytes.windows(s.len()).filter(|w| w == s).count() == 1)
                    .collect();
                if !secrets.is_empty() {
                    all.push((example.clone(), secrets));
                }
            }
        }
        all
    })
}

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

/// Fragments chosen by `bytes` (one per byte).
fn field(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|&b| FRAGMENTS[usize::from(b) % FRAGMENTS.len()].iter().copied())
        .collect()
}

/// A neighbour line: a text head, fragments, and an armour line only at its end.
fn neighbour(bytes: &[u8]) -> Vec<u8> {
    let (first, rest) = bytes.split_first().unwrap_or((&0, &[]));
    let armour = match usize::from(*first) % (ARMOUR.len() + 2) {
        i if i < ARMOUR.len() => ARMOUR[i],
        _ => b"",
    };
    [&b"n: "[..], &field(rest), armour].concat()
}

/// The target's invariants on one input (panics name the invariant, never input text).
pub fn run(data: &[u8]) {
    if data.len() < 4 || examples().is_empty() {
        return;
    }
    let which = usize::from(u16::from_le_bytes([data[0], data[1]])) % examples().len();
    let wrapper = data[2] % 6;
    let sizes = &data[3..4];
    let mut parts = data[4..].split(|&b| b == 0xFE);
    let prefix = field(parts.next().unwrap_or_default());
    let suffix = field(parts.next().unwrap_or_default());
    let neighbours: Vec<Vec<u8>> = parts.take(6).map(neighbour).collect();
    let (before, after) = neighbours.split_at(neighbours.len() / 2);

    let (example, secrets) = &examples()[which];
    let first = &secrets[0];
    let line = [&prefix[..], b" ", example.as_bytes(), b" ", &suffix].concat();
    let Some(at) = line.windows(first.len()).position(|w| w == &first[..]) else {
        return;
    };
    let cut = at + first.len() / 2;
    let cri = |tag: &str, m: &[u8]| [format!("{TIME} stdout {tag} ").as_bytes(), m].concat();
    let records: Vec<Vec<u8>> = match wrapper {
        0 => vec![line.clone()],
        1 => vec![cri("F", &line)],
        2 => vec![cri("P", &line[..cut]), cri("F", &line[cut..])],
        3 => vec![docker(&[&line[..], b"\n"].concat())],
        4 => vec![
            docker(&line[..cut]),
            docker(&[&line[cut..], b"\n"].concat()),
        ],
        _ => vec![[
            &b"{\"user\":\"bob\",\"msg\":\""[..],
            &json_escape(&line),
            b"\"}",
        ]
        .concat()],
    };
    let mut input = Vec::new();
    for l in before.iter().chain(&records).chain(after) {
        input.extend_from_slice(l);
        input.push(b'\n');
    }

    let (out, _) = run_stream(filter(Format::Auto), &input, sizes, 4096);
    assert!(newlines(&out) == newlines(&input), "line count changed");
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    for (i, n) in before.iter().enumerate() {
        assert!(
            lines[i] == &n[..],
            "example #{which} wrapper {wrapper}: neighbour {i} before changed"
        );
    }
    for (i, n) in after.iter().enumerate() {
        assert!(
            lines[before.len() + records.len() + i] == &n[..],
            "example #{which} wrapper {wrapper}: neighbour {i} after changed"
        );
    }
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !contains(&out, secret) && !contains(&out, &json_escape(secret)),
            "example #{which} wrapper {wrapper}: secret {i} survived"
        );
    }
    if matches!(wrapper, 2 | 4) {
        // The cut leaves no more of the secret than the same line in one record does (rules may
        // rightly keep part of a bare example's match, a PEM header say, in another context).
        let whole = match wrapper {
            2 => cri("F", &line),
            _ => docker(&[&line[..], b"\n"].concat()),
        };
        let (reference, _) = run_stream(
            filter(Format::Auto),
            &[&whole[..], b"\n"].concat(),
            &[],
            4096,
        );
        let half = first.len() / 2;
        for part in [&first[..half], &first[half..]] {
            let telling =
                part.len() >= 8 && input.windows(part.len()).filter(|w| w == &part).count() == 1;
            assert!(
                !telling || !contains(&out, part) || contains(&reference, part),
                "example #{which} wrapper {wrapper}: a half of the cut secret survived"
            );
        }
    }
}
