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

/// Options that always read on (as if input kept pouring in) until a batch holds `read_bytes`.
fn reading_on(read_bytes: usize) -> StreamOptions {
    StreamOptions {
        more_waiting: || true,
        ..options(read_bytes)
    }
}

fn single(input: &[u8], read_bytes: usize) -> (Vec<u8>, Stats) {
    single_with(input, options(read_bytes))
}

fn single_with(input: &[u8], options: StreamOptions) -> (Vec<u8>, Stats) {
    let f = filter();
    let mut stats = Stats::new(f.detector().rules().rules.len());
    let mut out = Vec::new();
    stream::run(&mut &input[..], &mut out, f, options, &mut stats).expect("stream");
    (out, stats)
}

fn threaded(input: &[u8], read_bytes: usize, threads: usize) -> (Vec<u8>, Stats) {
    threaded_with(input, options(read_bytes), threads)
}

fn threaded_with(input: &[u8], options: StreamOptions, threads: usize) -> (Vec<u8>, Stats) {
    let f = filter();
    let mut stats = Stats::new(f.detector().rules().rules.len());
    let mut out = Vec::new();
    parallel::run(
        &mut &input[..],
        &mut out,
        f,
        options,
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
        // Runtime partial records (issue 14, L5): groups are joined across batches' reads.
        Just(b"2026-11-29T10:00:00Z stdout P token ghp_8SeYgg4RpXjD4YNv\n".to_vec()),
        Just(b"2026-11-29T10:00:00Z stdout F TP1KwYK9rxiVNk351SdJ done\n".to_vec()),
        Just(b"2026-11-29T10:00:00Z stderr P -----BEGIN RSA PRI\n".to_vec()),
        Just(b"2026-11-29T10:00:00Z stderr F VATE KEY-----\n".to_vec()),
        Just(b"2026-11-29T10:00:00Z stderr F MIIEowIBAAKCAQEA7d3kq9ZV3nUo2YtLk8bX0aQm4s1pWc5e6f7g8h9\n".to_vec()),
        Just(b"{\"log\":\"token ghp_8SeYgg4RpXjD4YNv\",\"stream\":\"stdout\",\"time\":\"2026-11-29T10:00:00Z\"}\n".to_vec()),
        Just(b"{\"log\":\"TP1KwYK9rxiVNk351SdJ\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-29T10:00:00Z\"}\n".to_vec()),
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
        // No line lost (both could lose the same ones): redaction keeps every newline.
        let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
        prop_assert_eq!(newlines(&expected), newlines(&input));
        prop_assert!(got == expected, "outputs differ");
        prop_assert_eq!(s1.lines, s2.lines);
        prop_assert_eq!(s1.bytes, s2.bytes);
        prop_assert_eq!(s1.total_findings(), s2.total_findings());
    }

    /// Reading on while input is waiting changes batch sizes only: never the output or counts.
    #[test]
    fn reading_on_changes_nothing_but_batch_sizes(input in pieces(), read in 64usize..3000, threads in 2usize..5) {
        let (expected, s1) = single(&input, read);
        for (got, s2) in [
            single_with(&input, reading_on(read)),
            threaded_with(&input, reading_on(read), threads),
        ] {
            prop_assert!(got == expected, "outputs differ");
            prop_assert_eq!(s1.lines, s2.lines);
            prop_assert_eq!(s1.total_findings(), s2.total_findings());
        }
    }
}

/// Input that arrives as "two lines and a half", then "a bit more of the half" while more
/// seems to be waiting, then nothing for a while: the two complete lines must be out before
/// the stream waits for the rest of the half line.
mod reading_on_never_holds_complete_lines {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    static MORE_WAITING: AtomicBool = AtomicBool::new(false);
    const COMPLETE: &[u8] = b"first line\nsecond line\n";

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Hands out "two lines and a half", then "more", and before the third read (where a real
    /// pipe would block) waits up to 5 s for the complete lines to have been written.
    struct Script {
        reads: usize,
        written: Shared,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            let chunk: &[u8] = match self.reads {
                1 => {
                    MORE_WAITING.store(true, Ordering::SeqCst);
                    b"first line\nsecond line\nthe ha"
                }
                2 => {
                    MORE_WAITING.store(false, Ordering::SeqCst);
                    b"lf"
                }
                3 => {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while !self.written.0.lock().expect("lock").starts_with(COMPLETE) {
                        assert!(Instant::now() < deadline, "complete lines held back");
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    b" line\n"
                }
                _ => b"",
            };
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    fn options() -> StreamOptions {
        StreamOptions {
            more_waiting: || MORE_WAITING.load(Ordering::SeqCst),
            ..super::options(4096)
        }
    }

    #[test]
    fn single_threaded_and_parallel() {
        let f = filter();
        let expected = b"first line\nsecond line\nthe half line\n";
        for threads in [1, 3] {
            let written = Shared::default();
            let mut input = Script {
                reads: 0,
                written: written.clone(),
            };
            let mut stats = Stats::new(f.detector().rules().rules.len());
            let result = if threads == 1 {
                stream::run(&mut input, &mut written.clone(), f, options(), &mut stats)
            } else {
                let (never, out) = (Shutdown::never(), written.clone());
                parallel::run(&mut input, out, f, options(), &mut stats, &never, threads)
            };
            result.expect("stream");
            assert_eq!(written.0.lock().expect("lock").as_slice(), expected);
            assert_eq!(stats.lines, 3, "threads {threads}");
        }
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

/// A token cut by CRI `P`/`F` records arriving in separate small reads is redacted in both
/// records, the same way with one thread and with several (issue 14, L5).
#[test]
fn partial_records_across_reads_are_joined_the_same_way_in_parallel() {
    let input = b"2026-11-29T10:00:00Z stdout P token ghp_8SeYgg4RpXjD4YNv\n\
        2026-11-29T10:00:00Z stderr F between\n\
        2026-11-29T10:00:00Z stdout F TP1KwYK9rxiVNk351SdJ done\n";
    for read in [7, 64, 4096] {
        let (expected, _) = single(input, read);
        let text = String::from_utf8_lossy(&expected);
        assert!(
            !text.contains("8SeYgg4RpX") && !text.contains("TP1KwYK9"),
            "read {read}"
        );
        assert_eq!(text.lines().count(), 3, "read {read}");
        for threads in [2, 3] {
            assert!(
                threaded(input, read, threads).0 == expected,
                "read {read}, {threads} threads"
            );
        }
    }
}

/// Runtime partial records of two streams that take turns (a CRI `stderr P` and a Docker
/// `stdout` record without its `\n`), with lines too long to join in between: the streams once
/// held back more than their buffer as one open run of groups, read nothing more and took that
/// for the end of input, so the single-threaded stream cut the input short (CI, stop 19).
#[test]
fn partial_records_of_two_streams_never_cut_the_input_short() {
    let long = |n: usize| {
        let mut v = vec![b'x'; n];
        v.extend_from_slice(b" token=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\n");
        v
    };
    let mut input = b"2026-11-29T10:00:00Z stderr P -----BEGIN RSA PRI\n".to_vec();
    input.extend(long(5000));
    input.extend(long(7526));
    input.extend_from_slice(
        b"{\"log\":\"token ghp_8SeYgg4RpXjD4YNv\",\"stream\":\"stdout\",\"time\":\"2026-11-29T10:00:00Z\"}\n",
    );
    input.extend_from_slice(b"2026-11-29T10:00:00Z stderr F VATE KEY-----\n");
    for n in [7558, 8987, 7050, 6000, 9000] {
        input.extend(long(n));
    }
    let lines = input.iter().filter(|&&b| b == b'\n').count();
    for read in [64, 4096] {
        let (expected, stats) = single(&input, read);
        let text = String::from_utf8_lossy(&expected);
        assert_eq!(text.lines().count(), lines, "read {read}");
        assert_eq!(stats.lines as usize, lines, "read {read}");
        assert!(
            text.ends_with(" token=[REDACTED:github-pat]\n"),
            "read {read}"
        );
        assert!(!text.contains("TP1KwYK9"), "read {read}");
        for threads in [2, 3] {
            assert!(
                threaded(&input, read, threads).0 == expected,
                "read {read}, {threads} threads"
            );
        }
    }
}
