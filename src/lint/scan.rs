//! Scanning one input for `lint`: frames it with the filter's own framer and batching policy
//! ([`LineFramer`], [`stream::next_cut`]: the same batches, the same groups of runtime partial
//! records joined, the same windows of lines over `--max-line-bytes`), takes the findings of each
//! batch from the filter's own scanner (so `lint` reports exactly what the filter replaces), and
//! turns each finding into a [`Located`] finding: 1-based line and byte column, a UTF-16 column
//! for SARIF, a fingerprint and a redacted preview. A secret split over partial records is one
//! finding, placed where it starts.
//!
//! Owns: line/column arithmetic and previews. Must never: keep or return the bytes of a secret —
//! the secret is only handed to the fingerprint's keyed hash; previews are built from the
//! redacted line. Memory is bounded like the filter's: a line longer than the bound is scanned in
//! overlapping windows.

use std::io::{self, Read};

use memchr::{memchr_iter, memrchr};

use crate::filter::Filter;
use crate::finding::{Finding, FindingKind};
use crate::scan::{KeyStreams, ScanScratch, Scanned};
use crate::stream::{self, Cut, LineFramer, Overlong};

use super::fingerprint::FingerprintKey;

/// Bytes of input asked for per read.
pub const READ_BYTES: usize = 1024 * 1024;
/// Characters of redacted context shown on each side of a finding in a preview.
const PREVIEW_CONTEXT: usize = 48;

/// How input is framed: as the filter frames it with the same values.
#[derive(Debug, Clone, Copy)]
pub struct Framing {
    /// `--max-line-bytes`: longer lines are scanned in windows, partial-record groups are closed
    /// at this size.
    pub max_line_bytes: usize,
    /// Bytes asked for per read.
    pub read_bytes: usize,
}

impl Default for Framing {
    fn default() -> Self {
        Framing {
            max_line_bytes: stream::DEFAULT_MAX_LINE_BYTES,
            read_bytes: READ_BYTES,
        }
    }
}

/// One finding with its place in the input. Holds no secret.
#[derive(Debug, Clone)]
pub struct Located {
    pub kind: FindingKind,
    /// 1-based line number of the secret's first byte.
    pub line: u64,
    /// 1-based line number of its last byte: later than `line` only for a secret that runtime
    /// partial records split over several lines.
    pub end_line: u64,
    /// 1-based column of the secret's first byte, in bytes.
    pub column: u64,
    /// 1-based column just past the secret, in bytes, on `line` (at most its end).
    pub end_column: u64,
    /// `column` in UTF-16 code units (SARIF's default `columnKind`).
    pub column_utf16: u64,
    /// 1-based column just past the secret on `end_line`, in UTF-16 code units: SARIF's region
    /// end (`endLine`, `endColumn`). On `line` it is `end_column` counted in UTF-16.
    pub end_column_utf16: u64,
    /// `rule-id:hex` keyed hash (see `fingerprint`).
    pub fingerprint: String,
    /// The line around the finding with every finding replaced by its marker, escaped for a
    /// terminal (for joined partial records: the logical line).
    pub preview: String,
}

/// Scans everything `input` yields, calling `report` for each finding in input order.
pub fn scan(
    filter: &Filter,
    key: &FingerprintKey,
    input: &mut dyn Read,
    framing: Framing,
    report: &mut dyn FnMut(Located) -> io::Result<()>,
) -> io::Result<()> {
    let max_line = stream::line_bound(filter, framing.max_line_bytes);
    let read_bytes = framing.read_bytes.max(1);
    let capacity = 2 * max_line + read_bytes;
    let mut framer = LineFramer::new(max_line, Overlong::Windows);
    let mut scan = filter.scan_scratch();
    scan.set_record_bound(max_line);
    let mut ctx = Context {
        filter,
        key,
        scan,
        scanned: Scanned::default(),
        keys: KeyStreams::default(),
        places: Vec::new(),
        newlines: Vec::new(),
    };
    // Where the framer's first byte is: its line number, and how many bytes of that line came
    // before it.
    let mut place = Place {
        line: 1,
        column_offset: 0,
        utf16_offset: 0,
    };
    loop {
        // At most one read's worth at a time, as the filter's stream reads.
        let room = capacity.saturating_sub(framer.len()).min(read_bytes);
        if framer.fill(input, room)? == 0 {
            if !framer.is_empty() {
                ctx.batch(framer.data(), &place, report)?;
            }
            return Ok(());
        }
        match stream::next_cut(&framer, filter.format()) {
            Cut::Lines(end) => {
                let batch = &framer.data()[..end];
                ctx.batch(batch, &place, report)?;
                place = Place {
                    line: place.line + memchr_iter(b'\n', batch).count() as u64,
                    column_offset: 0,
                    utf16_offset: 0,
                };
                framer.consume(end);
            }
            Cut::Window => {
                // One line longer than the bound: report what lies before the overlap, keep the
                // rest to scan again with what follows.
                let cut = ctx.window(framer.data(), &place, report)?;
                place.column_offset += cut as u64;
                place.utf16_offset += utf16_len(&framer.data()[..cut]);
                framer.consume(cut);
            }
            Cut::More => {}
        }
    }
}

struct Place {
    line: u64,
    column_offset: u64,
    utf16_offset: u64,
}

struct Context<'a> {
    filter: &'a Filter,
    key: &'a FingerprintKey,
    scan: ScanScratch,
    scanned: Scanned,
    /// Private-key blocks: ordered state, as in the filter.
    keys: KeyStreams,
    /// Where the searched text comes from in the batch (see `Joined::batch_places`).
    places: Vec<(usize, usize)>,
    /// Offsets of the batch's newlines.
    newlines: Vec<usize>,
}

impl Context<'_> {
    /// Reports the findings of `batch` (complete lines), searched as the filter searches it:
    /// with its groups of partial records joined into one logical line each.
    fn batch(
        &mut self,
        batch: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<()> {
        self.filter.scan(batch, &mut self.scan, &mut self.scanned);
        let joined = std::mem::take(&mut self.scanned.joined);
        let text = match joined.is_active() {
            true => joined.text(),
            false => batch,
        };
        self.filter
            .scanner()
            .track_private_keys(text, &mut self.scanned, &mut self.keys);
        match joined.is_active() {
            true => joined.batch_places(&mut self.places),
            false => self.identity_places(),
        }
        let result = self.locate_all(text, batch, place, report);
        self.scanned.joined = joined;
        result
    }

    /// Like `batch` for a window of one long line; returns how many bytes are done.
    fn window(
        &mut self,
        text: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<usize> {
        let cut = self
            .filter
            .scanner()
            .scan_window(text, &mut self.scan, &mut self.scanned);
        self.identity_places();
        // Only the part before the cut: a secret in the overlap is not redacted yet, and must
        // not show up in a preview (it is reported with the next window).
        self.locate_all(&text[..cut], &text[..cut], place, report)?;
        Ok(cut)
    }

    /// The searched text is the batch itself.
    fn identity_places(&mut self) {
        self.places.clear();
        self.places.push((0, 0));
    }

    /// Where byte `at` of the searched text is in the batch.
    fn batch_offset(&self, at: usize) -> usize {
        let i = self.places.partition_point(|&(text, _)| text <= at);
        let (text, batch) = self.places[i.saturating_sub(1)];
        batch + at.saturating_sub(text)
    }

    /// Reports `self.scanned.findings`, offsets into `text` (the batch, or its joined view).
    fn locate_all(
        &mut self,
        text: &[u8],
        batch: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.scanned.findings.is_empty() {
            return Ok(());
        }
        self.newlines.clear();
        self.newlines.extend(memchr_iter(b'\n', batch));
        // UTF-16 columns are counted on from the previous finding of the same batch line, not
        // from the line start: a long line with many findings stays linear.
        let mut utf16: Option<(usize, usize, u64)> = None; // (batch line, offset, column)
        let findings = std::mem::take(&mut self.scanned.findings);
        let mut i = 0;
        let mut result = Ok(());
        while i < findings.len() && result.is_ok() {
            let first = findings[i];
            let line_start = memrchr(b'\n', &text[..first.start]).map_or(0, |p| p + 1);
            let line_end =
                memchr::memchr(b'\n', &text[first.start..]).map_or(text.len(), |p| first.start + p);
            let on_line = findings[i..]
                .iter()
                .take_while(|f| f.start < line_end)
                .count();
            let line_findings = &findings[i..i + on_line];
            let previews = previews(
                self.filter,
                &text[line_start..line_end],
                line_start,
                line_findings,
            );
            for (f, preview) in line_findings.iter().zip(previews) {
                let start = self.batch_offset(f.start);
                let last = self.batch_offset(f.end.max(f.start + 1) - 1);
                let index = self.newlines.partition_point(|&p| p < start);
                let end_index = self.newlines.partition_point(|&p| p < last);
                let batch_line_start = index.checked_sub(1).map_or(0, |j| self.newlines[j] + 1);
                let batch_line_end = self.newlines.get(index).copied().unwrap_or(batch.len());
                let end = match end_index == index {
                    true => (last + 1).min(batch_line_end),
                    false => batch_line_end,
                };
                let (col_base, utf16_base) = match index {
                    0 => (place.column_offset, place.utf16_offset),
                    _ => (0, 0),
                };
                let (from, col) = match utf16 {
                    Some((l, at, col)) if l == index && at <= start => (at, col),
                    _ => (batch_line_start, utf16_base),
                };
                let col = col + utf16_len(&batch[from..start]);
                utf16 = Some((index, start, col));
                let column_utf16 = col + 1;
                let end_column_utf16 = match end_index == index {
                    true => column_utf16 + utf16_len(&batch[start..end]),
                    // A secret split over partial records: counted on its last line.
                    false => {
                        let last_line_start = self.newlines[end_index - 1] + 1;
                        batch.get(last_line_start..=last).map_or(0, utf16_len) + 1
                    }
                };
                let located = Located {
                    kind: f.kind,
                    line: place.line + index as u64,
                    end_line: place.line + end_index as u64,
                    column: col_base + (start - batch_line_start) as u64 + 1,
                    end_column: col_base + (end - batch_line_start) as u64 + 1,
                    column_utf16,
                    end_column_utf16,
                    fingerprint: self
                        .key
                        .fingerprint(self.filter.id_of(f.kind), &text[f.start..f.end]),
                    preview,
                };
                result = report(located);
                if result.is_err() {
                    break;
                }
            }
            i += on_line;
        }
        self.scanned.findings = findings;
        result
    }
}

/// One preview per finding of a line: the redacted line, cut to some context around the
/// finding's marker, escaped so control bytes cannot drive a terminal.
fn previews(filter: &Filter, line: &[u8], line_start: usize, findings: &[Finding]) -> Vec<String> {
    let mut redacted = Vec::with_capacity(line.len());
    let mut marker_spans = Vec::with_capacity(findings.len());
    let mut copied = 0;
    for f in findings {
        let (start, end) = (f.start - line_start, f.end - line_start);
        redacted.extend_from_slice(&line[copied..start]);
        let marker_start = redacted.len();
        let local = Finding { start, end, ..*f };
        filter
            .redactor()
            .write_replacement(&local, &line[start..end], &mut redacted);
        marker_spans.push((marker_start, redacted.len()));
        copied = end;
    }
    redacted.extend_from_slice(&line[copied..]);
    let redacted = redacted.strip_suffix(b"\r").unwrap_or(&redacted);
    marker_spans
        .into_iter()
        .map(|(ms, me)| {
            let from = char_floor(redacted, ms.saturating_sub(PREVIEW_CONTEXT));
            let to = char_ceil(redacted, (me + PREVIEW_CONTEXT).min(redacted.len()));
            let mut s = String::new();
            if from > 0 {
                s.push('…');
            }
            escape_into(&redacted[from..to], &mut s);
            if to < redacted.len() {
                s.push('…');
            }
            s
        })
        .collect()
}

fn char_floor(text: &[u8], mut at: usize) -> usize {
    while at > 0 && at < text.len() && (text[at] & 0xC0) == 0x80 {
        at -= 1;
    }
    at
}

fn char_ceil(text: &[u8], mut at: usize) -> usize {
    while at < text.len() && (text[at] & 0xC0) == 0x80 {
        at += 1;
    }
    at
}

/// Lossy UTF-8 with control characters shown as `\xNN` (TAB as `\t`).
fn escape_into(bytes: &[u8], out: &mut String) {
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
}

fn utf16_len(bytes: &[u8]) -> u64 {
    String::from_utf8_lossy(bytes).encode_utf16().count() as u64
}
