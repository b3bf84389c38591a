//! The filter: turns a batch of complete lines (or one window of an over-long line, or one
//! rsyslog message) into output bytes — scan, then redact — and counts what it did.
//!
//! Owns: the per-batch step between `stream` (buffers and I/O) and `scan`/`redact`, the stream's
//! private-key block state (in [`FilterScratch`]), and the counting of findings and changed lines
//! (one place, so `--stats` counts exactly what is replaced). Must never: add, drop, split or
//! reorder lines; a line without a finding leaves byte for byte.
//!
//! Split for the parallel stream: [`Filter::scan`] is stateless and runs on workers;
//! [`Filter::apply`] runs in batch order (private-key blocks span lines and batches).

use std::sync::{Arc, Mutex};

use memchr::{memchr, memchr_iter};

use crate::detect::{Detector, RuleProfile};
use crate::finding::{Finding, FindingKind};
use crate::format::json;
use crate::format::keys::SecretKeys;
use crate::format::{Format, FormatOptions};
use crate::redact::{write_wrapped_as_json, Redactor};
use crate::scan::{Framing, KeyStreams, ScanScratch, Scanner};
use crate::stats::Stats;

pub use crate::scan::Scanned;

/// Detection plus redaction for one run.
pub struct Filter {
    scanner: Scanner,
    redactor: Redactor,
    /// With [`Filter::with_profile`]: where each [`FilterScratch`] adds its per-rule costs when
    /// dropped, so a run through `stream::run` is profiled whole.
    profile: Option<Arc<Mutex<RuleProfile>>>,
}

/// Per-stream working memory of a [`Filter`] (one per input stream: it carries the private-key
/// block state from one batch to the next).
pub struct FilterScratch {
    scan: ScanScratch,
    scanned: Scanned,
    keys: KeyStreams,
    line: Vec<u8>,
    /// The filter's profile sum, which this scratch's counters join when it is dropped.
    profile_sink: Option<Arc<Mutex<RuleProfile>>>,
}

impl Drop for FilterScratch {
    fn drop(&mut self) {
        if let Some(sink) = &self.profile_sink {
            if let (Some(p), Ok(mut sum)) = (self.scan.detect_mut().take_profile(), sink.lock()) {
                sum.merge(&p);
            }
        }
    }
}

impl FilterScratch {
    /// Starts counting per-rule detection costs (see [`crate::detect::RuleProfile`]).
    pub fn enable_profile(&mut self) {
        self.scan.detect_mut().enable_profile();
    }

    /// The per-rule costs counted so far by this scratch, and stops counting (`None` if off).
    pub fn take_profile(&mut self) -> Option<RuleProfile> {
        self.scan.detect_mut().take_profile()
    }

    /// The size bound the stream groups runtime partial records by (see `stream::lines_end`).
    pub fn set_record_bound(&mut self, bound: usize) {
        self.scan.set_record_bound(bound);
    }
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
        Self::with_format(detector, &FormatOptions::default())
    }

    /// A filter for the line format and key names in `options`.
    pub fn with_format(detector: Detector, options: &FormatOptions) -> Self {
        let redactor = Redactor::new(detector.rules());
        let keys = SecretKeys::new(&options.secret_keys);
        Filter {
            scanner: Scanner::new(detector, options.format, keys),
            redactor,
            profile: None,
        }
    }

    /// Replaces the redactor (masking everything) by a configured one (`--mode`, `--template`,
    /// per-rule overrides), which must have been built for this filter's rules. The scanner then
    /// skips exactly the markers this redactor writes.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        let markers = redactor.markers(self.scanner.detector().rules());
        self.scanner.detector_mut().set_markers(markers);
        self.redactor = redactor;
        self
    }

    /// Profiles detection: every [`Filter::scratch`] counts per-rule costs and adds them to a sum
    /// when dropped, read with [`Filter::profile`]. Worker scratches ([`Filter::scan_scratch`])
    /// are not counted: profile with one thread.
    pub fn with_profile(mut self) -> Self {
        let rule_count = self.detector().rules().rules.len();
        self.profile = Some(Arc::new(Mutex::new(RuleProfile::new(rule_count))));
        self
    }

    /// The per-rule costs of the scratches dropped so far (`None` without [`Filter::with_profile`]).
    pub fn profile(&self) -> Option<RuleProfile> {
        let sum = self.profile.as_ref()?.lock().ok()?;
        Some(sum.clone())
    }

    /// The line format it reads.
    pub fn format(&self) -> Format {
        self.scanner.format()
    }

    /// Its detector (rules and engine).
    pub fn detector(&self) -> &Detector {
        self.scanner.detector()
    }

    /// Its scanner.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// Its redactor.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Working memory for one input stream.
    pub fn scratch(&self) -> FilterScratch {
        let mut scratch = FilterScratch {
            scan: self.scanner.scratch(),
            scanned: Scanned::default(),
            keys: KeyStreams::default(),
            line: Vec::new(),
            profile_sink: self.profile.clone(),
        };
        if scratch.profile_sink.is_some() {
            scratch.enable_profile();
        }
        scratch
    }

    /// Working memory for [`Filter::scan`] on a worker thread.
    pub fn scan_scratch(&self) -> ScanScratch {
        self.scanner.scratch()
    }

    /// How many bytes consecutive windows of a long line must share (see
    /// [`Scanner::window_overlap`]).
    pub fn window_overlap(&self) -> usize {
        self.scanner.window_overlap()
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
        self.scan(batch, &mut scratch.scan, &mut scanned);
        let outcome = self.apply(batch, &mut scanned, scratch, out, stats);
        scratch.scanned = scanned;
        outcome
    }

    /// The stateless half of [`Filter::process_lines`].
    pub fn scan(&self, batch: &[u8], scratch: &mut ScanScratch, scanned: &mut Scanned) {
        self.scanner.scan_records(batch, scratch, scanned);
    }

    /// Every finding of `batch` (whole lines, in stream order after what `scratch` saw before):
    /// exactly what [`Filter::process_lines`] replaces. For `lint`.
    pub fn findings<'s>(&self, batch: &[u8], scratch: &'s mut FilterScratch) -> &'s [Finding] {
        let FilterScratch {
            scan,
            scanned,
            keys,
            ..
        } = scratch;
        self.scanner.scan(batch, Framing::Lines, scan, scanned);
        self.scanner.track_private_keys(batch, scanned, keys);
        &scanned.findings
    }

    /// The findings of the front of `window` (a piece of a long line) and how many bytes of it
    /// they cover (see [`Scanner::scan_window`]). For `lint`.
    pub fn window_findings<'s>(
        &self,
        window: &[u8],
        scratch: &'s mut FilterScratch,
    ) -> (usize, &'s [Finding]) {
        let cut = self
            .scanner
            .scan_window(window, &mut scratch.scan, &mut scratch.scanned);
        (cut, &scratch.scanned.findings)
    }

    /// The ordered half of [`Filter::process_lines`], run in batch order: adds the private-key
    /// bodies to what [`Filter::scan`] found and redacts `batch`.
    pub fn apply(
        &self,
        batch: &[u8],
        scanned: &mut Scanned,
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        stats.lines += memchr_iter(b'\n', batch).count() as u64;
        if scanned.joined.is_active() {
            return self.apply_joined(batch, scanned, scratch, out, stats);
        }
        self.scanner
            .track_private_keys(batch, scanned, &mut scratch.keys);
        let findings = &scanned.findings;
        if self.format().writes_json_objects() {
            return self.apply_as_json_objects(batch, findings, &mut scratch.line, out, stats);
        }
        if findings.is_empty() {
            return Outcome::Unchanged;
        }
        let rule_count = self.detector().rules().rules.len();
        count(findings, batch, rule_count, stats);
        let first_line_changed = memchr(b'\n', &batch[..findings[0].start]).is_none();
        out.reserve(batch.len() + 64 * findings.len());
        self.redactor.apply(batch, findings, out);
        Outcome::Rewritten { first_line_changed }
    }

    /// [`Filter::apply`] for a batch whose runtime partial records were joined by the scan: the
    /// private-key state sees each group as the one line it was, and the redacted logical lines go
    /// back into the records' own framing.
    fn apply_joined(
        &self,
        batch: &[u8],
        scanned: &mut Scanned,
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        let joined = std::mem::take(&mut scanned.joined);
        self.scanner
            .track_private_keys(joined.text(), scanned, &mut scratch.keys);
        let outcome = if scanned.findings.is_empty() {
            Outcome::Unchanged
        } else {
            let rule_count = self.detector().rules().rules.len();
            count(&scanned.findings, joined.text(), rule_count, stats);
            let (mut cuts, mut positions) = (Vec::new(), Vec::new());
            joined.cuts(&mut cuts);
            scratch.line.clear();
            self.redactor.apply_with_cuts(
                joined.text(),
                &scanned.findings,
                &cuts,
                &mut scratch.line,
                &mut positions,
            );
            let out_start = out.len();
            joined.write_back(batch, &scratch.line, &cuts, &positions, out);
            let first_line_end = memchr(b'\n', batch).unwrap_or(batch.len());
            let first_line_changed = out.get(out_start..out_start + first_line_end + 1)
                != batch.get(..first_line_end + 1);
            Outcome::Rewritten { first_line_changed }
        };
        scanned.joined = joined;
        outcome
    }

    /// `--format json`: as [`Filter::apply`], and every line that is not a JSON object is
    /// written as `{"log":"<line, redacted>"}`.
    fn apply_as_json_objects(
        &self,
        batch: &[u8],
        findings: &[Finding],
        line_out: &mut Vec<u8>,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> Outcome {
        let rule_count = self.detector().rules().rules.len();
        count(findings, batch, rule_count, stats);
        let out_len = out.len();
        let (mut any_changed, mut first_line_changed) = (false, false);
        let mut next = 0;
        let mut start = 0;
        while start < batch.len() {
            let end = memchr(b'\n', &batch[start..]).map_or(batch.len(), |p| start + p);
            let first = next;
            while findings.get(next).is_some_and(|f| f.start <= end) {
                next += 1;
            }
            let line = &batch[start..end];
            let shifted: Vec<Finding> = findings[first..next]
                .iter()
                .map(|f| Finding {
                    start: f.start - start,
                    end: f.end - start,
                    ..*f
                })
                .collect();
            let is_object =
                json::looks_like_object(line) && json::scan_object(line, &mut Vec::new());
            if is_object {
                self.redactor.apply(line, &shifted, out);
            } else {
                line_out.clear();
                self.redactor.apply(line, &shifted, line_out);
                write_wrapped_as_json(line_out, out);
                if shifted.is_empty() {
                    stats.lines_changed += 1;
                }
            }
            let changed = !is_object || !shifted.is_empty();
            any_changed |= changed;
            first_line_changed |= changed && start == 0;
            if end < batch.len() {
                out.push(b'\n');
            }
            start = end + 1;
        }
        if !any_changed {
            out.truncate(out_len);
            return Outcome::Unchanged;
        }
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
        let findings = self.findings(message, scratch);
        self.redactor.apply(message, findings, out);
        !findings.is_empty()
    }

    /// Redacts the front of `window`, a piece of a line too long to hold whole, and returns how
    /// many bytes of it were written to `out`, and whether anything was replaced. The rest (at
    /// least the overlap) must be kept and scanned again with what follows.
    pub fn process_window(
        &self,
        window: &[u8],
        scratch: &mut FilterScratch,
        out: &mut Vec<u8>,
        stats: &mut Stats,
    ) -> (usize, bool) {
        let rule_count = self.detector().rules().rules.len();
        let (cut, findings) = self.window_findings(window, scratch);
        for f in findings {
            stats.findings[f.kind.counter_index(rule_count)] += 1;
        }
        self.redactor.apply(&window[..cut], findings, out);
        (cut, !findings.is_empty())
    }

    /// The marker id of a finding's kind.
    pub fn id_of(&self, kind: FindingKind) -> &str {
        self.scanner.id_of(kind)
    }
}

/// Counts `findings` (per kind) and the lines of `batch` they change.
fn count(findings: &[Finding], batch: &[u8], rule_count: usize, stats: &mut Stats) {
    let mut previous_end = None;
    for f in findings {
        stats.findings[f.kind.counter_index(rule_count)] += 1;
        let new_line = match previous_end {
            None => true,
            Some(end) => memchr(b'\n', &batch[end..f.start]).is_some(),
        };
        stats.lines_changed += u64::from(new_line);
        previous_end = Some(f.end);
    }
}
