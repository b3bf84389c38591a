//! Command line: clap definitions and the wiring from arguments to the library. No logic of its
//! own beyond choosing exit codes.
//!
//! Owns: argument parsing, messages to stderr, exit codes (0 ok; 1 findings for `rules test` or an
//! I/O error; 2 usage or configuration error). Must never: print input text or anything derived
//! from a secret; a panic message is replaced by a fixed text (see [`install_panic_hook`]).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::detect::Detector;
use crate::engine::{self, EngineChoice};
use crate::filter::Filter;
use crate::format::rsyslog::{self, ReplyMark, RsyslogInput};
use crate::format::{Format, FormatOptions};
use crate::redact::{HashKey, KeyFileAccess, Mode, RedactConfig, Redactor, Template};
use crate::rules::RuleSet;
use crate::selftest;
use crate::stats::{MetricsFile, Stats, StatsFormat};
use crate::stream::{self, LongLines, StreamError, StreamOptions};

// Opening `filter` inputs (issue 14).
mod bridge;
mod input;
mod profile;
// `run`, `lint`, `completions`, `man` (issue 7).
mod run_lint;
use bridge::choice;
pub use run_lint::LintArgs;
use run_lint::{
    print_completions, print_man_page, run_lint, run_wrapped, LINT_EXAMPLES, RUN_EXAMPLES,
};

const EXAMPLES: &str = "\
Examples:
  kubectl logs -f deploy/api | logredact
  tail -F /var/log/app.log | logredact --stats | fluent-bit -i stdin ...
  logredact filter app.log other.log > clean.log
  logredact --rules my-rules.toml --disable generic-password < app.log
  logredact --mode hash --hash-key-file /etc/logredact/key < app.log
  logredact --mode partial --stats --stats-format json < app.log
  logredact rules list
  logredact rules test my-rules.toml";

#[derive(Debug, Parser)]
#[command(
    name = "logredact",
    version,
    about = "Removes secrets (tokens, API keys, passwords, private keys) from logs: stdin -> stdout.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the default command (filter stdin to stdout).
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Redact FILEs (or stdin) to stdout; the default command.
    Filter {
        #[command(flatten)]
        args: FilterArgs,
        /// Files to read instead of stdin, in order (`-` is stdin); an unreadable one is reported
        /// and skipped, and the exit status is then 1.
        files: Vec<PathBuf>,
    },
    /// Inspect, validate and self-test rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    // ---- run / lint / completions / man (issue 7) ----
    /// Run CMD with its stdout and stderr redacted to ours; forwards signals, exits with its code.
    #[command(after_help = RUN_EXAMPLES)]
    Run {
        #[command(flatten)]
        args: FilterArgs,
        /// The command and its arguments (put `--` before it if it starts with `-`).
        #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// Report the secrets in log files or directories (text, JSON lines or SARIF); exit 1 if any.
    #[command(after_help = LINT_EXAMPLES)]
    Lint(LintArgs),
    /// Forward-protocol hop for Fluent Bit/Fluentd: redacts every record, acks after the next hop.
    Relay {
        #[command(flatten)]
        args: FilterArgs,
        #[command(flatten)]
        relay: crate::relay::RelayArgs,
    },
    /// Print a shell completion script to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into a directory.
    Man {
        /// Write logredact.1, logredact-run.1, logredact-lint.1, ... into DIR.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    // ---- end issue 7 ----
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the active rules: id, engine, tags, description.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, value_parser = choice::<EngineChoice>(), default_value_t = EngineChoice::Auto)]
        engine: EngineChoice,
    },
    /// Run every rule's examples and negative examples; exit 1 on any failure.
    Test {
        /// Rule files to test (default: the built-in rules plus any --rules).
        files: Vec<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, value_parser = choice::<EngineChoice>(), default_value_t = EngineChoice::Auto)]
        engine: EngineChoice,
    },
    /// Load and validate rule files; exit 2 on the first error.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Per rule: candidates, regex runs, matches, findings, rejections and time, from filtering
    /// FILEs (or stdin) with output discarded; costliest first, with hints. Prints no input text.
    Profile(profile::ProfileArgs),
}

/// Which rules are active.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Add the rules of a TOML file (gitleaks format or ours); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rule_files: Vec<PathBuf>,
    /// Do not load the built-in rules (use only --rules files).
    #[arg(long)]
    pub no_default_rules: bool,
    /// Only use rules with these ids or tags (repeatable, or comma-separated).
    #[arg(long, value_name = "ID|TAG", value_delimiter = ',')]
    pub enable: Vec<String>,
    /// Do not use rules with these ids or tags (repeatable, or comma-separated).
    #[arg(long, value_name = "ID|TAG", value_delimiter = ',')]
    pub disable: Vec<String>,
}

/// Options of the filter.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Matching engine.
    #[arg(long, value_parser = choice::<EngineChoice>(), default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Longest line held in memory whole; longer lines are redacted in overlapping windows.
    #[arg(long, value_name = "N", default_value_t = stream::DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Print counts (lines, bytes, findings per rule, duration) to stderr at exit.
    /// `kill -USR1 <pid>` prints them while running, with the next input line.
    #[arg(long)]
    pub stats: bool,
    /// Format of --stats reports (implies --stats): text, or one JSON object per report.
    #[arg(long, value_parser = choice::<StatsFormat>(), value_name = "FORMAT")]
    pub stats_format: Option<StatsFormat>,
    #[command(flatten)]
    pub redact: RedactArgs,
    /// Scanning threads (0 = one per core, at most 4; at most 64, and never more than the cores
    /// available). Output is identical for any number.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_threads)]
    pub threads: usize,
    /// Line format: `auto` decides per line (JSON object, CRI record, or text); `json` makes
    /// every output line a JSON object; `rsyslog` speaks rsyslog's mmexternal protocol.
    #[arg(long, value_parser = choice::<Format>(), default_value_t = Format::Auto)]
    pub format: Format,
    /// Extra JSON key name whose string values are always redacted (repeatable, or
    /// comma-separated; matched like the built-ins: case-insensitive, also as `*_NAME`).
    #[arg(long = "secret-key", value_name = "NAME", value_delimiter = ',')]
    pub secret_keys: Vec<String>,
    /// With `--format rsyslog`: what mmexternal sends (its `interface.input`).
    #[arg(long, value_parser = choice::<RsyslogInput>(), default_value_t = RsyslogInput::Msg)]
    pub rsyslog_input: RsyslogInput,
    /// Directory for the Hyperscan engine's compiled-database cache (default
    /// `$XDG_CACHE_HOME/logredact` or `~/.cache/logredact`; daemons such as rsyslog's mmexternal
    /// give no environment). Must be ours, mode 0700, else the cache is not used.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Write the --stats counters in Prometheus text format to PATH (atomically, every
    /// --metrics-interval seconds while lines flow, and at exit), for node_exporter's textfile
    /// collector. Name it `*.prom` in the collector's directory.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Seconds between writes of --metrics-file.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub metrics_interval: u64,
    /// With `--format rsyslog`: every reply also sets `$!lr` to "ok", so the rsyslog config can
    /// quarantine messages that mmexternal passed on without our reply (when we were killed).
    #[arg(long)]
    pub rsyslog_mark: bool,
    // ---- issue 7: --long-lines ----
    /// Lines longer than --max-line-bytes: keep each one whole (window), or cut it into lines of
    /// at most N bytes after redaction, never inside a marker (split; N >= 128).
    #[arg(long, value_parser = choice::<LongLines>(), default_value_t = LongLines::Window)]
    pub long_lines: LongLines,
}

/// How secrets are replaced (issue 6: modes). Keys are never taken from the command line:
/// process lists are public.
#[derive(Debug, Args, Clone, Default)]
pub struct RedactArgs {
    /// mask: [REDACTED:<rule>]; hash: [REDACTED:<rule>:<tag>], the tag the first 12 hex digits of
    /// HMAC-SHA256(key, secret), equal for equal secrets under one key (needs a key); partial:
    /// [REDACTED:<rule>:ghp_...wxyz], the rule's public prefix and the last 4 characters of
    /// secrets of 20+ characters (at least 12 always stay hidden; shorter ones are masked).
    /// A rule file may set its own with `redact = "mask|hash|partial"`.
    #[arg(long, value_parser = choice::<Mode>(), default_value_t = Mode::Mask)]
    pub mode: Mode,
    /// Read the hash key (at least 32 bytes; one trailing newline ignored) from FILE.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hash_key_env", "ephemeral_key"])]
    pub hash_key_file: Option<PathBuf>,
    /// Read the hash key (at least 32 bytes) from environment variable VAR, which is then
    /// removed from logredact's environment and wiped from /proc/<pid>/environ (prefer
    /// --hash-key-file: a key never in the environment cannot be read there earlier).
    #[arg(long, value_name = "VAR", conflicts_with = "ephemeral_key")]
    pub hash_key_env: Option<String>,
    /// Use a random key made up for this process: tags correlate only within this one run,
    /// never across restarts, processes or machines.
    #[arg(long)]
    pub ephemeral_key: bool,
    /// Custom marker with {rule}, {hash}, {prefix}, {suffix}; must start with `[REDACTED` and end
    /// with its only `]`. {hash} needs a key; {prefix}/{suffix} are filled in partial mode only.
    #[arg(long, value_name = "TEMPLATE")]
    pub template: Option<String>,
    /// Refused: a key on the command line is visible to every user in the process list.
    #[arg(long, value_name = "KEY", hide = true)]
    pub hash_key: Option<OsString>,
    /// Accept a --hash-key-file that group or others can read (refused otherwise: whoever
    /// reads the key can test guesses against the tags).
    #[arg(long)]
    pub allow_readable_key: bool,
}

impl RedactArgs {
    fn key_file_access(&self) -> KeyFileAccess {
        match self.allow_readable_key {
            true => KeyFileAccess::AllowReadable,
            false => KeyFileAccess::OwnerOnly,
        }
    }

    /// Loads the key and parses the template. Errors never show a key.
    pub fn config(&self) -> Result<RedactConfig, Failure> {
        if self.hash_key.is_some() {
            return Err(Failure::config(
                "--hash-key is refused: a key on the command line is visible in the process \
                 list; use --hash-key-file FILE or --hash-key-env VAR",
            ));
        }
        let key = if let Some(path) = &self.hash_key_file {
            Some(HashKey::from_file(path, self.key_file_access()))
        } else if let Some(var) = &self.hash_key_env {
            Some(HashKey::from_env(var))
        } else if self.ephemeral_key {
            Some(HashKey::ephemeral())
        } else {
            None
        };
        let key = key.transpose().map_err(Failure::config)?;
        let template = self
            .template
            .as_deref()
            .map(Template::parse)
            .transpose()
            .map_err(Failure::config)?;
        Ok(RedactConfig {
            mode: self.mode,
            key,
            template,
        })
    }
}

/// Makes `SIGUSR1` raise a flag instead of killing the process (its default action), so asking
/// for stats never loses data.
fn stats_signal_flag() -> Result<Arc<AtomicBool>, Failure> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&flag))
        .map_err(|e| Failure::config(format!("cannot install the SIGUSR1 handler: {e}")))?;
    Ok(flag)
}

/// A failure that ends the program, with its exit code. Messages never hold input text.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn config(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Replaces the default panic message (which may quote input-derived values) with a fixed one.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("logredact: internal error{place}; please report it (input not shown)");
    }));
}

/// `args` with the options written before a `lint`, `run` or `filter` command moved after it, if
/// there are any (only tried when the command line as written is refused).
fn options_moved_after_command(args: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    let at = args
        .iter()
        .skip(1)
        .position(|a| matches!(a.to_str(), Some("lint" | "run" | "filter")))?
        + 1;
    if at == 1 {
        return None;
    }
    let mut moved = vec![args[0].clone(), args[at].clone()];
    moved.extend_from_slice(&args[1..at]);
    moved.extend_from_slice(&args[at + 1..]);
    Some(moved)
}

/// Runs the command line `args` and returns the process exit code.
pub fn main_with(args: Vec<std::ffi::OsString>) -> ExitCode {
    let parsed = Cli::try_parse_from(&args).or_else(|e| match options_moved_after_command(&args) {
        // `logredact --engine regex lint FILE`: the options belong to the command.
        Some(moved) if e.kind() == clap::error::ErrorKind::ArgumentConflict => {
            Cli::try_parse_from(moved).map_err(|_| e)
        }
        _ => Err(e),
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        None => run_filter(&cli.filter, &[]),
        Some(Command::Filter { args, files }) => run_filter(&args, &files),
        Some(Command::Rules(cmd)) => run_rules(cmd),
        // ---- issue 7 ----
        Some(Command::Run { args, command }) => {
            filter_only_options(&args, "run").and_then(|()| run_wrapped(&args, &command))
        }
        Some(Command::Lint(args)) => run_lint(&args),
        Some(Command::Relay { args, relay }) => {
            filter_only_options(&args, "relay").and_then(|()| crate::relay::run(&args, &relay))
        }
        Some(Command::Completions { shell }) => print_completions(shell),
        Some(Command::Man { out_dir }) => print_man_page(out_dir.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("logredact: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The largest `--threads`: the reader and writer are the limit long before this, and each
/// thread costs a stack and a batch buffer, so more is a mistake, not a tuning.
pub const MAX_THREADS: usize = 64;

/// `--threads N`: a usage error (exit 2) above [`MAX_THREADS`], never a panic or a huge allocation.
fn parse_threads(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n <= MAX_THREADS => Ok(n),
        _ => Err(format!(
            "expected a number from 0 to {MAX_THREADS} (0 = one per core)"
        )),
    }
}

/// The number of scanning threads for `--threads N`: N, but never more than the cores this
/// process may run on (`available_parallelism`: the CPU affinity mask and the cgroup quota of a
/// container's CPU limit); 0 is one per core, at most 4 (beyond that the single reader and
/// writer are the limit).
///
/// Why the cap (GNU `sort --parallel` has the same): threads beyond the cores only wait for one,
/// and each holds its own batch buffers and regex caches, which then share one budget by
/// dropping each other's states. Same run, 2 cores, 50 MB realistic corpus: `--threads 16` took
/// 2.68 s of CPU and 110 MiB peak RSS, `--threads 2` 1.19 s and 43 MiB, for the same output.
fn scan_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        0 => cores.min(4),
        n => n.min(cores),
    }
}

/// Loads the rule set that `args` describe, printing load warnings to stderr.
pub fn load_rules(args: &RuleArgs) -> Result<RuleSet, Failure> {
    let mut set = load_rules_quietly(args)?;
    for w in set.warnings.drain(..) {
        eprintln!("logredact: warning: {w}");
    }
    Ok(set)
}

/// Loads the rule set that `args` describe; warnings stay in `RuleSet::warnings`.
fn load_rules_quietly(args: &RuleArgs) -> Result<RuleSet, Failure> {
    let mut set = if args.no_default_rules {
        RuleSet::default()
    } else {
        RuleSet::builtin().map_err(|e| Failure::config(e.to_string()))?
    };
    for file in &args.rule_files {
        set.add_file(file)
            .map_err(|e| Failure::config(e.to_string()))?;
    }
    set.select(&args.enable, &args.disable)
        .map_err(Failure::config)?;
    if set.rules.is_empty() {
        return Err(Failure::config("no rules are active"));
    }
    Ok(set)
}

pub(crate) fn build_filter(args: &FilterArgs, rules: RuleSet) -> Result<Filter, Failure> {
    let redact = args.redact.config()?;
    let redactor = Redactor::configured(&rules, &redact).map_err(Failure::config)?;
    if let Some(dir) = &args.cache_dir {
        engine::set_cache_dir(dir.clone());
    }
    let matcher = bridge::build_engine(&rules, args.engine).map_err(Failure::config)?;
    let options = FormatOptions {
        format: args.format,
        secret_keys: args.secret_keys.clone(),
    };
    Ok(Filter::with_format(Detector::new(rules, matcher), &options).with_redactor(redactor))
}

/// Refuses the options only the filter implements, rather than ignoring them silently.
fn filter_only_options(args: &FilterArgs, command: &str) -> Result<(), Failure> {
    if args.metrics_file.is_some() {
        return Err(Failure::config(format!(
            "{command}: --metrics-file is supported by the filter only"
        )));
    }
    Ok(())
}

/// rsyslog `mmexternal` mode. Nothing may reach stderr (it shares rsyslog's reply pipe): no
/// warnings, no stats, no panic message; a configuration error makes every reply "redacted"
/// instead of ending the program (rsyslog would then pass messages through unredacted).
fn run_rsyslog(args: &FilterArgs, files: &[PathBuf]) -> Result<u8, Failure> {
    std::panic::set_hook(Box::new(|_| {}));
    let filter = load_rules_quietly(&args.rules)
        .and_then(|rules| build_filter(args, rules))
        .ok();
    let mark = if args.rsyslog_mark {
        ReplyMark::Processed
    } else {
        ReplyMark::Plain
    };
    let stdout = io::stdout();
    let mut output = stdout.lock();
    let result = if files.is_empty() {
        rsyslog::serve(
            &mut io::stdin().lock(),
            &mut output,
            filter.as_ref(),
            args.rsyslog_input,
            args.max_line_bytes,
            mark,
        )
    } else {
        files.iter().try_for_each(|path| {
            let mut input = File::open(path)?;
            rsyslog::serve(
                &mut input,
                &mut output,
                filter.as_ref(),
                args.rsyslog_input,
                args.max_line_bytes,
                mark,
            )
        })
    };
    // Exit quietly whatever happened: a message here would corrupt the reply stream.
    Ok(u8::from(result.is_err()))
}

fn run_filter(args: &FilterArgs, files: &[PathBuf]) -> Result<u8, Failure> {
    if args.format == Format::Rsyslog {
        return run_rsyslog(args, files);
    }
    if input::stdout_was_closed() {
        return Err(Failure {
            code: 1,
            message: "error writing output: stdout is closed".into(),
        });
    }
    let filter = build_filter(args, load_rules(&args.rules)?)?;
    let options = stream_options(args)?;
    let stats_format = args.stats_format.unwrap_or_default();
    let mut stats = Stats::new(filter.detector().rules().rules.len())
        .with_live_report(
            stats_signal_flag()?,
            filter.detector().rules(),
            stats_format,
            Arc::new(|report: &str| eprint!("{report}")),
        )
        .with_metrics_file(args.metrics_file.as_deref().map(|path| {
            MetricsFile::every(path, std::time::Duration::from_secs(args.metrics_interval))
        }));
    // A first write at start: a wrong path is a configuration error now, not a silent gap later.
    stats.write_metrics().map_err(|e| Failure {
        code: 2,
        message: format!("cannot write the metrics file: {e}"),
    })?;
    let shutdown = crate::shutdown::on_signals().map_err(|e| Failure {
        code: 1,
        message: format!("cannot install signal handlers: {e}"),
    })?;
    let threads = scan_threads(args.threads);
    let run_one = |input: &mut dyn Read, options: StreamOptions, stats: &mut Stats| {
        if threads > 1 {
            stream::parallel::run(
                input,
                io::stdout(),
                &filter,
                options,
                stats,
                &shutdown,
                threads,
            )
        } else {
            stream::run_until(
                input,
                &mut io::stdout().lock(),
                &filter,
                options,
                stats,
                &shutdown,
            )
        }
    };
    let stdin_options = StreamOptions {
        more_waiting: stream::stdin_ready,
        ..options
    };
    let (result, unreadable) = input::each_input(files, &shutdown, |input, is_stdin| {
        let options = if is_stdin { stdin_options } else { options };
        run_one(input, options, &mut stats)
    });
    if args.stats || args.stats_format.is_some() {
        eprint!(
            "{}",
            stats.report_as(filter.detector().rules(), stats_format)
        );
    }
    if let Err(e) = stats.write_metrics() {
        eprintln!("logredact: cannot write the metrics file: {e}");
    }
    match result {
        // Stopped by SIGTERM/SIGINT after flushing: report it as a shell would (128 + N).
        Ok(()) if shutdown.signal().is_some() => {
            Ok(128 + shutdown.signal().map_or(15, |s| s as u8))
        }
        Ok(()) => Ok(u8::from(unreadable)),
        // A closed stdout (`| head`) ends a filter quietly, as for any Unix filter.
        Err(StreamError::Write(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Failure {
            code: 1,
            message: e.to_string(),
        }),
    }
}

fn run_rules(cmd: RulesCommand) -> Result<u8, Failure> {
    use std::fmt::Write as _;
    let mut text = String::new();
    let code = match cmd {
        RulesCommand::Profile(args) => return profile::run(&args),
        RulesCommand::List { rules, engine } => {
            let set = load_rules(&rules)?;
            let matcher = bridge::build_engine(&set, engine).map_err(Failure::config)?;
            for (i, r) in set.rules.iter().enumerate() {
                let every = if r.runs_on_every_line() {
                    "  [no keywords: runs on every line]"
                } else {
                    ""
                };
                let _ = writeln!(
                    text,
                    "{:<36} {:<11} {:<28} {}{every}",
                    r.id,
                    matcher.engine_of(i),
                    r.tags.join(","),
                    r.description
                );
            }
            0
        }
        RulesCommand::Test {
            files,
            mut rules,
            engine,
        } => {
            if !files.is_empty() {
                rules.no_default_rules = true;
                rules.rule_files.extend(files);
            }
            let set = load_rules(&rules)?;
            let report = selftest::run(&set, engine).map_err(Failure::config)?;
            for f in &report.failures {
                let _ = writeln!(text, "FAIL {f}");
            }
            for id in &report.thin_rules {
                let _ = writeln!(
                    text,
                    "warning: rule '{id}' has fewer than 2 examples or 2 negative examples"
                );
            }
            let _ = writeln!(
                text,
                "{} rules, {} examples: {} passed, {} failed",
                report.rules,
                report.examples,
                report.examples - report.failures.len(),
                report.failures.len()
            );
            u8::from(!report.failures.is_empty())
        }
        RulesCommand::Check { files } => {
            let mut set = RuleSet::default();
            for file in &files {
                set.add_file(file)
                    .map_err(|e| Failure::config(e.to_string()))?;
            }
            for w in &set.warnings {
                eprintln!("logredact: warning: {w}");
            }
            let _ = writeln!(text, "{} rules OK", set.rules.len());
            0
        }
    };
    // `rules list | head` closes stdout early: that is not an error.
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(Failure {
            code: 1,
            message: format!("error writing output: {e}"),
        }),
        _ => Ok(code),
    }
}

/// Stream options from filter arguments (issue 7 added `--long-lines`).
fn stream_options(args: &FilterArgs) -> Result<StreamOptions, Failure> {
    if args.long_lines == LongLines::Split && args.max_line_bytes < stream::MIN_SPLIT_LINE_BYTES {
        return Err(Failure::config(format!(
            "--long-lines split needs --max-line-bytes of at least {}",
            stream::MIN_SPLIT_LINE_BYTES
        )));
    }
    // A JSON line cut in two is two broken records: refuse where every line is JSON.
    if args.long_lines == LongLines::Split && matches!(args.format, Format::Json | Format::Docker) {
        return Err(Failure::config(
            "--long-lines split cuts lines, which would break JSON records: not with --format json or docker",
        ));
    }
    Ok(StreamOptions {
        max_line_bytes: args.max_line_bytes,
        long_lines: args.long_lines,
        ..StreamOptions::default()
    })
}
