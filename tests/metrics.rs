//! `--metrics-file`: the `--stats` counters in Prometheus text format, written while logredact
//! runs (every `--metrics-interval` seconds) and at exit, atomically (no temporary left, never a
//! half-written file). Checked against `--stats-format json` of the same run.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Parses the samples of a Prometheus text file: `name{labels}` → value. Panics on a line that
/// is neither a comment nor a well-formed sample, and on a metric without HELP and TYPE.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').expect("a sample line");
        let base = name.split('{').next().unwrap();
        assert!(
            text.contains(&format!("# TYPE {base} ")),
            "{base} has no TYPE"
        );
        out.insert(name.to_string(), value.parse::<f64>().expect("a number"));
    }
    out
}

#[test]
fn metrics_file_is_written_while_running_and_at_exit_and_matches_stats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logredact.prom");
    let mut child = Command::new(common::BIN)
        .args(["--stats-format", "json", "--metrics-interval", "1"])
        .arg("--metrics-file")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Written at start, before any input.
    let t = Instant::now();
    while !path.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = samples(&std::fs::read_to_string(&path).expect("written at start"));
    assert_eq!(first["logredact_lines_total"], 0.0);

    // While running: lines flow for ~3 s, the file is updated with growing counts.
    let mut seen_running = 0.0;
    // A write with some but not all lines counted proves an update while running (the last
    // reads may already see all 60: the timer may fire right after the last line).
    let mut seen_partial = None;
    for i in 0..30 {
        writeln!(stdin, "req {i} user=bob password=Sup3rS3cretPw{i} ok").unwrap();
        writeln!(stdin, "req {i} nothing here").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(text) = std::fs::read_to_string(&path) {
            let s = samples(&text);
            let lines = s["logredact_lines_total"];
            assert!(lines >= seen_running, "counts never go back");
            seen_running = lines;
            if lines > 0.0 && lines < 60.0 {
                seen_partial = Some(lines);
            }
        }
    }
    assert!(
        seen_partial.is_some(),
        "updated while running: only {seen_running} lines seen"
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());

    let stats: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).trim()).unwrap();
    let s = samples(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(s["logredact_lines_total"], stats["lines"].as_f64().unwrap());
    assert_eq!(s["logredact_lines_total"], 60.0);
    assert_eq!(s["logredact_bytes_total"], stats["bytes"].as_f64().unwrap());
    assert_eq!(
        s["logredact_lines_changed_total"],
        stats["lines_changed"].as_f64().unwrap()
    );
    let per_rule = stats["findings"].as_object().unwrap();
    assert!(!per_rule.is_empty());
    for (rule, n) in per_rule {
        assert_eq!(
            s[&format!("logredact_findings_total{{rule=\"{rule}\"}}")],
            n.as_f64().unwrap(),
            "{rule}"
        );
    }
    let total: f64 = s
        .iter()
        .filter(|(k, _)| k.starts_with("logredact_findings_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, stats["findings_total"].as_f64().unwrap());
    // Only the metrics file is left in the directory (temporaries are renamed away).
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn an_unwritable_metrics_path_is_a_configuration_error() {
    let out = common::run(&["--metrics-file", "/nonexistent-dir/x.prom"], b"a line\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("metrics file"));
}
