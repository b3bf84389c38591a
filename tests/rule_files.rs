//! Rule files through the CLI: errors name file, rule and reason (exit 2); `rules` subcommands.

mod common;

use common::{fixture, run};

fn write_rules(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("user-rules.toml");
    std::fs::write(&path, text).expect("write");
    let p = path.to_string_lossy().into_owned();
    (dir, p)
}

#[test]
fn broken_regex_is_exit_2_naming_file_rule_and_reason() {
    let (_d, path) = write_rules(
        "[[rules]]\nid = \"my-broken\"\nregex = '''(ghp_[a-z'''\nkeywords = [\"ghp_\"]\n",
    );
    let out = run(&["--rules", &path], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("user-rules.toml") && err.contains("my-broken") && err.contains("bad regex"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn duplicate_and_unknown_fields_are_exit_2() {
    for (text, reason) in [
        (
            "[[rules]]\nid='d'\nregex='a'\n[[rules]]\nid='d'\nregex='b'\n",
            "duplicate rule id",
        ),
        (
            "[[rules]]\nid='u'\nregex='a'\nsecretgroup=1\n",
            "unknown field",
        ),
        (
            "[[rules]]\nid='g'\nregex='(a)'\nsecretGroup=3\n",
            "out of range",
        ),
    ] {
        let (_d, path) = write_rules(text);
        let out = run(&["rules", "check", &path], b"");
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(reason),
            "expected '{reason}'"
        );
    }
}

#[test]
fn rule_without_keywords_warns_and_still_works() {
    let (_d, path) = write_rules("[[rules]]\nid='nokw'\nregex='''tok-([0-9]{8})'''\n");
    let out = run(
        &["--no-default-rules", "--rules", &path],
        b"a tok-12345678\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no keywords"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a tok-[REDACTED:nokw]\n"
    );
}

#[test]
fn rules_test_passes_on_good_examples_and_fails_on_bad() {
    let out = run(&["rules", "test", &fixture("rules.toml")], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (_d, path) = write_rules(
        "[[rules]]\nid='t'\nregex='''tok-([0-9]{8})'''\nkeywords=['tok-']\nexamples=['tok-1234']\nnegativeExamples=['tok-87654321']\n",
    );
    let out = run(&["rules", "test", &path], b"");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rule 't': example #0 is not detected"),
        "{text}"
    );
    assert!(text.contains("negativeExample #0 is detected"), "{text}");
    assert!(
        !text.contains("87654321"),
        "a failure message quoted the example"
    );
}

#[test]
fn rules_list_marks_rules_without_keywords() {
    let (_d, path) = write_rules("[[rules]]\nid='nokw'\nregex='''tok-([0-9]{8})'''\n");
    let out = run(
        &[
            "rules",
            "list",
            "--no-default-rules",
            "--rules",
            &path,
            "--rules",
            &fixture("rules.toml"),
        ],
        b"",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("nokw") && l.contains("runs on every line")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("test-gh-token") && !l.contains("every line")),
        "{text}"
    );
}

#[test]
fn enable_and_disable_select_rules() {
    let rules = fixture("rules.toml");
    let input = b"password=abcdefgh ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n";
    let out = run(
        &[
            "--no-default-rules",
            "--rules",
            &rules,
            "--disable",
            "test-password",
        ],
        input,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "password=abcdefgh [REDACTED:test-gh-token]\n"
    );
    let out = run(
        &[
            "--no-default-rules",
            "--rules",
            &rules,
            "--enable",
            "nonexistent",
        ],
        input,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn rules_list_into_a_closed_pipe_ends_quietly() {
    // The reader is gone before logredact writes: its write meets EPIPE for certain.
    let script = format!(
        "{{ sleep 0.3; {} rules list; }} | true; echo ${{PIPESTATUS[0]}}",
        common::BIN
    );
    common::assert_ends_quietly_on_a_closed_pipe(&script);
}
