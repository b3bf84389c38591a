//! Envelope invariance (one scanner, one list of findings): every built-in example's secret is
//! redacted whatever wraps it — plain text, text with surrounding fields, a JSON value, JSON in a
//! CRI line, text in a CRI line, JSON in a Docker `log` string, Docker-in-Docker, a Fluent Bit
//! record, logfmt, and inside a line longer than `--max-line-bytes` — on every compiled engine,
//! with random surrounding fields (proptest). Secret-named fields and private-key blocks too.

mod common;

use common::builtin_filters as filters;

use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};
use proptest::prelude::*;
use serde_json::Value;

const MAX_LINE_BYTES: usize = 4096;

fn redact(filter: &Filter, input: &[u8]) -> Vec<u8> {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::new();
    let options = StreamOptions {
        max_line_bytes: MAX_LINE_BYTES,
        ..StreamOptions::default()
    };
    stream::run(&mut &input[..], &mut out, filter, options, &mut stats).expect("in-memory stream");
    out
}

/// The secrets of `text` as plain text: the bytes of each finding (long enough to be told apart
/// from ordinary words).
fn secrets_of(filter: &Filter, text: &str) -> Vec<Vec<u8>> {
    let mut scratch = filter.scratch();
    let input = format!("{text}\n");
    filter
        .findings(input.as_bytes(), &mut scratch)
        .iter()
        .map(|f| input.as_bytes()[f.start..f.end].to_vec())
        .filter(|s| s.len() >= 8)
        // A secret that also stands elsewhere in the example (`password 'password'`) cannot be
        // told apart from that other text in the output.
        .filter(|s| input.as_bytes().windows(s.len()).filter(|w| w == s).count() == 1)
        .collect()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// The wrappers of a (one-line or multi-line) message, with surrounding fields `field`.
fn wrappers(message: &str, field: &str) -> Vec<(&'static str, String)> {
    let time = "2024-05-01T10:00:00.123456789Z";
    let json = format!(
        "{{\"level\":\"info\",\"user\":{},\"msg\":{}}}",
        json_string(field),
        json_string(message)
    );
    let docker = |log: &str| {
        format!(
            "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"{time}\"}}",
            json_string(&format!("{log}\n"))
        )
    };
    let per_line = |prefix: &str| {
        message
            .lines()
            .map(|l| format!("{prefix}{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let logfmt_value = message
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    let mut all = vec![
        ("plain", message.to_string()),
        (
            "text with fields",
            per_line(&format!("{time} INFO user={field} ")),
        ),
        ("json value", json.clone()),
        // PHP's `json_encode` and others write `/` as `\/`: a keyword such as `postgres://`
        // is then only in the decoded string.
        ("json with escaped slashes", json.replace('/', "\\/")),
        ("cri json", format!("{time} stdout F {json}")),
        ("cri text", per_line(&format!("{time} stderr F "))),
        ("docker json", docker(&json)),
        ("docker in docker", docker(&docker(&json))),
        (
            "fluent bit record",
            format!(
                "[1714556400.0,{{\"log\":{},\"kubernetes\":{{\"pod_name\":{}}}}}]",
                json_string(message),
                json_string(field)
            ),
        ),
        (
            "logfmt",
            format!("level=info user={field} msg=\"{logfmt_value}\""),
        ),
    ];
    if !message.contains('\n') {
        let filler = "lorem ipsum dolor sit amet ".repeat(2 * MAX_LINE_BYTES / 27);
        all.push(("long line", format!("{filler}{message} {filler}")));
    }
    all
}

/// Every string of `out`'s JSON documents, decoded, following JSON inside strings; plus the raw
/// output itself.
fn readable_texts(out: &[u8]) -> Vec<String> {
    fn strings(v: &Value, into: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                into.push(s.clone());
                if let Ok(inner) = serde_json::from_str::<Value>(s.trim()) {
                    strings(&inner, into);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| strings(x, into)),
            Value::Object(m) => m.values().for_each(|x| strings(x, into)),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(out).into_owned();
    let mut texts = vec![text.clone()];
    for line in text.lines() {
        let doc = line.find(['{', '[']).map_or(line, |at| &line[at..]);
        if let Ok(v) = serde_json::from_str::<Value>(doc) {
            strings(&v, &mut texts);
        }
    }
    texts
}

/// The (engine, rule, wrapper) triples whose secret survives.
fn leaks(message: &str, field: &str, rule: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (choice, filter) in filters() {
        let secrets = secrets_of(filter, message);
        for (wrapper, wrapped) in wrappers(message, field) {
            let out = redact(filter, format!("{wrapped}\n").as_bytes());
            let texts = readable_texts(&out);
            for secret in &secrets {
                let secret = String::from_utf8_lossy(secret);
                if texts.iter().any(|t| t.contains(secret.as_ref())) {
                    found.push(format!("{choice:?} {rule}: {wrapper}"));
                    break;
                }
            }
        }
    }
    found
}

/// Rules anchored at a line's start (`^\s*password 'x'` in build.gradle, `password x` lines of
/// .netrc): they match only where their line starts a view, so a prefix (a CRI envelope, a logger's
/// fields) or a JSON string they were not searched in hides them. Known limitation.
const LINE_ANCHORED: &[&str] = &["gradle-credentials-password", "netrc-password"];

#[test]
fn every_builtin_example_is_redacted_in_every_wrapper() {
    let rules = RuleSet::builtin().expect("built-in rules load");
    for id in LINE_ANCHORED {
        let rule = rules
            .rules
            .iter()
            .find(|r| r.id == *id)
            .expect("rule exists");
        assert!(
            rule.pattern.contains('^'),
            "{id} is no longer line-anchored"
        );
    }
    let mut all = Vec::new();
    let mut checked = 0;
    for rule in rules
        .rules
        .iter()
        .filter(|r| !LINE_ANCHORED.contains(&r.id.as_str()))
    {
        for example in &rule.examples {
            all.extend(leaks(example, "bob", &rule.id));
            checked += 1;
        }
    }
    assert!(checked > 500, "examples checked: {checked}");
    // Rule ids and wrappers only: never the secret.
    assert!(all.is_empty(), "{} leaks: {all:#?}", all.len());
}

#[test]
fn secret_fields_and_private_keys_are_redacted_in_every_wrapper() {
    let cases = [
        ("accessToken", r#"{"accessToken":"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"}"#, "q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"),
        ("sts", r#"{"Credentials":{"SecretAccessKey":"wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEYq","SessionToken":"FwoGZXIvYXdzEtM8ucCJoGYxVBmrhvbZybbk"}}"#, "FwoGZXIvYXdzEtM8ucCJoGYxVBmrhvbZybbk"),
        ("docker auth", r#"{"auths":{"registry.shop.test":{"auth":"ZGVwbG95OmRmbHpHQyMhQy0xazZV"}}}"#, "ZGVwbG95OmRmbHpHQyMhQy0xazZV"),
        ("name/value", r#"{"env":[{"name":"DB_PASSWORD","value":"Qw3rtyU1op"}]}"#, "Qw3rtyU1op"),
        ("nested value", r#"{"db_password":{"sensitive":true,"value":"Qw3rtyU1op"}}"#, "Qw3rtyU1op"),
        ("refreshToken", r#"{"refreshToken":"r3fr3shT0k3nq2Xl3kL9vJr8mN7"}"#, "r3fr3shT0k3nq2Xl3kL9vJr8mN7"),
        ("pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
    ];
    let mut all = Vec::new();
    for (name, message, secret) in cases {
        for (choice, filter) in filters() {
            for (wrapper, wrapped) in wrappers(message, "bob") {
                // A private key is multi-line: only wrappers that keep its lines apply (a logger
                // prefixes the first line of a message, not each line of it).
                if name == "pem" && matches!(wrapper, "logfmt" | "long line" | "text with fields") {
                    continue;
                }
                let out = redact(filter, format!("{wrapped}\n").as_bytes());
                if readable_texts(&out).iter().any(|t| t.contains(secret)) {
                    all.push(format!("{choice:?} {name}: {wrapper}"));
                }
            }
        }
    }
    assert!(all.is_empty(), "{} leaks: {all:#?}", all.len());
}

/// Surrounding fields an attacker may choose: marker fragments, armour, quotes, escapes.
fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "bob",
            "[REDACTED",
            "[REDACTED:x]",
            "]",
            "-----BEGIN PRIVATE KEY-----",
            "\"",
            "\\",
            "\\\"",
            "{",
            "}",
            "[",
            "=",
            " ",
            "\u{e9}",
            "password",
        ]),
        0..5,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn examples_survive_no_wrapper_with_random_fields(field in field(), pick in any::<prop::sample::Index>()) {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let examples: Vec<(&str, &str)> = rules
            .rules
            .iter()
            .flat_map(|r| r.examples.iter().map(move |e| (r.id.as_str(), e.as_str())))
            .collect();
        let (rule, example) = examples[pick.index(examples.len())];
        prop_assume!(!LINE_ANCHORED.contains(&rule));
        let leaks = leaks(example, &field, rule);
        prop_assert!(leaks.is_empty(), "{:?}", leaks);
    }
}
