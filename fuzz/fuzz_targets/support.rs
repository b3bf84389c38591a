//! Shared by the fuzz targets: the built-in filter (built once per process), a reader that hands
//! input over in fuzzer-chosen small pieces, and a one-call stream run.
//!
//! Must never: print input text (a crash report names the invariant, not the bytes; libFuzzer
//! saves the input to `artifacts/` itself).
#![allow(dead_code)]

use std::io::Read;
use std::sync::OnceLock;

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::format::{Format, FormatOptions};
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};

/// The built-in rules, compiled once.
pub fn builtin_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules load"))
}

/// A filter over the built-in rules for `format`, built once per format.
pub fn filter(format: Format) -> &'static Filter {
    static FILTERS: OnceLock<Vec<(Format, Filter)>> = OnceLock::new();
    let all = FILTERS.get_or_init(|| {
        [
            Format::Auto,
            Format::Text,
            Format::Json,
            Format::Docker,
            Format::Cri,
        ]
        .into_iter()
        .map(|f| {
            let rules = builtin_rules().clone();
            let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine builds");
            let options = FormatOptions {
                format: f,
                secret_keys: Vec::new(),
            };
            let filter = Filter::with_format(Detector::new(rules, matcher), &options);
            (f, filter)
        })
        .collect()
    });
    &all.iter()
        .find(|(f, _)| *f == format)
        .expect("format built")
        .1
}

/// Hands `data` out in pieces whose sizes cycle through `sizes` (each at least 1 byte).
pub struct ChoppyReader<'a> {
    pub data: &'a [u8],
    pub sizes: Vec<usize>,
    pub next: usize,
}

impl<'a> ChoppyReader<'a> {
    pub fn new(data: &'a [u8], sizes: &[u8]) -> Self {
        let sizes = if sizes.is_empty() {
            vec![usize::MAX]
        } else {
            sizes.iter().map(|&s| 1 + usize::from(s) * 17).collect()
        };
        ChoppyReader {
            data,
            sizes,
            next: 0,
        }
    }
}

impl Read for ChoppyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Runs `input` through `filter` with reads of `sizes` and `max_line_bytes`; returns the output
/// and the stats.
pub fn run_stream(
    filter: &Filter,
    input: &[u8],
    sizes: &[u8],
    max_line_bytes: usize,
) -> (Vec<u8>, Stats) {
    let mut reader = ChoppyReader::new(input, sizes);
    let mut out = Vec::with_capacity(input.len() + 64);
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let options = StreamOptions {
        max_line_bytes,
        read_bytes: 64 * 1024,
        ..StreamOptions::default()
    };
    stream::run(&mut reader, &mut out, filter, options, &mut stats)
        .expect("in-memory streams cannot fail");
    (out, stats)
}

/// Counts `\n` bytes.
pub fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}
