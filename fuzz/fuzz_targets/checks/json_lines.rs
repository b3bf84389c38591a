//! JSON object lines (built from the fuzz input, or the input's own lines when they parse) through
//! the filter in `auto` and `json` formats: every output line is still JSON, with the same shape
//! (same keys, same array lengths, same numbers/booleans/nulls — only string contents may change),
//! envelope fields untouched, and planted example secrets gone from every decoded string.

use crate::support::{builtin_rules, contains, filter, run_stream};
use logredact::format::{Format, DOCKER_ENVELOPE_KEYS};
use serde_json::{Map, Value};

const KEYS: &[&str] = &[
    "log",
    "msg",
    "message",
    "time",
    "stream",
    "level",
    "password",
    "token",
    "api_key",
    "Authorization",
    "headers",
    "env",
    "data",
    "user",
    "url",
    "@timestamp",
    "secret",
    "kv",
];
const WORDS: &[&str] = &[
    "hello",
    " ",
    "\n",
    "\"",
    "\\",
    "/",
    "é",
    "\u{1F600}",
    "\t",
    "=",
    ":",
    "Bearer ",
    "password=",
    "token: ",
    "{\"a\":1}",
    "}",
    "[",
    "\u{0}",
    "-----BEGIN RSA PRIVATE KEY-----",
];

/// Pulls bytes off the front of the fuzz input; zeros once it is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// Planted secrets: (example line, secret substrings that must not survive).
fn plants() -> &'static [(String, Vec<String>)] {
    static PLANTS: std::sync::OnceLock<Vec<(String, Vec<String>)>> = std::sync::OnceLock::new();
    PLANTS.get_or_init(|| {
        let detector = filter(Format::Text).detector();
        let mut scratch = detector.scratch();
        let mut plants = Vec::new();
        for rule in builtin_rules().rules.iter().step_by(7) {
            let Some(example) = rule.examples.first() else {
                continue;
            };
            // Planted between other words: a rule anchored at line start/end does not fire there.
            let context = format!("words . {example} . words");
            let mut found = Vec::new();
            detector.find(context.as_bytes(), &mut scratch, &mut found);
            let secrets: Vec<String> = found
                .iter()
                .map(|f| context[f.start..f.end].to_string())
                .filter(|s| s.len() >= 8)
                .collect();
            if !secrets.is_empty() && !example.contains('\n') {
                plants.push((example.clone(), secrets));
            }
        }
        plants
    })
}

fn string(b: &mut Bytes, planted: &mut Vec<usize>) -> String {
    let mut s = String::new();
    for _ in 0..b.next() % 6 {
        let pick = b.next();
        match pick % 4 {
            0 => s.push_str(WORDS[usize::from(b.next()) % WORDS.len()]),
            1 => s.push(char::from(b' ' + b.next() % 95)),
            2 => {
                let i = usize::from(b.next()) % plants().len();
                planted.push(i);
                s.push(' ');
                s.push_str(&plants()[i].0);
                s.push(' ');
            }
            _ => s.push(char::from_u32(u32::from(b.next()) * 37).unwrap_or('?')),
        }
    }
    s
}

/// `depth` counts nesting in its low part and embedded documents in multiples of `EMBED`.
const EMBED: u32 = 16;

fn embedded(depth: u32) -> u32 {
    depth / EMBED
}

fn value(b: &mut Bytes, depth: u32, planted: &mut Vec<usize>) -> Value {
    match b.next() % if depth % EMBED > 3 { 5 } else { 8 } {
        0 => Value::Null,
        1 => Value::Bool(b.next() % 2 == 0),
        2 => Value::from(i64::from(b.next()) - 100),
        3 | 4 => Value::String(string(b, planted)),
        5 => Value::Array(
            (0..b.next() % 4)
                .map(|_| value(b, depth + 1, planted))
                .collect(),
        ),
        6 => Value::Object(object(b, depth + 1, planted)),
        // A JSON document inside a string, as loggers do (the filter decodes 3 levels of that).
        _ if embedded(depth) < 3 => {
            Value::String(Value::Object(object(b, depth + 1 + EMBED, planted)).to_string())
        }
        _ => Value::String(string(b, planted)),
    }
}

fn object(b: &mut Bytes, depth: u32, planted: &mut Vec<usize>) -> Map<String, Value> {
    let mut map = Map::new();
    for _ in 0..1 + b.next() % 5 {
        let key = KEYS[usize::from(b.next()) % KEYS.len()].to_string();
        map.insert(key, value(b, depth, planted));
    }
    map
}

/// Same shape: only string contents may differ.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(_), Value::String(_)) => true,
        // A bare scalar under a secret-named key is replaced by a quoted marker (the document
        // stays valid JSON; the value's type is all that changes).
        (Value::Number(_) | Value::Bool(_) | Value::Null, Value::String(s)) => {
            s.starts_with("[REDACTED")
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_shape(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        _ => a == b,
    }
}

/// Every decoded string in `v` (keys too), so a secret is looked for where JSON escapes can't hide it.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            strings(x, out)
        }),
        _ => {}
    }
}

/// The target's invariants on one input (panics name the invariant, never input text).
pub fn run(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let format = if data[0] & 1 == 0 {
        Format::Auto
    } else {
        Format::Json
    };
    let mut planted = Vec::new();
    let mut docs: Vec<Value> = Vec::new();
    if data[0] & 2 == 0 {
        // The input's own lines, when they are JSON objects: lets the fuzzer find odd escapes.
        for line in data[1..].split(|&b| b == b'\n') {
            if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(line) {
                docs.push(v);
            }
        }
    } else {
        let mut b = Bytes(&data[1..]);
        for _ in 0..1 + b.next() % 4 {
            docs.push(Value::Object(object(&mut b, 0, &mut planted)));
        }
    }
    if docs.is_empty() {
        return;
    }
    let input: Vec<u8> = if data[0] & 2 == 0 {
        // Keep the fuzzer's own spelling of each line (escapes, spaces, key order).
        data[1..]
            .split(|&b| b == b'\n')
            .filter(|l| matches!(serde_json::from_slice::<Value>(l), Ok(Value::Object(_))))
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect()
    } else {
        docs.iter()
            .flat_map(|d| d.to_string().into_bytes().into_iter().chain([b'\n']))
            .collect()
    };

    let (out, _) = run_stream(filter(format), &input, &[], 1 << 20);
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert!(lines.len() == docs.len() + 1, "line count changed");
    assert!(lines[docs.len()].is_empty(), "last newline lost");
    for (doc, line) in docs.iter().zip(&lines) {
        let redacted: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(_) => panic!("output line is not JSON"),
        };
        assert!(same_shape(doc, &redacted), "JSON shape changed");
        // The envelope strings of a Docker record (`time`, `stream` beside `log` and `time`) are
        // never touched; the same names in any other line are application fields. An envelope
        // key holding an object is just a field: secrets inside it are redacted like anywhere else.
        let docker = doc.get("log").is_some() && doc.get("time").is_some();
        let envelope_keys: &[&str] = if docker { DOCKER_ENVELOPE_KEYS } else { &[] };
        for key in envelope_keys {
            if let Some(Value::String(before)) = doc.get(key) {
                assert!(
                    redacted.get(key).and_then(Value::as_str) == Some(before.as_str()),
                    "envelope field changed"
                );
            }
        }
        // Envelope fields are never redacted (by design), so a secret planted there may stay.
        let mut decoded = Vec::new();
        if let Value::Object(fields) = &redacted {
            for (key, v) in fields {
                if !envelope_keys.contains(&key.as_str()) {
                    strings(v, &mut decoded);
                }
            }
        }
        for &i in &planted {
            for secret in &plants()[i].1 {
                assert!(
                    !decoded
                        .iter()
                        .any(|s| contains(s.as_bytes(), secret.as_bytes())),
                    "a planted secret survived (rule example #{i})"
                );
            }
        }
    }
}
