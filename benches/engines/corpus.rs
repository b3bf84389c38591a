//! Generated container-log corpora for the engine benchmarks (`benches/engines.rs`) and the
//! differential tests (`tests/engines.rs`): deterministic (seeded xorshift), built from a rule set
//! so that the secrets are the rules' own (fake) examples.
//!
//! - `Clean`: plain, JSON, logfmt and CRI lines in which no rule keyword occurs.
//! - `Typical`: the same kinds of lines, some with everyday keyword-ish words ("token refreshed"),
//!   and about 1 % of lines carrying a rule example.
//! - `Worst`: every line full of keywords, negative examples and truncated examples (near misses).

#![allow(dead_code)]

// Crates that include both corpora (`benches/engines.rs`, `tests/engines.rs`) get this module
// twice, once per corpus: each corpus stays includable on its own, and the copies share no state.
#[allow(clippy::duplicate_mod)]
#[path = "../support/random_text.rs"]
mod random_text;

use aho_corasick::AhoCorasick;
use logredact::rules::RuleSet;
use random_text::{json_escape, Rng, ALNUM, HEX};

/// Which corpus to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Clean,
    Typical,
    Worst,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Clean, Kind::Typical, Kind::Worst];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Clean => "clean",
            Kind::Typical => "typical",
            Kind::Worst => "worst",
        }
    }
}

const SERVICES: &[&str] = &[
    "checkout",
    "cart",
    "payments",
    "inventory",
    "gateway",
    "search",
];
const PATHS: &[&str] = &[
    "/v1/orders",
    "/healthz",
    "/metrics",
    "/v2/users/42",
    "/static/app.js",
];
const MESSAGES: &[&str] = &[
    "request completed",
    "cache miss, fetching from upstream",
    "connection pool exhausted, waiting",
    "retrying upstream call after timeout",
    "user profile loaded",
    "scheduled job finished",
    "reconciling deployment replicas",
    "leader election renewed lease",
    "flushed 512 rows to storage",
    "GC pause 12ms",
];
/// Everyday lines that contain short keywords without being secrets.
const KEYWORDISH: &[&str] = &[
    "refreshing oauth token for client web",
    "password policy updated for tenant",
    "api request to upstream failed, status=503",
    "secret rotation scheduled",
    "loaded signing key id=7",
    "Authorization header missing",
];

/// Generates about `bytes` bytes of `kind` corpus for `rules`, whole lines only.
pub fn generate(kind: Kind, rules: &RuleSet, bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let keywords: Vec<String> = rules
        .rules
        .iter()
        .flat_map(|r| r.keywords.iter().map(|k| k.to_ascii_lowercase()))
        .collect();
    let keyword_finder = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&keywords)
        .expect("keywords build an automaton");
    let examples: Vec<&str> = rules
        .rules
        .iter()
        .flat_map(|r| r.examples.iter().map(String::as_str))
        .collect();
    let negatives: Vec<&str> = rules
        .rules
        .iter()
        .flat_map(|r| r.negative_examples.iter().map(String::as_str))
        .collect();

    let mut out = Vec::with_capacity(bytes + 1024);
    let mut message = String::new();
    let mut line = String::new();
    while out.len() < bytes {
        message.clear();
        match kind {
            Kind::Clean => plain_message(&mut rng, &mut message),
            Kind::Typical => {
                if rng.below(100) == 0 && !examples.is_empty() {
                    plain_message(&mut rng, &mut message);
                    message.push(' ');
                    message.push_str(rng.pick(&examples));
                } else if rng.below(10) == 0 {
                    message.push_str(rng.pick(KEYWORDISH));
                } else {
                    plain_message(&mut rng, &mut message);
                }
            }
            Kind::Worst => {
                near_miss_message(&mut rng, &keywords, &negatives, &examples, &mut message)
            }
        }
        line.clear();
        frame(&mut rng, &message, &mut line);
        if kind == Kind::Clean && keyword_finder.is_match(&line) {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn plain_message(rng: &mut Rng, out: &mut String) {
    out.push_str(rng.pick(MESSAGES));
    out.push_str(" service=");
    out.push_str(rng.pick(SERVICES));
    out.push_str(" path=");
    out.push_str(rng.pick(PATHS));
    out.push_str(" request_id=");
    rng.chars(HEX, 8, out);
    out.push('-');
    rng.chars(HEX, 12, out);
    out.push_str(&format!(" duration_ms={}", rng.below(900)));
}

/// Keywords with values that almost pass: too short, placeholders, negative and cut examples.
fn near_miss_message(
    rng: &mut Rng,
    keywords: &[String],
    negatives: &[&str],
    examples: &[&str],
    out: &mut String,
) {
    for _ in 0..8 {
        match rng.below(4) {
            0 if !negatives.is_empty() => out.push_str(rng.pick(negatives)),
            1 if !examples.is_empty() => {
                // A cut example: the keyword and the start of a secret, too short to match.
                let e = rng.pick(examples);
                let keep = e.len() / 2;
                out.push_str(e.get(..keep).unwrap_or(""));
            }
            _ if !keywords.is_empty() => {
                out.push_str(&keywords[rng.below(keywords.len())]);
                out.push(['=', ':', ' ', '_'][rng.below(4)]);
                let n = rng.below(12);
                rng.chars(ALNUM, n, out);
            }
            _ => out.push_str("token"),
        }
        out.push(' ');
    }
}

/// Wraps a message as one of the line formats containers produce.
fn frame(rng: &mut Rng, message: &str, out: &mut String) {
    let ts = format!(
        "2026-11-29T{:02}:{:02}:{:02}.{:06}Z",
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000)
    );
    match rng.below(4) {
        0 => out.push_str(&format!("{ts} INFO {message}")),
        1 => out.push_str(&format!(
            "{{\"ts\":\"{ts}\",\"level\":\"info\",\"msg\":\"{}\"}}",
            json_escape(message)
        )),
        2 => out.push_str(&format!("ts={ts} level=info msg={message:?}")),
        _ => out.push_str(&format!("{ts} stdout F {message}")),
    }
}
