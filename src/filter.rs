//! The filter: turns a batch of complete lines (or one window of an over-long line) into output
//! bytes — find, then redact — and counts what it did.
//!
//! Owns: the per-batch step between `stream` (which owns buffers and I/O) and `detect`/`redact`,
//! and the private-key block state carried from batch to batch (in [`FilterScratch`]).
//! Must never: add, drop, split or reorder lines; a line without a finding leaves byte for byte.
//!
//! Fast path: one `Detector::find` call and one prefilter pass ([`Structure::trigger_offsets`])
//! over the whole batch. Only lines with a finding, a structural trigger (a secret-named JSON
//! key, a JSON escape, a `-----BEGIN` line) or inside an open private-key block go to
//! [`Structure::redact_line`]; all other lines are copied untouched.

use memchr::{memchr, memchr_iter, memmem, memrchr};

use crate::detect::{Detector, Finding, Scratch};
use crate::format::pem::PemState;
use crate::format::{Format, FormatOptions, Structure, Tools};
use crate::redact::Redactor;
use crate::stats::Stats;

/// Margin added to the longest possible match when sizing window overlaps.
const OVERLAP_MARGIN: usize = 256;

/// Detection plus redaction for one run.
pub struct Filter {
    detector: Detector,
    redactor: Redactor,
    structure: Structure,
}

/// Per-stream working memory of a [`Filter`] (one per input stream: it carries the
/// private-key block state from one batch to the next).
pub struct FilterScratch {
    detect: Scratch,
    scanned: Scanned,
    line_findings: Vec<Finding>,
    pem: PemState,
}

/// What [`Filter::scan`] found in a batch: the stateless, expensive half of the work, which
/// worker threads can do for different batches at once.
#[derive(Debug, Default)]
pub struct Scanned {
    findings: Vec<Finding>,
    /// Offsets of structural triggers (secret-named JSON keys, escapes, `-----BEGIN`).
    triggers: Vec<usize>,
}

/// What a batch turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found: the input bytes are the output (the caller writes them, no copy made).
    Unchanged,
    /// The redacted batch was appended to `out`.
    Rewritten {
        /// Whether the batch's first line changed (it may continue a long line's earlier windows).
        first_line_changed: bool,
    },
}

impl Filter {
    /// A filter for `--format auto` with the built-in secret key names.
    pub fn new(detector: Detector) -> Self {
        let structure = Structure::new(&FormatOptions::default())
            .expect("the built-in format prefilter always builds");
        let redactor = Redactor::new(detector.rules());
        Filter {
            detector,
            redactor,
            structure,
        }
    }

    /// A filter for the line format and key names in `options`.
    pub fn with_format(detector: Detector, options: &FormatOptions) -> Result<Self, String> {
        let structure = Structure::new(options)?;
        let redactor = Redactor::new(detector.rules());
        Ok(Filter {
            detector,
            redactor,
            structure,
        })
    }

    /// Replaces the redactor (masking everything) by a configured one (`--mode`, `--template`,
    /// per-rule overrides), which must have been built for this filter's rules.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    pub fn format(&self) -> Format {
        self.structure.format()
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    pub fn scratch(&self) -> FilterScratch {
        FilterScratch {
            detect: self.detector.scratch(),
            scanned: Scanned::default(),
            line_findings: Vec::new(),
            pem: PemState::default(),
        }
    }

    /// How many bytes consecutive windows of a long line must share so that no secret can hide
    /// across the edge: longer than any match a rule can produce.
    pub fn window_overlap(&self) -> usize {
        self.detector.rules().max_match_len() + OVERLAP_MARGIN
    }

    /// Redacts `batch`: whole lines, each ending in `\n` except perhaps the last one at end of input.
    pub fn process_lines(
        &self,
        batch: &[u8],
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        let mut scanned = std::mem::take(&mut scratch.scanned);
        self.scan(batch, &mut scratch.detect, &mut scanned);
        let outcome = self.apply(batch, &scanned, scratch, out, stats);
        scratch.scanned = scanned;
        outcome
    }

    /// The stateless half of [`Filter::process_lines`]: one engine pass and one structural
    /// prefilter pass over the whole batch.
    pub fn scan(&self, batch: &[u8], detect: &mut Scratch, scanned: &mut Scanned) {
        scanned.findings.clear();
        self.detector.find(batch, detect, &mut scanned.findings);
        scanned.triggers.clear();
        self.structure.trigger_offsets(batch, &mut scanned.triggers);
        if self.structure.format().reads_json() {
            self.trigger_escaped_quotes(batch, detect, &mut scanned.triggers);
        }
    }

    /// In a JSON line, `\"` hides quote-delimited secrets (`NetworkCredential("u", "pw")`) from
    /// rules run on the raw line. A line with such an escape that may hold a secret is sent to
    /// the structured path, which decodes its strings and searches them again. "May hold": an
    /// engine candidate in the line; and, for an engine whose candidates are regex matches (which
    /// the escape may have prevented), a rule keyword in the line.
    fn trigger_escaped_quotes(&self, batch: &[u8], detect: &Scratch, triggers: &mut Vec<usize>) {
        let before = triggers.len();
        let mut checked_until = 0;
        for at in detect.candidate_offsets() {
            if at < checked_until || at >= batch.len() {
                continue;
            }
            let line = line_around(batch, at);
            if memmem::find(&batch[line.clone()], b"\\\"").is_some() {
                triggers.push(at);
            }
            checked_until = line.end + 1;
        }
        if !self.detector.matcher().candidates_mark_keywords() {
            let mut checked_until = 0;
            for at in memmem::find_iter(batch, b"\\\"") {
                if at < checked_until {
                    continue;
                }
                let line = line_around(batch, at);
                if self.detector.may_match_in(&batch[line.clone()]) {
                    triggers.push(at);
                }
                checked_until = line.end + 1;
            }
        }
        if triggers.len() > before {
            triggers.sort_unstable();
            triggers.dedup();
        }
    }

    /// The stateful half of [`Filter::process_lines`], run in batch order: redacts `batch` given
    /// what [`Filter::scan`] found in it, carrying private-key block state in `scratch`.
    pub fn apply(
        &self,
        batch: &[u8],
        scanned: &Scanned,
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        stats.lines += memchr_iter(b'\n', batch).count() as u64;
        let every_line = self.structure.checks_every_line();
        let findings = &scanned.findings;
        if findings.is_empty()
            && scanned.triggers.is_empty()
            && !scratch.pem.is_open()
            && !every_line
        {
            return Outcome::Unchanged;
        }
        // Text formats with findings only: splice them in directly. Anything else may hold JSON,
        // CRI envelopes or key material and goes line by line.
        if every_line
            || !scanned.triggers.is_empty()
            || scratch.pem.is_open()
            || !matches!(self.structure.format(), Format::Text | Format::Logfmt)
        {
            return self.process_by_line(batch, scanned, scratch, out, stats);
        }
        let first_line_changed = memchr(b'\n', &batch[..findings[0].start]).is_none();
        let mut previous_end = None;
        for f in findings.iter() {
            stats.findings[f.rule as usize] += 1;
            let new_line = match previous_end {
                None => true,
                Some(end) => memchr(b'\n', &batch[end..f.start]).is_some(),
            };
            stats.lines_changed += u64::from(new_line);
            previous_end = Some(f.end);
        }
        out.reserve(batch.len() + 64 * findings.len());
        self.redactor.apply(batch, findings, out);
        Outcome::Rewritten { first_line_changed }
    }

    /// The structured path: walks the lines that need a look (a finding, a trigger, an open
    /// private-key block, or every line for `--format json`) and copies the others in bulk.
    fn process_by_line(
        &self,
        batch: &[u8],
        scanned: &Scanned,
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        let every_line = self.structure.checks_every_line();
        let Scanned { findings, triggers } = scanned;
        let FilterScratch {
            detect,
            line_findings,
            pem,
            ..
        } = scratch;
        for f in findings.iter() {
            stats.findings[f.rule as usize] += 1;
        }
        let out_len = out.len();
        out.reserve(batch.len() + 64);
        let mut tools = Tools {
            detector: &self.detector,
            redactor: &self.redactor,
            scratch: detect,
            pem,
        };
        let (mut next_finding, mut next_trigger) = (0, 0);
        let (mut line_start, mut copied) = (0, 0);
        let mut any_changed = false;
        let mut first_line_changed = false;
        while line_start < batch.len() {
            while findings
                .get(next_finding)
                .is_some_and(|f| f.start < line_start)
            {
                next_finding += 1;
            }
            while triggers.get(next_trigger).is_some_and(|&t| t < line_start) {
                next_trigger += 1;
            }
            let look_at = if every_line || tools.pem.is_open() {
                line_start
            } else {
                let f = findings.get(next_finding).map(|f| f.start);
                let t = triggers.get(next_trigger).copied();
                match f.into_iter().chain(t).min() {
                    Some(at) => memrchr(b'\n', &batch[line_start..at])
                        .map_or(line_start, |p| line_start + p + 1),
                    None => break,
                }
            };
            let line_end = memchr(b'\n', &batch[look_at..]).map_or(batch.len(), |p| look_at + p);
            line_findings.clear();
            while let Some(f) = findings.get(next_finding).filter(|f| f.start <= line_end) {
                line_findings.push(Finding {
                    start: f.start - look_at,
                    end: f.end - look_at,
                    match_start: f.match_start.saturating_sub(look_at),
                    match_end: f.match_end.saturating_sub(look_at),
                    ..*f
                });
                next_finding += 1;
            }
            let triggered = triggers.get(next_trigger).is_some_and(|&t| t <= line_end);
            let nothing_to_find = line_findings.is_empty() && !triggered && !tools.pem.is_open();
            out.extend_from_slice(&batch[copied..look_at]);
            let line = &batch[look_at..line_end];
            let changed = if every_line && nothing_to_find {
                // `--format json` still has to guarantee a JSON object, but need not decode it.
                self.structure.ensure_json_object(line, out)
            } else {
                self.structure
                    .redact_line(line, line_findings, &mut tools, out)
            };
            copied = line_end;
            if changed {
                any_changed = true;
                stats.lines_changed += 1;
                first_line_changed |= look_at == 0;
            }
            line_start = line_end + 1;
        }
        if !any_changed {
            out.truncate(out_len);
            return Outcome::Unchanged;
        }
        out.extend_from_slice(&batch[copied..]);
        Outcome::Rewritten { first_line_changed }
    }

    /// Redacts one message (rsyslog `mmexternal`): appends it, redacted, to `out` and returns
    /// whether it changed. Private-key state carries over between messages as between lines.
    pub fn redact_message(
        &self,
        message: &[u8],
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
    ) -> bool {
        let FilterScratch {
            detect,
            scanned,
            pem,
            ..
        } = scratch;
        let findings = &mut scanned.findings;
        findings.clear();
        self.detector.find(message, detect, findings);
        let mut tools = Tools {
            detector: &self.detector,
            redactor: &self.redactor,
            scratch: detect,
            pem,
        };
        self.structure
            .redact_line(message, findings, &mut tools, out)
    }

    /// Redacts the front of `window`, a piece of a line too long to hold whole, and returns how
    /// many bytes of it were written to `out`. The rest (at least the overlap) must be kept and
    /// scanned again with what follows, so a secret across the edge is still seen whole.
    pub fn process_window(
        &self,
        window: &[u8],
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> (usize, bool) {
        let findings = &mut scratch.scanned.findings;
        findings.clear();
        self.detector.find(window, &mut scratch.detect, findings);
        let mut cut = window.len().saturating_sub(self.window_overlap());
        // A match that starts before the cut is emitted whole in this window: its context
        // (`password=`) would be gone from the next one.
        for f in findings.iter() {
            if f.match_start < cut && f.end > cut {
                cut = f.end;
            }
        }
        findings.retain(|f| f.end <= cut);
        for f in findings.iter() {
            stats.findings[f.rule as usize] += 1;
        }
        self.redactor.apply(&window[..cut], findings, out);
        (cut, !findings.is_empty())
    }
}

/// The line of `batch` holding offset `at`, without its newline.
fn line_around(batch: &[u8], at: usize) -> std::ops::Range<usize> {
    let start = memrchr(b'\n', &batch[..at]).map_or(0, |p| p + 1);
    let end = memchr(b'\n', &batch[at..]).map_or(batch.len(), |p| at + p);
    start..end
}
