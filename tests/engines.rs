//! Differential tests: the Hyperscan engine and the pure-Rust engine must report identical
//! findings — on every rule's examples, on the generated benchmark corpora, and on random text
//! with rule examples spliced in — and the Hyperscan database cache must never change the output.
//! Runs only with `--features hyperscan`; without it, one test checks the engine is refused.

mod common;

#[cfg(not(feature = "hyperscan"))]
#[test]
fn hyperscan_engine_is_refused_without_the_feature() {
    eprintln!(
        "tests/engines.rs: built without the `hyperscan` feature; differential tests skipped"
    );
    let out = common::run(&["--engine", "hyperscan"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features hyperscan"));
}

#[cfg(feature = "hyperscan")]
#[path = "../benches/engines/corpus.rs"]
mod corpus;

/// The end-to-end benchmark's corpora (`benches/e2e.sh`, `benches/throughput.rs`).
#[cfg(feature = "hyperscan")]
#[path = "../benches/support/corpus.rs"]
mod e2e_corpus;

#[cfg(feature = "hyperscan")]
mod differential {
    use std::path::Path;

    use logredact::detect::{Detector, RuleMatch};
    use logredact::engine::hyperscan::DatabaseSource;
    use logredact::engine::{HyperscanMatcher, HyperscanOptions, KeywordMatcher};
    use logredact::rules::RuleSet;
    use proptest::prelude::*;

    use super::common;
    use super::corpus::{self, Kind};

    struct Pair {
        regex: Detector,
        hyperscan: Detector,
    }

    impl Pair {
        fn new(rules: &RuleSet) -> Pair {
            let keyword = KeywordMatcher::new(rules).unwrap();
            let hs = HyperscanMatcher::new(rules, &HyperscanOptions::uncached()).unwrap();
            Pair {
                regex: Detector::new(rules.clone(), Box::new(keyword)),
                hyperscan: Detector::new(rules.clone(), Box::new(hs)),
            }
        }

        fn findings(d: &Detector, text: &[u8]) -> Vec<RuleMatch> {
            let mut out = Vec::new();
            d.find(text, &mut d.scratch(), &mut out);
            out
        }

        /// Asserts both engines agree on `text`; returns how many findings they made.
        fn assert_same(&self, text: &[u8], what: &str) -> usize {
            let a = Self::findings(&self.regex, text);
            let b = Self::findings(&self.hyperscan, text);
            if a != b {
                let rule = |f: &RuleMatch| self.regex.rules().rules[f.rule as usize].id.clone();
                let only_regex: Vec<_> = a.iter().filter(|f| !b.contains(f)).map(rule).collect();
                let only_hs: Vec<_> = b.iter().filter(|f| !a.contains(f)).map(rule).collect();
                panic!("{what}: engines differ; only regex: {only_regex:?}, only hyperscan: {only_hs:?}");
            }
            a.len()
        }
    }

    fn builtin() -> RuleSet {
        RuleSet::builtin().unwrap()
    }

    /// Edge cases the built-in rules do not have: no keywords, a regex that matches without its
    /// keyword, line anchors, and rules Hyperscan must not run (they fall back alone).
    fn edge_rules() -> RuleSet {
        let mut set = RuleSet::default();
        set.add_file(Path::new("tests/fixtures/engines-edge-cases.toml"))
            .unwrap();
        set
    }

    #[test]
    fn every_rule_example_gives_identical_findings() {
        let rules = builtin();
        let pair = Pair::new(&rules);
        let mut found = 0;
        let mut batch = Vec::new();
        for rule in &rules.rules {
            for (i, e) in rule
                .examples
                .iter()
                .chain(&rule.negative_examples)
                .enumerate()
            {
                found += pair.assert_same(e.as_bytes(), &format!("rule {} case {i}", rule.id));
                batch.extend_from_slice(e.as_bytes());
                batch.push(b'\n');
            }
        }
        assert!(
            found >= rules.rules.len(),
            "examples should be found: {found}"
        );
        // The same lines as one batch: line edges, `^`/`$` and candidates from other lines.
        pair.assert_same(&batch, "all examples in one batch");
    }

    #[test]
    fn generated_corpora_give_identical_findings() {
        let rules = builtin();
        let pair = Pair::new(&rules);
        for kind in Kind::ALL {
            let text = corpus::generate(kind, &rules, 400_000, 7);
            // Batches as the stream makes them: whole lines, about 64 KiB each.
            let mut total = 0;
            let mut rest = &text[..];
            while !rest.is_empty() {
                let cut = rest.len().min(64 * 1024);
                let end = memchr::memrchr(b'\n', &rest[..cut]).map_or(rest.len(), |p| p + 1);
                total += pair.assert_same(&rest[..end], kind.name());
                rest = &rest[end..];
            }
            match kind {
                Kind::Clean => assert_eq!(total, 0, "clean corpus has no secrets"),
                _ => assert!(total > 0, "{} corpus has findings", kind.name()),
            }
        }
    }

    #[test]
    fn end_to_end_benchmark_corpora_give_identical_findings() {
        use super::e2e_corpus::{generate, Kind as E2eKind};
        let pair = Pair::new(&builtin());
        for (name, kind) in [
            ("e2e clean", E2eKind::Clean),
            (
                "e2e typical",
                E2eKind::Typical {
                    secret_permille: 10,
                },
            ),
            ("e2e worst", E2eKind::Worst),
        ] {
            let text = generate(kind, 300_000, 5);
            let mut rest = &text[..];
            let mut total = 0;
            while !rest.is_empty() {
                let cut = rest.len().min(64 * 1024);
                let end = memchr::memrchr(b'\n', &rest[..cut]).map_or(rest.len(), |p| p + 1);
                total += pair.assert_same(&rest[..end], name);
                rest = &rest[end..];
            }
            assert_eq!(
                total == 0,
                kind == E2eKind::Clean,
                "{name}: {total} findings"
            );
        }
    }

    #[test]
    fn edge_case_rules_behave_and_fall_back_per_rule() {
        let rules = edge_rules();
        let hs = HyperscanMatcher::new(&rules, &HyperscanOptions::uncached()).unwrap();
        use logredact::engine::Matcher;
        let engine_of = |id: &str| {
            let i = rules.rules.iter().position(|r| r.id == id).unwrap();
            hs.engine_of(i)
        };
        assert_eq!(engine_of("no-keywords"), "hyperscan");
        assert_eq!(engine_of("keyword-stand-in-long"), "hs-keywords");
        assert_eq!(engine_of("anchored-to-haystack"), "regex");
        assert_eq!(engine_of("nested-class"), "regex");
        // No literal to anchor on, and a 4-byte keyword: Hyperscan looks for the keyword.
        assert_eq!(engine_of("matches-empty"), "hs-keywords");
        assert_eq!(engine_of("hs-rejects"), "regex");

        let pair = Pair::new(&rules);
        let text = b"zq_4f9a8b7c6d5e\nlead dq_4f9a8b7c6d5e mid\ndq_4f9a8b7c6d5e alone\n\
            ^ln:abcdefgh\nln:abcdefgh\nsome ln:abcdefgh\nend:abcdefgh\nend:abcdefgh x\n\
            vt\x0bsp:abc12345\nxx-9f8e7d6c5b4a\nnest:b12\nhay:abcd hay:efgh\nugr:abcdefgh opt:1234\n\xff\xfeqq_deadbeef00\r\n";
        assert!(pair.assert_same(text, "edge batch") >= 5);
        for line in text.split(|&b| b == b'\n') {
            pair.assert_same(line, "edge line");
        }
    }

    #[test]
    fn long_line_with_dense_keyword_hits_keeps_the_far_match() {
        let rules = edge_rules();
        let pair = Pair::new(&rules);
        let mut line = vec![b'.'; 20_000];
        line.extend_from_slice("kqv=".repeat(30).as_bytes());
        let secret: String = (0..200)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect();
        line.extend_from_slice(secret.as_bytes());
        line.extend(vec![b'.'; 20_000]);
        assert_eq!(pair.assert_same(&line, "dense keyword hits"), 1);
    }

    #[test]
    fn long_lines_agree_when_secrets_are_apart() {
        let rules = builtin();
        let pair = Pair::new(&rules);
        let mut line = Vec::new();
        for rule in rules.rules.iter().take(60) {
            line.extend(std::iter::repeat(b'.').take(3000));
            line.push(b' ');
            line.extend_from_slice(rule.examples[0].as_bytes());
            line.push(b' ');
        }
        assert!(line.len() > 100_000);
        assert!(pair.assert_same(&line, "long line") > 30);
    }

    fn splice_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, usize, usize)>)> {
        // Random bytes biased to what logs hold (ASCII, separators, CR, VT, non-UTF-8), plus
        // up to four (rule, example, position) splices.
        let byte = prop_oneof![
            8 => 0x20u8..0x7f,
            1 => Just(b'\n'),
            1 => prop::sample::select(vec![b'\r', 0x0b, b'\t', 0, 0xff, 0xc3, b'=', b'"']),
        ];
        (
            prop::collection::vec(byte, 0..400),
            prop::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 0..4),
        )
    }

    fn spliced(rules: &RuleSet, noise: &[u8], splices: &[(usize, usize, usize)]) -> Vec<u8> {
        let mut text = noise.to_vec();
        for &(r, e, at) in splices {
            let rule = &rules.rules[r % rules.rules.len()];
            let cases: Vec<&String> = rule
                .examples
                .iter()
                .chain(&rule.negative_examples)
                .collect();
            if cases.is_empty() {
                continue;
            }
            let at = at % (text.len() + 1);
            let example = cases[e % cases.len()].as_bytes();
            text.splice(at..at, example.iter().copied());
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn examples_spliced_into_random_text_give_identical_findings(
            (noise, splices) in splice_strategy()
        ) {
            thread_local!(static PAIR: (RuleSet, Pair) = {
                let rules = builtin();
                let pair = Pair::new(&rules);
                (rules, pair)
            });
            PAIR.with(|(rules, pair)| {
                pair.assert_same(&spliced(rules, &noise, &splices), "spliced text");
            });
        }

        #[test]
        fn edge_rules_on_random_text_give_identical_findings(
            (noise, splices) in splice_strategy()
        ) {
            thread_local!(static PAIR: (RuleSet, Pair) = {
                let rules = edge_rules();
                let pair = Pair::new(&rules);
                (rules, pair)
            });
            PAIR.with(|(rules, pair)| {
                pair.assert_same(&spliced(rules, &noise, &splices), "edge spliced text");
            });
        }
    }

    /// Runs the real binary with `XDG_CACHE_HOME=cache_home` on `input`; returns stdout.
    fn run_filter(cache_home: &Path, input: &[u8]) -> Vec<u8> {
        let out = common::run_reading_all(
            std::process::Command::new(common::BIN)
                .args(["--engine", "hyperscan"])
                .env("XDG_CACHE_HOME", cache_home),
            input,
        );
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn cache_files(cache_home: &Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(cache_home.join("logredact"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_broken_cache_never_changes_the_output() {
        let rules = builtin();
        let input = corpus::generate(Kind::Typical, &rules, 60_000, 11);
        let home = tempfile::tempdir().unwrap();

        let reference = run_filter(home.path(), &input);
        assert_ne!(reference, input, "the corpus has secrets to redact");
        let files = cache_files(home.path());
        assert_eq!(files.len(), 1, "the built-in database is cached");
        let good = std::fs::read(&files[0]).unwrap();

        // Warm cache.
        assert_eq!(run_filter(home.path(), &input), reference);
        let warm = HyperscanMatcher::new(
            &rules,
            &HyperscanOptions {
                cache_dir: Some(home.path().join("logredact")),
                ..HyperscanOptions::uncached()
            },
        )
        .unwrap();
        assert_eq!(warm.database_source(), DatabaseSource::Cache);
        // The cached plan (which rules run in Hyperscan, which as keywords) is the compiled one.
        let fresh = HyperscanMatcher::new(&rules, &HyperscanOptions::uncached()).unwrap();
        use logredact::engine::Matcher;
        for i in 0..rules.rules.len() {
            assert_eq!(
                warm.engine_of(i),
                fresh.engine_of(i),
                "rule {}",
                rules.rules[i].id
            );
        }

        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        let corruptions: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("truncated", good[..good.len() / 3].to_vec()),
            ("bit flip", flipped),
            ("garbage", vec![0x5a; good.len()]),
        ];
        for (what, bytes) in corruptions {
            std::fs::write(&files[0], &bytes).unwrap();
            assert_eq!(run_filter(home.path(), &input), reference, "{what} cache");
            // The bad file was replaced by a good one.
            assert_eq!(
                std::fs::read(&files[0]).unwrap(),
                good,
                "{what} cache rewritten"
            );
        }

        // Unwritable: the cache "directory" lies under a regular file.
        let file = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(
            run_filter(file.path(), &input),
            reference,
            "unwritable cache"
        );
    }

    #[test]
    fn pure_rust_and_hyperscan_binaries_agree_end_to_end() {
        let rules = builtin();
        let input = corpus::generate(Kind::Typical, &rules, 100_000, 3);
        let home = tempfile::tempdir().unwrap();
        let hs = run_filter(home.path(), &input);
        let out = common::run(&["--engine", "regex"], &input);
        assert_eq!(out.stdout, hs);
    }
}
