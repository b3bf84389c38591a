//! Line structure: decides per line (in `auto`) whether it is a JSON object (Docker json-file,
//! Fluent Bit records, structured logs), a CRI record, or text, and redacts it so that its
//! structure survives: secrets are searched in decoded JSON string values and replaced inside that
//! value only; envelope fields (`time`, `stream`, `date`, the CRI prefix) are never touched; a
//! string value under a secret-named key is replaced whatever it looks like; private-key blocks
//! are hidden line by line (see [`pem`]).
//!
//! Owns: per-line format decisions and where a replacement may be written. Must never: change a
//! byte outside a secret's span (or, for JSON, outside the string value that holds it), turn valid
//! JSON into invalid JSON, or add, drop or split a line.
//!
//! `filter` keeps the fast path: it asks [`Structure::needs_look`] which lines of a batch need
//! this module at all; every other line leaves byte for byte.

pub mod cri;
pub mod json;
pub mod keys;
pub mod pem;
pub mod rsyslog;

use std::ops::Range;

use memchr::memmem;

use crate::detect::{is_placeholder, Detector, Finding, Scratch};
use crate::redact::Redactor;
use json::JsonString;
use keys::SecretKeys;
use pem::PemState;

/// Marker id for a string value replaced because its key names a secret.
pub const SECRET_FIELD_ID: &str = "secret-field";
/// Marker id for the body of a private-key block.
pub const PRIVATE_KEY_BLOCK_ID: &str = "private-key-block";
/// Top-level JSON fields that belong to the log envelope, never to the message.
pub const ENVELOPE_KEYS: &[&str] = &["time", "stream", "date", "timestamp", "@timestamp"];
/// Opens a private-key block (see [`pem`]).
const PEM_BEGIN: &[u8] = b"-----BEGIN ";
/// How deep a JSON document embedded as a string (then inside a string…) is decoded.
const MAX_EMBED_DEPTH: u32 = 3;
/// Schemes kept in front of a secret-field value (`Bearer [REDACTED:…]`).
const AUTH_SCHEMES: &[&str] = &["bearer ", "basic ", "token ", "apikey ", "digest "];

/// What the input lines are (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Decide per line: JSON object, CRI record, or text.
    #[default]
    Auto,
    /// Plain text (no JSON or CRI structure; private-key blocks still hidden).
    Text,
    /// JSON objects; every output line is a JSON object (text lines are wrapped as `{"log":…}`).
    Json,
    /// Docker json-file lines (`{"log":…,"stream":…,"time":…}`).
    Docker,
    /// CRI lines (`<time> <stdout|stderr> <P|F> <message>`).
    Cri,
    /// logfmt (`key=value key2="quoted value"`), handled by the text rules.
    Logfmt,
    /// rsyslog `mmexternal` protocol: one JSON reply per message.
    Rsyslog,
}

/// Choices that shape [`Structure`].
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    pub format: Format,
    /// Extra JSON key names whose values are always secrets.
    pub secret_keys: Vec<String>,
}

/// A replacement in some text: `range` of that text becomes `replacement`.
#[derive(Debug, Clone)]
struct Edit {
    range: Range<usize>,
    replacement: Vec<u8>,
}

/// The format logic of one run, built once.
pub struct Structure {
    format: Format,
    keys: SecretKeys,
}

/// What the structured path borrows from the filter.
pub struct Tools<'a> {
    pub detector: &'a Detector,
    pub redactor: &'a Redactor,
    pub scratch: &'a mut Scratch,
    pub pem: &'a mut PemState,
}

impl Structure {
    pub fn new(options: &FormatOptions) -> Result<Self, String> {
        Ok(Structure {
            format: options.format,
            keys: SecretKeys::new(&options.secret_keys),
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether every line must take the structured path (JSON output is guaranteed per line).
    pub fn checks_every_line(&self) -> bool {
        self.format == Format::Json
    }

    /// Appends to `at`, sorted, the offsets in `batch` of what calls for a structured look even
    /// without a finding: a `-----BEGIN ` line, and in JSON-reading formats a `\/` or `\u`
    /// escape or a secret-named key (`"password":`). Built from SIMD substring searches on rare
    /// needles, so clean lines cost next to nothing.
    pub fn trigger_offsets(&self, batch: &[u8], at: &mut Vec<usize>) {
        at.extend(memmem::find_iter(batch, PEM_BEGIN));
        if self.format.reads_json() {
            at.extend(
                memchr::memchr_iter(b'\\', batch)
                    .filter(|&i| matches!(batch.get(i + 1), Some(b'/' | b'u'))),
            );
            at.extend(
                memmem::find_iter(batch, b"\":").filter(|&colon| self.names_secret(batch, colon)),
            );
        }
        at.sort_unstable();
    }

    /// Whether the key that ends at the quote at `quote` (as in `"key":` or `\"key\":`) names a
    /// secret.
    /// JSON nested in a string nested in a string… escapes its quotes with 1, 3, 7… backslashes;
    /// all of them are skipped, so a secret-named key triggers at every depth that is decoded.
    fn names_secret(&self, batch: &[u8], quote: usize) -> bool {
        let mut end = quote;
        while end > 0 && batch[end - 1] == b'\\' {
            end -= 1;
        }
        if !self.keys.may_end_a_name(&batch[end.saturating_sub(2)..end]) {
            return false;
        }
        let from = end.saturating_sub(keys::MAX_KEY_LEN + 2);
        let Some(open) = memchr::memrchr(b'"', &batch[from..end]) else {
            return false;
        };
        self.keys.is_secret(&batch[from + open + 1..end])
    }

    /// Redacts one `line` (no newline) whose batch findings are `findings` (offsets relative to
    /// the line). Appends the line's output (no newline) to `out`; returns whether it changed.
    pub fn redact_line(
        &self,
        line: &[u8],
        findings: &[Finding],
        tools: &mut Tools,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut edits = Vec::new();
        let json_first = matches!(
            self.format,
            Format::Auto | Format::Json | Format::Docker | Format::Rsyslog
        );
        if json_first
            && json::looks_like_object(line)
            && self.json_edits(line, tools, 0, &mut edits)
        {
            raw_findings_in_strings(line, findings, tools.redactor, &mut edits);
            return apply(line, &mut edits, out);
        }
        edits.clear();
        if self.format == Format::Json {
            // Not an object: wrap it so a JSON-only reader (Fluent Bit stdin) keeps the chunk.
            self.text_line_edits(line, findings, tools, &mut edits);
            let mut text = Vec::with_capacity(line.len() + 16);
            apply(line, &mut edits, &mut text);
            wrap_as_json(&text, out);
            return true;
        }
        if matches!(self.format, Format::Auto | Format::Cri | Format::Rsyslog) {
            if let Some(cri) = cri::parse(line) {
                let start = cri.message_start;
                let message = &line[start..];
                if json::looks_like_object(message) {
                    let mut inner = Vec::new();
                    if self.json_edits(message, tools, 0, &mut inner) {
                        edits.extend(inner.into_iter().map(|e| shift(e, start)));
                        return apply(line, &mut edits, out);
                    }
                }
                let in_message: Vec<Finding> = findings
                    .iter()
                    .filter(|f| f.start >= start)
                    .map(|f| shift_finding(f, start))
                    .collect();
                let mut inner = Vec::new();
                self.text_line_edits(message, &in_message, tools, &mut inner);
                edits.extend(inner.into_iter().map(|e| shift(e, start)));
                return apply(line, &mut edits, out);
            }
        }
        self.text_line_edits(line, findings, tools, &mut edits);
        apply(line, &mut edits, out)
    }

    /// `--format json` for a line with nothing to redact: a JSON object is copied as it is,
    /// anything else is wrapped as `{"log":"…"}`. Returns whether the line changed.
    pub fn ensure_json_object(&self, line: &[u8], out: &mut Vec<u8>) -> bool {
        if json::looks_like_object(line) && json::scan_object(line, &mut Vec::new()) {
            out.extend_from_slice(line);
            return false;
        }
        wrap_as_json(line, out);
        true
    }

    /// Edits for one text line whose findings are known: the findings plus a private-key body.
    fn text_line_edits(
        &self,
        line: &[u8],
        findings: &[Finding],
        tools: &mut Tools,
        edits: &mut Vec<Edit>,
    ) {
        for f in findings {
            edits.push(finding_edit(line, f, tools.redactor));
        }
        if let Some(body) = tools.pem.feed(line) {
            edits.push(own_edit(body, PRIVATE_KEY_BLOCK_ID));
        }
    }

    /// Edits for `text` (a decoded string value, maybe several lines): a JSON document in it is
    /// handled as JSON, anything else is searched with the detector and fed to the PEM state.
    fn value_edits(&self, text: &[u8], tools: &mut Tools, depth: u32, edits: &mut Vec<Edit>) {
        if depth < MAX_EMBED_DEPTH && json::looks_like_object(text) {
            let mut inner = Vec::new();
            if self.json_edits(text, tools, depth + 1, &mut inner) {
                edits.append(&mut inner);
                return;
            }
        }
        let mut findings = Vec::new();
        tools.detector.find(text, tools.scratch, &mut findings);
        for f in &findings {
            edits.push(finding_edit(text, f, tools.redactor));
        }
        let mut start = 0;
        loop {
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |p| start + p);
            if end == text.len() && start == end && start > 0 {
                break; // the empty piece after a final newline is not a line
            }
            if let Some(body) = tools.pem.feed(&text[start..end]) {
                edits.push(own_edit(
                    body.start + start..body.end + start,
                    PRIVATE_KEY_BLOCK_ID,
                ));
            }
            if end == text.len() {
                break;
            }
            start = end + 1;
        }
    }

    /// If `text` is one JSON object, appends edits (JSON-safe, inside string values only) and
    /// returns `true`; otherwise returns `false` (edits may then hold garbage: discard them).
    fn json_edits(
        &self,
        text: &[u8],
        tools: &mut Tools,
        depth: u32,
        edits: &mut Vec<Edit>,
    ) -> bool {
        let mut strings: Vec<JsonString> = Vec::new();
        if !json::scan_object(text, &mut strings) {
            return false;
        }
        let (mut decoded, mut map) = (Vec::new(), Vec::new());
        let mut key_text = Vec::new();
        let mut inner = Vec::new();
        for s in &strings {
            let key = s.key.clone().map(|k| {
                json::decode(&text[k], &mut key_text, &mut map);
                key_text.clone()
            });
            if depth == 0
                && s.top_level
                && key
                    .as_deref()
                    .is_some_and(|k| ENVELOPE_KEYS.iter().any(|e| e.as_bytes() == k))
            {
                continue;
            }
            let raw = &text[s.content.clone()];
            json::decode(raw, &mut decoded, &mut map);
            inner.clear();
            let value = secret_value_span(&decoded);
            let secret_field = key.as_deref().is_some_and(|k| self.keys.is_secret(k))
                && !value.is_empty()
                && !is_placeholder(&decoded[value.clone()]);
            if secret_field {
                // Through the redactor, so `--mode hash|partial` and `--template` apply here too.
                let mut replacement = Vec::new();
                let secret = &decoded[value.clone()];
                tools
                    .redactor
                    .write_unruled(SECRET_FIELD_ID, secret, &mut replacement);
                inner.push(Edit {
                    range: value,
                    replacement,
                });
            } else {
                // Also for a placeholder-looking secret field: it may still hold a real secret.
                self.value_edits(&decoded, tools, depth, &mut inner);
            }
            for e in inner.drain(..) {
                let raw_range = json::raw_span(&map, e.range);
                let mut replacement = Vec::with_capacity(e.replacement.len() + 8);
                json::escape_into(&e.replacement, &mut replacement);
                edits.push(Edit {
                    range: raw_range.start + s.content.start..raw_range.end + s.content.start,
                    replacement,
                });
            }
        }
        true
    }
}

impl Format {
    /// Whether lines may be JSON objects in this format.
    pub(crate) fn reads_json(self) -> bool {
        !matches!(self, Format::Text | Format::Logfmt)
    }
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

/// Writes `text` as `{"log":"<text>"}` so a JSON-only reader (Fluent Bit stdin) keeps it.
fn wrap_as_json(text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"log\":\"");
    json::escape_into(text, out);
    out.extend_from_slice(b"\"}");
}

fn finding_edit(text: &[u8], f: &Finding, redactor: &Redactor) -> Edit {
    let mut replacement = Vec::new();
    redactor.write_replacement(f, &text[f.start..f.end], &mut replacement);
    Edit {
        range: f.start..f.end,
        replacement,
    }
}

/// Findings of the raw JSON line that lie inside one non-envelope string value and touch no
/// escape: rules that need a neighbouring key (`"auth":"…"`, `"private_key_id":"…"`) only match
/// the raw line, and replacing escape-free bytes inside a string keeps the JSON valid.
fn raw_findings_in_strings(
    line: &[u8],
    findings: &[Finding],
    redactor: &Redactor,
    edits: &mut Vec<Edit>,
) {
    if findings.is_empty() {
        return;
    }
    let mut strings = Vec::new();
    if !json::scan_object(line, &mut strings) {
        return;
    }
    for f in findings {
        let escape_free = !line[f.start..f.end].contains(&b'\\')
            && f.start.checked_sub(1).is_some_and(|i| line[i] != b'\\');
        let inside = strings
            .iter()
            .find(|s| s.content.start <= f.start && f.end <= s.content.end);
        let Some(s) = inside else { continue };
        let envelope = s.top_level
            && s.key.clone().is_some_and(|k| {
                ENVELOPE_KEYS
                    .iter()
                    .any(|e| e.as_bytes() == &line[k.clone()])
            });
        if escape_free && !envelope {
            edits.push(finding_edit(line, f, redactor));
        }
    }
}

fn own_edit(range: Range<usize>, id: &str) -> Edit {
    Edit {
        range,
        replacement: format!("[REDACTED:{id}]").into_bytes(),
    }
}

fn shift(e: Edit, by: usize) -> Edit {
    Edit {
        range: e.range.start + by..e.range.end + by,
        replacement: e.replacement,
    }
}

fn shift_finding(f: &Finding, by: usize) -> Finding {
    Finding {
        rule: f.rule,
        start: f.start - by,
        end: f.end - by,
        match_start: f.match_start.saturating_sub(by),
        match_end: f.match_end.saturating_sub(by),
    }
}

/// Writes `text` with `edits` applied (overlapping edits merge; the first one's text wins) to
/// `out`; returns whether anything was replaced.
fn apply(text: &[u8], edits: &mut [Edit], out: &mut Vec<u8>) -> bool {
    edits.sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < edits.len() {
        let start = edits[i].range.start.max(copied).min(text.len());
        let mut end = edits[i].range.end.min(text.len());
        let mut j = i + 1;
        while j < edits.len() && edits[j].range.start < end {
            end = end.max(edits[j].range.end.min(text.len()));
            j += 1;
        }
        if end > start {
            out.extend_from_slice(&text[copied..start]);
            out.extend_from_slice(&edits[i].replacement);
            copied = end;
            changed = true;
        }
        i = j;
    }
    out.extend_from_slice(&text[copied..]);
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(range: Range<usize>, text: &str) -> Edit {
        Edit {
            range,
            replacement: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn overlapping_edits_merge_and_the_first_text_wins() {
        let mut out = Vec::new();
        let mut edits = vec![edit(6..9, "B"), edit(2..7, "A"), edit(10..11, "C")]
            .into_iter()
            .collect::<Vec<_>>();
        assert!(apply(b"0123456789ab", &mut edits, &mut out));
        assert_eq!(out, b"01A9Cb");
    }

    #[test]
    fn no_edit_copies_the_text() {
        let mut out = Vec::new();
        assert!(!apply(b"same", &mut [], &mut out));
        assert_eq!(out, b"same");
    }

    #[test]
    fn auth_scheme_words_stay_in_secret_fields() {
        assert_eq!(secret_value_span(b"Bearer abc.def"), 7..14);
        assert_eq!(secret_value_span(b"basic dXNlcjpwdw=="), 6..18);
        assert_eq!(secret_value_span(b"hunter2"), 0..7);
        assert_eq!(secret_value_span(b"Bearer "), 0..7);
    }
}
