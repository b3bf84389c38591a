//! The filter: turns a batch of complete lines (or one window of an over-long line) into output
//! bytes — find, then redact — and counts what it did.
//!
//! Owns: the per-batch step between `stream` (which owns buffers and I/O) and `detect`/`redact`.
//! Must never: add, drop, split or reorder lines; a line without a finding leaves byte for byte.

use memchr::{memchr, memchr_iter};

use crate::detect::{Detector, Finding, Scratch};
use crate::redact::Redactor;
use crate::stats::Stats;

/// Margin added to the longest possible match when sizing window overlaps.
const OVERLAP_MARGIN: usize = 256;

/// Detection plus redaction for one run.
pub struct Filter {
    detector: Detector,
    redactor: Redactor,
}

/// Per-thread working memory of a [`Filter`].
pub struct FilterScratch {
    detect: Scratch,
    findings: Vec<Finding>,
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
    /// A filter that masks every secret (`[REDACTED:<rule-id>]`).
    pub fn new(detector: Detector) -> Self {
        let redactor = Redactor::new(detector.rules());
        Filter { detector, redactor }
    }

    /// A filter with a configured redactor (`--mode`, `--template`, per-rule overrides), which
    /// must have been built for `detector.rules()`.
    pub fn with_redactor(detector: Detector, redactor: Redactor) -> Self {
        Filter { detector, redactor }
    }

    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    pub fn scratch(&self) -> FilterScratch {
        FilterScratch {
            detect: self.detector.scratch(),
            findings: Vec::new(),
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
        stats.lines += memchr_iter(b'\n', batch).count() as u64;
        let findings = &mut scratch.findings;
        findings.clear();
        self.detector.find(batch, &mut scratch.detect, findings);
        if findings.is_empty() {
            return Outcome::Unchanged;
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
        let findings = &mut scratch.findings;
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
