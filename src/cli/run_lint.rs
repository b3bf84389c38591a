//! Wiring of the `run`, `lint`, `completions` and `man` commands (issue 7), kept apart from
//! `cli.rs` so that file stays about the filter. Like `cli`, no logic of its own: arguments in,
//! library calls, exit codes out.
//!
//! Must never: accept a hash key on the command line (only a file or an environment variable),
//! or print a key, a secret or input text.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, CommandFactory};

use super::{build_filter, load_rules, stream_options, Cli, Failure, FilterArgs, RuleArgs};
use crate::detect::Detector;
use crate::engine::EngineChoice;
use crate::filter::Filter;
use crate::format::Format;
use crate::lint::{self, fingerprint::FingerprintKey, ColorChoice, LintOptions, ReportFormat};
use crate::redact::{HashKey, KeyFileAccess};
use crate::run;

pub(super) const RUN_EXAMPLES: &str = "\
Examples:
  logredact run -- /app/server --port 8080
  logredact run --rules extra.toml -- python -u app.py
Exit status: the command's; 128+N if it died of signal N; 127 if it was not found; 126 if it
could not be executed. SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded.";

pub(super) const LINT_EXAMPLES: &str = "\
Examples:
  logredact lint samples/
  logredact lint --report-format sarif logs/ > logredact.sarif
  logredact lint --write-baseline .logredact-baseline.json logs/
  logredact lint --baseline .logredact-baseline.json logs/
Exit status: 0 nothing found, 1 findings, 2 an input could not be read or a usage error.";

/// Options of `lint`.
#[derive(Debug, Args, Clone)]
pub struct LintArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Matching engine.
    #[arg(long, value_parser = super::bridge::choice::<EngineChoice>(), default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub report_format: ReportFormat,
    /// Colour the text report (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Longest line held whole, as for the filter: longer lines are scanned in overlapping
    /// windows, and groups of partial records are joined up to this size.
    #[arg(long, value_name = "N", default_value_t = crate::stream::DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Never draw the progress bar (drawn on a terminal stderr for inputs over 64 MiB).
    #[arg(long)]
    pub no_progress: bool,
    /// Leave out findings whose fingerprint this baseline file lists.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the fingerprints of all findings to FILE (accepting them as known).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Key for fingerprints, read from FILE (else a salt kept in the baseline file is used).
    #[arg(long, value_name = "FILE")]
    pub hash_key_file: Option<PathBuf>,
    /// Key for fingerprints, read from environment variable VAR.
    #[arg(long, value_name = "VAR", conflicts_with = "hash_key_file")]
    pub hash_key_env: Option<String>,
    /// Accept a --hash-key-file that group or others can read.
    #[arg(long)]
    pub allow_readable_key: bool,
    /// Files or directories (recursive; `.gz` is decompressed); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

pub(super) fn run_wrapped(args: &FilterArgs, command: &[OsString]) -> Result<u8, Failure> {
    if args.format == Format::Rsyslog {
        return Err(Failure::config(
            "run: --format rsyslog is for rsyslog's mmexternal, not for wrapping a command",
        ));
    }
    let filter = Arc::new(build_filter(args, load_rules(&args.rules)?)?);
    let options = stream_options(args)?;
    let report = match run::run(Arc::clone(&filter), options, command) {
        Ok(report) => report,
        Err(run::RunError::Start { code, message }) => return Err(Failure { code, message }),
        Err(run::RunError::Internal(message)) => return Err(Failure { code: 1, message }),
    };
    if args.stats || args.stats_format.is_some() {
        let format = args.stats_format.unwrap_or_default();
        eprint!(
            "{}",
            report.stats.report_as(filter.detector().rules(), format)
        );
    }
    match report.pump_error {
        // Output was lost: a child that succeeded must not look like a clean run.
        Some(message) if report.exit_code == 0 => Err(Failure { code: 1, message }),
        Some(message) => {
            eprintln!("logredact: {message}");
            Ok(report.exit_code)
        }
        None => Ok(report.exit_code),
    }
}

pub(super) fn run_lint(args: &LintArgs) -> Result<u8, Failure> {
    let rules = load_rules(&args.rules)?;
    let matcher = super::bridge::build_engine(&rules, args.engine).map_err(Failure::config)?;
    // The filter's own scanner (default format, built-in key names): lint reports exactly what
    // `logredact` run over the same sample replaces.
    let filter = Filter::new(Detector::new(rules, matcher));
    let access = match args.allow_readable_key {
        true => KeyFileAccess::AllowReadable,
        false => KeyFileAccess::OwnerOnly,
    };
    let user_key = HashKey::read_user_key(
        args.hash_key_file.as_deref(),
        args.hash_key_env.as_deref(),
        access,
    )
    .map_err(Failure::config)?
    .map(FingerprintKey::user)
    .transpose()
    .map_err(Failure::config)?;
    let options = LintOptions {
        paths: args.paths.clone(),
        format: args.report_format,
        color: args.report_format == ReportFormat::Text && lint::use_color(args.color),
        progress: !args.no_progress,
        baseline: args.baseline.clone(),
        write_baseline: args.write_baseline.clone(),
        user_key,
        max_line_bytes: args.max_line_bytes,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let summary = lint::lint(&filter, &options, &mut out).map_err(Failure::config)?;
    if options.write_baseline.is_some() && summary.errors == 0 {
        return Ok(0);
    }
    Ok(summary.exit_code())
}

pub(super) fn print_completions(shell: clap_complete::Shell) -> Result<u8, Failure> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "logredact", &mut io::stdout());
    Ok(0)
}

pub(super) fn print_man_page(out_dir: Option<&std::path::Path>) -> Result<u8, Failure> {
    let failed = |e: io::Error| Failure {
        code: 1,
        message: format!("man: {e}"),
    };
    match out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(failed)?;
            clap_mangen::generate_to(Cli::command(), dir).map_err(failed)?
        }
        None => clap_mangen::Man::new(Cli::command())
            .render(&mut io::stdout())
            .map_err(failed)?,
    }
    Ok(0)
}
