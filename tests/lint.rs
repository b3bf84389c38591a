//! `logredact lint`: real files, directories and gzip files; reports checked field by field; the
//! SARIF report validated against the OASIS SARIF 2.1.0 schema (vendored in tests/fixtures).

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const SECRET: &str = "tok_abcdefghij012345";
const OTHER_SECRET: &str = "tok_zyxwvutsrq987654";

fn rules() -> String {
    common::fixture("runlint-rules.toml")
}

/// `logredact lint` in `dir` with the test rules, then `args`.
fn lint_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(common::BIN);
    cmd.current_dir(dir)
        .args(["lint", "--no-default-rules", "--rules", &rules()])
        .args(args)
        .env_remove("NO_COLOR");
    cmd
}

fn lint_in(dir: &Path, args: &[&str]) -> Output {
    lint_command(dir, args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn samples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("logs/nested")).unwrap();
    fs::write(
        dir.path().join("logs/app.log"),
        format!("starting\nuser=bob token {SECRET} ok\n\tpassword=hunter2x and {SECRET}\n"),
    )
    .unwrap();
    fs::write(dir.path().join("logs/clean.log"), "nothing to see\nhere\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("a\nb\nc {OTHER_SECRET}").as_bytes())
        .unwrap();
    fs::write(
        dir.path().join("logs/nested/old.log.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn text_report_names_place_rule_and_a_redacted_preview() {
    let dir = samples();
    let out = lint_in(dir.path(), &["logs"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains(SECRET) && !text.contains(OTHER_SECRET) && !text.contains("hunter2x"));
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "logs/app.log:2:16: test-token: Test token",
            "    | user=bob token [REDACTED:test-token] ok",
            "logs/app.log:3:11: test-password: Password assignment",
            "    | \\tpassword=[REDACTED:test-password] and [REDACTED:test-token]",
            "logs/app.log:3:24: test-token: Test token",
            "    | \\tpassword=[REDACTED:test-password] and [REDACTED:test-token]",
            // The gzip file is read decompressed; its last line has no newline.
            "logs/nested/old.log.gz:3:3: test-token: Test token",
            "    | c [REDACTED:test-token]",
        ]
    );
}

#[test]
fn clean_input_exits_zero_and_reports_nothing() {
    let dir = samples();
    let out = lint_in(dir.path(), &["logs/clean.log"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
}

#[test]
fn an_unreadable_path_is_exit_2_but_the_others_are_still_scanned() {
    let dir = samples();
    let out = lint_in(dir.path(), &["missing.log", "logs/app.log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.log"));
    assert_eq!(stdout(&out).matches(": test-token:").count(), 2);

    fs::write(dir.path().join("broken.gz"), b"not gzip at all").unwrap();
    let out = lint_in(dir.path(), &["broken.gz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.gz"));
}

#[test]
fn json_lines_have_one_record_per_finding() {
    let dir = samples();
    let out = lint_in(dir.path(), &["--report-format", "json", "logs"]);
    assert_eq!(out.status.code(), Some(1));
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    let r = &records[1];
    assert_eq!(r["path"], "logs/app.log");
    assert_eq!(r["line"], 3);
    assert_eq!(r["column"], 11);
    assert_eq!(r["end_column"], 19);
    assert_eq!(r["rule"], "test-password");
    assert!(r["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("test-password:"));
    // The same secret twice has the same fingerprint; another secret another one.
    assert_eq!(records[0]["fingerprint"], records[2]["fingerprint"]);
    assert_ne!(records[0]["fingerprint"], records[3]["fingerprint"]);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn columns_count_bytes_in_text_and_utf16_units_in_sarif() {
    let dir = tempfile::tempdir().unwrap();
    // "é" is 2 bytes and 1 UTF-16 unit; "😀" 4 bytes and 2 units.
    fs::write(dir.path().join("u.log"), format!("é😀 {SECRET}\n")).unwrap();
    let json = lint_in(dir.path(), &["--report-format", "json", "u.log"]);
    let r: Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(r["column"], 8);
    let sarif = lint_in(dir.path(), &["--report-format", "sarif", "u.log"]);
    let doc: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let region = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 5);
    assert_eq!(region["endColumn"], 25);
}

/// A secret that the runtime split over a CRI `P` record and its `F` record is one SARIF result
/// whose region runs from the first record to the second (where the secret ends), so a viewer
/// highlights all of it.
#[test]
fn a_secret_split_over_partial_records_spans_both_lines_in_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let time = "2024-05-01T10:00:00.000000001Z";
    let (head, tail) = SECRET.split_at(10);
    fs::write(
        dir.path().join("cri.log"),
        format!("noise\n{time} stdout P token {head}\n{time} stdout F {tail} ok\n"),
    )
    .unwrap();
    let sarif = lint_in(dir.path(), &["--report-format", "sarif", "cri.log"]);
    let doc: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_valid_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "one finding");
    let region = &results[0]["locations"][0]["physicalLocation"]["region"];
    let prefix = format!("{time} stdout P token ").len() as u64;
    assert_eq!(
        (&region["startLine"], &region["endLine"]),
        (&2.into(), &3.into())
    );
    assert_eq!(region["startColumn"], prefix + 1);
    let tail_start = format!("{time} stdout F ").len() as u64;
    assert_eq!(region["endColumn"], tail_start + tail.len() as u64 + 1);
    assert!(!stdout(&sarif).contains(SECRET));
}

#[test]
fn a_secret_far_into_a_very_long_line_is_found_at_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "x".repeat(3_000_000);
    text.push(' ');
    text.push_str(SECRET);
    text.push_str(" tail\nnext ");
    text.push_str(SECRET);
    text.push('\n');
    fs::write(dir.path().join("long.log"), text).unwrap();
    let out = lint_in(dir.path(), &["--report-format", "json", "long.log"]);
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (&records[0]["line"], &records[0]["column"]),
        (&1.into(), &3_000_002.into())
    );
    assert!(!stdout(&out).contains(SECRET));
    assert_eq!(
        (&records[1]["line"], &records[1]["column"]),
        (&2.into(), &6.into())
    );
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value = serde_json::from_str(
        &fs::read_to_string(format!(
            "{}/tests/fixtures/sarif-schema-2.1.0.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    // The vendored schema is kept byte for byte as published; its two `language` patterns have a
    // known typo (a stray `]`, not a valid ECMA-262 regex), which draft 7's meta-schema rejects.
    // Fix those in memory (to the intended "ll" or "ll-CC") and validate with the rest as is.
    for owner in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][owner]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid_sarif(doc: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0_with_locations_github_can_use() {
    let dir = samples();
    let out = lint_in(dir.path(), &["--report-format", "sarif", "logs"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "logredact");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // The two test rules, then the kinds no rule makes (secret-named fields, private-key bodies).
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[2]["id"], "secret-field");
    assert_eq!(rules[3]["id"], "private-key-block");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let first = &results[0];
    assert_eq!(first["ruleId"], "test-token");
    assert_eq!(
        rules[first["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "test-token"
    );
    let location = &first["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "logs/app.log");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 2);
    // Without a stable key there are no partial fingerprints (they would change every run).
    assert!(first.get("partialFingerprints").is_none());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));

    // The same with a key: fingerprints appear, and the document is still valid.
    let key = dir.path().join("key");
    // At least 32 bytes, owner-only: lint loads keys as the filter does (issue 14, L15/M7).
    fs::write(&key, "a long enough test key, 32+ bytes\n").unwrap();
    let owner_only = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    fs::set_permissions(&key, owner_only).unwrap();
    let out = lint_in(
        dir.path(),
        &["--report-format", "sarif", "--hash-key-file", "key", "logs"],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    let fp = &doc["runs"][0]["results"][0]["partialFingerprints"]["logredactSecret/v1"];
    assert!(fp.as_str().unwrap().starts_with("test-token:"));
}

#[test]
fn the_sarif_schema_test_can_fail() {
    // Guards the guard: a document missing required parts is rejected by the vendored schema.
    let bad: Value = serde_json::json!({ "version": "2.1.0", "runs": [{ "results": [] }] });
    assert!(!sarif_validator().is_valid(&bad));
}

#[test]
fn a_baseline_hides_known_findings_and_only_new_ones_are_reported() {
    let dir = samples();
    let out = lint_in(dir.path(), &["--write-baseline", "baseline.json", "logs"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "writing a baseline accepts the findings"
    );
    let baseline = fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    assert!(!baseline.contains(SECRET) && !baseline.contains("hunter2x"));
    let parsed: Value = serde_json::from_str(&baseline).unwrap();
    assert_eq!(parsed["key"], "salt");
    assert_eq!(parsed["fingerprints"].as_array().unwrap().len(), 3);

    let out = lint_in(dir.path(), &["--baseline", "baseline.json", "logs"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");

    let new_secret = "tok_newnewnewnew1234";
    fs::write(
        dir.path().join("logs/new.log"),
        format!("known {SECRET}\nfresh {new_secret}\n"),
    )
    .unwrap();
    let out = lint_in(dir.path(), &["--baseline", "baseline.json", "logs"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().next(),
        Some("logs/new.log:2:7: test-token: Test token")
    );
    assert_eq!(stdout(&out).lines().count(), 2);
}

#[test]
fn a_keyed_baseline_needs_the_same_key() {
    let dir = samples();
    let lint_with_key = |key: &str, args: &[&str]| {
        lint_command(dir.path(), &["--hash-key-env", "LOGREDACT_TEST_KEY"])
            .args(args)
            .env("LOGREDACT_TEST_KEY", key)
            .output()
            .unwrap()
    };
    let out = lint_with_key(
        "key-one: long enough for a hash key",
        &["--write-baseline", "b.json", "logs"],
    );
    assert_eq!(out.status.code(), Some(0));
    let parsed: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("b.json")).unwrap()).unwrap();
    assert_eq!(parsed["key"], "user-key");
    assert!(parsed.get("salt").is_none());

    assert_eq!(
        lint_with_key(
            "key-one: long enough for a hash key",
            &["--baseline", "b.json", "logs"]
        )
        .status
        .code(),
        Some(0)
    );
    // Another key: the fingerprints differ, so everything is new again.
    assert_eq!(
        lint_with_key(
            "key-two: long enough for a hash key",
            &["--baseline", "b.json", "logs"]
        )
        .status
        .code(),
        Some(1)
    );
    // No key at all: a clear configuration error, not a silent "everything is new".
    let out = lint_in(dir.path(), &["--baseline", "b.json", "logs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hash key"));
}

#[test]
fn colour_always_and_never() {
    let dir = samples();
    let out = lint_in(dir.path(), &["--color", "always", "logs/app.log"]);
    assert!(stdout(&out).contains("\x1b[1;31mtest-token\x1b[0m"));
    let out = lint_in(dir.path(), &["--color", "never", "logs/app.log"]);
    assert!(!stdout(&out).contains('\x1b'));
}

/// Runs `shell_command` on a pseudo-terminal with util-linux `script` and returns what it printed.
fn on_a_terminal(dir: &Path, shell_command: &str, no_color: bool) -> String {
    let mut cmd = Command::new("script");
    cmd.current_dir(dir)
        .args(["-qec", shell_command, "/dev/null"])
        .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd
        .output()
        .expect("util-linux `script` is needed for this test");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color_is_set() {
    let dir = samples();
    let command = format!(
        "{} lint --no-default-rules --rules {} logs/app.log",
        env!("CARGO_BIN_EXE_logredact"),
        rules()
    );
    let coloured = on_a_terminal(dir.path(), &command, false);
    assert!(coloured.contains("\x1b[1;31mtest-token"), "{coloured:?}");
    let plain = on_a_terminal(dir.path(), &command, true);
    assert!(plain.contains("logs/app.log:2:16: test-token"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

#[test]
fn lint_reads_stdin_as_dash() {
    let dir = samples();
    let out = Command::new("sh")
        .current_dir(dir.path())
        .args([
            "-c",
            &format!(
                "printf 'x {SECRET}\\n' | {} lint --no-default-rules --rules {} -",
                env!("CARGO_BIN_EXE_logredact"),
                rules()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("-:1:3: test-token"));
}

#[test]
fn previews_never_show_a_secret_near_a_window_edge() {
    // Secrets every 30-60 bytes along a 3 MB line: wherever a window is cut, each preview shows
    // redacted context only, and every secret is reported exactly once at its column.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut count = 0;
    while text.len() < 3_000_000 {
        text.push_str(&"y".repeat(10 + count % 30));
        text.push(' ');
        expected.push(text.len() as u64 + 1);
        text.push_str(&format!("tok_{count:016}"));
        text.push(' ');
        count += 1;
    }
    text.push('\n');
    fs::write(dir.path().join("dense.log"), &text).unwrap();
    let out = lint_in(dir.path(), &["--report-format", "json", "dense.log"]);
    let report = stdout(&out);
    assert!(!report.contains("tok_0"), "a secret leaked into a preview");
    let columns: Vec<u64> = report
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["column"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(columns, expected);
}
