//! The work the in-memory benchmarks time, shared so that they all time the same thing: the
//! detector over whole-line batches (as `stream` reads them), and the whole filter from a byte
//! slice to a sink.

#![allow(dead_code)]

use logredact::detect::{Detector, RuleMatch, Scratch};
use logredact::filter::Filter;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};

/// Splits `data` into batches of at most `size` bytes that end on a line boundary (where no
/// newline falls within `size` bytes, all the rest is one batch).
pub fn batches(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let cut = rest.len().min(size);
        let end = memchr::memrchr(b'\n', &rest[..cut]).map_or(rest.len(), |p| p + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// Runs `detector` over every batch; returns how many findings there were in all.
pub fn find_in_batches(
    detector: &Detector,
    batches: &[&[u8]],
    scratch: &mut Scratch,
    findings: &mut Vec<RuleMatch>,
) -> usize {
    let mut total = 0;
    for batch in batches {
        findings.clear();
        detector.find(batch, scratch, findings);
        total += findings.len();
    }
    total
}

/// Runs `filter` over `data` into a sink with the default stream options; returns the line count.
pub fn filter_to_sink(filter: &Filter, data: &[u8]) -> u64 {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut input = data;
    stream::run(
        &mut input,
        &mut std::io::sink(),
        filter,
        StreamOptions::default(),
        &mut stats,
    )
    .expect("in-memory stream");
    stats.lines
}
