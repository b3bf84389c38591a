//! Lists of secrets after one key (`API_KEYS=k1,k2,k3`): the built-in `secret-assignment` rule's
//! `listItem` takes every further value, on every engine, through the same gates as the first;
//! a list ends where a value does not end the item (`token=k1,user=bob` keeps `user`).
//!
//! Failure messages name lines by index and spans by offsets, never the text.

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::rules::RuleSet;

/// Made-up values, 24 bytes of mixed case and digits (entropy over 3 bits per byte).
const K1: &str = "Qm9vZ2xlR29vZ2xlMTIzNDU2";
const K2: &str = "Vm9vZ2xlR29vZ2xlMTIzNDU3";
const K3: &str = "Xk4wP7sL2qR9tZ5vB8nM3cJ6";
const UUID: &str = "c7252001-93c9-4652-ae3d-e6b1469293e1";

fn detector(choice: EngineChoice) -> Detector {
    let set = RuleSet::builtin().expect("built-in rules load");
    let matcher = engine::build(&set, choice).expect("engine builds");
    Detector::new(set, matcher)
}

/// The byte ranges of the line that were found as secrets.
fn found(detector: &Detector, line: &str) -> Vec<(usize, usize)> {
    let mut findings = Vec::new();
    let text = format!("{line}\n");
    detector.find(text.as_bytes(), &mut detector.scratch(), &mut findings);
    findings.iter().map(|f| (f.start, f.end)).collect()
}

/// Where each of `values` is in `line`.
fn spans_of(line: &str, values: &[&str]) -> Vec<(usize, usize)> {
    values
        .iter()
        .map(|v| {
            let at = line.find(v).expect("value is in the line");
            (at, at + v.len())
        })
        .collect()
}

#[test]
fn every_value_of_a_list_is_a_finding() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("API_KEYS={K1},{K2},{K3}"), vec![K1, K2, K3]),
        (format!("export SECRETS={K1}, {K2} && run"), vec![K1, K2]),
        (format!("tokens: {K1} , {K2};"), vec![K1, K2]),
        (format!("api_key={K1},{K2}&user=42"), vec![K1, K2]),
        // A value the gates veto is not a finding, and the list goes on past it.
        (format!("tokens={K1},{UUID},{K3}"), vec![K1, K3]),
        // A value followed by `=` is the next key, not an item.
        (format!("token={K1},username=bob"), vec![K1]),
        (format!("token={K1},{K2}=x"), vec![K1]),
    ];
    for choice in engine::compiled_in() {
        let detector = detector(choice);
        for (i, (line, secrets)) in cases.iter().enumerate() {
            assert_eq!(
                found(&detector, line),
                spans_of(line, secrets),
                "{choice:?}: line {i}"
            );
        }
    }
}

#[test]
fn a_long_list_loses_every_value() {
    let values: Vec<String> = (0..300).map(|i| format!("{K3}{i:03}")).collect();
    let line = format!("SECRETS={}", values.join(","));
    let detector = detector(EngineChoice::Regex);
    assert_eq!(found(&detector, &line).len(), values.len());
}
