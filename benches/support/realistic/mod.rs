//! The realistic container-log corpus (issue 13): what a node's log shipper sees from a shop's
//! services. Thirteen logging styles (`styles.rs`) print benign messages with context words at
//! the rates real container logs show (`token bucket refilled`, `cache miss for key`), ~2 % of
//! lines carry a made-up secret of one of ~57 families in the syntax its rule targets and ~3 %
//! a decoy (`secrets.rs`); each event is wrapped as a Docker json-file record, a CRI line (long
//! lines sometimes split into `P` partials), a Fluent Bit JSON record or left plain.
//!
//! Deterministic for a seed, so every run measures the same bytes, and it counts what it made
//! ([`Stats`]) so the rates are printed with each run and checked by a test. Never emits a real
//! credential, and never labels a line as benign when it holds a secret.

#![allow(dead_code)]

#[path = "messages.rs"]
pub mod messages;
#[path = "../random_text.rs"]
mod random_text;
#[path = "secrets.rs"]
pub mod secrets;
#[path = "styles.rs"]
pub mod styles;

use std::fmt::Write as _;

use messages::{Field, Message, SHAPES};
pub use random_text::Rng;
use random_text::{json_escape, HEX};
use secrets::{Form, DECOYS, FAMILIES};
use styles::{Clock, Style, ACCESS_DB_SHAPES, STYLES};

/// What a physical line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Benign,
    /// A secret of family `FAMILIES[i]`.
    Secret(usize),
    Decoy,
}

/// How the container runtime or shipper framed the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    Docker,
    Cri,
    FluentBit,
    Plain,
}

/// Each wrapper and its share of events (DESIGN.md §5: ~45 % JSON, ~28 % CRI, ~27 % Docker).
pub const WRAPPERS: &[(Wrapper, &str, usize)] = &[
    (Wrapper::Docker, "docker-json-file", 27),
    (Wrapper::Cri, "cri", 26),
    (Wrapper::FluentBit, "fluent-bit", 45),
    (Wrapper::Plain, "plain", 2),
];

/// Context words whose rate per line is counted (case-insensitive substrings, as a keyword
/// automaton sees them).
pub const CONTEXT_WORDS: &[&str] = &[
    "token",
    "key",
    "password",
    "secret",
    "credential",
    "session",
    "auth",
    "api",
];

/// Secret and decoy events per thousand events.
const SECRET_PERMILLE: usize = 21;
const DECOY_PERMILLE: usize = 31;

/// What one corpus is made of, counted while generating it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub bytes: usize,
    pub lines: usize,
    pub events: usize,
    /// Physical lines per style, indexed like [`STYLES`].
    pub styles: Vec<usize>,
    /// Physical lines per wrapper, indexed like [`WRAPPERS`].
    pub wrappers: Vec<usize>,
    /// Lines that are a JSON object other than a Docker json-file record.
    pub json_lines: usize,
    pub cri_partial_lines: usize,
    pub multiline_events: usize,
    /// Lines holding each of [`CONTEXT_WORDS`], and any of them.
    pub context: Vec<usize>,
    pub any_context: usize,
    pub secret_lines: usize,
    pub decoy_lines: usize,
    /// Secret lines per family, indexed like [`FAMILIES`].
    pub families: Vec<usize>,
    /// Secret lines per serialization (field syntax of the style, or the text's own syntax).
    pub serializations: std::collections::BTreeMap<&'static str, usize>,
    /// Which benign shapes were used: [`SHAPES`], then the access/database shapes.
    pub shapes_used: Vec<bool>,
}

impl Stats {
    fn new() -> Self {
        Stats {
            styles: vec![0; STYLES.len()],
            wrappers: vec![0; WRAPPERS.len()],
            context: vec![0; CONTEXT_WORDS.len()],
            families: vec![0; FAMILIES.len()],
            shapes_used: vec![false; SHAPES.len() + ACCESS_DB_SHAPES],
            ..Stats::default()
        }
    }

    /// Share of lines, in percent.
    pub fn pct(&self, n: usize) -> f64 {
        100.0 * n as f64 / self.lines.max(1) as f64
    }

    pub fn families_present(&self) -> usize {
        self.families.iter().filter(|&&n| n > 0).count()
    }

    pub fn shapes_present(&self) -> usize {
        self.shapes_used.iter().filter(|&&u| u).count()
    }

    /// The statistics as a few human-readable lines (printed to stderr by `gen-corpus`).
    pub fn report(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "realistic corpus: {} bytes, {} lines, {} events ({} multi-line), {} message shapes used", self.bytes, self.lines, self.events, self.multiline_events, self.shapes_present());
        let _ = write!(o, "  styles (% of lines):");
        for (i, (_, name, _)) in STYLES.iter().enumerate() {
            let _ = write!(o, " {name} {:.1}", self.pct(self.styles[i]));
        }
        let _ = write!(o, "\n  wrappers (% of lines):");
        for (i, (_, name, _)) in WRAPPERS.iter().enumerate() {
            let _ = write!(o, " {name} {:.1}", self.pct(self.wrappers[i]));
        }
        let _ = writeln!(
            o,
            "; JSON (not Docker) {:.1}, CRI partial (P) {:.2}",
            self.pct(self.json_lines),
            self.pct(self.cri_partial_lines)
        );
        let _ = write!(o, "  context words (% of lines):");
        for (i, w) in CONTEXT_WORDS.iter().enumerate() {
            let _ = write!(o, " {w} {:.1}", self.pct(self.context[i]));
        }
        let _ = writeln!(o, "; any {:.1}", self.pct(self.any_context));
        let _ = writeln!(
            o,
            "  secrets {:.2} % of lines in {} families; decoys {:.2} % of lines",
            self.pct(self.secret_lines),
            self.families_present(),
            self.pct(self.decoy_lines)
        );
        let _ = write!(o, "  secret serializations:");
        for (k, n) in &self.serializations {
            let _ = write!(o, " {k} {n}");
        }
        o.push('\n');
        o
    }
}

/// The generator state: random numbers, the clock, and what it counted so far.
pub struct Generator {
    rng: Rng,
    clock: Clock,
    pub stats: Stats,
    style_weight: usize,
    shape_weight: usize,
    lines: Vec<String>,
}

fn weighted<T: Copy>(rng: &mut Rng, table: &[(T, &str, usize)], total: usize) -> (usize, T) {
    let mut r = rng.below(total);
    for (i, &(t, _, w)) in table.iter().enumerate() {
        if r < w {
            return (i, t);
        }
        r -= w;
    }
    (table.len() - 1, table[table.len() - 1].0)
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::new(seed),
            clock: Clock(13 * 3_600_000),
            stats: Stats::new(),
            style_weight: STYLES.iter().map(|s| s.2).sum(),
            shape_weight: SHAPES.iter().map(|s| s.weight).sum(),
            lines: Vec::new(),
        }
    }

    /// A style that prints free messages; one that leaves quotes unescaped when `quotes` is set
    /// (a text holding `"` would otherwise be escaped by logrus/logfmt/klog quoting).
    fn message_style(&mut self, quotes: bool) -> (usize, Style) {
        loop {
            let (i, style) = weighted(&mut self.rng, STYLES, self.style_weight);
            let escapes = matches!(style, Style::Logrus | Style::Logfmt | Style::Klog);
            if style.carries_messages() && !(quotes && escapes) {
                return (i, style);
            }
        }
    }

    /// Appends one event (one or more lines, each ending in `\n`) to `out`, and the label of each
    /// of its lines to `labels`.
    pub fn event(&mut self, out: &mut String, labels: &mut Vec<Label>) {
        self.clock.tick(&mut self.rng);
        self.lines.clear();
        let r = self.rng.below(1000);
        let (label, style_idx, style) = if r < SECRET_PERMILLE {
            let fam = self.rng.below(FAMILIES.len());
            let form = secrets::secret(&mut self.rng, fam);
            let quotes = matches!(&form, Form::Text(_, t) if t.contains('"'));
            let (si, style) = self.message_style(quotes);
            let (shape, mut m) = messages::benign(&mut self.rng, self.shape_weight);
            let ser: &'static str = match form {
                Form::Field(f) => {
                    m.fields.push((f.key, f.value));
                    self.stats.shapes_used[shape] = true;
                    match style {
                        Style::ZapJson | Style::StructuredJson | Style::ZapConsole => "json-field",
                        Style::Logrus | Style::Logfmt | Style::Klog => "logfmt",
                        _ => "key=value",
                    }
                }
                Form::Text(ser, text) => {
                    let m = Message {
                        msg: &text,
                        fields: vec![("svc".into(), "checkout".into())],
                    };
                    styles::render(&mut self.rng, style, &self.clock, &m, &mut self.lines);
                    ser
                }
            };
            if self.lines.is_empty() {
                styles::render(&mut self.rng, style, &self.clock, &m, &mut self.lines);
            }
            *self.stats.serializations.entry(ser).or_default() += 1;
            (Label::Secret(fam), si, style)
        } else {
            let label = if r < SECRET_PERMILLE + DECOY_PERMILLE {
                Label::Decoy
            } else {
                Label::Benign
            };
            let (si, style) = weighted(&mut self.rng, STYLES, self.style_weight);
            let decoy = (label == Label::Decoy).then(|| {
                let i = self.rng.below(DECOYS.len());
                secrets::decoy(&mut self.rng, i)
            });
            if style.carries_messages() {
                let (shape, mut m) = messages::benign(&mut self.rng, self.shape_weight);
                self.stats.shapes_used[shape] = true;
                if let Some(Field { key, value }) = decoy {
                    m.fields.push((key, value));
                }
                styles::render(&mut self.rng, style, &self.clock, &m, &mut self.lines);
            } else {
                let extra = decoy.map(|f| format!("{}={}", f.key, f.value));
                let shape = styles::access_or_db(
                    &mut self.rng,
                    style,
                    &self.clock,
                    extra.as_deref(),
                    &mut self.lines,
                );
                self.stats.shapes_used[SHAPES.len() + shape] = true;
            }
            (label, si, style)
        };
        self.wrap(label, style_idx, style, out, labels);
    }

    /// Frames the event's lines with one wrapper and counts them.
    fn wrap(
        &mut self,
        label: Label,
        style_idx: usize,
        style: Style,
        out: &mut String,
        labels: &mut Vec<Label>,
    ) {
        let (wi, wrapper) = weighted(&mut self.rng, WRAPPERS, 100);
        let lines = std::mem::take(&mut self.lines);
        self.stats.events += 1;
        if lines.len() > 1 {
            self.stats.multiline_events += 1;
        }
        let pod = format!(
            "{}-{}",
            [
                "checkout",
                "payments",
                "storefront",
                "gateway",
                "search",
                "inventory"
            ][style_idx % 6],
            {
                let mut h = String::new();
                self.rng.chars(HEX, 5, &mut h);
                h
            }
        );
        let start = out.len();
        for (n, line) in lines.iter().enumerate() {
            // The first line carries the secret or decoy; stack-trace lines are benign.
            let line_label = if n == 0 { label } else { Label::Benign };
            let ts = self.clock.iso_nanos(&mut self.rng);
            match wrapper {
                Wrapper::Plain => {
                    push_line(out, labels, line_label, line);
                }
                Wrapper::Docker => {
                    let stream = if style == Style::Spring && n > 0 {
                        "stderr"
                    } else {
                        "stdout"
                    };
                    let rec = format!(
                        "{{\"log\":\"{}\\n\",\"stream\":\"{stream}\",\"time\":\"{ts}\"}}",
                        json_escape(line)
                    );
                    push_line(out, labels, line_label, &rec);
                }
                Wrapper::Cri => {
                    // containerd splits long lines into `P` partials; only benign ones here, so
                    // that a label names the line that holds the whole secret.
                    if line_label == Label::Benign && line.len() > 120 && self.rng.below(100) < 12 {
                        let cut = 40 + self.rng.below(line.len() - 80);
                        push_line(
                            out,
                            labels,
                            Label::Benign,
                            &format!("{ts} stdout P {}", &line[..cut]),
                        );
                        self.stats.cri_partial_lines += 1;
                        self.stats.wrappers[wi] += 1;
                        self.stats.styles[style_idx] += 1;
                        push_line(
                            out,
                            labels,
                            Label::Benign,
                            &format!("{ts} stdout F {}", &line[cut..]),
                        );
                    } else {
                        push_line(out, labels, line_label, &format!("{ts} stdout F {line}"));
                    }
                }
                Wrapper::FluentBit => {
                    let mut rec = format!("{{\"date\":{},\"time\":\"{ts}\",\"stream\":\"stdout\",\"_p\":\"F\",\"log\":\"{}\"", self.clock.epoch(), json_escape(line));
                    if style.is_json() && self.rng.below(2) == 0 {
                        // Merge_Log with Merge_Log_Key: the parsed app record beside the raw one.
                        let _ = write!(rec, ",\"log_processed\":{line}");
                    }
                    let _ = write!(rec, ",\"kubernetes\":{{\"pod_name\":\"{pod}\",\"namespace_name\":\"shop\",\"container_name\":\"{}\",\"host\":\"node-{}\"}}}}", &pod[..pod.len() - 6], style_idx % 3);
                    push_line(out, labels, line_label, &rec);
                }
            }
            self.stats.wrappers[wi] += 1;
            self.stats.styles[style_idx] += 1;
        }
        self.count(wrapper, style, start, out);
        self.lines = lines;
    }

    /// Counts the lines just written (from `start`): totals, JSON share, context words, labels.
    fn count(&mut self, wrapper: Wrapper, style: Style, start: usize, out: &str) {
        for line in out[start..].lines() {
            self.stats.lines += 1;
            if wrapper == Wrapper::FluentBit || (wrapper == Wrapper::Plain && style.is_json()) {
                self.stats.json_lines += 1;
            }
            let lower = line.to_ascii_lowercase();
            let mut any = false;
            for (i, w) in CONTEXT_WORDS.iter().enumerate() {
                if lower.contains(w) {
                    self.stats.context[i] += 1;
                    any = true;
                }
            }
            self.stats.any_context += usize::from(any);
        }
        self.stats.bytes = out.len();
    }
}

fn push_line(out: &mut String, labels: &mut Vec<Label>, label: Label, line: &str) {
    out.push_str(line);
    out.push('\n');
    labels.push(label);
}

/// Records the labels' counts into the stats.
fn count_labels(stats: &mut Stats, labels: &[Label]) {
    for l in labels {
        match *l {
            Label::Secret(f) => {
                stats.secret_lines += 1;
                stats.families[f] += 1;
            }
            Label::Decoy => stats.decoy_lines += 1,
            Label::Benign => {}
        }
    }
}

/// About `bytes` bytes of realistic corpus (whole lines), and what it holds.
pub fn generate(bytes: usize, seed: u64) -> (Vec<u8>, Stats) {
    let mut g = Generator::new(seed);
    let mut out = String::with_capacity(bytes + 4096);
    let mut labels = Vec::new();
    while out.len() < bytes {
        g.event(&mut out, &mut labels);
        count_labels(&mut g.stats, &labels);
        labels.clear();
    }
    (out.into_bytes(), g.stats)
}

/// At least `lines` lines of realistic corpus, with the label of each line.
pub fn generate_lines(lines: usize, seed: u64) -> (String, Vec<Label>, Stats) {
    let mut g = Generator::new(seed);
    let mut out = String::new();
    let mut labels = Vec::new();
    while labels.len() < lines {
        g.event(&mut out, &mut labels);
    }
    count_labels(&mut g.stats, &labels);
    (out, labels, g.stats)
}
