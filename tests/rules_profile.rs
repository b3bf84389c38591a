//! `logredact rules profile`: its per-rule findings are the filter's (`--stats`) on the same input,
//! on both engines; its hints name the rule whose keyword is too common and the one whose regex
//! is too loose; it prints no input text; its JSON parses.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

fn corpus() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/noseyparker-examples.jsonl"
    );
    std::fs::read(path).expect("the shared corpus (../shared/corpus)")
}

fn engines() -> Vec<&'static str> {
    if cfg!(feature = "hyperscan") {
        vec!["regex", "hyperscan"]
    } else {
        vec!["regex"]
    }
}

fn json_of(out: &std::process::Output, what: &str) -> Value {
    assert!(out.status.success(), "{what}: exit {:?}", out.status);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"))
}

/// Rule id → findings of the profile's JSON report.
fn profile_findings(report: &Value) -> BTreeMap<String, u64> {
    report["rules"]
        .as_array()
        .expect("rules array")
        .iter()
        .filter(|r| r["findings"].as_u64() > Some(0))
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["findings"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn findings_per_rule_are_the_filters_on_both_engines() {
    let input = corpus();
    for engine in engines() {
        let filtered = common::run(
            &[
                "--engine",
                engine,
                "--stats-format",
                "json",
                "--threads",
                "1",
            ],
            &input,
        );
        assert!(filtered.status.success(), "filter, engine {engine}");
        let stats: Value = serde_json::from_slice(&filtered.stderr).expect("stats JSON");
        let expected: BTreeMap<String, u64> = stats["findings"]
            .as_object()
            .expect("findings object")
            .iter()
            .map(|(id, n)| (id.clone(), n.as_u64().unwrap()))
            .collect();
        let report = json_of(
            &common::run(
                &["rules", "profile", "--engine", engine, "--format", "json"],
                &input,
            ),
            engine,
        );
        let got = profile_findings(&report);
        assert!(
            expected.len() >= 10,
            "engine {engine}: {} rules found",
            expected.len()
        );
        assert_eq!(got, expected, "engine {engine}: per-rule findings");
        assert_eq!(
            report["findings_total"], stats["findings_total"],
            "{engine}"
        );
        assert_eq!(report["lines"], stats["lines"], "{engine}");
        // Every rule that found something was a candidate and confirmed (or is a key-name kind).
        for r in report["rules"].as_array().unwrap() {
            let (cand, runs) = (r["candidates"].as_u64(), r["confirmations"].as_u64());
            assert!(
                runs <= cand,
                "{engine}: {} ran more than its candidates",
                r["id"]
            );
            assert!(
                r["passed_gates"].as_u64() <= r["matches"].as_u64(),
                "{}",
                r["id"]
            );
        }
        assert!(report["engine"]["candidate_passes"].as_u64() > Some(0));
    }
}

#[test]
fn output_holds_no_input_text() {
    let input = corpus();
    for format in ["text", "json"] {
        let out = common::run(&["rules", "profile", "--format", format], &input);
        assert!(out.status.success(), "{format}");
        let report = String::from_utf8(out.stdout).expect("UTF-8 report");
        let ids: Vec<&str> = report
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .collect();
        // Every token of 12+ characters with a digit in the input (the secrets among them).
        let text = String::from_utf8_lossy(&input);
        let tokens = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|t| t.len() >= 12 && t.bytes().any(|b| b.is_ascii_digit()));
        let mut checked = 0;
        for (n, token) in tokens.enumerate() {
            if ids.contains(&token) {
                continue; // a rule id that the corpus happens to mention
            }
            checked += 1;
            assert!(
                !report.contains(token),
                "{format}: input token number {n} in the report"
            );
        }
        assert!(checked > 300, "{format}: only {checked} tokens checked");
    }
}

const RULES: &str = r#"
[[rules]]
id = "loose-user"
description = "a loose regex: every user= matches, the entropy gate drops them all"
regex = '''user=(\w{4,})'''
keywords = ["user="]
entropy = 5.5

[[rules]]
id = "common-request"
description = "a keyword on every line, a regex that almost never matches"
# The nested class keeps it off Hyperscan (hs_compat), on the keyword path on both engines: a
# regex Hyperscan runs whole yields candidates only where it matches, so its keyword costs nothing.
regex = '''request-token=([[A-Za-z][0-9]]{24,})'''
keywords = ["request"]

[[rules]]
id = "quiet-key"
description = "a specific prefix: cheap, no hint"
regex = '''\b(qk_[A-Za-z0-9]{20})\b'''
keywords = ["qk_"]
"#;

#[test]
fn hints_name_the_common_keyword_and_the_loose_regex() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("slow.toml");
    std::fs::write(&rules, RULES).unwrap();
    let mut input = String::new();
    for i in 0..200 {
        input.push_str(&format!(
            "GET /api/{i} request id={i} user=alice took {i}ms\n"
        ));
    }
    for i in 0..5 {
        input.push_str(&format!("key issued qk_Zx8Qw2Er4Ty6Ui8Op0A{i}\n"));
    }
    let rules = rules.to_str().unwrap();
    for engine in engines() {
        let base = ["rules", "profile", "--no-default-rules", "--rules", rules];
        let mut args = base.to_vec();
        args.extend(["--engine", engine, "--format", "json"]);
        let report = json_of(&common::run(&args, input.as_bytes()), engine);
        let rows: BTreeMap<&str, &Value> = report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap(), r))
            .collect();
        let hint = |id: &str| rows[id]["hint"].as_str().unwrap_or("").to_owned();
        assert!(
            hint("loose-user").starts_with("regex too loose"),
            "{engine}"
        );
        assert!(
            hint("common-request").starts_with("keyword too common"),
            "{engine}"
        );
        assert_eq!(hint("quiet-key"), "", "{engine}");
        assert_eq!(rows["loose-user"]["matches"], 200, "{engine}");
        assert_eq!(rows["loose-user"]["rejected"], 200, "{engine}");
        assert_eq!(rows["common-request"]["confirmations"], 200, "{engine}");
        assert_eq!(rows["common-request"]["matches"], 0, "{engine}");
        assert_eq!(rows["quiet-key"]["findings"], 5, "{engine}");

        let mut args = base.to_vec();
        args.extend(["--engine", engine]);
        let out = common::run(&args, input.as_bytes());
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let line = |id: &str| text.lines().find(|l| l.starts_with(id)).unwrap_or("");
        assert!(line("loose-user").contains("regex too loose"), "{engine}");
        assert!(
            line("common-request").contains("keyword too common"),
            "{engine}"
        );
        assert!(
            !text.contains("Zx8Qw2Er4Ty6Ui8Op0A"),
            "{engine}: a secret in the report"
        );
    }
}

#[test]
fn files_are_read_like_the_filters_and_a_missing_one_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.log");
    std::fs::write(&file, "login password=s3cr3t-Pw9x\n").unwrap();
    let file = file.to_str().unwrap();
    let report = json_of(
        &common::run(&["rules", "profile", "--format", "json", file, file], b""),
        "two files",
    );
    assert_eq!(report["lines"], 2);
    assert_eq!(report["findings_total"], 2);
    let out = common::run(&["rules", "profile", "/nonexistent/x.log"], b"");
    assert_eq!(out.status.code(), Some(1));
}
