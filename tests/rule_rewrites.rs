//! Rules whose regex was rewritten for speed must match exactly what they matched before: same
//! match spans, same capture spans, on every line. Each rewritten rule is compared here with its
//! earlier, plainer regex (kept below as the reference) over its own examples and a deterministic
//! set of generated lines built from the words, separators, operators and values the regex cares
//! about, in mixed case.
//!
//! Why: a rewrite (an alternation written as a trie, say) is only safe if leftmost-first matching
//! picks the same parse; where one word is a prefix of another their order matters, and a
//! mistake there moves a match's start or end without any example failing.
//!
//! Never prints input text: a failure names the rule and the generated line's number.

use logredact::rules::repeats::{widened, Widen, WIDEST_BOUNDED_REPEAT};
use logredact::rules::RuleSet;
use regex::bytes::{Regex, RegexBuilder};

/// `secret-assignment` before its key-name alternations were written as tries.
const SECRET_ASSIGNMENT_BEFORE: &str = r#"(?i)(?:(?:next|page|continuation|sync|resume|cursor|prev|previous|pagination|csrf|xsrf|idempotency|cache|lock|cancellation|correlation|trace|request|public|publishable|aws|secret|commit|git|sha|revision|key)[_.-]?){0,3}(?:secret|token|api[_.-]?key|apikey|access[_.-]?key|secret[_.-]?key|private[_.-]?key|auth[_.-]?key|app[_.-]?key|master[_.-]?key|encryption[_.-]?key|signing[_.-]?key|hmac[_.-]?key|license[_.-]?key|consumer[_.-]?key|service[_.-]?key|account[_.-]?key|admin[_.-]?key|write[_.-]?key|ingest(?:ion)?[_.-]?key|credentials?|client[_.-]?secret)s?(?:_?[0-9]{1,3})?(?:(?-i:_[A-Z][A-Z0-9]{0,11}))?(?:\\?["'\x60]|\]){0,2}\s{0,16}(?:=>|::?=|\?=|[!=]==?|=|:|,)\s{0,16}(?:b?"([^"\n]{8,512})"|b?'([^'\n]{8,512})'|(?:\\?["'\x60]){0,2}([A-Za-z0-9_.~+/=!#%^*@:-]{8,512}))"#;

/// Built as the rule's own confirm regex is (`rules::build_rule_regex`): wide repeats widened,
/// bytes, ASCII classes.
fn confirm_regex(pattern: &str) -> Regex {
    let pattern = widened(pattern, WIDEST_BOUNDED_REPEAT, Widen::ValuesAndLazyGaps);
    RegexBuilder::new(&pattern)
        .unicode(false)
        .size_limit(32 * 1024 * 1024)
        .build()
        .expect("reference regex compiles")
}

/// Every match of `re` in `line` the way `detect` walks them (from the end of the last match),
/// with the spans of all capture groups.
fn matches(re: &Regex, line: &[u8]) -> Vec<Vec<Option<(usize, usize)>>> {
    let mut locs = re.capture_locations();
    let mut found = Vec::new();
    let mut pos = 0;
    while pos <= line.len() {
        let Some(m) = re.captures_read_at(&mut locs, line, pos) else {
            break;
        };
        pos = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + 1
        };
        found.push((0..locs.len()).map(|g| locs.get(g)).collect());
    }
    found
}

/// A small deterministic generator (no seed file, same lines on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Lines made of key-name words (prefix words, key words, and words that share their first
/// letters), separators, quotes, operators and values, some upper-cased or in mixed case.
fn generated_lines(count: usize) -> Vec<Vec<u8>> {
    const WORDS: &[&str] = &[
        "next",
        "page",
        "pagination",
        "continuation",
        "sync",
        "resume",
        "cursor",
        "prev",
        "previous",
        "csrf",
        "xsrf",
        "idempotency",
        "cache",
        "lock",
        "cancellation",
        "correlation",
        "trace",
        "request",
        "public",
        "publishable",
        "aws",
        "secret",
        "commit",
        "git",
        "sha",
        "revision",
        "key",
        "token",
        "api",
        "apikey",
        "access",
        "private",
        "auth",
        "app",
        "master",
        "encryption",
        "signing",
        "hmac",
        "license",
        "consumer",
        "service",
        "account",
        "admin",
        "write",
        "ingest",
        "ingestion",
        "credential",
        "credentials",
        "client",
        "secrets",
        "tokens",
        "pub",
        "pre",
        "re",
        "se",
        "co",
        "ca",
        "pa",
        "ac",
        "in",
    ];
    const GLUE: &[&str] = &[
        "", "", "_", "-", ".", "s", "_1", "_22", "_ABC", "_X9", "\"", "'", "`", "\\\"", "]", " ",
        "  ", "ion", "ious", "key", "Key", "_key", "-key",
    ];
    // Key names the regex accepts, so that most lines end their key with one.
    const KEY_WORDS: &[&str] = &[
        "secret",
        "token",
        "api_key",
        "apikey",
        "access-key",
        "secret.key",
        "secretkey",
        "private_key",
        "auth_key",
        "appkey",
        "ingestion_key",
        "ingestkey",
        "credentials",
        "credential",
        "client_secret",
        "clientsecret",
        "signingKey",
        "ACCOUNT_KEY",
    ];
    const ENDS: &[&str] = &["", "", "", "s", "_2", "_ABC", "\"", "'", "\\\"", "]", "ion"];
    const OPERATORS: &[&str] = &[
        "=", " = ", ": ", "\":\"", "=>", "::=", "?=", "==", "!=", "===", ",", "=b'", ":=", "",
    ];
    const VALUES: &[&str] = &[
        "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
        "\"f6CGV4aMM9zedoh3OUNbSakB\"",
        "'Zq9XL2pR8mZ7wT4nB6yH1c'",
        "c7252001-93c9-4652-ae3d-e6b1469293e1",
        "short",
        "abc def ghi jkl",
        "\"unterminated value here",
    ];
    const AROUND: &[(&str, &str)] = &[
        ("", ""),
        ("{\"", "\"}"),
        ("GET /v1?a=1&", " 200"),
        ("level=info ", " user=42"),
        ("x ", ","),
    ];
    let mut rng = Lcg(0x5eed_0f5e_c7e7);
    (0..count)
        .map(|_| {
            let mut key = String::from(WORDS[rng.next(WORDS.len())]);
            for _ in 0..rng.next(5) {
                key.push_str(GLUE[rng.next(GLUE.len())]);
                key.push_str(WORDS[rng.next(WORDS.len())]);
            }
            if rng.next(3) > 0 {
                key.push_str(GLUE[rng.next(GLUE.len())]);
                key.push_str(KEY_WORDS[rng.next(KEY_WORDS.len())]);
            }
            key.push_str(ENDS[rng.next(ENDS.len())]);
            let key = match rng.next(4) {
                0 => key.to_uppercase(),
                1 => key
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i % 3 == 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect(),
                _ => key,
            };
            let (before, after) = AROUND[rng.next(AROUND.len())];
            format!(
                "{before}{key}{}{}{after}",
                OPERATORS[rng.next(OPERATORS.len())],
                VALUES[rng.next(VALUES.len())]
            )
            .into_bytes()
        })
        .collect()
}

#[test]
fn rewritten_rules_match_exactly_what_their_plainer_regex_matched() {
    let rules = RuleSet::builtin().expect("built-in rules load");
    for (id, before) in [("secret-assignment", SECRET_ASSIGNMENT_BEFORE)] {
        let rule = rules
            .rules
            .iter()
            .find(|r| r.id == id)
            .expect("rule exists");
        assert_ne!(
            rule.pattern, before,
            "{id}: not rewritten, drop it from this test"
        );
        // Both built the same way, so only the patterns differ.
        let (now, then) = (confirm_regex(&rule.pattern), confirm_regex(before));
        let mut lines: Vec<Vec<u8>> = rule
            .examples
            .iter()
            .chain(&rule.negative_examples)
            .map(|l| l.as_bytes().to_vec())
            .collect();
        lines.extend(generated_lines(20_000));
        let mut matched = 0;
        for (n, line) in lines.iter().enumerate() {
            let expected = matches(&then, line);
            matched += expected.len();
            assert!(
                matches(&now, line) == expected,
                "{id}: line {n} matches differently from the regex before the rewrite"
            );
        }
        // The generated lines must exercise the regex, or the comparison proves nothing.
        assert!(
            matched > lines.len() / 4,
            "{id}: only {matched} matches in {} lines",
            lines.len()
        );
    }
}
