//! What every layer of the data path shares: a [`Finding`] (what to replace, where, and how its
//! bytes are encoded), the names of the finding kinds that no rule makes, and the grammar of the
//! markers logredact writes.
//!
//! Owns: the one definition of a finding and of "already redacted". Must never: import any other
//! module of this crate (this is the bottom of the layering: `detect`, `format`, `scan`, `redact`,
//! `stream`, `lint` and the CLI all build on it), or hold the bytes of a secret — a finding is
//! offsets only.
//!
//! Coordinates: a finding's `start..end` are byte offsets into the raw text its scan was handed (a
//! batch of lines, a window of one long line, one message), never into a decoded view of it. A
//! secret found in a decoded JSON string is mapped back to the raw bytes that encode it, widened to
//! whole escapes, and its [`Encoding`] says how those bytes encode it.

use std::ops::Range;
use std::sync::OnceLock;

/// Marker id of a value replaced because its key names a secret.
pub const SECRET_FIELD_ID: &str = "secret-field";
/// Marker id of the body of a private-key block.
pub const PRIVATE_KEY_BLOCK_ID: &str = "private-key-block";
/// Marker id of an rsyslog message that could not be processed (replaced whole, fail closed).
pub const UNPROCESSABLE_ID: &str = "unprocessable-message";
/// The text every marker starts with.
pub const MARKER_OPEN: &[u8] = b"[REDACTED";

/// Why a span is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// A rule matched: the index into `RuleSet::rules`.
    Rule(u32),
    /// The value of a key that names a secret (`"password": …`), whatever it looks like.
    SecretField,
    /// A body line (or the body part of a line) of a multi-line private key.
    PrivateKeyBody,
}

impl FindingKind {
    /// A dense index over all kinds for per-kind counters: rules first, then the two kinds no rule
    /// makes. `rule_count` is the number of rules.
    pub fn counter_index(self, rule_count: usize) -> usize {
        match self {
            FindingKind::Rule(i) => i as usize,
            FindingKind::SecretField => rule_count,
            FindingKind::PrivateKeyBody => rule_count + 1,
        }
    }

    /// How many counters [`FindingKind::counter_index`] needs for `rule_count` rules.
    pub fn counter_len(rule_count: usize) -> usize {
        rule_count + 2
    }

    /// The marker id of a kind that no rule makes; `None` for rules (their id is in the rule set).
    pub fn builtin_id(self) -> Option<&'static str> {
        match self {
            FindingKind::Rule(_) => None,
            FindingKind::SecretField => Some(SECRET_FIELD_ID),
            FindingKind::PrivateKeyBody => Some(PRIVATE_KEY_BLOCK_ID),
        }
    }
}

/// How the raw bytes of a finding encode the secret, which decides how a replacement is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Encoding {
    /// The bytes are the secret (text lines, CRI messages).
    #[default]
    Raw,
    /// Inside a JSON string literal, escaped `depth` times (1: a string of the line itself; 2: a
    /// string of JSON embedded in a string…). A replacement must be valid string content there.
    JsonString {
        /// Times escaped (1 or more).
        depth: u8,
    },
    /// A bare JSON scalar (a number under a secret-named key): the replacement is written as a
    /// quoted string so the document stays valid.
    JsonScalar,
}

/// Which of two overlapping findings names the merged one: the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Precedence {
    /// A rule for one kind of secret (`github-pat`).
    Specific,
    /// A key that names a secret (`"password": …`), or a private-key body.
    #[default]
    Structural,
    /// A rule that reads context words only (`secret-assignment`, tagged `generic`).
    Generic,
}

/// One span to replace. Holds no secret: offsets only, in the raw text that was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// The span replaced.
    pub start: usize,
    /// End of the raw bytes to replace (exclusive; see the coordinate system above).
    pub end: usize,
    /// How those bytes encode the secret.
    pub encoding: Encoding,
    /// Which finding names a merged span.
    pub precedence: Precedence,
}

impl Finding {
    /// `start..end`.
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Sorts `findings` by start and merges overlapping ones, so that they can be applied left to
/// right: the earliest (and, at equal start, the longest) keeps its encoding and grows to cover
/// the others; the merged finding is named by the most specific of them ([`Precedence`]).
/// Findings that merely touch are kept apart.
pub fn sort_and_merge(findings: &mut Vec<Finding>) {
    findings.sort_unstable_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.precedence, f.kind));
    let mut kept = 0;
    for i in 0..findings.len() {
        let f = findings[i];
        if f.start >= f.end {
            continue;
        }
        if kept > 0 && f.start < findings[kept - 1].end {
            let last = &mut findings[kept - 1];
            last.end = last.end.max(f.end);
            if f.precedence < last.precedence {
                last.kind = f.kind;
                last.precedence = f.precedence;
            }
            continue;
        }
        findings[kept] = f;
        kept += 1;
    }
    findings.truncate(kept);
}

/// Whether a value as a whole is a stand-in for a secret rather than one: what frameworks and
/// templates log in place of the value (`[FILTERED]`, `(sensitive)`, `<hidden>`, `&lt;TOKEN&gt;`,
/// `$(DB_PASSWORD)`, `${VAR}`, `{{ .Values.pw }}`, `REPLACE_ME`, `YOUR_API_KEY_HERE`, `[secure]`,
/// `****`), or our own marker. Only whole values: `exampleQw3rtyU1op` is a password.
pub fn is_placeholder_value(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    if is_stand_in(v) {
        return true;
    }
    // `$DB_PASSWORD`, `$user$suffix`: shell or template variables, not their values.
    let variables = v.first() == Some(&b'$')
        && v.split(|&b| b == b'$').skip(1).all(|name| {
            name.first()
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        });
    let windows_variable = v.len() >= 3
        && v.first() == Some(&b'%')
        && v.last() == Some(&b'%')
        && is_name(&v[1..v.len() - 1]);
    let upper = v.to_ascii_uppercase();
    let words = [&b"SECRET"[..], b"PASSWORD", b"NULL", b"NONE", b"UNDEFINED"];
    variables || windows_variable || words.iter().any(|w| upper == *w)
}

fn is_name(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' '))
}

/// Letters and word separators only, at most 40: the inside of `<hidden>` or `[FILTERED]`.
fn is_words(text: &[u8]) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text
            .iter()
            .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b'.' | b' '))
}

/// The narrower test every rule's finding goes through (`detect`): what software writes *in place
/// of* a value, as the whole value — `[FILTERED]`, `(sensitive)`, `<hidden>`, `<TOKEN>`,
/// `&lt;TOKEN&gt;`, `$(DB_PASSWORD)`, `${VAR}`, `{{ .Values.pw }}`, `REPLACE_ME`,
/// `YOUR_API_KEY_HERE`, `[secure]`, one repeated character, our own marker. Unlike
/// [`is_placeholder_value`] it keeps bare variables and the words `secret`/`password`, which the
/// rules judge with their own allowlists (a `-p PASSWORD` argument may well be the password).
pub fn is_stand_in(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let Some(&first) = v.first() else {
        return true;
    };
    let last = v[v.len() - 1];
    let inner = |open: usize, close: usize| -> &[u8] { &v[open..v.len() - close] };
    let bracketed = match (first, last) {
        // Words only: `[Qw3rtyU1op]` may be a password in brackets, `[FILTERED]` is not.
        (b'<', b'>') | (b'[', b']') | (b'(', b')') => v.len() >= 3 && is_words(inner(1, 1)),
        (b'$', b')') if v.starts_with(b"$(") => is_name(inner(2, 1)),
        (b'$', b'}') if v.starts_with(b"${") => v.len() <= 80,
        (b'{', b'}') if v.starts_with(b"{{") => v.len() <= 120,
        _ => false,
    };
    let html = v.len() > 8
        && v[..4].eq_ignore_ascii_case(b"&lt;")
        && v[v.len() - 4..].eq_ignore_ascii_case(b"&gt;")
        && is_words(inner(4, 4));
    let all_same = v.iter().all(|&b| b == first);
    let upper = v.to_ascii_uppercase();
    let words = [
        &b"REPLACE_ME"[..],
        b"REPLACEME",
        b"CHANGEME",
        b"CHANGE_ME",
        b"REDACTED",
        b"__REDACTED__",
        b"FILTERED",
        b"MASKED",
        b"HIDDEN",
    ];
    let shouted_stand_in = (upper.starts_with(b"YOUR_") || upper.starts_with(b"YOUR-"))
        && is_name(v)
        && (upper.ends_with(b"_HERE") || upper.ends_with(b"-HERE"));
    bracketed
        || html
        || all_same
        || shouted_stand_in
        || words.iter().any(|w| upper == *w)
        || v.starts_with(MARKER_OPEN)
}

/// A rule id as written into markers: characters that could end the marker early, split the line
/// or need escaping in JSON (`]`, `[`, `"`, `\`, controls, spaces, non-ASCII) become `_`.
pub fn marker_safe_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, ']' | '[' | '"' | '\\') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Bytes a marker may show of a secret (partial mode): none of them can end the marker, split a
/// line or need escaping in JSON.
pub fn is_marker_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'/' | b'=' | b':')
}

/// How a secret is replaced; `--mode` for all rules, `redact = "…"` in a rule file for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `[REDACTED:<rule-id>]`.
    #[default]
    Mask,
    /// `[REDACTED:<rule-id>:<tag>]`, the tag a keyed hash of the secret: equal secrets, equal tags.
    Hash,
    /// Keep the rule's public prefix and the last 4 characters of long secrets.
    Partial,
}

/// Hex digits of a hash-mode tag.
pub const TAG_HEX_DIGITS: usize = 12;
/// Longest run of secret bytes a partial marker shows on one side (a rule's public prefix).
const MAX_VISIBLE: usize = 64;

/// One piece of a `--template` marker, as the grammar reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkerPart {
    /// Bytes written as they are.
    Literal(Vec<u8>),
    /// A marker id (rule id, `secret-field`, …).
    Id,
    /// A hash tag: [`TAG_HEX_DIGITS`] hex digits.
    Tag,
    /// Bytes shown of the secret (`{prefix}`, `{suffix}`): marker-safe, bounded.
    Visible,
}

/// The exact markers this run writes, and only those, count as "already redacted": text that
/// merely contains `[REDACTED` is input like any other (a user name may hold it), and a secret
/// next to a marker is still found.
///
/// Recognised: `[REDACTED:<id>]`, `[REDACTED:<id>:<12 hex>]` (hash mode),
/// `[REDACTED:<id>:<visible>...<visible>]` (partial mode), and the configured template, where
/// `<id>` is one of the ids this run may write.
#[derive(Debug, Clone, Default)]
pub struct MarkerGrammar {
    /// Sorted, marker-safe ids.
    ids: Vec<Vec<u8>>,
    template: Option<Vec<MarkerPart>>,
}

impl MarkerGrammar {
    /// The grammar for markers naming `ids` (rule ids; the built-in kinds are added).
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: Vec<Vec<u8>> = ids
            .into_iter()
            .chain([SECRET_FIELD_ID, PRIVATE_KEY_BLOCK_ID, UNPROCESSABLE_ID])
            .map(|id| marker_safe_id(id).into_bytes())
            .collect();
        ids.sort();
        ids.dedup();
        MarkerGrammar {
            ids,
            template: None,
        }
    }

    /// Also recognises markers written by a `--template` made of `parts`.
    pub fn with_template(mut self, parts: Vec<MarkerPart>) -> Self {
        self.template = Some(parts);
        self
    }

    /// Appends the spans of the markers in `text`, in order, not overlapping.
    pub fn find_all(&self, text: &[u8], out: &mut Vec<Range<usize>>) {
        // Searched in every line with a candidate: one searcher for all (`memmem::find` builds
        // one per call).
        static OPEN: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
        let open_finder = OPEN.get_or_init(|| memchr::memmem::Finder::new(MARKER_OPEN));
        let mut from = 0;
        while let Some(at) = open_finder.find(&text[from..]) {
            let open = from + at;
            match self.marker_at(text, open) {
                Some(end) => {
                    out.push(open..end);
                    from = end;
                }
                None => from = open + 1,
            }
        }
    }

    /// If one of our markers starts at `at`, where it ends.
    pub fn marker_at(&self, text: &[u8], at: usize) -> Option<usize> {
        let rest = text.get(at..)?;
        if let Some(parts) = &self.template {
            if let Some(len) = self.match_parts(rest, parts) {
                return Some(at + len);
            }
        }
        let body = rest.strip_prefix(b"[REDACTED:")?;
        let id_len = self.id_len(body)?;
        let after_id = &body[id_len..];
        let head = b"[REDACTED:".len() + id_len;
        match after_id.first()? {
            b']' => Some(at + head + 1),
            b':' => {
                let tail = &after_id[1..];
                let close = tail
                    .iter()
                    .take(2 * MAX_VISIBLE + 4)
                    .position(|&b| b == b']')?;
                let inner = &tail[..close];
                let is_tag =
                    inner.len() == TAG_HEX_DIGITS && inner.iter().all(u8::is_ascii_hexdigit);
                let is_partial = memchr::memmem::find(inner, b"...").is_some()
                    && inner.iter().all(|&b| is_marker_safe(b));
                (is_tag || is_partial).then_some(at + head + 1 + close + 1)
            }
            _ => None,
        }
    }

    /// Length of the longest known id that `text` starts with, if any.
    fn id_len(&self, text: &[u8]) -> Option<usize> {
        let end = text
            .iter()
            .position(|&b| b == b']' || b == b':')
            .unwrap_or(text.len());
        let candidate = &text[..end];
        self.ids
            .binary_search_by(|id| id.as_slice().cmp(candidate))
            .ok()
            .map(|_| end)
    }

    /// Length of a template marker at the start of `text`, if it is one.
    fn match_parts(&self, text: &[u8], parts: &[MarkerPart]) -> Option<usize> {
        let mut at = 0;
        for (i, part) in parts.iter().enumerate() {
            let rest = &text[at..];
            match part {
                MarkerPart::Literal(lit) => {
                    if !rest.starts_with(lit) {
                        return None;
                    }
                    at += lit.len();
                }
                MarkerPart::Id => at += self.id_len_until(rest, parts.get(i + 1))?,
                MarkerPart::Tag => {
                    let tag = rest.get(..TAG_HEX_DIGITS)?;
                    if !tag.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += TAG_HEX_DIGITS;
                }
                MarkerPart::Visible => {
                    // Up to the next literal's first byte (templates end with `]`, which no
                    // visible byte can be).
                    let stop = match parts.get(i + 1) {
                        Some(MarkerPart::Literal(l)) => l.first().copied(),
                        _ => None,
                    };
                    let n = rest
                        .iter()
                        .take(MAX_VISIBLE + 1)
                        .take_while(|&&b| Some(b) != stop && is_marker_safe(b))
                        .count();
                    if n > MAX_VISIBLE {
                        return None;
                    }
                    at += n;
                }
            }
        }
        Some(at)
    }

    /// An id at the start of `text`, ended by what `next` starts with.
    fn id_len_until(&self, text: &[u8], next: Option<&MarkerPart>) -> Option<usize> {
        let stop = match next {
            Some(MarkerPart::Literal(l)) => l.first().copied(),
            _ => None,
        };
        let end = text
            .iter()
            .position(|&b| Some(b) == stop || !b.is_ascii_graphic() || b == b']')
            .unwrap_or(text.len());
        self.ids
            .binary_search_by(|id| id.as_slice().cmp(&text[..end]))
            .ok()
            .map(|_| end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(g: &MarkerGrammar, text: &str) -> Vec<Range<usize>> {
        let mut v = Vec::new();
        g.find_all(text.as_bytes(), &mut v);
        v
    }

    #[test]
    fn only_exact_markers_count() {
        let g = MarkerGrammar::new(["github-pat", "pw"]);
        assert_eq!(spans(&g, "a [REDACTED:pw] b"), vec![2..15]);
        assert_eq!(spans(&g, "[REDACTED:github-pat:0123456789ab]"), vec![0..34]);
        assert_eq!(spans(&g, "[REDACTED:github-pat:ghp_...SdJ]").len(), 1);
        assert_eq!(spans(&g, "[REDACTED:secret-field]x").len(), 1);
        for not_ours in [
            "user=[REDACTED token=x",
            "[REDACTED]",
            "[REDACTED:unknown-rule]",
            "[REDACTED:pw",
            "[REDACTED:pw:not a tag]",
            "[REDACTED:pw:0123]",
        ] {
            assert!(spans(&g, not_ours).is_empty(), "{not_ours}");
        }
    }

    #[test]
    fn placeholder_values_are_whole_values() {
        for stand_in in [
            "[FILTERED]",
            "(sensitive)",
            "<hidden>",
            "<TOKEN>",
            "&lt;YOURPASSWROD&gt;",
            "$(DB_PASSWORD)",
            "${DB_PASSWORD}",
            "{{ .Values.pw }}",
            "REPLACE_ME",
            "YOUR_API_KEY_HERE",
            "[secure]",
            "********",
            "$DB_PASSWORD",
            "$super$ecret",
            "",
        ] {
            assert!(is_placeholder_value(stand_in.as_bytes()), "{stand_in}");
        }
        for real in [
            "exampleQw3rtyU1op",
            "Summer$2024",
            "$2a$10$abc",
            "$ecret!",
            "xxxxQw3rty",
            "<a>b",
            "hunter2",
        ] {
            assert!(!is_placeholder_value(real.as_bytes()), "{real}");
        }
    }

    #[test]
    fn template_markers_count() {
        let g = MarkerGrammar::new(["pw"]).with_template(vec![
            MarkerPart::Literal(b"[REDACTED ".to_vec()),
            MarkerPart::Id,
            MarkerPart::Literal(b" ".to_vec()),
            MarkerPart::Tag,
            MarkerPart::Literal(b"]".to_vec()),
        ]);
        assert_eq!(spans(&g, "x [REDACTED pw 0123456789ab] y"), vec![2..28]);
        assert!(spans(&g, "x [REDACTED nope 0123456789ab] y").is_empty());
    }

    #[test]
    fn merge_keeps_the_first_and_covers_the_rest() {
        let f = |kind, start, end, precedence| Finding {
            kind,
            start,
            end,
            encoding: Encoding::Raw,
            precedence,
        };
        let mut v = vec![
            f(FindingKind::SecretField, 5, 9, Precedence::Structural),
            f(FindingKind::Rule(1), 2, 6, Precedence::Generic),
            f(FindingKind::Rule(2), 9, 12, Precedence::Specific),
        ];
        sort_and_merge(&mut v);
        assert_eq!(
            v,
            vec![
                f(FindingKind::SecretField, 2, 9, Precedence::Structural),
                f(FindingKind::Rule(2), 9, 12, Precedence::Specific)
            ]
        );
    }
}
