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

/// Rules whose keywords are a literal every match holds (an operator, a token prefix, a URL
/// scheme) rather than context words near it: a match without one would never be confirmed, a
/// leak. Every match of their regexes in every built-in example (of any rule) and in the Nosey
/// Parker examples, when present, must hold one of their keywords, ASCII case-insensitively.
const KEYWORD_IN_EVERY_MATCH: &[&str] = &[
    "hardcoded-secret-comparison",
    "crates-io-api-token",
    "curl-user-credentials",
    "slack-bot-token",
    "twitch-stream-key",
    "mailchimp-api-key",
    "mongodb-url-password",
    "postgres-url-password",
    "mysql-url-password",
    "redis-url-password",
    "vendor-key-assignment",
    "bare-key-assignment",
    "auth-scheme-token",
    "query-param-secret",
    "azure-devops-pat-legacy",
    "honeycomb-api-key",
    "aws-secret-access-key",
    "aws-session-token",
    "alibaba-access-key-secret",
];

/// Every built-in example (positive and negative, of any rule), and the Nosey Parker examples
/// when present: texts on which a rule's matches are checked against what it claims of them.
fn example_texts(set: &RuleSet) -> Vec<String> {
    let mut texts: Vec<String> = set
        .rules
        .iter()
        .flat_map(|r| r.examples.iter().chain(&r.negative_examples).cloned())
        .collect();
    let external = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    match std::fs::read_to_string(format!("{external}/noseyparker-examples.jsonl")) {
        Ok(jsonl) => texts.extend(jsonl.lines().map(str::to_string)),
        Err(_) => eprintln!("{external} not found: built-in examples only"),
    }
    texts
}

#[test]
fn keywords_chosen_from_the_match_are_in_every_match() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let texts = example_texts(&set);
    let mut checked = 0;
    for id in KEYWORD_IN_EVERY_MATCH {
        let rule = set.rules.iter().find(|r| r.id == *id).expect("rule exists");
        let keywords: Vec<String> = rule.keywords.iter().map(|k| k.to_lowercase()).collect();
        for text in &texts {
            for m in rule.regex().find_iter(text.as_bytes()) {
                let matched = String::from_utf8_lossy(&text.as_bytes()[m.range()]).to_lowercase();
                // The rule id only: never the matched text.
                assert!(
                    keywords.iter().any(|k| matched.contains(k.as_str())),
                    "rule {id}: a match holds none of its keywords"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 2 * KEYWORD_IN_EVERY_MATCH.len(),
        "only {checked} matches checked"
    );
}

/// A rule's keyword reach lets the detector start its search that far before the rule's first
/// keyword in a line: every match must hold a keyword (ASCII case-insensitively, as the keyword
/// engine finds them) starting at most that far into it, or a secret before the keyword would be
/// skipped. Checked on every match in the example texts; and the rules that cost the most on
/// auth-heavy logs must keep a reach, or their searches go back to reading whole lines.
#[test]
fn keyword_reach_bounds_where_a_keyword_starts_in_every_match() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let texts = example_texts(&set);
    let (mut checked, mut with_reach) = (0, 0);
    for rule in &set.rules {
        let Some(reach) = rule.keyword_reach() else {
            continue;
        };
        with_reach += 1;
        let keywords: Vec<Vec<u8>> = rule
            .keywords
            .iter()
            .map(|k| k.as_bytes().to_ascii_lowercase())
            .collect();
        for text in &texts {
            let lower = text.as_bytes().to_ascii_lowercase();
            for m in rule.regex().find_iter(text.as_bytes()) {
                let matched = &lower[m.range()];
                let first = keywords
                    .iter()
                    .filter_map(|k| matched.windows(k.len()).position(|w| w == k.as_slice()))
                    .min();
                // The rule id only: never the matched text.
                assert!(
                    first.is_some_and(|at| at <= reach),
                    "rule {}: a match holds no keyword within its reach {reach}",
                    rule.id
                );
                checked += 1;
            }
        }
    }
    for id in [
        "secret-assignment",
        "password-assignment",
        "url-credentials",
    ] {
        let rule = set.rules.iter().find(|r| r.id == id).expect("rule exists");
        assert!(
            rule.keyword_reach().is_some(),
            "{id} lost its keyword reach"
        );
    }
    assert!(
        with_reach >= 250,
        "only {with_reach} rules have a keyword reach"
    );
    assert!(checked >= 1000, "only {checked} matches checked");
}
