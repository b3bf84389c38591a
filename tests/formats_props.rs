//! Property tests of `--format auto` on structured lines, in process: a JSON object line stays
//! valid JSON with the same keys and the same non-string values whatever its strings hold;
//! Docker json-file and CRI envelope bytes never change.

use logredact::detect::Detector;
use logredact::engine::KeywordMatcher;
use logredact::filter::{Filter, Outcome};
use logredact::format::{Format, FormatOptions};
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Built once: compiling the rules per case would dominate the run time.
fn filter() -> &'static Filter {
    static FILTER: std::sync::OnceLock<Filter> = std::sync::OnceLock::new();
    FILTER.get_or_init(build_filter)
}

fn build_filter() -> Filter {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut set = RuleSet::default();
    for file in [
        "patterns/context.toml",
        "tests/fixtures/formats/context-rules.toml",
        "tests/fixtures/formats/tokens.toml",
    ] {
        set.add_file(&std::path::Path::new(root).join(file))
            .unwrap();
    }
    let matcher = KeywordMatcher::new(&set).unwrap();
    Filter::new(Detector::new(set, Box::new(matcher)))
}

fn json_filter() -> &'static Filter {
    static FILTER: std::sync::OnceLock<Filter> = std::sync::OnceLock::new();
    FILTER.get_or_init(|| {
        let base = build_filter();
        let rules = base.detector().rules().clone();
        let matcher = KeywordMatcher::new(&rules).unwrap();
        let options = FormatOptions {
            format: Format::Json,
            ..FormatOptions::default()
        };
        Filter::with_format(Detector::new(rules, Box::new(matcher)), &options)
    })
}

/// Redacts one line (with its newline) and returns the output line without the newline.
fn redact(filter: &Filter, line: &str) -> Vec<u8> {
    redact_bytes(filter, line.as_bytes())
}

fn redact_bytes(filter: &Filter, line: &[u8]) -> Vec<u8> {
    let mut batch = line.to_vec();
    batch.push(b'\n');
    let mut out = Vec::new();
    let mut scratch = filter.scratch();
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let bytes = match filter.process_lines(&batch, &mut scratch, &mut out, &mut stats) {
        Outcome::Unchanged => batch,
        Outcome::Rewritten { .. } => out,
    };
    assert_eq!(bytes.last(), Some(&b'\n'));
    bytes[..bytes.len() - 1].to_vec()
}

const FRAGMENTS: &[&str] = &[
    "hello",
    " ",
    "password=hunter2",
    " tkn_a8f3k2m9x7q1b4n6c2v8 ",
    "https://app:Tr0ub4dor3@db.internal/x",
    "Authorization: Bearer abcdefghijkl1234",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----",
    "\"",
    "\\",
    "\n",
    "\t",
    "\u{1}",
    "é",
    "😀",
    "{\"token\":\"abc\"}",
    "?access_token=ya29xyz&x=1",
    // Our own marker, apart from other text (a marker glued to a value hides the value from
    // `detect`, which skips any match touching a marker).
    " [REDACTED:x] ",
    "/",
];

const KEYS: &[&str] = &[
    "msg",
    "log",
    "time",
    "stream",
    "date",
    "password",
    "token",
    "api_key",
    "data",
    "Cookie",
    "client_secret",
    "level",
    "x",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..6).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        (-1e6f64..1e6).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            object(inner),
        ]
    })
}

fn object(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|members| {
        let mut map = Map::new();
        for (k, v) in members {
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    })
}

/// The value with every string and number blanked: what must survive redaction unchanged. (A
/// number under a secret-named key is replaced by a quoted marker, so the document stays valid.)
fn shape(v: &Value) -> Value {
    match v {
        Value::String(_) | Value::Number(_) => Value::String(String::new()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn json_lines_stay_valid_with_the_same_keys(v in object(value()), escape_slashes in any::<bool>()) {
        let f = filter();
        let mut line = serde_json::to_string(&v).unwrap();
        if escape_slashes {
            line = line.replace('/', "\\/");
        }
        let out = redact(f, &line);
        let parsed: Value = serde_json::from_slice(&out)
            .map_err(|e| TestCaseError::fail(format!("output is not JSON: {e}")))?;
        // Parse the input text too, so both sides round floats the same way.
        let v: Value = serde_json::from_str(&line).unwrap();
        prop_assert_eq!(shape(&parsed), shape(&v));
        // Only the envelope of a real Docker record (`log` and `time` at the top) is exempt; the
        // same names in any other JSON line are application fields, searched like any other.
        let docker = v.get("log").is_some() && v.get("time").is_some();
        let envelope = |k: &str, v: &Value| docker && ["time", "stream"].contains(&k) && v.is_string();
        if let Value::Object(m) = &v {
            for (k, value) in m {
                if envelope(k, value) {
                    prop_assert_eq!(parsed.get(k), Some(value));
                }
            }
        }
        let mut content = parsed.clone();
        if let Value::Object(m) = &mut content {
            m.retain(|k, v| !envelope(k, v));
        }
        let content = content.to_string();
        prop_assert!(!content.contains("hunter2"));
        prop_assert!(!content.contains("tkn_a8f3k2m9x7q1b4n6c2v8"));
        prop_assert!(!content.contains("Tr0ub4dor3"));
    }

    #[test]
    fn docker_envelope_bytes_never_change(log in text(), stderr in any::<bool>(), nanos in 0u32..1_000_000_000) {
        let f = filter();
        let stream = if stderr { "stderr" } else { "stdout" };
        let tail = format!(",\"stream\":\"{stream}\",\"time\":\"2024-05-01T10:00:00.{nanos:09}Z\"}}");
        let line = format!("{{\"log\":{}{tail}", serde_json::to_string(&log).unwrap());
        let out = redact(f, &line);
        let head: &[u8] = b"{\"log\":\"";
        prop_assert!(out.starts_with(head), "log field first");
        prop_assert!(out.ends_with(tail.as_bytes()), "envelope unchanged");
        let parsed: Value = serde_json::from_slice(&out).unwrap();
        prop_assert!(parsed["log"].is_string());
    }

    #[test]
    fn cri_envelope_bytes_never_change(msg in text(), partial in any::<bool>(), nanos in 0u32..1_000_000_000) {
        let f = filter();
        let msg = msg.replace('\n', " ");
        let prefix = format!("2024-05-01T10:00:00.{nanos:09}Z stdout {} ", if partial { 'P' } else { 'F' });
        let out = redact(f, &format!("{prefix}{msg}"));
        prop_assert!(out.starts_with(prefix.as_bytes()), "envelope unchanged");
        prop_assert!(!String::from_utf8_lossy(&out).contains("hunter2"));
    }

    #[test]
    fn json_format_always_writes_one_json_object(
        line in prop_oneof![
            text().prop_map(String::into_bytes),
            object(value()).prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..80),
        ]
    ) {
        let line: Vec<u8> = line.into_iter().filter(|&b| b != b'\n').collect();
        let out = redact_bytes(json_filter(), &line);
        let parsed: Value = serde_json::from_slice(&out)
            .map_err(|e| TestCaseError::fail(format!("output is not JSON: {e}")))?;
        prop_assert!(parsed.is_object());
    }
}
