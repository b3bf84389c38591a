//! `logredact lint PATH...`: reports the secrets found in log samples — files, directories
//! (recursively, in name order) and `.gz` files (read through `flate2`) — as text, JSON lines or
//! SARIF 2.1.0, minus the findings a `--baseline` already knows.
//!
//! Owns: walking the paths, opening (and decompressing) inputs, the progress bar, baseline
//! filtering and the summary the CLI turns into an exit code (0 clean, 1 findings, 2 errors).
//! Must never: print a secret (reports carry positions, rule ids, keyed fingerprints and redacted
//! previews), or stop at the first unreadable file (it is reported and the rest are scanned).

pub mod fingerprint;
pub mod json;
pub mod sarif;
pub mod scan;
pub mod text;

use std::fs::{self, File};
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::filter::Filter;
use crate::rules::Rule;

use fingerprint::{Baseline, FingerprintKey};
use scan::Located;

/// Inputs at least this large (in bytes on disk) get a progress bar on a terminal.
pub const PROGRESS_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// Writes findings in one report format.
pub trait Reporter {
    /// One finding of `path`; `rule` is the rule that found it.
    fn finding(&mut self, path: &str, finding: &Located, rule: &Rule) -> io::Result<()>;
    /// After the last finding. `stable_fingerprints`: whether fingerprints mean the same in the
    /// next run (a user key or a baseline salt).
    fn finish(&mut self, rules: &[Rule], stable_fingerprints: bool) -> io::Result<()>;
}

/// `--report-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormat {
    /// `path:line:col: rule-id: description` and a redacted preview.
    #[default]
    Text,
    /// One JSON object per finding.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
}

/// What to lint and how to report it.
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Files and directories; `-` is stdin.
    pub paths: Vec<PathBuf>,
    pub format: ReportFormat,
    /// Colour the text report.
    pub color: bool,
    /// Draw a progress bar on stderr if it is a terminal and the input is large.
    pub progress: bool,
    /// Known findings to leave out.
    pub baseline: Option<PathBuf>,
    /// Write every finding's fingerprint here (accepting them as known).
    pub write_baseline: Option<PathBuf>,
    /// The user's hash key (`--hash-key-file` / `--hash-key-env`), if any.
    pub user_key: Option<FingerprintKey>,
    /// `--max-line-bytes`: lines are framed as the filter frames them with the same value.
    pub max_line_bytes: usize,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            paths: Vec::new(),
            format: ReportFormat::default(),
            color: false,
            progress: false,
            baseline: None,
            write_baseline: None,
            user_key: None,
            max_line_bytes: crate::stream::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// The outcome of a lint run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LintSummary {
    pub files: u64,
    /// Findings reported (not in the baseline).
    pub findings: u64,
    /// Findings left out because the baseline knows them.
    pub known: u64,
    /// Inputs that could not be read; each was reported on stderr.
    pub errors: u64,
}

impl LintSummary {
    /// 2 if any input failed, else 1 if anything was reported, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            2
        } else if self.findings > 0 {
            1
        } else {
            0
        }
    }
}

enum Input {
    Stdin,
    File { path: PathBuf, size: u64 },
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File { path, .. } => path.to_string_lossy().into_owned(),
        }
    }
}

/// Lints `options.paths` with `filter` (the scanner and marker set of a filter run, so `lint`
/// reports what that filter would replace), writing the report to `out` and problems to stderr.
/// `Err` is a setup error (bad baseline, key mismatch): nothing was scanned.
pub fn lint(
    filter: &Filter,
    options: &LintOptions,
    out: &mut dyn Write,
) -> Result<LintSummary, String> {
    let baseline = options
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()?;
    let key = match (&baseline, options.baseline.as_deref()) {
        (Some(b), Some(path)) => b.key(options.user_key.clone(), path)?,
        _ => match &options.user_key {
            Some(k) => k.clone(),
            None => FingerprintKey::random_salt()?,
        },
    };

    let mut summary = LintSummary::default();
    let mut inputs = Vec::new();
    for path in &options.paths {
        if let Err(e) = collect_inputs(path, &mut inputs) {
            eprintln!("logredact: lint: {}: {e}", path.display());
            summary.errors += 1;
        }
    }
    let total: u64 = inputs
        .iter()
        .map(|i| match i {
            Input::File { size, .. } => *size,
            Input::Stdin => 0,
        })
        .sum();
    let progress = if options.progress && total >= PROGRESS_MIN_BYTES && io::stderr().is_terminal()
    {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    // Reporters name findings by rule; the kinds no rule makes get a description of their own.
    let mut kinds: Vec<Rule> = filter.detector().rules().rules.clone();
    kinds.push(Rule::described(
        crate::finding::SECRET_FIELD_ID,
        "Value of a key that names a secret",
    ));
    kinds.push(Rule::described(
        crate::finding::PRIVATE_KEY_BLOCK_ID,
        "Body of a multi-line private key",
    ));
    let rule_count = filter.detector().rules().rules.len();
    let rules = &kinds;
    let mut reporter: Box<dyn Reporter + '_> = match options.format {
        ReportFormat::Text => Box::new(text::TextReporter::new(&mut *out, options.color)),
        ReportFormat::Json => Box::new(json::JsonReporter::new(&mut *out)),
        ReportFormat::Sarif => Box::new(sarif::SarifReporter::new(&mut *out, rules)),
    };
    let mut seen_fingerprints = Vec::new();
    for input in &inputs {
        let name = input.name();
        let mut reader = match open(input, &progress) {
            Ok(r) => r,
            Err(e) => {
                progress.suspend(|| eprintln!("logredact: lint: {name}: {e}"));
                summary.errors += 1;
                continue;
            }
        };
        summary.files += 1;
        let mut on_finding = |f: Located| -> io::Result<()> {
            if options.write_baseline.is_some() {
                seen_fingerprints.push(f.fingerprint.clone());
            }
            if baseline
                .as_ref()
                .is_some_and(|b| b.fingerprints.contains(&f.fingerprint))
            {
                summary.known += 1;
                return Ok(());
            }
            summary.findings += 1;
            progress
                .suspend(|| reporter.finding(&name, &f, &rules[f.kind.counter_index(rule_count)]))
        };
        let framing = scan::Framing {
            max_line_bytes: options.max_line_bytes,
            ..scan::Framing::default()
        };
        if let Err(e) = scan::scan(filter, &key, &mut reader, framing, &mut on_finding) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Err("lint: output closed".into());
            }
            progress.suspend(|| eprintln!("logredact: lint: {name}: {e}"));
            summary.errors += 1;
        }
    }
    progress.finish_and_clear();
    reporter
        .finish(rules, key.is_stable())
        .map_err(|e| format!("lint: writing the report: {e}"))?;
    if let Some(path) = &options.write_baseline {
        fingerprint::write_baseline(path, &key, seen_fingerprints)?;
    }
    Ok(summary)
}

/// Adds `path` (a file, `-`, or a directory walked recursively in name order) to `inputs`.
/// Symlinks to files are followed; symlinked directories are not entered (no cycles).
fn collect_inputs(path: &Path, inputs: &mut Vec<Input>) -> io::Result<()> {
    if path.as_os_str() == "-" {
        inputs.push(Input::Stdin);
        return Ok(());
    }
    let meta = fs::metadata(path)?;
    if meta.is_dir() {
        walk_dir(path, inputs)
    } else {
        inputs.push(Input::File {
            path: path.to_path_buf(),
            size: meta.len(),
        });
        Ok(())
    }
}

fn walk_dir(dir: &Path, inputs: &mut Vec<Input>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();
    for path in entries {
        let link = fs::symlink_metadata(&path)?;
        if link.is_dir() {
            walk_dir(&path, inputs)?;
        } else if let Ok(meta) = fs::metadata(&path) {
            if meta.is_file() {
                inputs.push(Input::File {
                    size: meta.len(),
                    path,
                });
            }
        }
    }
    Ok(())
}

/// Opens an input, decompressing `.gz`; bytes read from disk advance `progress`.
fn open(input: &Input, progress: &ProgressBar) -> io::Result<Box<dyn Read>> {
    match input {
        Input::Stdin => Ok(Box::new(io::stdin())),
        Input::File { path, .. } => {
            let file = Counting {
                inner: File::open(path)?,
                progress: progress.clone(),
            };
            if path.extension().is_some_and(|e| e == "gz") {
                Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                    256 * 1024,
                    file,
                ))))
            } else {
                Ok(Box::new(file))
            }
        }
    }
}

/// A reader that reports how far it got to the progress bar.
struct Counting<R> {
    inner: R,
    progress: ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// Whether the text report should be coloured: `always`/`never`, or on a terminal unless
/// `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}
