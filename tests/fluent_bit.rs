//! Every Fluent Bit example (`exec` and `stdin`, classic and YAML configs) run with the real
//! Fluent Bit 5.1.1 (see `common::fluent_bit` for where it is found and when a missing one
//! skips). The shipped records must be exactly what logredact prints for the same input when run
//! alone — so nothing is lost, duplicated or reordered — and hold no secret; a kill -9 of
//! logredact must stop Fluent Bit with a non-zero status. Failure messages give counts and
//! indexes, never secret values.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const SECRET: &str = "Sup3rS3cretPw";
const KEY_BODY: &str = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun";
const LIMIT: Duration = Duration::from_secs(90);

fn example(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .unwrap()
}

/// A log with text lines holding a password each, JSON records with secret-named fields, a
/// private-key block and a 150 kB line with secrets inside (which the exec example cuts).
fn sample(with_long_line: bool) -> String {
    let mut s = String::new();
    for i in 0..1500 {
        match i {
            500 => {
                s.push_str("-----BEGIN RSA PRIVATE KEY-----\n");
                for _ in 0..5 {
                    writeln!(s, "{KEY_BODY}").unwrap();
                }
                s.push_str("-----END RSA PRIVATE KEY-----\n");
            }
            900 if with_long_line => {
                let mut long = format!("seq {i} long");
                while long.len() < 150_000 {
                    write!(long, " {} password={SECRET}{}", "y".repeat(5000), long.len()).unwrap();
                }
                s.push_str(&long);
                s.push('\n');
            }
            i if i % 7 == 0 => writeln!(
                s,
                r#"{{"seq":{i},"msg":"login ok","password":"{SECRET}{i}","nested":{{"token":"{SECRET}t{i}"}}}}"#
            )
            .unwrap(),
            _ => writeln!(s, "seq {i} user=bob password={SECRET}{i} done").unwrap(),
        }
    }
    s
}

/// What logredact alone prints for `input` with `args`: the records Fluent Bit must ship.
fn oracle(args: &[&str], input: &str) -> Vec<String> {
    let out = common::run(args, input.as_bytes());
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The records Fluent Bit printed with `Format json_lines`, without its `date` key.
fn records(stdout: &[u8]) -> Vec<serde_json::Map<String, Value>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let Value::Object(mut m) = serde_json::from_str(l).expect("a JSON record") else {
                panic!("a record that is not an object")
            };
            assert!(m.remove("date").is_some(), "a record without date");
            m
        })
        .collect()
}

fn assert_no_secret(stdout: &[u8]) {
    let text = String::from_utf8_lossy(stdout);
    assert_eq!(text.matches(SECRET).count(), 0, "secrets in the output");
    assert_eq!(text.matches(KEY_BODY).count(), 0, "key body in the output");
}

/// The first index where two sequences differ, for a failure message without values.
fn first_difference<T: PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
}

/// Writes `conf` (an example with the test's substitutions) and the example's parsers file
/// into `dir`; returns the config's path.
fn install(dir: &Path, example_dir: &str, name: &str, conf: &str) -> PathBuf {
    let parsers = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example_dir)
        .join("parsers.conf");
    if parsers.exists() {
        std::fs::copy(parsers, dir.join("parsers.conf")).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(&path, conf).unwrap();
    path
}

const EXEC_TAIL: &str = "tail -n 0 -F /var/log/app.log";

/// The command the tests run in place of `tail -F`: the whole file, then a pause, so that the
/// command ends and Fluent Bit exits by itself. Fluent Bit 5.1.1 drops the records it read in
/// the last flush interval before a one-shot command ended (seen: the last 30 of 1,508 lines, in
/// about 1 run in 10 on a loaded machine; "0 pending tasks" in its log), so the pause outlasts
/// two flush intervals (`Flush 1`): what the tests check is that every line logredact wrote while
/// it ran is shipped.
fn cat_then_pause(log: &Path) -> String {
    format!("sh -c 'cat {}; sleep 2.5'", log.display())
}

fn exec_conf(name: &str) -> String {
    let conf = example(&format!("fluent-bit-exec/{name}"));
    for key in [
        "exit_after_oneshot",
        "propagate_exit_code",
        "oneshot",
        "threaded",
    ] {
        assert!(
            conf.to_lowercase()
                .lines()
                .any(|l| l.trim_start().starts_with(key) && l.contains("true")),
            "{name}: {key} true"
        );
    }
    assert!(conf.contains(&format!(
        "logredact run --max-line-bytes 65534 --long-lines split -- {EXEC_TAIL}"
    )));
    conf
}

#[test]
fn exec_example_ships_every_line_once_in_order_without_secrets() {
    let Some(fb) = common::fluent_bit("exec_example_ships_every_line_once_in_order") else {
        return;
    };
    let input = sample(true);
    let want = oracle(
        &["--max-line-bytes", "65534", "--long-lines", "split"],
        &input,
    );
    assert_eq!(want.len(), 1508, "the long line was split in 3");
    for name in ["fluent-bit.conf", "fluent-bit.yaml"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        std::fs::write(&log, &input).unwrap();
        let conf = exec_conf(name)
            .replace(EXEC_TAIL, &cat_then_pause(&log))
            .replace("logredact run", &format!("{} run", common::BIN));
        let conf = install(dir.path(), "fluent-bit-exec", name, &conf);
        let out = common::run_bounded(Command::new(&fb).arg("-c").arg(&conf), LIMIT);
        assert!(!out.timed_out, "{name}: Fluent Bit did not exit");
        assert_eq!(out.status.and_then(|s| s.code()), Some(0), "{name}");
        assert_no_secret(&out.stdout);
        let got: Vec<String> = records(&out.stdout)
            .iter()
            .map(|r| r["exec"].as_str().expect("an exec field").to_string())
            .collect();
        assert_eq!(
            first_difference(&got, &want),
            None,
            "{name}: {} records for {} lines",
            got.len(),
            want.len()
        );
        assert!(got.iter().all(|r| r.len() <= 65534));
    }
}

/// The `--format json` + `Parser json` variant the config's comments describe: JSON records
/// arrive as records, text lines as {"log": ...}.
#[test]
fn exec_example_with_the_json_parser_ships_records() {
    let Some(fb) = common::fluent_bit("exec_example_with_the_json_parser_ships_records") else {
        return;
    };
    let input = sample(false);
    let want: Vec<Value> = oracle(&["--format", "json"], &input)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, &input).unwrap();
    let conf = exec_conf("fluent-bit.conf")
        .replace(EXEC_TAIL, &cat_then_pause(&log))
        .replace(
            "logredact run --max-line-bytes 65534 --long-lines split",
            &format!("{} run --format json", common::BIN),
        )
        .replace(
            "Buf_Size           65536",
            "Buf_Size 65536\n    Parser json",
        );
    let conf = install(dir.path(), "fluent-bit-exec", "fluent-bit.conf", &conf);
    let out = common::run_bounded(Command::new(&fb).arg("-c").arg(&conf), LIMIT);
    assert!(!out.timed_out);
    assert_eq!(out.status.and_then(|s| s.code()), Some(0));
    assert_no_secret(&out.stdout);
    let got: Vec<Value> = records(&out.stdout)
        .into_iter()
        .map(Value::Object)
        .collect();
    assert_eq!(first_difference(&got, &want), None, "{} records", got.len());
    assert!(got
        .iter()
        .any(|r| r["seq"] == 7 && r["nested"]["token"].is_string()));
}

#[test]
fn exec_example_stops_fluent_bit_with_an_error_when_logredact_is_killed() {
    let Some(fb) = common::fluent_bit("exec_example_stops_fluent_bit_when_logredact_is_killed")
    else {
        return;
    };
    for name in ["fluent-bit.conf", "fluent-bit.yaml"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        std::fs::write(&log, sample(false)).unwrap();
        let conf = exec_conf(name)
            .replace(EXEC_TAIL, &format!("tail -n +1 -F {}", log.display()))
            .replace("logredact run", &format!("{} run", common::BIN));
        let conf = install(dir.path(), "fluent-bit-exec", name, &conf);
        let out_path = dir.path().join("fb.out");
        let mut child = Command::new(&fb)
            .arg("-c")
            .arg(&conf)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait for records, then find logredact: Fluent Bit -> sh -c -> logredact run -> tail.
        let t = Instant::now();
        let mut target = None;
        while t.elapsed() < Duration::from_secs(30) {
            let shipped = std::fs::read(&out_path).unwrap_or_default();
            let pids: Vec<u32> = common::children(child.id())
                .into_iter()
                .flat_map(common::children)
                .collect();
            if common::count(&shipped, b"\n") >= 100 && pids.len() == 1 {
                target = Some(pids[0]);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let Some(pid) = target else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: no records or no logredact process within 30 s");
        };
        let tails = common::children(pid);
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        let t = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The orphaned tail would end on its next write (EPIPE); end it now.
        for tail in tails {
            let _ = Command::new("kill").arg(tail.to_string()).status();
        }
        let status = status.unwrap_or_else(|| panic!("{name}: Fluent Bit kept running"));
        assert_eq!(status.code(), Some(137), "{name}: exit status");
        assert_no_secret(&std::fs::read(&out_path).unwrap());
    }
}

#[test]
fn stdin_examples_ship_every_record_once_in_order_without_secrets() {
    let Some(fb) = common::fluent_bit("stdin_examples_ship_every_record") else {
        return;
    };
    let input = sample(true);
    let json: Vec<Value> = oracle(&["--format", "json"], &input)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for name in ["fluent-bit.conf", "fluent-bit.yaml"] {
        let conf = example(&format!("fluent-bit-stdin/{name}"));
        let pipeline = format!("producer | logredact --format json | fluent-bit -c {name}");
        assert!(conf.contains(&pipeline), "{name} documents its pipeline");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        std::fs::write(&log, &input).unwrap();
        let conf = install(dir.path(), "fluent-bit-stdin", name, &conf);
        let script = format!(
            "set -o pipefail; cat '{}' | '{}' --format json | '{}' -c '{}'",
            log.display(),
            common::BIN,
            fb.display(),
            conf.display()
        );
        let out = common::run_bounded(Command::new("bash").args(["-c", &script]), LIMIT);
        assert!(!out.timed_out, "{name}: Fluent Bit did not exit");
        assert_eq!(out.status.and_then(|s| s.code()), Some(0), "{name}");
        assert_no_secret(&out.stdout);
        let got: Vec<Value> = records(&out.stdout)
            .into_iter()
            .map(Value::Object)
            .collect();
        assert_eq!(
            first_difference(&got, &json),
            None,
            "{name}: {} records for {} lines",
            got.len(),
            json.len()
        );
    }
}

/// Under `set -o pipefail`, as the stdin examples say, a killed logredact makes the pipeline fail
/// (Fluent Bit itself only sees end of input and exits 0).
#[test]
fn stdin_pipeline_fails_when_logredact_is_killed() {
    let Some(fb) = common::fluent_bit("stdin_pipeline_fails_when_logredact_is_killed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = install(
        dir.path(),
        "fluent-bit-stdin",
        "fluent-bit.conf",
        &example("fluent-bit-stdin/fluent-bit.conf"),
    );
    let pid_file = dir.path().join("pid");
    // The producer is a bounded loop, so nothing outlives the test.
    let script = format!(
        "set -o pipefail; for i in $(seq 1 600); do echo \"seq $i password={SECRET}$i\"; sleep 0.05; done \
         | {{ echo $BASHPID > '{}'; exec '{}' --format json; }} | '{}' -c '{}'",
        pid_file.display(),
        common::BIN,
        fb.display(),
        conf.display()
    );
    let killer = {
        let pid_file = pid_file.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        })
    };
    let out = common::run_bounded(Command::new("bash").args(["-c", &script]), LIMIT);
    killer.join().unwrap();
    assert!(!out.timed_out);
    assert_eq!(out.status.and_then(|s| s.code()), Some(137));
    assert_no_secret(&out.stdout);
    assert!(!records(&out.stdout).is_empty(), "records before the kill");
}
