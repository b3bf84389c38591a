//! Property tests of the streaming invariants, in process (fast enough for many cases):
//! one line in → one line out, clean input unchanged, output idempotent.

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};
use proptest::prelude::*;
use std::sync::OnceLock;

/// Built once: compiling every rule per case would dominate the run time.
fn filter() -> &'static Filter {
    static FILTER: OnceLock<Filter> = OnceLock::new();
    FILTER.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let matcher = engine::build(&rules, EngineChoice::Regex).expect("engine");
        Filter::new(Detector::new(rules, matcher))
    })
}

/// Runs `input` through the filter with small reads and windows, to exercise every edge.
fn redact(filter: &Filter, input: &[u8], read_bytes: usize) -> (Vec<u8>, Stats) {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::new();
    let options = StreamOptions {
        max_line_bytes: 4096,
        read_bytes,
        ..StreamOptions::default()
    };
    stream::run(&mut &input[..], &mut out, filter, options, &mut stats).expect("in-memory stream");
    (out, stats)
}

fn newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// Lines made of log-ish words, known secret shapes and arbitrary bytes.
fn log_text() -> impl Strategy<Value = Vec<u8>> {
    let word = prop_oneof![
        Just(b"token=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8".to_vec()),
        Just(b"password=Tr0ub4dor&3".to_vec()),
        Just(b"postgres://app:Zq8sLx2Pw9@db:5432/x".to_vec()),
        Just(b"AKIAIOSFODNN7ABCDEFG".to_vec()),
        Just(
            b"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"
                .to_vec()
        ),
        Just(b" ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        "[a-zA-Z0-9=:/._-]{0,40}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..16),
    ];
    proptest::collection::vec(word, 0..60).prop_map(|ws| ws.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_line_in_gives_one_line_out(input in log_text(), read in 1usize..700) {
        let f = filter();
        let (out, stats) = redact(f, &input, read);
        prop_assert_eq!(newlines(&out), newlines(&input));
        prop_assert_eq!(out.last() == Some(&b'\n'), input.last() == Some(&b'\n'));
        prop_assert_eq!(out.is_empty(), input.is_empty());
        if stats.total_findings() == 0 {
            prop_assert!(out == input, "clean input changed");
        }
    }

    #[test]
    fn output_is_idempotent(input in log_text()) {
        let f = filter();
        let (once, _) = redact(f, &input, 8192);
        let (twice, stats) = redact(f, &once, 8192);
        prop_assert_eq!(stats.total_findings(), 0, "a marker or leftover was detected again");
        prop_assert!(once == twice);
    }

    #[test]
    fn arbitrary_bytes_keep_line_framing(input in proptest::collection::vec(any::<u8>(), 0..5000), read in 1usize..300) {
        let f = filter();
        let (out, _) = redact(f, &input, read);
        prop_assert_eq!(newlines(&out), newlines(&input));
    }

    #[test]
    fn lines_without_secret_shapes_are_unchanged(input in "[a-z ,.\n]{0,2000}") {
        let f = filter();
        let (out, _) = redact(f, input.as_bytes(), 512);
        prop_assert!(out == input.as_bytes());
    }
}
