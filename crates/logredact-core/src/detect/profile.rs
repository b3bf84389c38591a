//! Per-rule cost counters for `logredact rules profile`: how often each rule was a candidate, was
//! confirmed (its regex run), matched, passed or failed the gates, and the time its confirmations
//! took; plus the time of the engine's candidate passes.
//!
//! Owns: the counters only (filled by `detect` when a [`super::Scratch`] has profiling on).
//! Must never: hold input bytes — counts and nanoseconds only. Off by default: detection then
//! pays one branch per confirmation and per engine pass, nothing else.

/// The counters of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleCost {
    /// Engine candidates for the rule (keyword hits, or a line for a rule without keywords).
    pub candidates: u64,
    /// Regex runs (one per rule and line, or per merged window of a long line).
    pub confirmations: u64,
    /// Regex matches (and list items) found by those runs.
    pub matches: u64,
    /// Matches that passed the markers and the gates (before findings merge).
    pub passed: u64,
    /// Matches dropped by our own markers or by a gate (placeholder, entropy, validator, allowlist).
    pub rejected: u64,
    /// Nanoseconds spent confirming.
    pub nanos: u64,
}

/// The counters of every rule of a detector, summed over the scratches that were profiling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleProfile {
    /// Indexed like `RuleSet::rules`.
    pub rules: Vec<RuleCost>,
    /// Engine candidate passes (one per text handed to `Detector::find`).
    pub candidate_passes: u64,
    /// Nanoseconds spent in the engine's candidate passes.
    pub candidate_nanos: u64,
}

impl RuleProfile {
    /// Zero counters for `rule_count` rules.
    pub fn new(rule_count: usize) -> Self {
        RuleProfile {
            rules: vec![RuleCost::default(); rule_count],
            candidate_passes: 0,
            candidate_nanos: 0,
        }
    }

    /// Adds `other`'s counters (same rules) to these.
    pub fn merge(&mut self, other: &RuleProfile) {
        if self.rules.len() < other.rules.len() {
            self.rules.resize(other.rules.len(), RuleCost::default());
        }
        for (a, b) in self.rules.iter_mut().zip(&other.rules) {
            a.candidates += b.candidates;
            a.confirmations += b.confirmations;
            a.matches += b.matches;
            a.passed += b.passed;
            a.rejected += b.rejected;
            a.nanos += b.nanos;
        }
        self.candidate_passes += other.candidate_passes;
        self.candidate_nanos += other.candidate_nanos;
    }
}

/// Nanoseconds since `start`, saturating.
pub(super) fn nanos_since(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
