//! Counters for `--stats`: what went through and what was found, per rule; reports in text or
//! JSON, at exit and on `SIGUSR1` while running.
//!
//! Owns: the counters, their reports and the live-report request flag. Must never: hold or print
//! text from the input — only counts, byte totals, rule ids and durations.
//!
//! Live reports: the stream loop calls [`Stats::report_if_requested`] before each read. A signal
//! that arrives while the filter is blocked in a read does not interrupt it (the handler is
//! installed with `SA_RESTART`), so the report is printed when that read returns: at once under
//! load, with the next line under trickle, at exit on an idle stream.
//!
//! Metrics file (`--metrics-file`): the same counters in Prometheus' text exposition format, for
//! node_exporter's textfile collector (no listening port). A timer thread raises a flag every
//! interval; the stream loop writes the file at its next read, like a live report, and the filter
//! writes it once more at exit. Each write goes to a temporary file in the same directory that
//! is then renamed over the target, so a reader never sees a half-written file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::finding::FindingKind;
use crate::rules::RuleSet;

/// How reports are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatsFormat {
    /// Lines for people: totals, then findings per rule.
    #[default]
    Text,
    /// One JSON object per report, for monitoring.
    Json,
}

/// Running totals of one filter run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines with at least one replacement.
    pub lines_changed: u64,
    /// Findings per kind: indexed by [`FindingKind::counter_index`] (rules, then secret-named
    /// fields, then private-key bodies), named by [`finding_ids`].
    pub findings: Vec<u64>,
    started: Instant,
    live: Option<LiveReport>,
}

/// Where reports requested while running go (the CLI writes them to stderr; the core prints
/// nothing itself).
pub type ReportSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What a report requested while running (by `SIGUSR1`) needs.
#[derive(Clone)]
struct LiveReport {
    requested: Arc<AtomicBool>,
    rule_ids: Arc<[String]>,
    format: StatsFormat,
    metrics: Option<MetricsFile>,
    sink: ReportSink,
}

impl std::fmt::Debug for LiveReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveReport")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Where and when the Prometheus metrics file is written.
#[derive(Debug, Clone)]
pub struct MetricsFile {
    path: Arc<std::path::Path>,
    /// Raised by the timer thread every interval; cleared when the file is written.
    due: Arc<AtomicBool>,
}

impl MetricsFile {
    /// A metrics file at `path`, due every `interval` (from a background timer thread).
    pub fn every(path: &std::path::Path, interval: Duration) -> Self {
        let due = Arc::new(AtomicBool::new(true));
        let timer = Arc::clone(&due);
        // The thread only stores a flag; it ends with the process.
        std::thread::spawn(move || loop {
            std::thread::sleep(interval);
            timer.store(true, Ordering::Relaxed);
        });
        MetricsFile {
            path: Arc::from(path),
            due,
        }
    }

    /// Writes `text` atomically: a temporary file in the same directory, then a rename.
    fn write(&self, text: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A leading dot: node_exporter reads only `*.prom`, so it never reads the temporary.
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

/// One report as JSON.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    lines: u64,
    bytes: u64,
    findings_total: u64,
    /// Rule id → findings, for rules with at least one.
    findings: BTreeMap<&'a str, u64>,
    lines_changed: u64,
    duration_seconds: f64,
    /// `false` for a report requested while running.
    #[serde(rename = "final")]
    is_final: bool,
}

/// The names of the counters of [`Stats::findings`]: rule ids, then the built-in kinds' ids.
pub fn finding_ids(rules: &RuleSet) -> Vec<&str> {
    let mut ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    ids.extend(
        [FindingKind::SecretField, FindingKind::PrivateKeyBody]
            .iter()
            .filter_map(|k| k.builtin_id()),
    );
    ids
}

impl Stats {
    /// Zero counts for a run with `rule_count` rules.
    pub fn new(rule_count: usize) -> Self {
        Stats {
            lines: 0,
            bytes: 0,
            lines_changed: 0,
            findings: vec![0; FindingKind::counter_len(rule_count)],
            started: Instant::now(),
            live: None,
        }
    }

    /// Hands a report to `sink` whenever `requested` is raised (by a signal handler), in
    /// `format`, naming rules by `rules`' ids.
    pub fn with_live_report(
        mut self,
        requested: Arc<AtomicBool>,
        rules: &RuleSet,
        format: StatsFormat,
        sink: ReportSink,
    ) -> Self {
        self.live = Some(LiveReport {
            requested,
            rule_ids: finding_ids(rules).into_iter().map(str::to_owned).collect(),
            format,
            metrics: None,
            sink,
        });
        self
    }

    /// Also writes `metrics` while running (after [`Stats::with_live_report`]) and on
    /// [`Stats::write_metrics`].
    pub fn with_metrics_file(mut self, metrics: Option<MetricsFile>) -> Self {
        if let Some(live) = self.live.as_mut() {
            live.metrics = metrics;
        }
        self
    }

    /// Writes the metrics file now (at exit), if there is one. An error is returned for the
    /// caller to report; counting goes on either way.
    pub fn write_metrics(&self) -> std::io::Result<()> {
        let Some(live) = &self.live else {
            return Ok(());
        };
        let Some(metrics) = &live.metrics else {
            return Ok(());
        };
        let ids: Vec<&str> = live.rule_ids.iter().map(String::as_str).collect();
        metrics.write(&self.render_prometheus(&ids))
    }

    /// Writes the metrics file if the timer says it is due. A failed write is retried at the
    /// next interval and reported at exit (stderr may be a shipper's input: no noise here).
    fn metrics_if_due(&self) {
        let Some(live) = &self.live else { return };
        let Some(metrics) = &live.metrics else {
            return;
        };
        if metrics.due.swap(false, Ordering::Relaxed) {
            let _ = self.write_metrics();
        }
    }

    /// Hands the running report to the sink if one was requested since the last call. Cheap
    /// enough (one atomic swap) to call once per read.
    pub fn report_if_requested(&self) {
        let Some(live) = &self.live else { return };
        self.metrics_if_due();
        if !live.requested.swap(false, Ordering::Relaxed) {
            return;
        }
        let ids: Vec<&str> = live.rule_ids.iter().map(String::as_str).collect();
        (live.sink)(&self.render(&ids, live.format, false));
    }

    /// Like [`Stats::report_if_requested`], for the writer thread of a parallel run, whose counts
    /// lack the `bytes` that the reader thread counted.
    pub fn report_if_requested_with_bytes(&self, bytes: u64) {
        let Some(live) = &self.live else { return };
        let metrics_due = live
            .metrics
            .as_ref()
            .is_some_and(|m| m.due.load(Ordering::Relaxed));
        if metrics_due {
            let mut view = self.clone();
            view.bytes = bytes;
            view.metrics_if_due();
        }
        if !live.requested.swap(false, Ordering::Relaxed) {
            return;
        }
        let mut view = self.clone();
        view.bytes = bytes;
        let ids: Vec<&str> = live.rule_ids.iter().map(String::as_str).collect();
        (live.sink)(&view.render(&ids, live.format, false));
    }

    /// Zeroed counts for another thread of the same run: same rules, start time and SIGUSR1 report.
    pub fn zeroed_twin(&self) -> Stats {
        Stats {
            findings: vec![0; self.findings.len()],
            lines: 0,
            bytes: 0,
            lines_changed: 0,
            started: self.started,
            live: self.live.clone(),
        }
    }

    /// Adds the counts of `other` (a worker's or a window's share) to these.
    pub fn merge(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.lines_changed += other.lines_changed;
        for (mine, theirs) in self.findings.iter_mut().zip(&other.findings) {
            *mine += theirs;
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Findings of every kind.
    pub fn total_findings(&self) -> u64 {
        self.findings.iter().sum()
    }

    /// The final report in `format`.
    pub fn report_as(&self, rules: &RuleSet, format: StatsFormat) -> String {
        self.render(&finding_ids(rules), format, true)
    }

    /// A human-readable final report: totals, then findings per rule id (busiest first).
    pub fn report(&self, rules: &RuleSet) -> String {
        self.report_as(rules, StatsFormat::Text)
    }

    fn render(&self, ids: &[&str], format: StatsFormat, is_final: bool) -> String {
        match format {
            StatsFormat::Text => self.render_text(ids, is_final),
            StatsFormat::Json => self.render_json(ids, is_final),
        }
    }

    fn per_rule<'a>(&self, ids: &[&'a str]) -> Vec<(u64, &'a str)> {
        self.findings
            .iter()
            .zip(ids)
            .filter(|(n, _)| **n > 0)
            .map(|(n, id)| (*n, *id))
            .collect()
    }

    fn render_text(&self, ids: &[&str], is_final: bool) -> String {
        let secs = self.elapsed().as_secs_f64();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "logredact: {}{} lines, {} bytes, {} findings, {} lines changed, {:.3} s ({:.1} MB/s)",
            if is_final { "" } else { "running: " },
            self.lines,
            self.bytes,
            self.total_findings(),
            self.lines_changed,
            secs,
            if secs > 0.0 {
                self.bytes as f64 / secs / 1e6
            } else {
                0.0
            }
        );
        let mut per_rule = self.per_rule(ids);
        per_rule.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        for (n, id) in per_rule {
            let _ = writeln!(s, "logredact:   {n:>10}  {id}");
        }
        s
    }

    /// The counters in Prometheus' text exposition format (version 0.0.4). Every rule gets a
    /// `logredact_findings_total` sample, also at 0, so rates work from the first scrape.
    pub fn render_prometheus(&self, ids: &[&str]) -> String {
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "logredact_lines_total",
            "counter",
            "Lines read.",
            self.lines.to_string(),
        );
        metric(
            "logredact_bytes_total",
            "counter",
            "Bytes read.",
            self.bytes.to_string(),
        );
        metric(
            "logredact_lines_changed_total",
            "counter",
            "Lines with at least one redaction.",
            self.lines_changed.to_string(),
        );
        metric(
            "logredact_running_seconds",
            "gauge",
            "Seconds since this logredact started.",
            format!("{:.3}", self.elapsed().as_secs_f64()),
        );
        let _ = writeln!(
            s,
            "# HELP logredact_findings_total Secrets found, per rule.\n\
             # TYPE logredact_findings_total counter"
        );
        for (n, id) in self.findings.iter().zip(ids) {
            let mut label = String::with_capacity(id.len());
            for c in id.chars() {
                match c {
                    '\\' => label.push_str("\\\\"),
                    '"' => label.push_str("\\\""),
                    '\n' => label.push_str("\\n"),
                    c => label.push(c),
                }
            }
            let _ = writeln!(s, "logredact_findings_total{{rule=\"{label}\"}} {n}");
        }
        s
    }

    fn render_json(&self, ids: &[&str], is_final: bool) -> String {
        let report = JsonReport {
            lines: self.lines,
            bytes: self.bytes,
            findings_total: self.total_findings(),
            findings: self
                .per_rule(ids)
                .into_iter()
                .map(|(n, id)| (id, n))
                .collect(),
            lines_changed: self.lines_changed,
            duration_seconds: self.elapsed().as_secs_f64(),
            is_final,
        };
        // Serialising plain numbers and rule ids cannot fail; an empty object is the fallback.
        let mut line = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        let mut set = RuleSet::default();
        set.add_toml(
            "t",
            "[[rules]]\nid='a'\nregex='x'\n[[rules]]\nid='b'\nregex='y'\n",
        )
        .unwrap();
        set
    }

    #[test]
    fn json_report_has_the_monitoring_fields() {
        let mut s = Stats::new(2);
        s.lines = 10;
        s.bytes = 300;
        s.lines_changed = 2;
        s.findings = vec![0, 3];
        let text = s.report_as(&rules(), StatsFormat::Json);
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["lines"], 10);
        assert_eq!(v["bytes"], 300);
        assert_eq!(v["findings_total"], 3);
        assert_eq!(v["findings"], serde_json::json!({"b": 3}));
        assert_eq!(v["lines_changed"], 2);
        assert_eq!(v["final"], true);
        assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn live_report_only_when_requested() {
        let flag = Arc::new(AtomicBool::new(false));
        let reports = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&reports);
        let s = Stats::new(2).with_live_report(
            flag.clone(),
            &rules(),
            StatsFormat::Json,
            Arc::new(move |r: &str| sink.lock().unwrap().push(r.to_owned())),
        );
        s.report_if_requested();
        assert!(!flag.load(Ordering::Relaxed));
        assert!(reports.lock().unwrap().is_empty());
        flag.store(true, Ordering::Relaxed);
        s.report_if_requested();
        assert!(!flag.load(Ordering::Relaxed), "request consumed");
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].contains("\"final\":false"));
    }
}
