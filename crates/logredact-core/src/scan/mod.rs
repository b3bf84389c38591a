//! The scanner: one list of findings per batch, in raw coordinates, whatever wraps the secrets.
//!
//! Owns: running detection over every view of a line — the raw text (one engine pass for the whole
//! batch), the decoded JSON strings that escapes hide from it (one more engine pass over all of
//! them), the values of secret-named keys, and (in batch order, [`Scanner::track_private_keys`])
//! the bodies of multi-line private keys — and turning all of it into [`Finding`]s. The filter,
//! `lint`, `--stats`, the rsyslog protocol, `run`, long-line windows and the parallel workers all
//! take their findings from here; that is why they agree.
//!
//! Must never: write bytes (that is `redact`'s), or search less because a view cannot be read: a
//! line that is not valid JSON is still tokenized tolerantly, a string that cannot be decoded is
//! still searched raw, and an embedding too deep to follow is still searched as text.
//!
//! Views: `format` says where the strings of a line are (CRI and Docker envelopes, JSON tokens,
//! key-shaped lines); this module decides what to search in them. Strings without escapes need no
//! view of their own: the raw pass saw exactly their bytes. Strings with escapes are decoded, and
//! JSON inside them is followed to any depth.

mod json;
mod private_keys;
mod records;
mod views;

use std::ops::Range;

use memchr::{memchr, memchr_iter, memmem, memrchr};

use crate::detect::{self, Detector, RuleMatch};
use crate::engine::line_around;
use crate::finding::{sort_and_merge, Encoding, Finding, FindingKind, Precedence};
use crate::format::keys::SecretKeys;
use crate::format::tokens::Tokens;
use crate::format::{cri, tokens, Format};

pub use private_keys::KeyStreams;
pub use records::Joined;

/// Margin added to the longest possible match when sizing window overlaps.
const OVERLAP_MARGIN: usize = 256;

/// Detection over every view of a line, built once per run.
pub struct Scanner {
    detector: Detector,
    format: Format,
    keys: SecretKeys,
    /// Some keyword holds a byte that a JSON control escape (`\t`, `\r`, `\b`, `\f`) decodes to
    /// (`key\t`, `bearer\t`: whitespace after a key or a scheme), so such an escape may hide it.
    keywords_hold_controls: bool,
}

/// Per-thread working memory of a [`Scanner`], so the hot path does not allocate.
pub struct ScanScratch {
    detect: detect::Scratch,
    matches: Vec<RuleMatch>,
    triggers: Vec<usize>,
    /// A line with its backslashes dropped (see `Scanner::escapes_may_hide_a_match`).
    unescaped: Vec<u8>,
    tokens: Tokens,
    views: views::Views,
    decode_buffers: json::DecodeBuffers,
    view_matches: Vec<RuleMatch>,
    /// The size bound for grouping runtime partial records (see `format::records::Grouping`).
    record_bound: usize,
}

impl ScanScratch {
    /// Sets the bound the stream groups partial records by (no bound by default).
    pub fn set_record_bound(&mut self, bound: usize) {
        self.record_bound = bound;
    }

    /// The detection scratch (for profiling hooks: `FilterScratch::enable_profile`).
    pub(crate) fn detect_mut(&mut self) -> &mut detect::Scratch {
        &mut self.detect
    }
}

/// What [`Scanner::scan`] found in a batch: the findings the stateless views give, plus where the
/// armour lines are for the ordered private-key pass.
#[derive(Debug, Default)]
pub struct Scanned {
    /// The findings, sorted and merged.
    pub findings: Vec<Finding>,
    /// Start offsets of lines that may open a private-key block.
    armour_lines: Vec<usize>,
    /// When the batch holds runtime partial records: the view with each group joined, which the
    /// findings (and armour lines) are offsets into (see [`Scanner::scan_records`]).
    pub joined: Joined,
}

/// How the text handed to a scan is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Whole lines (`\n`-separated; the last one may lack its newline).
    Lines,
    /// A window of one line too long to hold whole: its structure cannot be trusted (a window may
    /// start inside a string), so it is searched as text, plus the secret-named members that can
    /// be told from the window alone.
    Window,
}

impl Scanner {
    /// A scanner for lines in `format`, with `keys` as secret-named keys.
    pub fn new(detector: Detector, format: Format, keys: SecretKeys) -> Self {
        let keywords_hold_controls =
            detector
                .rules()
                .rules
                .iter()
                .flat_map(|r| &r.keywords)
                .any(|k| {
                    k.bytes().any(|b| {
                        KEYWORD_CONTROL_LETTERS
                            .iter()
                            .any(|&l| keyword_control(l) == Some(b))
                    })
                });
        Scanner {
            detector,
            format,
            keys,
            keywords_hold_controls,
        }
    }

    /// Its detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Its detector, to change (the markers it skips).
    pub fn detector_mut(&mut self) -> &mut Detector {
        &mut self.detector
    }

    /// The line format it reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Working memory for one thread's scans.
    pub fn scratch(&self) -> ScanScratch {
        ScanScratch {
            detect: self.detector.scratch(),
            matches: Vec::new(),
            triggers: Vec::new(),
            unescaped: Vec::new(),
            tokens: Tokens::default(),
            views: views::Views::default(),
            decode_buffers: json::DecodeBuffers::default(),
            view_matches: Vec::new(),
            record_bound: usize::MAX,
        }
    }

    /// How many bytes consecutive windows of a long line must share so that no secret can hide
    /// across the edge: longer than any match a rule can produce.
    pub fn window_overlap(&self) -> usize {
        self.detector.rules().max_match_len() + OVERLAP_MARGIN
    }

    /// The stateless scan of `text` (framed as `framing` says): fills `scanned` with its findings
    /// (sorted, not overlapping) and the armour lines for [`Scanner::track_private_keys`].
    pub fn scan(
        &self,
        text: &[u8],
        framing: Framing,
        scratch: &mut ScanScratch,
        scanned: &mut Scanned,
    ) {
        scanned.findings.clear();
        scanned.armour_lines.clear();
        scanned.joined.deactivate();
        scratch.matches.clear();
        self.detector
            .find(text, &mut scratch.detect, &mut scratch.matches);
        self.find_triggers(text, scratch);
        if framing == Framing::Lines {
            // Straight to the searches `pem::may_open` would run first (two passes fewer).
            let mut last_line = usize::MAX;
            for at in memmem::find_iter(text, b"BEGIN ")
                .chain(memmem::find_iter(text, b"PuTTY-User-Key-File-"))
            {
                let start = memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
                if start != last_line {
                    scanned.armour_lines.push(start);
                    last_line = start;
                }
            }
            scanned.armour_lines.sort_unstable();
            scanned.armour_lines.dedup();
        }
        scratch.views.clear();
        let ScanScratch {
            matches,
            triggers,
            tokens,
            views,
            decode_buffers,
            ..
        } = scratch;
        let (mut next_match, mut next_trigger) = (0, 0);
        loop {
            let m = matches.get(next_match).map(|m| m.start);
            let t = triggers.get(next_trigger).copied();
            let Some(at) = m.into_iter().chain(t).min() else {
                break;
            };
            let line = line_around(text, at);
            let first = next_match;
            while matches.get(next_match).is_some_and(|m| m.start <= line.end) {
                next_match += 1;
            }
            while triggers.get(next_trigger).is_some_and(|&t| t <= line.end) {
                next_trigger += 1;
            }
            let ctx = json::LineContext {
                scanner: self,
                text,
                line,
                framing,
            };
            ctx.scan_line(
                &matches[first..next_match],
                tokens,
                views,
                decode_buffers,
                &mut scanned.findings,
            );
        }
        if !views.is_empty() {
            scratch.view_matches.clear();
            self.detector
                .find(views.text(), &mut scratch.detect, &mut scratch.view_matches);
            for m in &scratch.view_matches {
                if let Some((span, encoding)) = scratch.views.raw_of(m) {
                    scanned.findings.push(rule_finding(self, m, span, encoding));
                }
            }
        }
        sort_and_merge(&mut scanned.findings);
    }

    /// [`Scanner::scan`] of a batch of whole lines in which runtime partial records (CRI `P`,
    /// Docker `log` without its `\n`) are joined with the records that continue them, so a
    /// secret the runtime cut is searched whole. When the batch holds such a group,
    /// `scanned.joined` is active and the findings are offsets into its text, not the batch.
    pub fn scan_records(&self, batch: &[u8], scratch: &mut ScanScratch, scanned: &mut Scanned) {
        let mut joined = std::mem::take(&mut scanned.joined);
        if joined.build(batch, self.format, scratch.record_bound) {
            self.scan(joined.text(), Framing::Lines, scratch, scanned);
        } else {
            self.scan(batch, Framing::Lines, scratch, scanned);
        }
        scanned.joined = joined;
    }

    /// Offsets of what calls for a structured look even without a rule match: a secret-named
    /// key (`"password":`, at any escape depth), and in JSON-reading formats a backslash (an escape
    /// may hide a secret from the raw pass). SIMD substring searches, so clean lines cost next to
    /// nothing.
    /// Called right after [`Detector::find`] searched `text` with `scratch.detect`.
    fn find_triggers(&self, text: &[u8], scratch: &mut ScanScratch) {
        let ScanScratch {
            detect,
            triggers: at,
            unescaped,
            ..
        } = scratch;
        at.clear();
        at.extend(memmem::find_iter(text, b"\":").filter(|&colon| {
            self.names_secret(text, colon) || self.names_a_secret_by_value(text, colon)
        }));
        if self.format.reads_json() {
            let mut checked_until = 0;
            for b in memchr_iter(b'\\', text) {
                if b < checked_until {
                    continue;
                }
                // One trigger per line, and only where an escape may hide what some rule or key
                // looks for: most escapes (`\n` in a stack trace) need nothing.
                let line = line_around(text, b);
                if self.escapes_may_hide_a_match(text, line.clone(), detect, unescaped) {
                    at.push(b);
                }
                checked_until = line.end + 1;
            }
        }
        at.sort_unstable();
        at.dedup();
    }

    /// Whether the escapes of a JSON-reading `line` may hide what some rule looks for. A `\"` or
    /// `\\` may split a keyword (`\"auth\"`): the line is checked with its backslashes dropped.
    /// `\t`, `\r`, `\b` and `\f` decode to control bytes: when some keyword holds one
    /// (`key\t`), the line is checked with them decoded too; else, as `\n` always (no keyword
    /// holds a newline), the raw line is checked as it is, without a copy. Any other escape may
    /// hide a keyword whole:
    /// always. That is `\u` (`\u0074kn_…`) and `\/` (`https:\/\/…`), and also an escape JSON does
    /// not have (`pa\ssword`), which a lenient reader, as our own decoding, reads as the letter.
    fn escapes_may_hide_a_match(
        &self,
        text: &[u8],
        line_range: Range<usize>,
        searched: &detect::Scratch,
        unescaped: &mut Vec<u8>,
    ) -> bool {
        let line = &text[line_range.clone()];
        // Whether the line must be checked as a copy: a `\"` or `\\` may split a keyword, a
        // control escape hide a keyword's byte.
        let mut needs_a_copy = false;
        // Escape by escape: the byte after a backslash is its escape's, so the second backslash
        // of `\\` starts none (`C:\\Users` holds no `\U`).
        let mut at = 0;
        while let Some(p) = memchr(b'\\', &line[at..]) {
            let b = at + p;
            match line.get(b + 1) {
                Some(b'"' | b'\\') => needs_a_copy = true,
                Some(b't' | b'r' | b'b' | b'f') if self.keywords_hold_controls => {
                    needs_a_copy = true
                }
                Some(b'n' | b't' | b'r' | b'b' | b'f') | None => {}
                Some(_) => return true,
            }
            at = (b + 2).min(line.len());
        }
        if !needs_a_copy {
            return self
                .detector
                .may_match_in_searched(text, line_range, searched);
        }
        // A line with a candidate gets its structured look anyway: no copy to search.
        if self.detector.has_candidate_in(line_range, searched) {
            return true;
        }
        // The runs between backslashes, copied whole (a byte-by-byte filter was ~3 instructions
        // per byte of the realistic corpus); a control escape becomes its byte when a keyword
        // may hold it. The `t` of `\\t` is decoded too: one level of JSON deeper (a Docker `log`
        // string holding a JSON document) that is what it means.
        unescaped.clear();
        let mut from = 0;
        for b in memchr_iter(b'\\', line) {
            unescaped.extend_from_slice(&line[from..b]);
            from = b + 1;
            let letter = line.get(b + 1).copied();
            if let Some(control) = letter
                .filter(|_| self.keywords_hold_controls)
                .and_then(keyword_control)
            {
                unescaped.push(control);
                from = b + 2;
            }
        }
        unescaped.extend_from_slice(&line[from..]);
        self.detector.may_match_in(unescaped)
    }

    /// Whether the member at `quote` is `"name": "<secret name>"` (or `"key": …`): the
    /// `{"name": "DB_PASSWORD", "value": …}` pairs of Kubernetes env lists and similar.
    fn names_a_secret_by_value(&self, text: &[u8], quote: usize) -> bool {
        let key_end = quote;
        let is_name_key = [&b"name"[..], b"Name", b"key", b"Key"].iter().any(|k| {
            text[..key_end].ends_with(k)
                && text.get(key_end.wrapping_sub(k.len() + 1)) == Some(&b'"')
        });
        if !is_name_key {
            return false;
        }
        let rest = &text[quote + 2..];
        let Some(open) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            return false;
        };
        if rest[open] != b'"' {
            return false;
        }
        let value = &rest[open + 1..];
        let end = memchr(b'"', value)
            .unwrap_or(value.len())
            .min(crate::format::keys::MAX_KEY_LEN);
        self.keys.is_secret(&value[..end])
    }

    /// Whether the key that ends at the quote at `quote` (as in `"key":` or `\"key\":`) names a
    /// secret. JSON nested in a string nested in a string… escapes its quotes with 1, 3, 7…
    /// backslashes; all of them are skipped, so a secret-named key triggers at every depth.
    fn names_secret(&self, text: &[u8], quote: usize) -> bool {
        let mut end = quote;
        while end > 0 && text[end - 1] == b'\\' {
            end -= 1;
        }
        if !self.keys.may_end_a_name(&text[end.saturating_sub(3)..end]) {
            return false;
        }
        let from = end.saturating_sub(crate::format::keys::MAX_KEY_LEN + 2);
        let Some(open) = memrchr(b'"', &text[from..end]) else {
            return false;
        };
        let mut key_start = from + open + 1;
        // `\"key\"`: the opening quote's backslashes are not part of the key.
        while key_start < end && text[key_start] == b'\\' {
            key_start += 1;
        }
        self.keys.is_secret(&text[key_start..end])
    }

    /// The scan of a window of a long line, for the stream's window loop: fills `scanned` with
    /// the findings that lie before the returned cut. The rest of the window (at least the
    /// overlap) must be scanned again with what follows, so a secret across the edge is seen
    /// whole; a match that starts before the cut is kept whole here (its context, `password=`,
    /// would be gone from the next window), which moves the cut to its end.
    pub fn scan_window(
        &self,
        window: &[u8],
        scratch: &mut ScanScratch,
        scanned: &mut Scanned,
    ) -> usize {
        self.scan(window, Framing::Window, scratch, scanned);
        let mut cut = window.len().saturating_sub(self.window_overlap());
        for m in &scratch.matches {
            if m.match_start < cut && m.end > cut {
                cut = cut.max(m.end);
            }
        }
        for f in &scanned.findings {
            if f.start < cut && f.end > cut {
                cut = f.end;
            }
        }
        scanned.findings.retain(|f| f.end <= cut);
        cut
    }

    /// The ordered half: finds the bodies of private-key blocks in `text` (whole lines, in stream
    /// order after everything scanned before it), carrying block state in `streams`, and merges
    /// them into `scanned.findings`.
    pub fn track_private_keys(&self, text: &[u8], scanned: &mut Scanned, streams: &mut KeyStreams) {
        if scanned.armour_lines.is_empty() && !streams.any_open() {
            return;
        }
        let before = scanned.findings.len();
        private_keys::track(
            self,
            text,
            &scanned.armour_lines,
            streams,
            &mut scanned.findings,
        );
        if scanned.findings.len() > before {
            sort_and_merge(&mut scanned.findings);
        }
    }

    /// The marker id of a finding's kind (a rule's id, or a built-in kind's).
    pub fn id_of(&self, kind: FindingKind) -> &str {
        match kind {
            FindingKind::Rule(i) => &self.detector.rules().rules[i as usize].id,
            other => other.builtin_id().unwrap_or_default(),
        }
    }

    fn is_secret_key(&self, key: &[u8]) -> bool {
        self.keys.is_secret(key)
    }

    fn cri_allowed(&self) -> bool {
        matches!(self.format, Format::Auto | Format::Cri | Format::Rsyslog)
    }
}

/// Where a CRI line's message starts, when `line` is one and the format allows it.
fn message_start(scanner: &Scanner, line: &[u8]) -> Option<cri::CriLine> {
    if scanner.cri_allowed() {
        cri::parse(line)
    } else {
        None
    }
}

/// Whether `text` (a line or a CRI message) is read as JSON in this format.
fn reads_as_json(scanner: &Scanner, text: &[u8]) -> bool {
    scanner.format.reads_json() && tokens::looks_like_json(text)
}

/// A finding of a kind no rule makes over raw `span`.
fn finding(kind: FindingKind, span: Range<usize>, encoding: Encoding) -> Finding {
    Finding {
        kind,
        start: span.start,
        end: span.end,
        encoding,
        precedence: Precedence::Structural,
    }
}

/// The finding of rule match `m` (its secret, at raw `span`).
fn rule_finding(
    scanner: &Scanner,
    m: &RuleMatch,
    span: Range<usize>,
    encoding: Encoding,
) -> Finding {
    Finding {
        kind: FindingKind::Rule(m.rule),
        start: span.start,
        end: span.end,
        encoding,
        precedence: scanner.detector.precedence(m.rule),
    }
}

/// The letters of the JSON escapes that decode to a control byte a keyword may hold (`\t`,
/// `\r`, `\b`, `\f`; not `\n`: a newline ends a line, so no keyword holds one).
const KEYWORD_CONTROL_LETTERS: &[u8] = b"trbf";

/// The byte that the JSON escape with `letter` decodes to, if a keyword may hold it.
fn keyword_control(letter: u8) -> Option<u8> {
    KEYWORD_CONTROL_LETTERS
        .contains(&letter)
        .then(|| crate::format::json::control_escape(letter))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{self, EngineChoice};
    use crate::rules::RuleSet;

    fn scanner() -> Scanner {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine builds");
        Scanner::new(
            Detector::new(rules, matcher),
            Format::Auto,
            SecretKeys::new(&[]),
        )
    }

    #[test]
    fn the_escape_trigger_reads_a_line_escape_by_escape() {
        let scanner = scanner();
        let mut scratch = scanner.scratch();
        for (line, may_hide) in [
            // Escaped backslashes and a control escape: nothing hidden.
            (r#"{"dir":"C:\\Windows\\Temp","n":"a\nb"}"#, false),
            // An escape JSON does not have, a `\u`, a `\/`: read as letters, they may hide one.
            (r#"{"msg":"pa\ssword=Xk8sPq2mVn7Lw4Rt9Zb"}"#, true),
            (r#"{"dir":"C:\\Windows pa\ssword"}"#, true),
            (r#"{"msg":"a \u0074oken"}"#, true),
            (r#"{"url":"https:\/\/example.test"}"#, true),
        ] {
            let text = line.as_bytes();
            scanner
                .detector
                .find(text, &mut scratch.detect, &mut scratch.matches);
            let got = scanner.escapes_may_hide_a_match(
                text,
                0..text.len(),
                &scratch.detect,
                &mut scratch.unescaped,
            );
            assert_eq!(got, may_hide, "{line}");
        }
    }
}
