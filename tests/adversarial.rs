//! Regression tests for the reproducers of ../shared/ADVERSARIAL.md that live in detection and
//! structure (L1, L2, L3, L6, L9, L11, L12, L16, C1, C2), through the real binary on every
//! compiled engine; and the agreement of `lint`, `--stats` and the filter's output on one input.

mod common;

use std::collections::BTreeMap;

use common::run;
use logredact::engine::{compiled_in, EngineChoice};

const GHP: &str = "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";

fn engines() -> Vec<&'static str> {
    compiled_in()
        .into_iter()
        .map(|e| match e {
            EngineChoice::Hyperscan => "hyperscan",
            _ => "regex",
        })
        .collect()
}

/// The filter's output for `input` on `engine`.
fn filter(engine: &str, extra: &[&str], input: &str) -> String {
    let mut args = vec!["--engine", engine];
    args.extend_from_slice(extra);
    let out = run(&args, input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{engine}: exit status");
    String::from_utf8(out.stdout).expect("UTF-8 output for UTF-8 input")
}

#[test]
fn l1_marker_like_text_does_not_switch_detection_off() {
    for engine in engines() {
        for input in [
            format!("user=[REDACTED token={GHP} password=Qw3rtyU1op\n"),
            format!("{{\"q\":\"[REDACTED\",\"msg\":\"calling api token {GHP}\"}}\n"),
            format!("2024-05-01T10:00:00Z stdout F GET /search?q=[REDACTED&api_key=Qw3rtyU1opAsdf token {GHP}\n"),
            format!("user=[REDACTED:nope] {GHP}\n"),
        ] {
            let out = filter(engine, &[], &input);
            assert!(!out.contains(GHP), "{engine}: token leaked after marker-like text");
            assert!(!out.contains("Qw3rtyU1op"), "{engine}: password leaked");
        }
        let out = filter(
            engine,
            &[],
            &format!("user=[REDACTED token={GHP} password=Qw3rtyU1op\n"),
        );
        assert!(
            out.contains("[REDACTED:github-pat]"),
            "{engine}: {}",
            out.len()
        );
    }
}

#[test]
fn l2_an_object_is_redacted_the_same_way_whatever_wraps_it() {
    let object = r#"{"accessToken":"q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"}"#;
    let docker_auth = r#"{"log":"{\"auths\":{\"registry.shop.test\":{\"auth\":\"ZGVwbG95OmRmbHpHQyMhQy0xazZV\"}}}\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}"#;
    for engine in engines() {
        let input =
            format!("{object}\n2024-05-01T10:00:00.123456789Z stdout F {object}\n{docker_auth}\n");
        let out = filter(engine, &[], &input);
        assert!(!out.contains("q2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0"), "{engine}");
        assert!(!out.contains("ZGVwbG95OmRmbHpHQyMhQy0xazZV"), "{engine}");
        assert_eq!(out.lines().count(), 3);
    }
}

#[test]
fn l3_other_multi_line_key_formats_are_hidden() {
    let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF2xq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5iJ6kL7mN8oP9qR0s\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----\n";
    let putty = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: key\nPublic-Lines: 1\nAAAAC3NzaC1lZDI1NTE5AAAAIOq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF\nPrivate-Lines: 1\nAAAAIFq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5iJ6kL7mN8oP9\nPrivate-MAC: 5f83b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3\n";
    for engine in engines() {
        let out = filter(engine, &[], pgp);
        assert!(!out.contains("lQOYBF2xq2Xl3kL9"), "{engine}: PGP body");
        assert!(
            out.contains("-----END PGP PRIVATE KEY BLOCK-----"),
            "{engine}"
        );
        let out = filter(engine, &[], putty);
        assert!(
            !out.contains("AAAAIFq2Xl3kL9vJr8mN7pQ4sT5uV6wX1y"),
            "{engine}: PuTTY body"
        );
        assert!(out.contains("Private-MAC:"), "{engine}: headers stay");
    }
}

#[test]
fn l6_odd_details_do_not_switch_structure_off() {
    for engine in engines() {
        let input = b"{\"a\":\"\xe9\",\"token\":\"abcdefghij12\",\"url\":\"https:\\/\\/app:Qw3rtyU1op@db\\/x\"}\n";
        let out = run(&["--engine", engine], input);
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.contains("abcdefghij12"),
            "{engine}: bad UTF-8 turned keys off"
        );
        assert!(
            !out.contains("Qw3rtyU1op"),
            "{engine}: bad UTF-8 turned decoding off"
        );
        let out = filter(engine, &[], "[1700000000,{\"token\":\"abcdefghij12\"}]\n");
        assert!(!out.contains("abcdefghij12"), "{engine}: top-level array");
        let deep = format!(
            "{}{{\"token\":\"abcdefghij12\"}}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(
            !filter(engine, &[], &deep).contains("abcdefghij12"),
            "{engine}: deep"
        );
        let long = format!(
            "{{\"pad\":\"{}\",\"token\":\"abcdefghij12\"}}\n",
            "x".repeat(10_000)
        );
        let out = filter(engine, &["--max-line-bytes", "4096"], &long);
        assert!(
            !out.contains("abcdefghij12"),
            "{engine}: line over --max-line-bytes"
        );
    }
}

#[test]
fn l9_lint_and_stats_see_private_keys_and_secret_fields() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.log");
    std::fs::write(
        &key,
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n{\"password\":\"Qw3rtyU1opZ\"}\n",
    )
    .unwrap();
    let path = key.to_str().unwrap();
    for engine in engines() {
        // The engine option is accepted before and after the command.
        for args in [
            vec!["--engine", engine, "lint", "--no-progress", path],
            vec!["lint", "--engine", engine, "--no-progress", path],
        ] {
            let out = run(&args, b"");
            assert_eq!(
                out.status.code(),
                Some(1),
                "{engine}: lint exit code ({args:?})"
            );
            let report = String::from_utf8_lossy(&out.stdout);
            assert!(report.contains("private-key-block"), "{engine}: {report}");
            assert!(report.contains("secret-field"), "{engine}: {report}");
            assert!(!report.contains("MIIEowIBAAKCAQEA") && !report.contains("Qw3rtyU1opZ"));
        }
    }
}

#[test]
fn l11_values_one_level_down_and_name_value_pairs() {
    for engine in engines() {
        for input in [
            r#"{"db_password":{"sensitive":true,"value":"Qw3rtyU1op"}}"#,
            r#"{"env":[{"name":"DB_PASSWORD","value":"Qw3rtyU1op"}]}"#,
            r#"{"passwords":["Qw3rtyU1op","other"]}"#,
        ] {
            let out = filter(engine, &[], &format!("{input}\n"));
            assert!(!out.contains("Qw3rtyU1op"), "{engine}: {input}");
            assert!(out.contains("[REDACTED:secret-field]"), "{engine}");
            serde_json::from_str::<serde_json::Value>(&out).expect("still JSON");
        }
    }
}

#[test]
fn l12_only_a_docker_envelope_is_exempt() {
    for engine in engines() {
        let out = filter(
            engine,
            &[],
            &format!("{{\"date\":\"{GHP}\",\"msg\":\"x\"}}\n"),
        );
        assert!(!out.contains(GHP), "{engine}: application field named date");
        let record = "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-05-01T10:00:00.000000001Z\"}\n";
        assert_eq!(filter(engine, &[], record), record, "{engine}");
    }
}

#[test]
fn l16_a_second_key_that_starts_on_the_end_line_of_the_first() {
    let input = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY----------BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBq2Xl3kL9vJr8mN7pQ4sT5uV6wX1yZ0aB2cD3eF4gH5oAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n";
    for engine in engines() {
        let out = filter(engine, &[], input);
        assert!(!out.contains("MIIEowIBAAKCAQEA"), "{engine}: RSA body");
        assert!(!out.contains("MHcCAQEEIBq2Xl3k"), "{engine}: EC body");
    }
}

#[test]
fn c1_a_begin_header_in_a_field_erases_nothing() {
    let audit: String = (1..=3)
        .map(|i| format!("audit: user mallory dropped table t{i}\n"))
        .collect();
    for engine in engines() {
        for first in [
            "login failed for user \"-----BEGIN PRIVATE KEY-----\"\n".to_string(),
            "{\"user\":\"-----BEGIN PRIVATE KEY-----\",\"level\":\"warn\"}\n".to_string(),
            "2024-05-01T10:00:00Z stdout F user -----BEGIN RSA PRIVATE KEY-----\n".to_string(),
        ] {
            let input = format!("{first}{audit}{{\"level\":\"info\",\"msg\":\"ok\"}}\nOK done\n");
            assert_eq!(
                filter(engine, &[], &input),
                input,
                "{engine}: lines were erased"
            );
        }
    }
}

#[test]
fn c2_json_lines_stay_json_with_invalid_bytes_and_armour() {
    for engine in engines() {
        let input =
            b"{\"user\":\"\xe9\",\"msg\":\"key -----BEGIN PRIVATE KEY-----\",\"level\":\"info\"}\n";
        let out = run(&["--engine", engine], input);
        assert_eq!(
            out.stdout, input,
            "{engine}: unchanged, invalid byte passed through"
        );
        let input = b"{\"user\":\"\xe9\",\"msg\":\"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\"}\n";
        let out = run(&["--engine", engine], input);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("MIIEvQIBADANBgkq"), "{engine}: body");
        assert!(
            text.ends_with("-----END PRIVATE KEY-----\"}\n"),
            "{engine}: structure kept"
        );
    }
}

#[test]
fn d1_marker_packed_lines_are_not_quadratic() {
    // Linear by construction (markers are looked up by binary search); a quadratic walk would
    // take minutes on this line in a debug build, so finishing at all is the check.
    let line = "[REDACTED:aws-access-key-id] AKIA2OGYBAH6STMMNXNN ".repeat(20_000);
    for engine in engines() {
        let out = filter(engine, &[], &format!("{line}\n"));
        assert!(!out.contains("AKIA2OGYBAH6STMMNXNN"), "{engine}");
    }
}

#[test]
fn lint_stats_and_the_filter_agree_on_every_finding() {
    let rules = logredact::rules::RuleSet::builtin().unwrap();
    let mut input = String::new();
    for (i, r) in rules.rules.iter().enumerate() {
        for e in &r.examples {
            if e.contains("[REDACTED") {
                continue;
            }
            input.push_str(e);
            input.push('\n');
            // Every third example also as a JSON message and in a CRI line.
            if i % 3 == 0 && !e.contains('\n') {
                let json = serde_json::json!({"level": "info", "msg": e}).to_string();
                input.push_str(&format!("{json}\n2024-05-01T10:00:00Z stdout F {json}\n"));
            }
        }
    }
    input.push_str("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----\n");
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample.log");
    std::fs::write(&sample, &input).unwrap();
    for engine in engines() {
        let out = run(
            &["--engine", engine, "--stats", "--stats-format", "json"],
            input.as_bytes(),
        );
        let redacted = String::from_utf8_lossy(&out.stdout).into_owned();
        let stats: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stderr).trim()).expect("stats JSON");
        let from_stats: BTreeMap<String, u64> = stats["findings"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        let lint = run(
            &[
                "lint",
                "--engine",
                engine,
                "--no-progress",
                "--report-format",
                "json",
                sample.to_str().unwrap(),
            ],
            b"",
        );
        let mut from_lint: BTreeMap<String, u64> = BTreeMap::new();
        let mut lines_flagged = std::collections::BTreeSet::new();
        for line in String::from_utf8_lossy(&lint.stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("lint JSON line");
            if let Some(rule) = v["rule"].as_str() {
                *from_lint.entry(rule.to_string()).or_default() += 1;
                lines_flagged.insert(v["line"].as_u64().unwrap());
            }
        }
        assert!(
            from_stats.values().sum::<u64>() > 300,
            "{engine}: findings counted"
        );
        assert_eq!(
            from_stats,
            common::markers(redacted.as_bytes()),
            "{engine}: --stats vs markers in the output"
        );
        assert_eq!(from_lint, from_stats, "{engine}: lint vs --stats");
        let lines_changed: std::collections::BTreeSet<u64> = input
            .lines()
            .zip(redacted.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(
            lines_flagged, lines_changed,
            "{engine}: lines lint flags = lines changed"
        );
    }
}
