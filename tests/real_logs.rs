//! False positives and misses on logs written by real software: every file of
//! `../shared/real-logs/` (576 files, 136 k lines, see its README) goes through the library filter
//! on every compiled-in engine. Every line must come out byte-identical except the lines that
//! `expected.jsonl` lists (1-based, per file), which hold a real token, password or session id and
//! must come out changed. Skipped, with a message, where the directory is absent.
//!
//! Failure messages name the file, the line number and the rule ids that fired — never the line,
//! which may hold a real credential.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::filter::Filter;
use logredact::rules::RuleSet;
use logredact::stats::Stats;
use logredact::stream::{self, StreamOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-logs")
}

/// `expected.jsonl`: file (relative path) → the 1-based numbers of the lines with a credential.
fn expected(root: &Path) -> BTreeMap<String, BTreeSet<usize>> {
    let text = std::fs::read_to_string(root.join("expected.jsonl")).expect("expected.jsonl");
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("expected.jsonl line is JSON");
        let file = v["file"].as_str().expect("file").to_string();
        let lines = v["secret_lines"]
            .as_array()
            .expect("secret_lines")
            .iter()
            .map(|n| n.as_u64().expect("line number") as usize)
            .collect();
        out.insert(file, lines);
    }
    out
}

/// Every log file under `dir`, hidden directories and names with spaces included; the corpus's
/// own README, `expected.jsonl` and `LICENSES/` are not logs.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if rel != "LICENSES" {
                walk(root, &path, out);
            }
        } else if rel != "README.md" && rel != "expected.jsonl" {
            out.push(rel);
        }
    }
}

/// Lines as the corpus counts them: runs ended by `\n`, and a last run without one.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    if out.is_empty() && !bytes.is_empty() {
        out.push(bytes);
    }
    out
}

fn redact(filter: &Filter, input: &[u8]) -> (Vec<u8>, Stats) {
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut out = Vec::with_capacity(input.len());
    stream::run(
        &mut &input[..],
        &mut out,
        filter,
        StreamOptions::default(),
        &mut stats,
    )
    .expect("in-memory stream");
    (out, stats)
}

/// The ids of the rules that fired on `line` alone ("structure" when only the structure layer
/// did: secret-named JSON fields, key blocks).
fn rules_on(filter: &Filter, line: &[u8]) -> String {
    let (_, stats) = redact(filter, line);
    let rules = &filter.detector().rules().rules;
    let ids: Vec<&str> = (0..rules.len())
        .filter(|&i| stats.findings[i] > 0)
        .map(|i| rules[i].id.as_str())
        .collect();
    if ids.is_empty() {
        "structure".to_string()
    } else {
        ids.join(",")
    }
}

/// Runs `files` through `filter`; returns the problems found, one message each.
fn check_files(
    engine: EngineChoice,
    filter: &Filter,
    root: &Path,
    files: &[String],
    expected: &BTreeMap<String, BTreeSet<usize>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let none = BTreeSet::new();
    for file in files {
        let input = std::fs::read(root.join(file)).expect("read log file");
        let (output, _) = redact(filter, &input);
        let (inp, out) = (lines(&input), lines(&output));
        if inp.len() != out.len() {
            problems.push(format!(
                "{engine:?}: {file}: {} lines in, {} lines out",
                inp.len(),
                out.len()
            ));
            continue;
        }
        let secret_lines = expected.get(file).unwrap_or(&none);
        for (i, (a, b)) in inp.iter().zip(&out).enumerate() {
            let number = i + 1;
            let listed = secret_lines.contains(&number);
            if listed && a == b {
                problems.push(format!(
                    "{engine:?}: {file}:{number}: credential line left unchanged"
                ));
            } else if !listed && a != b {
                problems.push(format!(
                    "{engine:?}: {file}:{number}: clean line changed by {}",
                    rules_on(filter, a)
                ));
            }
        }
    }
    problems
}

#[test]
fn real_logs_pass_unchanged_except_the_credential_lines() {
    let root = root();
    if !root.join("expected.jsonl").is_file() {
        eprintln!(
            "SKIPPED: {} not found (the shared corpus is not beside this checkout)",
            root.display()
        );
        return;
    }
    let expected = expected(&root);
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let unlisted: Vec<&String> = files
        .iter()
        .filter(|f| !expected.contains_key(*f))
        .collect();
    assert!(
        unlisted.is_empty(),
        "files missing from expected.jsonl: {unlisted:?}"
    );
    assert_eq!(
        files.len(),
        expected.len(),
        "files on disk vs expected.jsonl"
    );

    let rules = RuleSet::builtin().expect("built-in rules load");
    let filters: Vec<(EngineChoice, Filter)> = engine::compiled_in()
        .into_iter()
        .map(|e| {
            let matcher = engine::build(&rules, e).expect("engine");
            (e, Filter::new(Detector::new(rules.clone(), matcher)))
        })
        .collect();
    // Debug builds are slow per byte: the corpus is split over threads (two per engine), so the
    // test stays well under a minute on two cores.
    let halves: Vec<&[String]> = {
        let mid = files.len() / 2;
        vec![&files[..mid], &files[mid..]]
    };
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = filters
            .iter()
            .flat_map(|(e, f)| halves.iter().map(move |h| (*e, f, *h)))
            .map(|(e, f, h)| {
                let (root, expected) = (&root, &expected);
                s.spawn(move || check_files(e, f, root, h, expected))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let total: usize = expected.values().map(BTreeSet::len).sum();
    println!(
        "{} files, {total} credential lines, {} engines: {} problems",
        files.len(),
        filters.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems (file:line, rule ids; lines are not printed):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
