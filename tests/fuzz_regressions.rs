//! Regression tests for what the fuzz targets in `fuzz/` found (see docs/fuzzing.md). Each test
//! names the target and the invariant it broke.

mod common;

use common::run_fixture;

/// `json_lines`, "no planted secret survives": a secret-named key inside JSON embedded in a
/// string inside a string (quotes escaped with 3 and 7 backslashes) was not seen by the
/// prefilter, so the line took the unchanged fast path and the value leaked.
#[test]
fn secret_named_keys_trigger_at_every_embedding_depth() {
    let value = "v4lue-matched-by-no-rule";
    let level0 = serde_json::json!({ "api_key": value }).to_string();
    let level1 = serde_json::json!({ "msg": level0 }).to_string();
    let level2 = serde_json::json!({ "msg": level1 }).to_string();
    let level3 = serde_json::json!({ "log": level2, "stream": "stdout" }).to_string();
    for (depth, line) in [level0, level1, level2, level3].iter().enumerate() {
        let out = run_fixture(&[], format!("{line}\n").as_bytes());
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf8");
        assert!(!text.contains(value), "depth {depth}: value leaked");
        assert!(text.contains("[REDACTED:secret-field]"), "depth {depth}");
        let parsed: serde_json::Value = serde_json::from_str(text.trim_end()).expect("still JSON");
        assert!(parsed.is_object(), "depth {depth}");
    }
}

/// `json_lines`, "no planted secret survives": a rule whose regex needs a literal `"` (here
/// `NetworkCredential("user", "password")`) cannot match the raw JSON line, where the quotes are
/// escaped (`\"`), and a line with no other trigger is never decoded. Docker json-file lines of
/// .NET apps leak this way. Fixed in the filter's fast path: a JSON line with `\"` and an engine
/// candidate, or (Hyperscan, whose candidates are regex matches) a rule keyword, is decoded and
/// searched again.
#[test]
fn quote_delimited_secrets_inside_json_strings_are_redacted() {
    let message = "new NetworkCredential(\"mailer@shop.test\", \"NmiMnfmam6iVexRN\");\n";
    let line = serde_json::json!({ "log": message, "stream": "stdout" }).to_string();
    let engines: &[&str] = match cfg!(feature = "hyperscan") {
        true => &["regex", "hyperscan"],
        false => &["regex"],
    };
    for engine in engines {
        let out = common::run(&["--engine", engine], format!("{line}\n").as_bytes());
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf8");
        assert!(
            !text.contains("NmiMnfmam6iVexRN"),
            "{engine}: the password leaked"
        );
        let parsed: serde_json::Value = serde_json::from_str(text.trim_end()).expect("JSON");
        assert!(parsed.is_object(), "{engine}");
    }
}

/// `windows`, "no planted secret survives": two PsExec commands on one line; the rule's greedy
/// `[^\n]{0,300}` gap ran from the first `psexec` to the second `-p`, so the first password was
/// never reported (on short lines too).
#[test]
fn two_psexec_commands_on_one_line_both_lose_their_password() {
    let command =
        r"cmd.exe /C PsExec.exe \\10.0.94.120 -u Administrator -p AEZE=Puw-.af cmd /c whoami";
    let out = common::run(&[], format!("{command}  {command}\n").as_bytes());
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(!text.contains("AEZE=Puw"), "a password survived");
    assert_eq!(
        common::count(text.as_bytes(), b"[REDACTED:psexec-password]"),
        2
    );
}
