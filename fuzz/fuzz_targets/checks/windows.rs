//! Over-long lines cut into windows: built-in rule examples planted at fuzzer-chosen offsets in a
//! long line of filler, read in small irregular pieces with a small `max_line_bytes`. No planted
//! secret may survive, and the output keeps the line count.

use std::sync::OnceLock;

use crate::support::{builtin_rules, contains, filter, newlines, run_stream};
use logredact::format::Format;

/// Filler bytes: punctuation and blanks that no rule takes as part of a secret.
const FILLER: &[u8] = b" .-,;|/\t";
/// Filler around an example when checking that it can be planted.
const CONTEXT: &str = ". -;|/ .,";
const MAX_LINE: usize = 256 * 1024;

/// An example and its secrets.
type Plant = (Vec<u8>, Vec<Vec<u8>>);

/// (example, its secrets) for every built-in example that is found when standing alone between
/// spaces and whose secrets appear in no other example.
fn plants() -> &'static [Plant] {
    static PLANTS: OnceLock<Vec<Plant>> = OnceLock::new();
    PLANTS.get_or_init(|| {
        let detector = filter(Format::Text).detector();
        let mut scratch = detector.scratch();
        let examples: Vec<&String> = builtin_rules()
            .rules
            .iter()
            .flat_map(|r| &r.examples)
            .filter(|e| !e.contains('\n'))
            .collect();
        let mut plants = Vec::new();
        for (i, example) in examples.iter().enumerate() {
            let text = format!(" {example} ");
            // Found inside filler, not only alone: rules anchored at line start/end are not.
            let in_filler = format!("{CONTEXT}{text}{CONTEXT}");
            let mut found = Vec::new();
            detector.find(in_filler.as_bytes(), &mut scratch, &mut found);
            let secrets: Vec<Vec<u8>> = found
                .iter()
                .map(|f| in_filler.as_bytes()[f.start..f.end].to_vec())
                .collect();
            let ambiguous = secrets.iter().any(|s| {
                s.len() < 8
                    || examples
                        .iter()
                        .enumerate()
                        .any(|(j, other)| j != i && contains(other.as_bytes(), s))
            });
            if !secrets.is_empty() && !ambiguous {
                plants.push((text.into_bytes(), secrets));
            }
        }
        assert!(plants.len() > 100, "too few plantable examples");
        plants
    })
}

/// The target's invariants on one input (panics name the invariant, never input text).
pub fn run(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let line_len = 1024 + usize::from(u16::from_le_bytes([data[0], data[1]])) * 8 % MAX_LINE;
    let max_line_bytes = 1 + usize::from(data[2]) * 64;
    let n_sizes = usize::from(data[3] % 8);
    let n_plants = usize::from(data[4] % 12);
    let rest = &data[5..];
    if rest.len() < n_sizes + 3 * n_plants {
        return;
    }
    let (sizes, rest) = rest.split_at(n_sizes);
    let (plant_bytes, filler_seed) = rest.split_at(3 * n_plants);

    let mut line: Vec<u8> = (0..line_len)
        .map(|i| {
            FILLER[usize::from(
                filler_seed
                    .get(i % filler_seed.len().max(1))
                    .copied()
                    .unwrap_or(0),
            ) % FILLER.len()]
        })
        .collect();
    let mut planted = Vec::new();
    let mut at = 0;
    for p in plant_bytes.chunks(3) {
        let which = usize::from(p[0]) % plants().len();
        let gap = usize::from(u16::from_le_bytes([p[1], p[2]])) * 4 % 40_000;
        let (text, _) = &plants()[which];
        at += gap;
        if at + text.len() > line.len() {
            break;
        }
        line[at..at + text.len()].copy_from_slice(text);
        at += text.len();
        planted.push(which);
    }
    let terminated = data[2] & 1 == 0;
    if terminated {
        line.push(b'\n');
    }

    let (out, _) = run_stream(filter(Format::Text), &line, sizes, max_line_bytes);
    assert!(newlines(&out) == newlines(&line), "line count changed");
    for &which in &planted {
        for secret in &plants()[which].1 {
            assert!(!contains(&out, secret), "planted example #{which} survived");
        }
    }
}
