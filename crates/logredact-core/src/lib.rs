//! logredact-core: finds secrets (tokens, keys, passwords) in log lines and replaces them, as a
//! library. It is the engine of the `logredact` command-line filter, without its command line:
//! no printing (warnings are returned or handed to a callback you supply), no async runtime,
//! typed errors.
//!
//! The data path, bottom to top: [`finding`] (what a finding is) ← [`rules`] (what is searched
//! for, built-ins embedded) ← [`engine`] (candidates) ← [`detect`] (exact spans and gates) ←
//! [`format`](mod@format) (where the strings of a line are) ← [`scan`] (one list of findings per batch) ←
//! [`redact`] (the only writer of replacements) ← [`filter`] (scan, then redact, per batch) ←
//! [`stream`] (reading, framing, writing) and [`RedactingWriter`] (any [`std::io::Write`]).
//!
//! Redacting the lines a program writes:
//!
//! ```
//! use std::io::Write;
//! use logredact_core::{builtin_filter, RedactingWriter};
//!
//! // The built-in rules, the default engine, `[REDACTED:<rule>]` markers.
//! let filter = builtin_filter()?;
//! let mut log = RedactingWriter::new(Vec::new(), filter);
//! writeln!(log, "deploy token=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 done")?;  // a made-up token
//! let out = String::from_utf8(log.finish()?)?;
//! assert_eq!(out, "deploy token=[REDACTED:github-pat] done\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A [`filter::Filter`] can also be built step by step (your own rules with
//! [`rules::RuleSet::add_toml`], an engine with [`engine::build`], a mode or template with
//! [`redact::Redactor::configured`]) and run over a whole stream with [`stream::run`].

#![deny(missing_docs)]

pub mod choices;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod finding;
pub mod format;
pub mod redact;
pub mod rules;
pub mod scan;
pub mod scrub;
pub mod selftest;
pub mod shutdown;
pub mod stats;
pub mod stream;
pub mod validate;
pub mod writer;

pub use writer::RedactingWriter;

use std::fmt;

/// Why [`builtin_filter`] failed. Messages never quote a rule's pattern or any input.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A rule file could not be loaded.
    Rules(rules::RuleError),
    /// No engine could be built for the rules.
    Engine(engine::EngineError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rules(e) => write!(f, "rules: {e}"),
            Error::Engine(e) => write!(f, "engine: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Rules(e) => Some(e),
            Error::Engine(e) => Some(e),
        }
    }
}

impl From<rules::RuleError> for Error {
    fn from(e: rules::RuleError) -> Self {
        Error::Rules(e)
    }
}

impl From<engine::EngineError> for Error {
    fn from(e: engine::EngineError) -> Self {
        Error::Engine(e)
    }
}

/// A [`filter::Filter`] with the built-in rules, the best engine this build has (Hyperscan when
/// compiled in and usable, else the pure-Rust one), `--format auto` and mask mode: what
/// `logredact` runs with no options.
pub fn builtin_filter() -> Result<filter::Filter, Error> {
    let rules = rules::RuleSet::builtin()?;
    let matcher = engine::build(&rules, engine::EngineChoice::Auto)?;
    Ok(filter::Filter::new(detect::Detector::new(rules, matcher)))
}
