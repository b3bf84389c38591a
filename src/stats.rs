//! Counters for `--stats`: what went through and what was found, per rule.
//!
//! Owns: the counters and their report. Must never: hold or print text from the input — only
//! counts, byte totals, rule ids and durations.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::rules::RuleSet;

/// Running totals of one filter run.
#[derive(Debug, Clone)]
pub struct Stats {
    pub lines: u64,
    pub bytes: u64,
    pub lines_changed: u64,
    /// Findings per rule index.
    pub findings: Vec<u64>,
    started: Instant,
}

impl Stats {
    pub fn new(rule_count: usize) -> Self {
        Stats {
            lines: 0,
            bytes: 0,
            lines_changed: 0,
            findings: vec![0; rule_count],
            started: Instant::now(),
        }
    }

    /// Adds the counts of `other` (a worker's or a window's share) to these.
    pub fn merge(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.lines_changed += other.lines_changed;
        for (mine, theirs) in self.findings.iter_mut().zip(&other.findings) {
            *mine += theirs;
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn total_findings(&self) -> u64 {
        self.findings.iter().sum()
    }

    /// A human-readable report: totals, then findings per rule id (busiest first).
    pub fn report(&self, rules: &RuleSet) -> String {
        let secs = self.elapsed().as_secs_f64();
        let mut s = String::new();
        let _ =
            writeln!(
            s,
            "logredact: {} lines, {} bytes, {} findings, {} lines changed, {:.3} s ({:.1} MB/s)",
            self.lines,
            self.bytes,
            self.total_findings(),
            self.lines_changed,
            secs,
            if secs > 0.0 { self.bytes as f64 / secs / 1e6 } else { 0.0 }
        );
        let mut per_rule: Vec<(u64, &str)> = self
            .findings
            .iter()
            .zip(&rules.rules)
            .filter(|(n, _)| **n > 0)
            .map(|(n, r)| (*n, r.id.as_str()))
            .collect();
        per_rule.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        for (n, id) in per_rule {
            let _ = writeln!(s, "logredact:   {n:>10}  {id}");
        }
        s
    }
}
