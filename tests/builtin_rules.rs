//! The built-in rule library: loads, is big enough, every rule carries examples, and every
//! example / negative example behaves on every engine compiled in.

use logredact::engine;
use logredact::rules::RuleSet;
use logredact::selftest;

#[test]
fn builtin_rules_load_and_have_keywords_and_examples() {
    let set = RuleSet::builtin().expect("built-in rules load");
    assert!(
        set.rules.len() >= 40,
        "only {} built-in rules",
        set.rules.len()
    );
    for r in &set.rules {
        assert!(!r.keywords.is_empty(), "rule '{}' has no keywords", r.id);
        assert!(
            r.examples.len() >= 2,
            "rule '{}' has fewer than 2 examples",
            r.id
        );
        assert!(
            r.negative_examples.len() >= 2,
            "rule '{}' has fewer than 2 negative examples",
            r.id
        );
        assert!(
            r.max_match_len < logredact::rules::MAX_MATCH_LEN_CAP,
            "rule '{}' is unbounded",
            r.id
        );
    }
}

#[test]
fn builtin_examples_pass_on_every_engine() {
    let set = RuleSet::builtin().expect("built-in rules load");
    for engine in engine::compiled_in() {
        let report = selftest::run(&set, engine).expect("self-test runs");
        let failures: Vec<String> = report.failures.iter().map(|f| f.to_string()).collect();
        assert!(
            failures.is_empty(),
            "{engine:?}: {} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[test]
fn builtin_rule_ids_are_kebab_case() {
    let set = RuleSet::builtin().expect("built-in rules load");
    for r in &set.rules {
        assert!(
            r.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "rule id '{}' is not kebab-case",
            r.id
        );
    }
}
