//! A generated, realistic container-log corpus for benchmarks and differential tests.
//!
//! Deterministic (seeded xorshift), so every run measures the same bytes. Mixes plain
//! application lines, nginx access lines, JSON logs, Docker json-file and CRI envelopes;
//! a configurable share of lines carries a made-up secret in a common shape.

#![allow(dead_code)]

#[path = "random_text.rs"]
mod random_text;

pub use random_text::Rng;
use random_text::{json_escape, ALNUM, HEX};

/// What the corpus is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No line contains any keyword-looking text or secret.
    Clean,
    /// About `secret_permille` / 1000 of lines carry a secret.
    Typical { secret_permille: u32 },
    /// Every line is full of keywords and near-miss candidates that are not secrets.
    Worst,
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const SERVICES: &[&str] = &[
    "checkout",
    "cart",
    "payments-api",
    "auth-svc",
    "inventory",
    "gateway",
];
const PATHS: &[&str] = &[
    "/api/v1/orders",
    "/healthz",
    "/metrics",
    "/api/v2/users/42/profile",
    "/static/app.js",
    "/login",
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
];

/// Appends one made-up secret line body (never a real credential).
fn secret_message(rng: &mut Rng, out: &mut String) {
    match rng.below(6) {
        0 => {
            out.push_str("export GITHUB_TOKEN=ghp_");
            rng.chars(ALNUM, 36, out);
        }
        1 => {
            out.push_str("aws configure: aws_access_key_id=AKIA");
            rng.chars(UPPER_DIGITS, 16, out);
            out.push_str(" aws_secret_access_key=");
            rng.chars(B64, 40, out);
        }
        2 => {
            out.push_str("connecting to postgres://app:");
            rng.chars(ALNUM, 18, out);
            out.push_str("@db.internal:5432/orders");
        }
        3 => {
            out.push_str("curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.");
            rng.chars(ALNUM, 60, out);
            out.push('.');
            rng.chars(ALNUM, 43, out);
            out.push('\'');
        }
        4 => {
            out.push_str("slack notify with token xoxb-");
            rng.chars(b"0123456789", 12, out);
            out.push('-');
            rng.chars(b"0123456789", 13, out);
            out.push('-');
            rng.chars(ALNUM, 24, out);
        }
        _ => {
            out.push_str("login attempt user=alice password=");
            rng.chars(ALNUM, 14, out);
        }
    }
}

/// Near misses: keywords everywhere, nothing that passes a rule's gates.
fn near_miss_message(rng: &mut Rng, out: &mut String) {
    let parts: &[&str] = &[
        "token=${TOKEN} ",
        "password=******** ",
        "api_key=<redacted> ",
        "Authorization: Bearer ",
        "ghp_short ",
        "AKIA-not-a-key ",
        "secret key token password apikey ",
        "postgres://localhost/db ",
        "xoxb-xxxx ",
        "sk_live_EXAMPLE ",
    ];
    for _ in 0..6 {
        out.push_str(rng.pick(parts));
    }
    rng.chars(HEX, 8, out);
}

fn plain_message(rng: &mut Rng, out: &mut String) {
    out.push_str(rng.pick(MESSAGES));
    out.push_str(" service=");
    out.push_str(rng.pick(SERVICES));
    out.push_str(" request_id=");
    rng.chars(HEX, 8, out);
    out.push('-');
    rng.chars(HEX, 4, out);
    out.push('-');
    rng.chars(HEX, 12, out);
    out.push_str(&format!(" duration_ms={}", rng.below(900)));
}

fn timestamp(rng: &mut Rng) -> String {
    format!(
        "2026-11-29T{:02}:{:02}:{:02}.{:09}Z",
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000_000)
    )
}

/// Appends one log line (with its newline) to `out`.
pub fn line(rng: &mut Rng, kind: Kind, out: &mut String) {
    let mut msg = String::new();
    match kind {
        Kind::Clean => plain_message(rng, &mut msg),
        Kind::Worst => near_miss_message(rng, &mut msg),
        Kind::Typical { secret_permille } => {
            if (rng.below(1000) as u32) < secret_permille {
                secret_message(rng, &mut msg);
            } else {
                plain_message(rng, &mut msg);
            }
        }
    }
    let ts = timestamp(rng);
    match rng.below(5) {
        0 => out.push_str(&format!("{ts} INFO  [{}] {msg}\n", rng.pick(SERVICES))),
        1 => out.push_str(&format!(
            "10.0.{}.{} - - [29/Nov/2026:13:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" 200 {} \"-\" \"kube-probe/1.29\" {msg}\n",
            rng.below(255),
            rng.below(255),
            rng.below(60),
            rng.below(60),
            rng.pick(PATHS),
            rng.below(50_000)
        )),
        2 => out.push_str(&format!(
            "{{\"ts\":\"{ts}\",\"level\":\"info\",\"logger\":\"{}\",\"msg\":\"{}\",\"attempt\":{}}}\n",
            rng.pick(SERVICES),
            json_escape(&msg),
            rng.below(5)
        )),
        3 => out.push_str(&format!(
            "{{\"log\":\"{}\\n\",\"stream\":\"stdout\",\"time\":\"{ts}\"}}\n",
            json_escape(&msg)
        )),
        _ => out.push_str(&format!("{ts} stdout F {msg}\n")),
    }
}

/// About `bytes` bytes of corpus of the given kind.
pub fn generate(kind: Kind, bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 512);
    while out.len() < bytes {
        line(&mut rng, kind, &mut out);
    }
    out.into_bytes()
}
