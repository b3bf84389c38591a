//! The views of one line: which raw matches may be replaced where, the values of secret-named
//! members, and the decoded strings (at any depth of JSON-in-a-string) that get an engine pass
//! of their own.
//!
//! Owns: deciding, per line, which raw matches stand and which strings become views (the views
//! themselves and their way back to raw bytes are `views`'). Must never: write bytes, or drop a
//! raw match without a view that covers it.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use super::views::{encoding, Map, Views};
use super::{finding, message_start, reads_as_json, rule_finding, Framing, Scanner};
use crate::detect::{is_placeholder, RuleMatch};
use crate::finding::{is_placeholder_value, Encoding, Finding, FindingKind};
use crate::format::json;
use crate::format::tokens::{Role, Token, TokenKind, Tokens};

/// How deep JSON embedded in strings is followed as JSON; deeper, it is still searched as text.
const MAX_EMBED_DEPTH: u8 = 16;
/// Schemes kept in front of a secret-field value (`Bearer [REDACTED:…]`).
const AUTH_SCHEMES: &[&str] = &[
    "bearer ",
    "basic ",
    "token ",
    "apikey ",
    "digest ",
    "negotiate ",
];

/// One line being scanned.
pub(super) struct LineContext<'a> {
    pub scanner: &'a Scanner,
    pub text: &'a [u8],
    pub line: Range<usize>,
    pub framing: Framing,
}

impl LineContext<'_> {
    /// Adds to `out` the findings of this line: its raw `matches` where they may be replaced, the
    /// values of secret-named members, and (into `views`) the decoded strings to search.
    pub(super) fn scan_line(
        &self,
        matches: &[RuleMatch],
        tokens: &mut Tokens,
        views: &mut Views,
        buffers: &mut DecodeBuffers,
        out: &mut Vec<Finding>,
    ) {
        let line = &self.text[self.line.clone()];
        let region_start = match message_start(self.scanner, line) {
            Some(c) if self.framing == Framing::Lines => self.line.start + c.message_start,
            _ => self.line.start,
        };
        let region = &self.text[region_start..self.line.end];
        tokens.read(region);
        let map = Map::Offset(region_start);
        if self.framing == Framing::Window || !reads_as_json(self.scanner, region) {
            // Text: every match stands; quoted `"key": "value"` pairs still count.
            for m in matches {
                out.push(rule_finding(self.scanner, m, m.start..m.end, Encoding::Raw));
            }
            walk(
                self.scanner,
                region,
                tokens,
                &map,
                0,
                &[],
                views,
                buffers,
                out,
            );
            if memchr::memchr(b'\\', region).is_some() {
                // Quotes in text need not pair up (a logged field may hold a lone `"`), so the
                // strings found above may be the wrong ones: the whole line, unescaped, is one
                // more view.
                let mut level = buffers.take(0);
                json::decode(region, &mut level.decoded, &mut level.local);
                if self.scanner.detector.may_match_in(&level.decoded) {
                    views.push(&level.decoded, &map.child(0, &level.local), 1);
                }
                buffers.put_back(0, level);
            }
            return;
        }
        let envelope = docker_envelope(region, tokens);
        let mut valid: Option<bool> = None;
        for m in matches {
            let Some((s, e)) = m
                .start
                .checked_sub(region_start)
                .zip(m.end.checked_sub(region_start))
            else {
                out.push(rule_finding(self.scanner, m, m.start..m.end, Encoding::Raw));
                continue;
            };
            match tokens.holding(s, e) {
                Some(i) if envelope.contains(&i) => {}
                Some(i) => {
                    let t = &tokens.tokens[i];
                    let encoding = match t.kind {
                        TokenKind::Scalar => Some(Encoding::JsonScalar),
                        // Escapes inside or just before the span: the decoded view covers it.
                        TokenKind::String { .. }
                            if region[s..e].contains(&b'\\')
                                || odd_backslashes_before(region, t.content.start, s) =>
                        {
                            None
                        }
                        TokenKind::String { .. } => Some(Encoding::JsonString { depth: 1 }),
                    };
                    if let Some(encoding) = encoding {
                        out.push(rule_finding(self.scanner, m, m.start..m.end, encoding));
                    }
                }
                None => {
                    // Across tokens: in valid JSON the views cover what lies in strings and a
                    // replacement here would break the document; in anything else, text rules.
                    let valid = *valid.get_or_insert_with(|| is_valid_json(region));
                    if !valid {
                        out.push(rule_finding(self.scanner, m, m.start..m.end, Encoding::Raw));
                    }
                }
            }
        }
        walk(
            self.scanner,
            region,
            tokens,
            &map,
            1,
            &envelope,
            views,
            buffers,
            out,
        );
    }
}

/// The deepest level whose buffers [`DecodeBuffers`] keeps.
const KEPT_DEPTH: u8 = 2;
/// The longest decoded string whose buffers [`DecodeBuffers`] keeps.
const KEPT_BYTES: usize = crate::engine::WHOLE_LINE_LIMIT;

/// Buffers for the strings a line's walk decodes, one set per depth of JSON-in-a-string, kept
/// from line to line: decoding a batch's strings allocates nothing once they have grown (new
/// buffers per line and per embedded document were ~3 % of the realistic corpus's time in
/// `malloc`/`free`).
#[derive(Default)]
pub(super) struct DecodeBuffers {
    levels: Vec<Level>,
}

/// The buffers of one depth: a decoded string, its decoding map, the tokens of JSON inside it.
#[derive(Default)]
struct Level {
    decoded: Vec<u8>,
    local: Vec<usize>,
    tokens: Tokens,
}

impl DecodeBuffers {
    /// The buffers of `depth`, taken out so that deeper walks can take theirs.
    fn take(&mut self, depth: u8) -> Level {
        let depth = usize::from(depth);
        if self.levels.len() <= depth {
            self.levels.resize_with(depth + 1, Level::default);
        }
        std::mem::take(&mut self.levels[depth])
    }

    /// Gives back what [`DecodeBuffers::take`] took; keeps it only when it is a depth that
    /// ordinary lines use (a Docker `log` string and the strings of the JSON inside it) and not
    /// grown past an ordinary line, so that a long or deeply nested line does not leave its
    /// buffers behind (a decoding map is 8 bytes per decoded byte).
    fn put_back(&mut self, depth: u8, level: Level) {
        if depth <= KEPT_DEPTH && level.decoded.capacity() <= KEPT_BYTES {
            self.levels[usize::from(depth)] = level;
        }
    }
}

/// Walks the tokens of `text` (a view at escape depth `depth`, mapped by `map`): values of
/// secret-named members become findings; escaped strings are decoded into `views` and, when they
/// hold JSON, walked in turn. Tokens listed in `skip` (a Docker envelope) are left alone.
#[allow(clippy::too_many_arguments)]
fn walk(
    scanner: &Scanner,
    text: &[u8],
    tokens: &Tokens,
    map: &Map,
    depth: u8,
    skip: &[usize],
    views: &mut Views,
    buffers: &mut DecodeBuffers,
    out: &mut Vec<Finding>,
) {
    if tokens.tokens.is_empty() {
        return;
    }
    let secret_containers = secret_containers(scanner, text, tokens);
    let mut level = buffers.take(depth);
    let Level {
        decoded,
        local,
        tokens: inner,
    } = &mut level;
    for (i, t) in tokens.tokens.iter().enumerate() {
        if t.role == Role::Key || skip.contains(&i) {
            continue;
        }
        if is_secret_value(scanner, text, tokens, t, &secret_containers) {
            let name = match t.role {
                Role::MemberValue { key } => token_text(text, &tokens.tokens[key as usize]),
                _ => Cow::Borrowed(&b""[..]),
            };
            let shape = ExemptShapes::for_key(&name);
            if let Some(f) = secret_field(text, t, map, depth, (decoded, local), shape) {
                out.push(f);
                continue;
            }
        }
        if !matches!(t.kind, TokenKind::String { .. }) {
            continue;
        }
        if !t.escaped {
            // The raw pass saw these bytes, but not alone: a match that began at the key
            // (`"password":"password=hunter2 …"`) may have been vetoed or dropped as a whole.
            let content = &text[t.content.clone()];
            if depth <= 1 && scanner.detector.may_match_in(content) {
                views.push(
                    content,
                    &map.sub(t.content.start, content.len()),
                    depth.max(1),
                );
            }
            continue;
        }
        json::decode(&text[t.content.clone()], decoded, local);
        let searched = scanner.detector.may_match_in(decoded);
        // JSON inside the string (a Docker `log` holding a JSON line, `msg="{\"auth\": …}"`):
        // its members count as any others.
        let holds_json = depth < MAX_EMBED_DEPTH && holds_a_member(decoded);
        if !searched && !holds_json {
            continue;
        }
        let child = map.child(t.content.start, local);
        if searched {
            views.push(decoded, &child, depth + 1);
        }
        if holds_json {
            inner.read(decoded);
            walk(
                scanner,
                decoded,
                inner,
                &child,
                depth + 1,
                &[],
                views,
                buffers,
                out,
            );
        }
    }
    buffers.put_back(depth, level);
}

/// Whether `decoded` holds a JSON member's `":` (JSON embedded in a string). One searcher for
/// every decoded string: `memmem::find` builds one per call.
fn holds_a_member(decoded: &[u8]) -> bool {
    static MEMBER: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    MEMBER
        .get_or_init(|| memchr::memmem::Finder::new(b"\":"))
        .find(decoded)
        .is_some()
}

/// The finding for the value of a secret-named member, unless it is empty or a placeholder.
fn secret_field(
    text: &[u8],
    t: &Token,
    map: &Map,
    depth: u8,
    (decoded, local): (&mut Vec<u8>, &mut Vec<usize>),
    shape: ExemptShapes,
) -> Option<Finding> {
    let content = &text[t.content.clone()];
    match t.kind {
        TokenKind::Scalar => {
            // A small count under a count-like name (`"tokens": 42`) is not a secret; a number
            // of 6+ digits may be a PIN or a numeric key and stays redacted.
            if matches!(content, b"true" | b"false" | b"null")
                || (shape == ExemptShapes::Counts && is_small_count(content))
            {
                return None;
            }
            let encoding = match depth {
                0 => Encoding::Raw,
                1 => Encoding::JsonScalar,
                d => Encoding::JsonString { depth: d - 1 },
            };
            Some(finding(
                FindingKind::SecretField,
                map.raw(t.content.clone()),
                encoding,
            ))
        }
        TokenKind::String { .. } => {
            json::decode(content, decoded, local);
            let span = secret_value_span(decoded);
            let value = &decoded[span.clone()];
            if span.is_empty()
                || is_placeholder(value)
                || is_placeholder_value(value)
                || shape.allows_reference(value)
            {
                return None;
            }
            // Decoded span → bytes of this view → raw.
            let start = local[span.start];
            let end = local[span.end..]
                .iter()
                .copied()
                .find(|&l| l > local[span.end - 1])
                .unwrap_or(content.len());
            let base = t.content.start;
            Some(finding(
                FindingKind::SecretField,
                map.raw(base + start..base + end),
                encoding(depth),
            ))
        }
    }
}

/// Whether value token `t` is a secret by its place: under a secret-named key, an element of a
/// list under one, or the `value` of an object that is named a secret (`{"name": "DB_PASSWORD",
/// "value": …}`, `{"db_password": {"sensitive": true, "value": …}}`).
fn is_secret_value(
    scanner: &Scanner,
    text: &[u8],
    tokens: &Tokens,
    t: &Token,
    secret_containers: &[bool],
) -> bool {
    let in_secret = t.container.is_some_and(|c| secret_containers[c as usize]);
    match t.role {
        Role::Key => false,
        Role::MemberValue { key } => {
            let name = token_text(text, &tokens.tokens[key as usize]);
            scanner.is_secret_key(&name) || (in_secret && is_value_key(&name))
        }
        Role::Element => t.container.is_some_and(|c| {
            let container = tokens.containers[c as usize];
            !container.is_object
                && container.key.is_some_and(|k| {
                    scanner.is_secret_key(&token_text(text, &tokens.tokens[k as usize]))
                })
        }),
    }
}

/// Per container: whether it is named a secret, by the key it is the value of, or by a
/// `name`/`key` member whose value names a secret.
fn secret_containers(scanner: &Scanner, text: &[u8], tokens: &Tokens) -> Vec<bool> {
    let mut secret: Vec<bool> = tokens
        .containers
        .iter()
        .map(|c| {
            c.key.is_some_and(|k| {
                scanner.is_secret_key(&token_text(text, &tokens.tokens[k as usize]))
            })
        })
        .collect();
    for t in &tokens.tokens {
        let (Role::MemberValue { key }, Some(c)) = (t.role, t.container) else {
            continue;
        };
        let name = token_text(text, &tokens.tokens[key as usize]);
        if (name.eq_ignore_ascii_case(b"name") || name.eq_ignore_ascii_case(b"key"))
            && scanner.is_secret_key(&token_text(text, t))
        {
            secret[c as usize] = true;
        }
    }
    secret
}

fn is_value_key(name: &[u8]) -> bool {
    ["value", "secret_value", "plaintext", "data"]
        .iter()
        .any(|v| name.eq_ignore_ascii_case(v.as_bytes()))
}

/// A token's text, decoded when it holds escapes.
fn token_text<'a>(text: &'a [u8], t: &Token) -> Cow<'a, [u8]> {
    let raw = &text[t.content.clone()];
    if !t.escaped {
        return Cow::Borrowed(raw);
    }
    let (mut decoded, mut map) = (Vec::new(), Vec::new());
    json::decode(raw, &mut decoded, &mut map);
    Cow::Owned(decoded)
}

/// The tokens of a Docker json-file record's envelope (`time`, `stream`), which are never
/// touched: only when the line is such a record (a top-level object with `log` and `time`).
fn docker_envelope(text: &[u8], tokens: &Tokens) -> Vec<usize> {
    let top_keys = || {
        tokens
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.role == Role::Key && t.container == Some(0))
    };
    let has = |name: &[u8]| top_keys().any(|(_, t)| &text[t.content.clone()] == name);
    if !tokens.containers.first().is_some_and(|c| c.is_object) || !has(b"log") || !has(b"time") {
        return Vec::new();
    }
    tokens
        .tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| match t.role {
            Role::MemberValue { key } => {
                t.container == Some(0)
                    && matches!(
                        &text[tokens.tokens[key as usize].content.clone()],
                        b"time" | b"stream"
                    )
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether the byte at `at` is escaped: an odd run of backslashes right before it (not counting
/// back past `from`, the string's start).
fn odd_backslashes_before(text: &[u8], from: usize, at: usize) -> bool {
    text[from..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
        % 2
        == 1
}

/// Whether `text` is one valid JSON document (strict; any depth the parser allows).
fn is_valid_json(text: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

/// A JSON number of at most 5 digits (with an optional sign and fraction): a count, never a key.
fn is_small_count(number: &[u8]) -> bool {
    let digits = number.strip_prefix(b"-").unwrap_or(number);
    let whole = digits.split(|&b| b == b'.').next().unwrap_or(digits);
    !whole.is_empty() && whole.len() <= 5 && digits.iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

/// Which benign value shapes a secret-named member's key allows. Fail closed: only keys that name
/// token counts (`tokens`, `max_tokens`) may hold a small number; keys with `secret` in them a
/// `namespace/name` reference; only keys that name a secret object itself (`secret`,
/// `secretName`, `secretRef`) a bare object name (`webhook-server-cert`), so
/// `{"client_secret":"prod-signing-key"}` stays redacted. A password-like key (`password`, `pin`,
/// `passwd`, …) allows none, so `{"password":"summer/winter"}` and `{"password":1234}` stay
/// redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExemptShapes {
    None,
    Counts,
    /// `namespace/name` references.
    References,
    /// References and bare object names.
    ObjectNames,
}

impl ExemptShapes {
    fn for_key(name: &[u8]) -> Self {
        let name = name.to_ascii_lowercase();
        let has = |w: &[u8]| name.windows(w.len()).any(|x| x == w);
        if has(b"pass") || has(b"pwd") || has(b"pin") {
            ExemptShapes::None
        } else if has(b"token") {
            ExemptShapes::Counts
        } else if has(b"secret") && names_a_secret_object(&name) {
            ExemptShapes::ObjectNames
        } else if has(b"secret") {
            ExemptShapes::References
        } else {
            ExemptShapes::None
        }
    }

    /// Whether `value` is a secret's name, not its value, under a key of this kind.
    fn allows_reference(self, value: &[u8]) -> bool {
        match self {
            ExemptShapes::None | ExemptShapes::Counts => false,
            ExemptShapes::References => is_secret_reference(value),
            ExemptShapes::ObjectNames => is_secret_reference(value) || is_secret_object_name(value),
        }
    }
}

/// Whether a (lower-cased) key names a Kubernetes secret object rather than a secret value:
/// `secret`, `secrets`, `secretName`, `secret_name`, `secretRef`, `tlsSecret`, ….
fn names_a_secret_object(key: &[u8]) -> bool {
    let key: Vec<u8> = key
        .iter()
        .copied()
        .filter(|&b| b != b'_' && b != b'-')
        .collect();
    [&b"secret"[..], b"secrets", b"tlssecret"].contains(&key.as_slice())
        || key.ends_with(b"secretname")
        || key.ends_with(b"secretref")
}

/// A secret's name rather than its value: a Kubernetes-style `namespace/name` reference
/// (`{"secret":"shop/db"}`), lower-case DNS labels on both sides of one `/`, each with a letter.
/// Mixed case, other punctuation or more segments stay secrets (fail closed).
fn is_secret_reference(value: &[u8]) -> bool {
    let label = |part: &[u8]| {
        (1..=63).contains(&part.len())
            && part.first().is_some_and(|b| b.is_ascii_lowercase())
            && part.last().is_some_and(|b| b.is_ascii_alphanumeric())
            && part
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
    };
    let mut parts = value.splitn(3, |&b| b == b'/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(ns), Some(name), None) if label(ns) && label(name))
}

/// A bare Kubernetes object name (`"secret":"webhook-server-cert"`, `db-credentials`): two to
/// eight lower-case words joined by `-`, the last one a kind of secret object (`cert`, `tls`,
/// `key`, `credentials`, …). A passphrase of words (`correct-horse-battery-staple`) does not end
/// in one, and anything with a digit, a capital or other punctuation is no such name: they stay
/// secrets.
fn is_secret_object_name(value: &[u8]) -> bool {
    const KINDS: &[&[u8]] = &[
        b"ca",
        b"cert",
        b"certs",
        b"certificate",
        b"tls",
        b"ssl",
        b"secret",
        b"secrets",
        b"token",
        b"tokens",
        b"creds",
        b"credentials",
        b"key",
        b"keys",
        b"keypair",
        b"keystore",
        b"truststore",
        b"password",
        b"passwords",
        b"auth",
        b"config",
        b"kubeconfig",
        b"env",
    ];
    let mut words = value.split(|&b| b == b'-');
    let count = words.clone().count();
    value.len() <= 63
        && (2..=8).contains(&count)
        && words.all(|w| !w.is_empty() && w.iter().all(u8::is_ascii_lowercase))
        && value
            .rsplit(|&b| b == b'-')
            .next()
            .is_some_and(|last| KINDS.contains(&last))
}

/// The part of a secret-field value to hide: all of it, or what follows an auth scheme word.
fn secret_value_span(value: &[u8]) -> Range<usize> {
    for scheme in AUTH_SCHEMES {
        if value.len() > scheme.len()
            && value[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            return scheme.len()..value.len();
        }
    }
    0..value.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_scheme_words_stay_in_secret_fields() {
        assert_eq!(secret_value_span(b"Bearer abc.def"), 7..14);
        assert_eq!(secret_value_span(b"basic dXNlcjpwdw=="), 6..18);
        assert_eq!(secret_value_span(b"hunter2"), 0..7);
        assert_eq!(secret_value_span(b"Bearer "), 0..7);
    }

    #[test]
    fn counts_and_references_are_not_secret_values() {
        assert!(is_small_count(b"42") && is_small_count(b"4096") && is_small_count(b"1.5"));
        assert!(!is_small_count(b"123456") && !is_small_count(b"12345678901234567890"));
        assert!(is_secret_reference(b"shop/db") && is_secret_reference(b"kube-system/tls-cert"));
        let object_key = ExemptShapes::for_key(b"secretName");
        assert_eq!(ExemptShapes::for_key(b"secret"), ExemptShapes::ObjectNames);
        assert_eq!(
            ExemptShapes::for_key(b"tls_secret"),
            ExemptShapes::ObjectNames
        );
        for value_key in [&b"client_secret"[..], b"secretAccessKey", b"api-secret"] {
            assert_eq!(ExemptShapes::for_key(value_key), ExemptShapes::References);
        }
        for name in [
            &b"webhook-server-cert"[..],
            b"db-credentials",
            b"registry-auth",
            b"tls-key",
        ] {
            assert!(object_key.allows_reference(name));
            // Under a key that holds a secret value, a name-like value stays a secret.
            assert!(!ExemptShapes::References.allows_reference(name));
        }
        for secret in [
            &b"correct-horse-battery-staple"[..],
            b"webhook-server-cert2",
            b"Webhook-server-cert",
            b"cert",
            b"x--cert",
            b"a-b-c-d-e-f-g-h-cert",
            b"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0",
            b"Shop/Db9",
            b"a/b/c",
            b"/db",
            b"hunter2",
        ] {
            assert!(!object_key.allows_reference(secret));
        }
    }
}
