//! The shipper and Kubernetes examples under `examples/`, exercised where this machine can run
//! them. rsyslog runs for real (the mmexternal example in a foreground `rsyslogd`); Fluent Bit
//! and syslog-ng run for real in tests/fluent_bit.rs and tests/syslog_ng.rs. Fluentd, Docker and
//! a Kubernetes API server are not available here, so for those (and as a daemon-free check of
//! the Fluent Bit exec one) these tests run the part of each example that is ours — the exact command line (or
//! container argv) the example gives logredact — for real, with the shipper's side replaced by a
//! pipe we read, and check the example's settings that must agree with each other (Fluent Bit's
//! `Buf_Size` against `--max-line-bytes`, ConfigMap mount against `-c`). Substitutions made to
//! run them here: our test binary and rule file for `logredact`, a temporary file for the log
//! path, and `tail -n +1` for `tail -n 0` (so lines written before tail starts are read).

mod common;

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_yaml::Value;

const SECRET: &str = "tok_abcdefghij012345";
const MARKER: &str = "[REDACTED:test-token]";

fn example(path: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .unwrap()
}

fn our_rules() -> String {
    common::fixture("runlint-rules.toml")
}

fn our_logredact() -> String {
    format!("{} --no-default-rules --rules {}", common::BIN, our_rules())
}

/// The value of `key` in a Fluent Bit classic-mode config section (first occurrence).
fn fluent_bit_value<'a>(conf: &'a str, key: &str) -> &'a str {
    conf.lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix(key)
                .filter(|rest| rest.starts_with(char::is_whitespace))
        })
        .map(str::trim)
        .unwrap_or_else(|| panic!("{key} not found"))
}

/// A shell pipeline from an example, made runnable here (see the module documentation).
fn runnable(command: &str, log_glob: &str, log_file: &Path) -> String {
    assert!(command.contains(log_glob), "{command}");
    assert!(
        command.contains("| logredact") || command.starts_with("logredact run "),
        "{command}"
    );
    let rules = format!("--no-default-rules --rules {}", our_rules());
    command
        .replace(log_glob, log_file.to_str().unwrap())
        .replace("| logredact", &format!("| {}", our_logredact()))
        .replace("logredact run ", &format!("{} run {rules} ", common::BIN))
        .replace("-n 0 ", "-n +1 ")
}

/// A shell pipeline started by a test, in its own process group.
struct Pipeline {
    child: Child,
    /// Dropping or sending on it cancels the watchdog.
    cancel_watchdog: mpsc::Sender<()>,
}

/// Runs `command` with `sh -c` in its own process group (so the whole pipeline can be stopped by
/// its group id). A watchdog stops the group after 60 s in case the test hangs; it is cancelled
/// when the test stops the pipeline, so it never signals a group id that may have been reused.
fn spawn_pipeline(command: &str) -> Pipeline {
    let child = Command::new("sh")
        .args(["-c", command])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let group = child.id();
    let (cancel_watchdog, cancelled) = mpsc::channel::<()>();
    thread::spawn(move || {
        if cancelled.recv_timeout(Duration::from_secs(60)) == Err(mpsc::RecvTimeoutError::Timeout) {
            terminate_group(group);
        }
    });
    Pipeline {
        child,
        cancel_watchdog,
    }
}

fn terminate_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{group}")])
        .status();
}

impl Pipeline {
    fn stop(mut self) {
        let _ = self.cancel_watchdog.send(());
        terminate_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// Reads lines from `child`'s stdout until one equals `last`; returns them all (without `\n`).
fn read_until(child: &mut Child, last: &str) -> Vec<Vec<u8>> {
    let stdout = child.stdout.take().unwrap();
    let last = last.as_bytes().to_vec();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                break;
            }
            assert_eq!(line.pop(), Some(b'\n'));
            let done = line == last;
            lines.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(lines);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the pipeline did not print the expected lines in time")
}

/// A log with a short line, a 200 kB line holding secrets every ~9 kB, and an end mark.
fn write_sample_log(path: &Path) -> usize {
    let mut long = String::new();
    let mut secrets = 0;
    while long.len() < 200_000 {
        long.push_str(&"x".repeat(9_000 + secrets * 7));
        long.push(' ');
        long.push_str(SECRET);
        long.push(' ');
        secrets += 1;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    write!(f, "hello {SECRET}\n{long}\nbye\n").unwrap();
    secrets + 1
}

/// Checks what a `tail | logredact` pipeline printed for [`write_sample_log`].
fn check_redacted(lines: &[Vec<u8>], secrets: usize, max_line: Option<usize>) {
    let all: Vec<u8> = lines.concat();
    let text = String::from_utf8(all).unwrap();
    assert!(!text.contains(SECRET));
    assert_eq!(text.matches(MARKER).count(), secrets);
    assert_eq!(lines[0], format!("hello {MARKER}").as_bytes());
    assert_eq!(lines.last().unwrap(), b"bye");
    if let Some(max) = max_line {
        for line in lines {
            assert!(line.len() <= max, "a line of {} bytes", line.len());
        }
        assert!(lines.len() > 4, "the long line was split");
    }
}

/// Runs an example's `command` (which reads `log_glob`) on a fresh [`write_sample_log`] log in
/// place of `log_glob`, and checks what it printed with [`check_redacted`].
fn check_example_command(command: &str, log_glob: &str, max_line: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let secrets = write_sample_log(&log);
    let mut pipeline = spawn_pipeline(&runnable(command, log_glob, &log));
    let lines = read_until(&mut pipeline.child, "bye");
    pipeline.stop();
    check_redacted(&lines, secrets, max_line);
}

#[test]
fn fluent_bit_exec_example_redacts_and_cuts_lines_to_fit_buf_size() {
    let conf = example("fluent-bit-exec/fluent-bit.conf");
    assert_eq!(fluent_bit_value(&conf, "Name"), "exec");
    assert_eq!(fluent_bit_value(&conf, "Oneshot"), "true");
    assert_eq!(fluent_bit_value(&conf, "Threaded"), "true");
    let buf_size: usize = fluent_bit_value(&conf, "Buf_Size").parse().unwrap();
    let command = fluent_bit_value(&conf, "Command");
    // fgets(buf, Buf_Size) takes Buf_Size-1 bytes with the newline: a line fits in one record
    // only if it has at most Buf_Size-2 bytes.
    let max_line = buf_size - 2;
    assert!(command.contains(&format!("--max-line-bytes {max_line} --long-lines split")));

    check_example_command(command, "/var/log/app.log", Some(max_line));
}

/// Every YAML document of a file under examples/kubernetes.
fn manifests(name: &str) -> Vec<Value> {
    let text = example(&format!("kubernetes/{name}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect()
}

use serde::Deserialize;

/// The containers of a Pod, or of a workload's pod template.
fn containers(doc: &Value) -> Vec<&Value> {
    let spec = match doc["kind"].as_str() {
        Some("Pod") => &doc["spec"],
        Some("Deployment" | "DaemonSet" | "StatefulSet") => &doc["spec"]["template"]["spec"],
        _ => return Vec::new(),
    };
    spec["containers"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| s.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The argv logredact gets in a container that runs it as `logredact run [OPTIONS] -- CMD`:
/// (options, wrapped command).
fn run_argv(container: &Value) -> (Vec<String>, Vec<String>) {
    let mut argv = strings(&container["command"]);
    argv.extend(strings(&container["args"]));
    assert!(argv[0].ends_with("/logredact"), "{argv:?}");
    assert_eq!(argv[1], "run");
    let dashdash = argv.iter().position(|a| a == "--").unwrap();
    (argv[2..dashdash].to_vec(), argv[dashdash + 1..].to_vec())
}

fn run_command(options: &[String], wrapped: &[String]) -> Command {
    let mut cmd = Command::new(common::BIN);
    cmd.args(["run", "--no-default-rules", "--rules", &our_rules()])
        .args(options)
        .arg("--")
        .args(wrapped);
    cmd
}

#[test]
fn kubernetes_pod_entrypoint_runs_the_app_under_logredact() {
    let docs = manifests("pod.yaml");
    let pod = &docs[0];
    let app = containers(pod)[0];
    let (options, wrapped) = run_argv(app);
    assert_eq!(wrapped[0], "/app/server");
    // The application is replaced by a shell that logs on both streams; the options are the
    // example's own.
    let out = run_command(
        &options,
        &[
            "sh".into(),
            "-c".into(),
            format!("echo started {SECRET}; echo warning {SECRET} >&2"),
        ],
    )
    .stdin(Stdio::null())
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("started {MARKER}\n")
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("warning {MARKER}\n")),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
}

#[test]
fn kubernetes_sidecar_follows_the_shared_log_and_stops_on_sigterm() {
    let docs = manifests("sidecar.yaml");
    let sidecar = containers(&docs[0])
        .into_iter()
        .find(|c| c["name"] == "logredact")
        .unwrap();
    let (options, mut wrapped) = run_argv(sidecar);
    assert_eq!(wrapped[0], "tail");
    // The shared emptyDir is mounted where the app writes its log file.
    let log_in_example = wrapped.last().unwrap().clone();
    let mount = sidecar["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert!(log_in_example.starts_with(mount));

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let secrets = write_sample_log(&log);
    *wrapped.last_mut().unwrap() = log.to_str().unwrap().to_string();
    let mut child = run_command(&options, &wrapped)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_until(&mut child, "bye");
    check_redacted(&lines, secrets, None);
    // What the kubelet does at pod shutdown: SIGTERM to PID 1 (logredact), forwarded to tail.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(128 + 15));
}

#[test]
fn kubernetes_daemonset_fluent_bit_config_is_mounted_and_its_command_redacts() {
    let docs = manifests("daemonset.yaml");
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let daemonset = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let container = containers(daemonset)[0];
    // `-c <file>` names the ConfigMap key under the config volume's mount path.
    let args = strings(&container["args"]);
    let conf_path = &args[args.iter().position(|a| a == "-c").unwrap() + 1];
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap()["mountPath"]
        .as_str()
        .unwrap();
    let key = conf_path.strip_prefix(&format!("{mount}/")).unwrap();
    let conf = config_map["data"][key].as_str().unwrap();
    let volume = daemonset["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    assert_eq!(volume["configMap"]["name"], config_map["metadata"]["name"]);

    let buf_size: usize = fluent_bit_value(conf, "Buf_Size").parse().unwrap();
    let command = fluent_bit_value(conf, "Command");
    assert!(command.contains(&format!("--max-line-bytes {} ", buf_size - 2)));
    check_example_command(command, "/var/log/containers/*.log", Some(buf_size - 2));
}

#[test]
fn every_example_file_is_covered_or_listed_as_not_runnable_here() {
    // Guards against an example added without a test or an entry in examples/README.md.
    let readme = example("README.md");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    for dir in fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            let name = dir.file_name().unwrap().to_str().unwrap().to_string();
            assert!(
                readme.contains(&format!("`{name}/`")),
                "{name} missing from README"
            );
        }
    }
}

#[test]
fn rsyslog_mmexternal_example_redacts_through_a_real_rsyslogd() {
    // The example config with this machine's paths: work directory, port, our binary (plus the
    // test rules) and output file. rsyslogd runs in the foreground, started and stopped here.
    if !common::rsyslogd_available("rsyslog_mmexternal_example_redacts_through_a_real_rsyslogd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let out_file = dir.path().join("redacted.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let example = example("rsyslog-mmexternal/rsyslog.conf");
    let binary = "binary=\"/usr/local/bin/logredact --format rsyslog --rsyslog-mark --cache-dir /var/cache/logredact\"";
    assert!(example.contains(binary));
    let conf = example
        .replace(
            binary,
            &binary.replace("/usr/local/bin/logredact", &our_logredact()),
        )
        .replace("/var/spool/rsyslog", work.to_str().unwrap())
        .replace("port=\"10514\"", &format!("port=\"{port}\""))
        .replace("/var/log/redacted.log", out_file.to_str().unwrap())
        .replace(
            "/var/log/logredact-dropped.log",
            dir.path().join("dropped.log").to_str().unwrap(),
        )
        .replace(
            "/var/cache/logredact",
            dir.path().join("cache").to_str().unwrap(),
        );
    let conf_path = dir.path().join("rsyslog.conf");
    fs::write(&conf_path, conf).unwrap();
    let mut daemon = Command::new(common::RSYSLOGD)
        .args(["-n", "-f"])
        .arg(&conf_path)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let messages = [
        "user=bob password=hunter2x login ok".to_string(),
        format!("token {SECRET} used"),
        "GET /health 200".to_string(),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if std::time::Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("rsyslogd did not listen: {e}"),
        }
    };
    for m in &messages {
        writeln!(stream, "<13>Nov 29 10:00:00 host app: {m}").unwrap();
    }
    stream.flush().unwrap();
    let mut lines = Vec::new();
    while std::time::Instant::now() < deadline {
        let text = fs::read_to_string(&out_file).unwrap_or_default();
        lines = text.lines().map(str::to_string).collect();
        if lines.len() >= messages.len() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    // rsyslog keeps the space after the tag as the start of MSG.
    assert_eq!(
        lines,
        [
            " user=bob password=[REDACTED:test-password] login ok".to_string(),
            format!(" token {MARKER} used"),
            " GET /health 200".to_string(),
        ]
    );
}

/// Runs `command` (an example's logredact command line, with our binary and test rules) over
/// `input` and returns its output lines.
fn filter_through(command: &str, input: &str) -> Vec<String> {
    let out = common::run_reading_all(Command::new("sh").args(["-c", command]), input.as_bytes());
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Mixed input as a producer would write it: JSON records and plain text lines.
fn mixed_records() -> String {
    format!(
        "{{\"log\":\"login password=hunter2x\",\"n\":1}}\nplain text {SECRET}\n{{\"msg\":\"ok\"}}\n"
    )
}

/// What [`mixed_records`] must come out as under `--format json`: three JSON objects, redacted.
fn assert_json_objects_without_secrets(lines: &[String]) {
    assert_eq!(lines.len(), 3);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v.is_object(), "{line}");
        assert!(
            !line.contains(SECRET) && !line.contains("hunter2x"),
            "{line}"
        );
    }
}

#[test]
fn fluent_bit_stdin_example_gets_only_json_objects() {
    // Fluent Bit's stdin input drops a whole read chunk if one line in it is not JSON: with
    // `--format json` (the example's command) every line must come out a JSON object.
    let conf = example("fluent-bit-stdin/fluent-bit.conf");
    assert!(conf.contains("producer | logredact --format json | fluent-bit"));
    assert_eq!(fluent_bit_value(&conf, "Name"), "stdin");
    let lines = filter_through(
        &format!("{} --format json", our_logredact()),
        &mixed_records(),
    );
    assert_json_objects_without_secrets(&lines);
}

#[test]
fn fluentd_exec_filter_example_command_answers_one_json_record_per_record() {
    let conf = example("fluentd-exec-filter/fluent.conf");
    let command = conf
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("command "))
        .unwrap();
    assert_eq!(command, "/usr/local/bin/logredact --format json");
    let runnable = command.replace("/usr/local/bin/logredact", &our_logredact());
    let lines = filter_through(&runnable, &mixed_records());
    assert_json_objects_without_secrets(&lines);
}

#[test]
fn long_lines_split_refuses_json_output_and_too_small_limits() {
    for args in [
        &[
            "--long-lines",
            "split",
            "--max-line-bytes",
            "4094",
            "--format",
            "json",
        ][..],
        &["--long-lines", "split", "--max-line-bytes", "100"][..],
    ] {
        let out = common::run(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--long-lines split"));
    }
}
