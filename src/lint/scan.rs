//! Scanning one input for `lint`: reads it in large chunks, takes the findings of each batch of
//! complete lines from [`Filter::findings`] (the filter's own scanner, so `lint` reports exactly
//! what the filter replaces), and turns each finding into a [`Located`] finding:
//! 1-based line and byte column, a UTF-16 column for SARIF, a fingerprint and a redacted preview.
//!
//! Owns: line/column arithmetic and previews. Must never: keep or return the bytes of a secret —
//! the secret is only handed to the fingerprint's keyed hash; previews are built from the
//! redacted line. Memory is bounded like the filter's: a line longer than the buffer is scanned in
//! overlapping windows.

use std::io::{self, ErrorKind, Read};

use memchr::{memchr_iter, memrchr};

use crate::filter::{Filter, FilterScratch};
use crate::finding::{Finding, FindingKind};

use super::fingerprint::FingerprintKey;

/// Bytes of input handed to the detector at once (complete lines).
const BATCH_BYTES: usize = 1024 * 1024;
/// Characters of redacted context shown on each side of a finding in a preview.
const PREVIEW_CONTEXT: usize = 48;

/// One finding with its place in the input. Holds no secret.
#[derive(Debug, Clone)]
pub struct Located {
    pub kind: FindingKind,
    /// 1-based line number.
    pub line: u64,
    /// 1-based column of the secret's first byte, in bytes.
    pub column: u64,
    /// 1-based column just past the secret, in bytes.
    pub end_column: u64,
    /// The same columns in UTF-16 code units (SARIF's default `columnKind`).
    pub column_utf16: u64,
    pub end_column_utf16: u64,
    /// `rule-id:hex` keyed hash (see `fingerprint`).
    pub fingerprint: String,
    /// The line around the finding with every finding replaced by its marker, escaped for a
    /// terminal.
    pub preview: String,
}

/// Scans everything `input` yields, calling `report` for each finding in input order.
pub fn scan(
    filter: &Filter,
    key: &FingerprintKey,
    input: &mut dyn Read,
    report: &mut dyn FnMut(Located) -> io::Result<()>,
) -> io::Result<()> {
    let overlap = filter.window_overlap();
    let window = BATCH_BYTES.max(4 * overlap);
    let mut buf = vec![0u8; window + BATCH_BYTES];
    let mut len = 0;
    let mut scratch = filter.scratch();
    let mut findings: Vec<Finding> = Vec::new();
    // Where `buf[0]` is: its line number, and how many bytes of that line came before it.
    let mut place = Place {
        line: 1,
        column_offset: 0,
        utf16_offset: 0,
    };
    let mut ctx = Context {
        filter,
        key,
        scratch: &mut scratch,
        findings: &mut findings,
    };
    loop {
        let n = read_some(input, &mut buf[len..])?;
        if n == 0 {
            if len > 0 {
                ctx.batch(&buf[..len], &place, report)?;
            }
            return Ok(());
        }
        let filled = len + n;
        if let Some(nl) = memrchr(b'\n', &buf[len..filled]) {
            let end = len + nl + 1;
            ctx.batch(&buf[..end], &place, report)?;
            let newlines = memchr_iter(b'\n', &buf[..end]).count() as u64;
            place = Place {
                line: place.line + newlines,
                column_offset: 0,
                utf16_offset: 0,
            };
            buf.copy_within(end..filled, 0);
            len = filled - end;
        } else if filled >= window {
            // One line longer than the buffer: report what lies before the overlap, keep the
            // rest to scan again with what follows.
            let cut = ctx.window(&buf[..filled], &place, report)?;
            place.column_offset += cut as u64;
            place.utf16_offset += utf16_len(&buf[..cut]);
            buf.copy_within(cut..filled, 0);
            len = filled - cut;
        } else {
            len = filled;
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
    scratch: &'a mut FilterScratch,
    findings: &'a mut Vec<Finding>,
}

impl Context<'_> {
    /// Reports the findings of `text`, a batch of complete lines.
    fn batch(
        &mut self,
        text: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<()> {
        self.findings.clear();
        self.findings
            .extend_from_slice(self.filter.findings(text, self.scratch));
        self.locate_all(text, place, report)
    }

    /// Like `batch` for a window of one long line; returns how many bytes are done.
    fn window(
        &mut self,
        text: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<usize> {
        self.findings.clear();
        let (cut, findings) = self.filter.window_findings(text, self.scratch);
        self.findings.extend_from_slice(findings);
        // Only the part before the cut: a secret in the overlap is not redacted yet, and must
        // not show up in a preview (it is reported with the next window).
        self.locate_all(&text[..cut], place, report)?;
        Ok(cut)
    }

    fn locate_all(
        &mut self,
        text: &[u8],
        place: &Place,
        report: &mut dyn FnMut(Located) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut line = place.line;
        let mut counted_to = 0;
        let mut i = 0;
        while i < self.findings.len() {
            let first = self.findings[i];
            line += memchr_iter(b'\n', &text[counted_to..first.start]).count() as u64;
            counted_to = first.start;
            let line_start = memrchr(b'\n', &text[..first.start]).map_or(0, |p| p + 1);
            let line_end =
                memchr::memchr(b'\n', &text[first.start..]).map_or(text.len(), |p| first.start + p);
            let on_line = self.findings[i..]
                .iter()
                .take_while(|f| f.start < line_end)
                .count();
            let line_findings = &self.findings[i..i + on_line];
            let (col_base, utf16_base) = if line_start == 0 {
                (place.column_offset, place.utf16_offset)
            } else {
                (0, 0)
            };
            let previews = previews(
                self.filter,
                &text[line_start..line_end],
                line_start,
                line_findings,
            );
            // UTF-16 columns are counted on from the previous finding, not from the line start:
            // a long line with many findings stays linear.
            let (mut utf16_at, mut utf16_col) = (line_start, utf16_base);
            for (f, preview) in line_findings.iter().zip(previews) {
                utf16_col += utf16_len(&text[utf16_at..f.start]);
                utf16_at = f.start;
                let column_utf16 = utf16_col + 1;
                report(Located {
                    kind: f.kind,
                    line,
                    column: col_base + (f.start - line_start) as u64 + 1,
                    end_column: col_base + (f.end - line_start) as u64 + 1,
                    column_utf16,
                    end_column_utf16: column_utf16 + utf16_len(&text[f.start..f.end]),
                    fingerprint: self
                        .key
                        .fingerprint(self.filter.id_of(f.kind), &text[f.start..f.end]),
                    preview,
                })?;
            }
            i += on_line;
        }
        Ok(())
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

fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
