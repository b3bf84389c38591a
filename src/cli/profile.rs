//! `logredact rules profile`: runs the filter over the input (its output discarded) with detection
//! profiling on, and reports per rule what it cost — engine candidates, regex runs, matches,
//! findings, gate rejections, time spent confirming — busiest first, with a hint for a rule whose
//! cost is explained by a too common keyword or a too loose regex.
//!
//! Owns: the command's arguments, the run and the rendering (text table, JSON). Must never: print
//! any input text — only rule ids, counts and durations; nor find other than the filter does (it
//! runs the same `Filter` through the same `stream::run`, one thread).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use super::{build_filter, input, stream_options, Failure, FilterArgs, RuleArgs};
use crate::detect::{RuleCost, RuleProfile};
use crate::engine::EngineChoice;
use crate::format::Format;
use crate::shutdown::Shutdown;
use crate::stats::{finding_ids, Stats, StatsFormat};
use crate::stream;

use super::bridge::choice;

/// Arguments of `rules profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Input files (stdin when none, or `-`).
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The matching engine, as the filter's --engine (Hyperscan runs most regexes itself: their
    /// candidates are its matches).
    #[arg(long, value_parser = choice::<EngineChoice>(), default_value_t = EngineChoice::Auto)]
    pub engine: EngineChoice,
    /// Report format: text (a table) or json.
    #[arg(long, value_parser = choice::<StatsFormat>(), default_value_t = StatsFormat::Text)]
    pub format: StatsFormat,
    /// The line format of the input, as the filter's --format.
    #[arg(long, value_parser = choice::<Format>(), default_value_t = Format::Auto)]
    pub log_format: Format,
    /// Also redact the values of these keys, as the filter's --secret-key.
    #[arg(long = "secret-key", value_name = "NAME", value_delimiter = ',')]
    pub secret_keys: Vec<String>,
}

/// Below this many regex runs (or matches) a rule's ratios say nothing: no hint.
const MIN_SAMPLE: u64 = 20;

/// Why a rule costs, when its counts show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// Its regex matches far more than the gates let through.
    RegexTooLoose,
    /// Its keyword occurs on many lines, and almost no regex run there finds anything.
    KeywordTooCommon,
}

impl Hint {
    fn of(cost: &RuleCost, findings: u64, lines: u64) -> Option<Hint> {
        if cost.matches >= MIN_SAMPLE && cost.matches >= 4 * findings.max(1) {
            return Some(Hint::RegexTooLoose);
        }
        // Confirmed on at least 1 % of lines, and fewer than one run in ten matches at all.
        if cost.confirmations >= MIN_SAMPLE
            && cost.confirmations * 100 >= lines
            && cost.matches * 10 < cost.confirmations
        {
            return Some(Hint::KeywordTooCommon);
        }
        None
    }

    fn text(self) -> &'static str {
        match self {
            Hint::RegexTooLoose => "regex too loose: matches far exceed findings",
            Hint::KeywordTooCommon => {
                "keyword too common: many candidates per line, few findings per confirmation"
            }
        }
    }
}

/// One row of the report.
struct Row<'a> {
    id: &'a str,
    cost: RuleCost,
    findings: u64,
    hint: Option<Hint>,
}

/// Runs `rules profile`: exit 0, 1 if an input could not be read, 2 on a configuration error.
pub fn run(args: &ProfileArgs) -> Result<u8, Failure> {
    let filter_args = FilterArgs {
        rules: args.rules.clone(),
        engine: args.engine,
        format: args.log_format,
        secret_keys: args.secret_keys.clone(),
        // One thread: the profile is the sum of the one stream's scratch.
        threads: 1,
        ..FilterArgs::default()
    };
    let rules = super::load_rules(&filter_args.rules)?;
    let filter = build_filter(&filter_args, rules)?.with_profile();
    let options = stream_options(&filter_args)?;
    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let (result, unreadable) = input::each_input(&args.files, &Shutdown::never(), |input, _| {
        stream::run(input, &mut io::sink(), &filter, options, &mut stats)
    });
    result.map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    let profile = filter.profile().unwrap_or_default();
    let ids = finding_ids(filter.detector().rules());
    let rows = rows(&ids, &profile, &stats);
    let report = match args.format {
        StatsFormat::Text => render_text(&rows, &profile, &stats),
        StatsFormat::Json => render_json(&rows, &profile, &stats),
    };
    let mut out = io::stdout().lock();
    match out.write_all(report.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure {
            code: 1,
            message: format!("error writing output: {e}"),
        }),
        _ => Ok(u8::from(unreadable)),
    }
}

/// Rules with any candidate or finding, and the other finding kinds (secret-named fields,
/// private-key bodies) with findings; most confirming time first, then most findings, then id.
fn rows<'a>(ids: &[&'a str], profile: &RuleProfile, stats: &Stats) -> Vec<Row<'a>> {
    let mut rows: Vec<Row> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let cost = profile.rules.get(i).copied().unwrap_or_default();
            let findings = stats.findings.get(i).copied().unwrap_or(0);
            Row {
                id,
                cost,
                findings,
                hint: Hint::of(&cost, findings, stats.lines),
            }
        })
        .filter(|r| r.cost.candidates > 0 || r.findings > 0)
        .collect();
    rows.sort_by(|a, b| {
        (b.cost.nanos, b.findings)
            .cmp(&(a.cost.nanos, a.findings))
            .then(a.id.cmp(b.id))
    });
    rows
}

fn millis(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

fn render_text(rows: &[Row], profile: &RuleProfile, stats: &Stats) -> String {
    let confirm: u64 = rows.iter().map(|r| r.cost.nanos).sum();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} lines, {} bytes, {} findings; engine candidate passes: {} in {:.3} ms; confirming: {:.3} ms",
        stats.lines,
        stats.bytes,
        stats.total_findings(),
        profile.candidate_passes,
        millis(profile.candidate_nanos),
        millis(confirm),
    );
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        s,
        "{:<width$} {:>10} {:>10} {:>9} {:>9} {:>9} {:>11}  hint",
        "rule", "candidates", "regex-runs", "matches", "findings", "rejected", "confirm-ms"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<width$} {:>10} {:>10} {:>9} {:>9} {:>9} {:>11.3}  {}",
            r.id,
            r.cost.candidates,
            r.cost.confirmations,
            r.cost.matches,
            r.findings,
            r.cost.rejected,
            millis(r.cost.nanos),
            r.hint.map_or("", Hint::text),
        );
    }
    s
}

fn render_json(rows: &[Row], profile: &RuleProfile, stats: &Stats) -> String {
    let rules: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "candidates": r.cost.candidates,
                "confirmations": r.cost.confirmations,
                "matches": r.cost.matches,
                "passed_gates": r.cost.passed,
                "findings": r.findings,
                "rejected": r.cost.rejected,
                "confirm_nanos": r.cost.nanos,
                "hint": r.hint.map(Hint::text),
            })
        })
        .collect();
    let report = serde_json::json!({
        "lines": stats.lines,
        "bytes": stats.bytes,
        "findings_total": stats.total_findings(),
        "engine": {
            "candidate_passes": profile.candidate_passes,
            "candidate_nanos": profile.candidate_nanos,
        },
        "rules": rules,
    });
    let mut line = report.to_string();
    line.push('\n');
    line
}
