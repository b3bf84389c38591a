//! `--threads N`: the parallel stream gives byte-for-byte the output of the single-threaded one,
//! including private-key blocks that span batches, long-line windows and a last line without
//! newline.

use std::sync::OnceLock;

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::shutdown::Shutdown;
use logredact::stats::Stats;
use logredact::stream::{self, parallel, StreamOptions};
use proptest::prelude::*;

fn filter() -> &'static Filter {
    static FILTER: OnceLock<Filter> = OnceLock::new();
    FILTER.get_or_init(|| {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let matcher = engine::build(&rules, EngineChoice::Auto).expect("engine");
        Filter::new(Detector::new(rules, matcher))
    })
}

fn options(read_bytes: usize) -> StreamOptions {
    StreamOptions {
        max_line_bytes: 4096,
        read_bytes,
        ..StreamOptions::default()
    }
}

fn single(input: &[u8], read_bytes: usize) -> (Vec<u8>, Stats) {
    let f = filter();
    let mut stats = Stats::new(f.detector().rules().rules.len());
    let mut out = Vec::new();
    stream::run(
        &mut &input[..],
        &mut out,
        f,
        options(read_bytes),
        &mut stats,
    )
    .expect("stream");
    (out, stats)
}

fn threaded(input: &[u8], read_bytes: usize, threads: usize) -> (Vec<u8>, Stats) {
    let f = filter();
    let mut stats = Stats::new(f.detector().rules().rules.len());
    let mut out = Vec::new();
    parallel::run(
        &mut &input[..],
        &mut out,
        f,
        options(read_bytes),
        &mut stats,
        &Shutdown::never(),
        threads,
    )
    .expect("parallel stream");
    (out, stats)
}

fn pieces() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"2026-11-29T10:00:00Z INFO request done status=200\n".to_vec()),
        Just(b"auth failed for 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\n".to_vec()),
        Just(b"{\"log\":\"password=Tr0ub4dor&3x\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-29T10:00:00Z\"}\n".to_vec()),
        Just(b"-----BEGIN RSA PRIVATE KEY-----\n".to_vec()),
        Just(b"MIIEowIBAAKCAQEA7d3kq9ZV3nUo2YtLk8bX0aQm4s1pWc5e6f7g8h9i0j1k2l3m4n5o\n".to_vec()),
        Just(b"-----END RSA PRIVATE KEY-----\n".to_vec()),
        Just(b"{\"password\":\"hunter2\",\"user\":\"bob\"}\n".to_vec()),
        "[a-z =:/.]{0,80}\n".prop_map(String::into_bytes),
        (5000usize..9000).prop_map(|n| {
            let mut v = vec![b'x'; n];
            v.extend_from_slice(b" token=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\n");
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn parallel_output_equals_single_threaded(input in pieces(), read in 64usize..3000, threads in 2usize..5) {
        let (expected, s1) = single(&input, read);
        let (got, s2) = threaded(&input, read, threads);
        prop_assert!(got == expected, "outputs differ");
        prop_assert_eq!(s1.lines, s2.lines);
        prop_assert_eq!(s1.bytes, s2.bytes);
        prop_assert_eq!(s1.total_findings(), s2.total_findings());
    }
}

#[test]
fn a_private_key_block_across_many_batches_is_hidden_in_order() {
    let mut input = b"start\n-----BEGIN OPENSSH PRIVATE KEY-----\n".to_vec();
    for i in 0..150 {
        input.extend_from_slice(
            format!("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz{i:04}\n")
                .as_bytes(),
        );
    }
    input.extend_from_slice(b"-----END OPENSSH PRIVATE KEY-----\nafter\n");
    let (expected, _) = single(&input, 100);
    let (got, _) = threaded(&input, 100, 3);
    assert_eq!(got, expected);
    assert!(
        !String::from_utf8_lossy(&got).contains("b3BlbnNzaC1rZXktdjE"),
        "key body leaked"
    );
}
