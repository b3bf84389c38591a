//! Two secrets of the same rule on one line both get redacted, for every built-in rule: a
//! greedy gap between a key name and the secret (`[^\n]{0,N}`, `.{0,N}`) can run past the first
//! secret to the second one, so only the second is reported and the first leaks (the fuzzer found
//! this in `psexec-password`, see tests/fuzz_regressions.rs).
//!
//! Each line joins two of a rule's own examples with `" ; "`, once whole and once cut down to the
//! regex match; the secrets are what the rule alone finds in each example. The lines go through
//! the real binary with every built-in rule. Failure messages name rule ids and example indexes
//! only, never the text.

mod common;

use logredact::detect::{Detector, RuleMatch};
use logredact::engine::KeywordMatcher;
use logredact::rules::{Rule, RuleSet};

const SEPARATOR: &str = " ; ";

/// Examples that only match a whole line (`^…` / `…$`), so they cannot share one: rule id,
/// example indexes, why. Lines that hold one of these are not built.
const LINE_ANCHORED: &[(&str, &[usize], &str)] = &[
    (
        "gradle-credentials-password",
        &[0, 2, 3],
        "the Gradle DSL statement `password '…'` is matched at line start only (`^\\s{0,16}`): \
         anywhere else the bare word is prose, not a credential",
    ),
    (
        "netrc-password",
        &[1],
        "a bare `password …` netrc line is matched as a whole line (`^…$`) for the same reason",
    ),
];

fn line_anchored(rule: &Rule, example: usize) -> bool {
    LINE_ANCHORED
        .iter()
        .any(|(id, examples, _)| *id == rule.id && examples.contains(&example))
}

/// A built-in rule with a detector of its own.
struct Alone<'a> {
    rule: &'a Rule,
    detector: Detector,
}

impl<'a> Alone<'a> {
    fn new(rule: &'a Rule) -> Self {
        let set = RuleSet {
            rules: vec![rule.clone()],
            allowlists: Vec::new(),
            warnings: Vec::new(),
        };
        let matcher = KeywordMatcher::new(&set).expect("matcher builds");
        Alone {
            rule,
            detector: Detector::new(set, Box::new(matcher)),
        }
    }

    /// What the rule alone finds in `text`.
    fn findings(&self, text: &str) -> Vec<RuleMatch> {
        let mut found: Vec<RuleMatch> = Vec::new();
        let mut scratch = self.detector.scratch();
        self.detector
            .find(text.as_bytes(), &mut scratch, &mut found);
        found
    }
}

/// Example `index` of `rule` as it is, or cut down to what the regex matched: key name, secret
/// and nothing around them, so the two secrets of a joined line are as close as the rule allows
/// (a 60-byte gap cannot reach past a whole second example, but can past a second match).
fn example_text(alone: &Alone, index: usize, trimmed: bool) -> Option<String> {
    let example = &alone.rule.examples[index];
    if !trimmed {
        return Some(example.clone());
    }
    let found = alone.findings(example);
    let start = found.iter().map(|f| f.match_start).min()?;
    let end = found.iter().map(|f| f.match_end).max()?;
    let cut = example.get(start..end)?.to_string();
    // Context outside the match (a word boundary, an allowlist on the line) may be needed.
    (!alone.findings(&cut).is_empty()).then_some(cut)
}

/// One joined line and what must not survive in it.
struct Case {
    rule: String,
    first: usize,
    second: usize,
    trimmed: bool,
    line: String,
    /// Each secret of the line with how often it may still appear: the number of times it occurs
    /// outside every secret span (a password that is also the user name cannot vanish).
    secrets: Vec<(String, usize)>,
}

fn case(alone: &Alone, first: usize, second: usize, trimmed: bool) -> Option<Case> {
    let a = example_text(alone, first, trimmed)?;
    let b = example_text(alone, second, trimmed)?;
    let line = format!("{a}{SEPARATOR}{b}");
    let offset = a.len() + SEPARATOR.len();
    let spans: Vec<(usize, usize)> = alone
        .findings(&a)
        .iter()
        .map(|f| (f.start, f.end))
        .chain(
            alone
                .findings(&b)
                .iter()
                .map(|f| (f.start + offset, f.end + offset)),
        )
        .collect();
    if spans.is_empty() {
        return None;
    }
    let mut masked = line.clone().into_bytes();
    for &(s, e) in &spans {
        masked[s..e].fill(0);
    }
    let secrets = spans
        .iter()
        .map(|&(s, e)| {
            let secret = line[s..e].to_string();
            let elsewhere = common::count(&masked, secret.as_bytes());
            (secret, elsewhere)
        })
        .collect();
    Some(Case {
        rule: alone.rule.id.clone(),
        first,
        second,
        trimmed,
        line,
        secrets,
    })
}

/// `line` with every `[REDACTED…]` marker cut out.
fn without_markers(line: &str) -> String {
    let mut rest = line;
    let mut kept = String::new();
    while let Some(open) = rest.find("[REDACTED") {
        kept.push_str(&rest[..open]);
        rest = rest[open..]
            .find(']')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    kept.push_str(rest);
    kept
}

#[test]
fn two_examples_of_a_rule_on_one_line_both_lose_their_secret() {
    let set = RuleSet::builtin().expect("built-in rules load");
    let mut cases = Vec::new();
    for rule in &set.rules {
        let alone = Alone::new(rule);
        for (index, example) in rule.examples.iter().enumerate() {
            if line_anchored(rule, index) {
                let moved = format!("x{SEPARATOR}{example}");
                assert!(
                    alone.findings(&moved).is_empty(),
                    "{}: example #{index} is found away from line start: drop its exclusion",
                    rule.id
                );
            }
        }
        let n = rule.examples.len();
        for first in 0..n {
            // The example next to itself and next to the following one.
            for second in [first, (first + 1) % n] {
                if line_anchored(rule, first) || line_anchored(rule, second) {
                    continue;
                }
                for trimmed in [false, true] {
                    cases.extend(case(&alone, first, second, trimmed));
                }
            }
        }
    }
    assert!(cases.len() > 1200, "only {} cases", cases.len());
    let input: String = cases.iter().map(|c| format!("{}\n", c.line)).collect();
    let out = common::run(&[], input.as_bytes());
    assert!(out.status.success(), "logredact failed");
    let text = String::from_utf8(out.stdout).expect("utf8 output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one output line per input line");

    let mut leaks = Vec::new();
    for (c, out) in cases.iter().zip(&lines) {
        // A secret that is a word such as `password` also appears in `[REDACTED:…-password]`.
        let out = without_markers(out);
        let leaked = c
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, (secret, elsewhere))| {
                common::count(out.as_bytes(), secret.as_bytes()) > *elsewhere
            })
            .map(|(i, _)| i.to_string())
            .collect::<Vec<_>>();
        if !leaked.is_empty() {
            leaks.push(format!(
                "{}: examples #{} + #{}{}: secret(s) {} of {} survived",
                c.rule,
                c.first,
                c.second,
                if c.trimmed { " (matches only)" } else { "" },
                leaked.join(","),
                c.secrets.len()
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} lines leaked:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// Rules whose gap is too short to reach past a whole second example, so the test above cannot
/// show it: `key secret key secret`, written by hand (fake values). With a greedy gap the first
/// key's match ran to the second secret and the first secret leaked.
#[test]
fn short_gaps_do_not_jump_to_the_next_secret() {
    let cases = [
        (
            "deepseek-api-key",
            "deepseek sk-",
            "1111aaaa2222bbbb3333cccc4444dddd",
            "5555eeee6666ffff7777aaaa8888bbbb",
        ),
        (
            "firecrawl-api-key",
            "firecrawl fc-",
            "1111aaaa2222bbbb3333cccc4444dddd",
            "5555eeee6666ffff7777aaaa8888bbbb",
        ),
        (
            "elevenlabs-api-key",
            "elevenlabs k=",
            "4d4705290b3c0b15ba4c0529d9406f97",
            "5e4705290b3c0b15ba4c0529d9406f98",
        ),
        (
            "launchdarkly-key",
            "launchdarkly sdk-",
            "cef0e230-5bda-4f16-af53-02f1e62ecc1c",
            "def0e230-5bda-4f16-af53-02f1e62ecc1d",
        ),
        (
            "twilio-api-key-sid",
            "twilio SK",
            "82e542e814226a3f37d2ddb445d40028",
            "92e542e814226a3f37d2ddb445d40029",
        ),
    ];
    let input: String = cases
        .iter()
        .map(|(_, key, a, b)| format!("{key}{a} {key}{b}\n"))
        .collect();
    let out = common::run(&[], input.as_bytes());
    assert!(out.status.success(), "logredact failed");
    let text = String::from_utf8(out.stdout).expect("utf8 output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one output line per input line");
    for ((rule, _, a, b), line) in cases.iter().zip(&lines) {
        assert!(!line.contains(a), "{rule}: the first secret survived");
        assert!(!line.contains(b), "{rule}: the second secret survived");
        assert_eq!(
            common::count(line.as_bytes(), format!("[REDACTED:{rule}]").as_bytes()),
            2,
            "{rule}: expected two findings"
        );
    }
}
