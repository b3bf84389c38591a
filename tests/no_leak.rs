//! Proof that logredact never leaks (issue 6): every example secret of every built-in rule (plus
//! the test fixture rules) goes through every mode and every command — the filter on stdin and on
//! files, `--stats` in both formats, `rules test` failures, invalid user rules that hold the secret,
//! forced error paths and a panic inside redaction — with stdout and stderr captured, and no
//! secret may appear in either, except where it was never a finding in the input.
//!
//! The secrets are not listed here: they are what the detector finds, in-process, in the rules'
//! own examples (secret = `text[f.start..f.end]`), so new rules are covered as they are added.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use memchr::memmem;

use logredact::detect::Detector;
use logredact::engine::{self, EngineChoice};
use logredact::rules::RuleSet;

fn fixture() -> String {
    common::fixture("modes_rules.toml")
}

/// Width of the secret pieces searched for: partial mode shows at most 4 bytes beyond the public
/// prefix, so any 8 bytes of the rest in the output are a leak.
const PIECE: usize = 8;

/// One secret the detector found in the examples.
struct Secret {
    rule: String,
    bytes: Vec<u8>,
    /// Whether the whole secret also appears in the input outside every finding (so it is
    /// legitimately passed through there, and its absence cannot be asserted).
    passed_through: bool,
    /// Pieces of the non-public part that must never be written: every [`PIECE`]-byte window
    /// (or the whole part when shorter) that does not also occur outside every finding.
    pieces: Vec<Vec<u8>>,
}

/// The input (every example of every rule, one after the other) and the secrets found in it.
struct Corpus {
    input: Vec<u8>,
    secrets: Vec<Secret>,
    rules: RuleSet,
}

/// The corpus, built once for all tests of this file.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(build_corpus)
}

fn build_corpus() -> Corpus {
    let mut rules = RuleSet::builtin().unwrap();
    rules.add_file(Path::new(&fixture())).unwrap();
    let mut input = Vec::new();
    for rule in &rules.rules {
        for example in &rule.examples {
            input.extend_from_slice(example.as_bytes());
            input.push(b'\n');
        }
    }
    let matcher = engine::build(&rules, EngineChoice::Auto).unwrap();
    let detector = Detector::new(rules.clone(), matcher);
    let mut findings = Vec::new();
    detector.find(&input, &mut detector.scratch(), &mut findings);
    // The input with every finding blanked: text that is passed through by design.
    let mut unredacted = input.clone();
    for f in &findings {
        unredacted[f.start..f.end].fill(0);
    }
    let unredacted_pieces = windows(&unredacted);
    let armor = regex::bytes::Regex::new(r"-{3,5} ?(?:BEGIN|END)[A-Z0-9 ]*-{3,5}").unwrap();
    let mut seen = BTreeSet::new();
    let mut secrets = Vec::new();
    for f in &findings {
        let bytes = input[f.start..f.end].to_vec();
        if !seen.insert(bytes.clone()) {
            continue;
        }
        let rule = &rules.rules[f.rule as usize];
        let public_prefix = rule
            .prefix
            .as_ref()
            .filter(|p| bytes.starts_with(p.as_bytes()))
            .map_or(0, |p| p.len());
        let hidden = &bytes[public_prefix..];
        let pieces = if hidden.len() < PIECE {
            let inside = memmem::find(&unredacted, hidden).is_some();
            (!hidden.is_empty() && !inside)
                .then(|| hidden.to_vec())
                .into_iter()
                .collect()
        } else {
            // PEM armor (`-----END RSA PRIVATE KEY-----`) is public structure: `format` hides a
            // key block's body line by line and keeps its armor lines, by design.
            let body = armor.replace_all(hidden, &b"\0"[..]);
            body.windows(PIECE)
                .filter(|w| !w.contains(&0) && !unredacted_pieces.contains(*w))
                .map(<[u8]>::to_vec)
                .collect()
        };
        secrets.push(Secret {
            rule: rule.id.clone(),
            passed_through: memmem::find(&unredacted, &bytes).is_some(),
            bytes,
            pieces,
        });
    }
    let with_examples = rules
        .rules
        .iter()
        .filter(|r| !r.examples.is_empty())
        .count();
    assert!(
        secrets.len() >= with_examples,
        "{} secrets for {with_examples} rules with examples: the detector misses examples",
        secrets.len()
    );
    Corpus {
        input,
        secrets,
        rules,
    }
}

/// Zeroes the hex digits after each `#` inside our `[REDACTED…]` markers (the `#{hash}` of a
/// template), leaving everything outside markers as it is.
fn zero_marker_hashes(out: &mut [u8]) {
    let starts: Vec<usize> = memmem::find_iter(out, b"[REDACTED").collect();
    for start in starts {
        let end = out[start..]
            .iter()
            .position(|&b| b == b']' || b == b'\n')
            .map_or(out.len(), |p| start + p);
        let mut at = start;
        while let Some(p) = out[at..end].iter().position(|&b| b == b'#') {
            let mut i = at + p + 1;
            while i < end && out[i].is_ascii_hexdigit() {
                out[i] = 0;
                i += 1;
            }
            at = i;
        }
    }
}

/// Every [`PIECE`]-byte window of `bytes`.
fn windows(bytes: &[u8]) -> HashSet<&[u8]> {
    bytes.windows(PIECE).collect()
}

impl Corpus {
    /// Asserts that no secret appears in `out` (what a command wrote, named `what`): neither
    /// whole, nor any 8-byte piece of its non-public part — partial mode shows at most 4 bytes
    /// of it. Text that also appears outside every finding in the input is not a leak.
    fn assert_no_leak(&self, what: &str, out: &[u8]) {
        let mut out = out.to_vec();
        // Rule ids (in markers) and descriptions (in lint reports) are ours to write; a secret
        // that happens to contain one (OpenAI's public `T3BlbkFJ` marker) is not leaking there.
        // SARIF also names rules in CamelCase (`KubeconfigToken`).
        let camel: Vec<String> = self.rules.rules.iter().map(|r| camel_case(&r.id)).collect();
        let mut ours: Vec<&str> = self.rules.rules.iter().map(|r| r.id.as_str()).collect();
        ours.extend(self.rules.rules.iter().map(|r| r.description.as_str()));
        ours.extend(camel.iter().map(String::as_str));
        ours.retain(|t| !t.is_empty());
        ours.sort_by_key(|t| std::cmp::Reverse(t.len()));
        for text in ours {
            let hits: Vec<usize> = memmem::find_iter(&out, text.as_bytes()).collect();
            for at in hits {
                out[at..at + text.len()].fill(0);
            }
        }
        // Keyed hashes in our markers are ours as well: with a random key (`--ephemeral-key`) a
        // hash's 12 hex digits can, by chance, hold 8 hex digits of a hex secret (a failure CI saw
        // once on `newrelic-license-key` and 43 reruns did not repeat).
        zero_marker_hashes(&mut out);
        let out_pieces = windows(&out);
        for s in &self.secrets {
            assert!(
                s.passed_through || memmem::find(&out, &s.bytes).is_none(),
                "{what}: a secret of rule '{}' leaked whole",
                s.rule
            );
            for piece in &s.pieces {
                let found = if piece.len() == PIECE {
                    out_pieces.contains(piece.as_slice())
                } else {
                    memmem::find(&out, piece).is_some()
                };
                if found && std::env::var_os("NO_LEAK_DEBUG").is_some() {
                    let at = memmem::find(&out, piece).unwrap_or(0);
                    let from = out[..at]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1);
                    let to = out[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(out.len(), |p| at + p);
                    eprintln!(
                        "DEBUG piece {:?} in line {:?}",
                        String::from_utf8_lossy(piece),
                        String::from_utf8_lossy(&out[from..to])
                    );
                }
                assert!(
                    !found,
                    "{what}: {} bytes of a secret of rule '{}' leaked",
                    piece.len(),
                    s.rule
                );
            }
        }
    }

    fn check(&self, what: &str, out: &Output) {
        self.assert_no_leak(&format!("{what} (stdout)"), &out.stdout);
        self.assert_no_leak(&format!("{what} (stderr)"), &out.stderr);
    }
}

/// Runs logredact with the built-in and fixture rules plus `extra`.
fn run_filter(extra: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    let rules = fixture();
    let mut args = vec!["--rules", rules.as_str()];
    args.extend_from_slice(extra);
    common::run_env(&args, env, input)
}

/// Environment variables for one run.
type Env<'a> = &'a [(&'a str, &'a str)];

const KEY: &str = "no-leak-test-key-0123456789abcdef0123456789";

/// Every mode, on stdin, with stats in both formats: nothing leaks and the line count is kept.
/// Then all their outputs together go through once more: unchanged, no finding — a marker of any
/// mode is never detected, whatever mode reads it. (Each process compiles all built-in rules, so
/// the runs are few; `tests/modes.rs` covers key sources and the ephemeral key in detail.)
#[test]
fn filter_in_every_mode_leaks_nothing() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).unwrap();
    // Owner-only, as a key should be (a world-readable one gets a warning on stderr).
    let owner_only = std::os::unix::fs::PermissionsExt::from_mode(0o600);
    std::fs::set_permissions(&key, owner_only).unwrap();
    let key = key.to_str().unwrap();
    let template = "[REDACTED {rule} {prefix}~{suffix} #{hash}]";
    let modes: Vec<(Vec<&str>, Env)> = vec![
        (vec!["--mode", "mask", "--stats"], &[]),
        (
            // Every output line a JSON object: the JSON-string path of `format` too.
            vec![
                "--mode",
                "hash",
                "--hash-key-env",
                "K",
                "--stats",
                "--format",
                "json",
            ],
            &[("K", KEY)],
        ),
        (vec!["--mode", "partial", "--stats-format", "json"], &[]),
        (
            vec![
                "--mode",
                "partial",
                "--ephemeral-key",
                "--template",
                template,
            ],
            &[],
        ),
    ];
    let lines = c.input.iter().filter(|&&b| b == b'\n').count();
    let mut all_outputs = Vec::new();
    for (args, env) in modes {
        let what = format!("{args:?}");
        let once = run_filter(&args, env, &c.input);
        assert_eq!(once.status.code(), Some(0), "{what}");
        c.check(&what, &once);
        let out_lines = once.stdout.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(out_lines, lines, "{what}");
        assert!(once.stdout != c.input, "{what}: something was redacted");
        if args.contains(&"--template") {
            // A template's markers are recognised by runs with that template (only the markers
            // of the current configuration count as ours); the built-in forms by every run.
            let again = run_filter(&args, env, &once.stdout);
            c.check("second pass with the template", &again);
            assert!(
                again.stdout == once.stdout,
                "{what}: a second pass changed the output"
            );
        } else {
            all_outputs.extend_from_slice(&once.stdout);
        }
    }
    let args = [
        "--mode",
        "hash",
        "--hash-key-file",
        key,
        "--stats-format",
        "json",
    ];
    let again = run_filter(&args, &[], &all_outputs);
    c.check("second pass", &again);
    // Redacted output only (no secret in it, checked above), so the line may be shown.
    let changed = all_outputs
        .split(|&b| b == b'\n')
        .zip(again.stdout.split(|&b| b == b'\n'))
        .find(|(a, b)| a != b)
        .map(|(a, b)| (String::from_utf8_lossy(a), String::from_utf8_lossy(b)));
    assert!(
        changed.is_none() && again.stdout.len() == all_outputs.len(),
        "a second pass changed the output: {changed:?}"
    );
    let stats = String::from_utf8_lossy(&again.stderr);
    assert!(stats.contains("\"findings_total\":0"), "{stats}");
}

/// `filter FILE…`, with a forced read error after the first file (a directory, then a missing
/// file): what was redacted is written, the error names only the path.
#[test]
fn files_and_forced_error_paths_leak_nothing() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("app.log");
    std::fs::write(&input, &c.input).unwrap();
    let input = input.to_str().unwrap();
    let dir_path = dir.path().to_str().unwrap();
    // The file-reading path itself (exit 0) is what every error run starts with.
    for tail in [dir_path, "/nonexistent/app.log"] {
        let rules = fixture();
        let mut args = vec![
            "filter", "--rules", &rules, "--mode", "partial", "--stats", input,
        ];
        args.push(tail);
        let out = common::run(&args, b"");
        assert!(
            !out.stdout.is_empty(),
            "{args:?}: the first file is written"
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        c.check(&format!("{args:?}"), &out);
    }
    // A key file holding a secret but too short, and a secret passed as a command-line key:
    // refused, and the refusal does not repeat them.
    for (i, s) in c
        .secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.bytes.len() < 32)
        .take(20)
    {
        let key = dir.path().join(format!("key{i}"));
        std::fs::write(&key, &s.bytes).unwrap();
        let key = key.to_str().unwrap();
        let args = [
            "--no-default-rules",
            "--mode",
            "hash",
            "--hash-key-file",
            key,
        ];
        let out = run_filter(&args, &[], b"x\n");
        assert_eq!(out.status.code(), Some(2));
        c.check("short key file", &out);
    }
    let secret = String::from_utf8_lossy(&c.secrets[0].bytes).into_owned();
    let args = [
        "--no-default-rules",
        "--mode",
        "hash",
        "--hash-key",
        &secret,
    ];
    let out = run_filter(&args, &[], b"x\n");
    assert_eq!(out.status.code(), Some(2));
    c.check("--hash-key", &out);
}

/// `rules test` on a file where every rule's examples are wrong both ways: the failures name
/// rules and indexes only.
#[test]
fn rules_test_failures_leak_nothing() {
    let c = corpus();
    let mut file = String::new();
    for (i, rule) in c.rules.rules.iter().enumerate() {
        let examples = toml_array(&rule.examples);
        file.push_str(&format!(
            "[[rules]]\nid = \"inverted-{i}\"\nregex = {}\nkeywords = {}\n\
             negativeExamples = {examples}\n\n\
             [[rules]]\nid = \"never-{i}\"\nregex = '''zz\\x00never\\x00zz'''\nkeywords = [\"zz\"]\n\
             examples = {examples}\n\n",
            toml_string(&rule.pattern),
            toml_array(&rule.keywords),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inverted.toml");
    std::fs::write(&path, file).unwrap();
    let out = common::run(&["rules", "test", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.matches("FAIL ").count() >= c.rules.rules.len(),
        "{stdout}"
    );
    c.check("rules test", &out);
}

/// Invalid user rule files that hold a secret in the places an error could quote it: a bad
/// regex, a value of the wrong type, an unknown mode, a bare word (TOML syntax error).
#[test]
fn invalid_rule_files_holding_secrets_leak_nothing() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let mut messages = String::new();
    for (i, s) in c.secrets.iter().enumerate() {
        let text = String::from_utf8_lossy(&s.bytes);
        let literal = toml_string(&text);
        let head = "[[rules]]\nid = \"user-rule\"\nkeywords = [\"k\"]\n";
        let variants = [
            format!(
                "{head}regex = {}\n",
                toml_string(&format!("{}(", regex::escape(&text)))
            ),
            format!(
                "{head}regex = {}\n",
                toml_string(&format!("{}[z-a]", regex::escape(&text)))
            ),
            format!("{head}regex = 'k'\nentropy = {literal}\n"),
            format!("{head}regex = 'k'\nredact = {literal}\n"),
            format!("{head}regex = 'k'\nsecretGroup = {literal}\n"),
            format!("{head}regex = 'k'\ntags = {text}\n"),
            format!(
                "{head}regex = 'k'\n[[rules.allowlists]]\nregexes = [{}]\n",
                toml_string(&format!("{}(", regex::escape(&text)))
            ),
        ];
        // In-process: every variant, the exact message the command line would print.
        for v in &variants {
            let mut set = RuleSet::default();
            // Some variants may load when the secret is itself TOML-valid (a bare number).
            if let Err(e) = set.add_toml("user.toml", v) {
                messages.push_str(&e.to_string());
                messages.push('\n');
            }
        }
        // End to end through `rules check` and the filter, for every eighth secret (one process
        // each; the messages are the same as in-process), each time the next variant.
        if i % 8 == 0 {
            let path = dir.path().join(format!("bad{i}.toml"));
            std::fs::write(&path, &variants[(i / 8) % variants.len()]).unwrap();
            let path = path.to_str().unwrap();
            let out = if i % 16 == 0 {
                common::run(&["rules", "check", path], b"")
            } else {
                common::run(&["--no-default-rules", "--rules", path], b"x\n")
            };
            assert_eq!(out.status.code(), Some(2), "invalid rule file {i}");
            c.check(&format!("invalid rule file {i}"), &out);
        }
    }
    assert!(
        messages.lines().count() >= c.secrets.len() * 5,
        "the variants are invalid"
    );
    c.assert_no_leak("rule file errors", messages.as_bytes());
}

/// A panic inside redaction whose payload is the secret itself: the hook prints a fixed text.
/// The trigger (`LOGREDACT_TEST_PANIC`) exists in debug builds only.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic trigger is compiled in debug builds only"
)]
fn panic_inside_redaction_leaks_nothing() {
    let c = corpus();
    let out = run_filter(
        &["--mode", "mask"],
        &[("LOGREDACT_TEST_PANIC", "1")],
        &c.input,
    );
    // 101 from the main thread; a panic in a scanning thread may end the run another way, but
    // never successfully and never with the payload.
    assert!(!out.status.success(), "the panic happened");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("payload"), "{stderr}");
    c.check("panic", &out);
}

/// `kubeconfig-token` → `KubeconfigToken`.
fn camel_case(id: &str) -> String {
    id.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
    format!("[{}]", items.join(", "))
}

/// `lint` (every report format, with fingerprints) and `run` (a child writing every example to
/// its stdout and its stderr): reports and wrapped output leak nothing either.
#[test]
fn lint_reports_and_run_wrapper_leak_nothing() {
    let c = corpus();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, &c.input).unwrap();
    let log = log.to_str().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, KEY).unwrap();
    // Owner-only: a key file others can read is refused (issue 14, M7).
    let owner_only = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&key, owner_only).unwrap();
    let key = key.to_str().unwrap();
    let rules = fixture();
    for format in ["text", "json", "sarif"] {
        let args = [
            "lint",
            "--rules",
            &rules,
            "--no-progress",
            "--report-format",
            format,
            "--hash-key-file",
            key,
            log,
        ];
        let out = common::run(&args, b"");
        assert_eq!(out.status.code(), Some(1), "lint {format}: findings");
        assert!(!out.stdout.is_empty());
        c.check(&format!("lint --report-format {format}"), &out);
    }
    let script = format!("cat '{log}'; cat '{log}' >&2");
    let args = [
        "run", "--rules", &rules, "--mode", "partial", "--", "sh", "-c", &script,
    ];
    let out = common::run(&args, b"");
    assert_eq!(out.status.code(), Some(0));
    let lines = c.input.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(out.stdout.iter().filter(|&&b| b == b'\n').count(), lines);
    c.check("run -- sh", &out);
}
