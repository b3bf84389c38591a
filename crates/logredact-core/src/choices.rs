//! The names users type for the core's enum-valued options (`--engine regex`, `--format cri`,
//! `--mode hash`, …), so a front end can offer them without the core depending on it.
//!
//! Owns: one table per enum (value, name, one-line help), and `FromStr`/`Display` built on it.
//! Must never: depend on a command-line library (the CLI turns these tables into its own
//! argument parsers) or print anything.
//!
//! Layering: this module sits at the top of the core (it names types from every layer); nothing
//! in the core imports it.

use std::fmt;
use std::str::FromStr;

use crate::engine::EngineChoice;
use crate::finding::Mode;
use crate::format::rsyslog::RsyslogInput;
use crate::format::Format;
use crate::stats::StatsFormat;
use crate::stream::LongLines;

/// An enum whose values users select by name.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    /// Every value in the order a user sees them: value, name, one-line help.
    const CHOICES: &'static [(Self, &'static str, &'static str)];

    /// The name users type for `self`.
    fn name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(value, _, _)| *value == self)
            .map_or("", |(_, name, _)| name)
    }

    /// The value named `name` (exact match), if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::CHOICES
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(value, _, _)| *value)
    }
}

/// A name that is not one of a [`Choice`]'s names. Its message lists the valid names; it never
/// repeats the name given (it came from the user and may be anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownChoice {
    /// The valid names.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown value; expected one of: {}",
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownChoice {}

macro_rules! choice {
    ($ty:ty, [$(($value:expr, $name:literal, $help:literal)),+ $(,)?]) => {
        impl Choice for $ty {
            const CHOICES: &'static [(Self, &'static str, &'static str)] =
                &[$(($value, $name, $help)),+];
        }

        impl FromStr for $ty {
            type Err = UnknownChoice;

            fn from_str(s: &str) -> Result<Self, UnknownChoice> {
                <$ty as Choice>::from_name(s).ok_or(UnknownChoice { expected: &[$($name),+] })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(Choice::name(*self))
            }
        }
    };
}

choice!(
    EngineChoice,
    [
        (
            EngineChoice::Auto,
            "auto",
            "Hyperscan when compiled in, else the pure-Rust engine"
        ),
        (
            EngineChoice::Hyperscan,
            "hyperscan",
            "The Hyperscan/Vectorscan engine (needs the `hyperscan` cargo feature)"
        ),
        (
            EngineChoice::Regex,
            "regex",
            "The pure-Rust engine: an Aho-Corasick keyword automaton, then the rules' regexes"
        ),
    ]
);

choice!(
    StatsFormat,
    [
        (
            StatsFormat::Text,
            "text",
            "Lines for people: totals, then findings per rule"
        ),
        (
            StatsFormat::Json,
            "json",
            "One JSON object per report, for monitoring"
        ),
    ]
);

choice!(
    Format,
    [
        (
            Format::Auto,
            "auto",
            "Decide per line: JSON (object or array), CRI record, or text"
        ),
        (
            Format::Text,
            "text",
            "Plain text (no JSON or CRI structure; private-key blocks still hidden)"
        ),
        (
            Format::Json,
            "json",
            "JSON objects; every output line is a JSON object (text lines are wrapped as `{\"log\":…}`)"
        ),
        (
            Format::Docker,
            "docker",
            "Docker json-file lines (`{\"log\":…,\"stream\":…,\"time\":…}`)"
        ),
        (
            Format::Cri,
            "cri",
            "CRI lines (`<time> <stdout|stderr> <P|F> <message>`)"
        ),
        (
            Format::Logfmt,
            "logfmt",
            "logfmt (`key=value key2=\"quoted value\"`), handled by the text rules"
        ),
        (
            Format::Rsyslog,
            "rsyslog",
            "rsyslog `mmexternal` protocol: one JSON reply per message"
        ),
    ]
);

choice!(
    RsyslogInput,
    [
        (RsyslogInput::Msg, "msg", "The MSG property as one line"),
        (
            RsyslogInput::Fulljson,
            "fulljson",
            "A JSON object with `msg`, `rawmsg`, `hostname`, … per line"
        ),
    ]
);

choice!(
    LongLines,
    [
        (
            LongLines::Window,
            "window",
            "One output line, redacted in overlapping windows"
        ),
        (
            LongLines::Split,
            "split",
            "Cut into lines of at most `max_line_bytes` bytes (newline not counted), after redaction, never inside a redaction marker or a UTF-8 character: for shippers that split long lines at a fixed buffer size anyway (Fluent Bit `exec`'s `Buf_Size`)"
        ),
    ]
);

choice!(
    Mode,
    [
        (Mode::Mask, "mask", "`[REDACTED:<rule-id>]`"),
        (
            Mode::Hash,
            "hash",
            "`[REDACTED:<rule-id>:<tag>]`, the tag a keyed hash of the secret: equal secrets, equal tags"
        ),
        (
            Mode::Partial,
            "partial",
            "Keep the rule's public prefix and the last 4 characters of long secrets"
        ),
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Choice + FromStr + fmt::Display + fmt::Debug>() {
        for (value, name, help) in T::CHOICES {
            assert_eq!(value.to_string(), *name);
            assert!(matches!(name.parse::<T>(), Ok(v) if v == *value), "{name}");
            assert!(!help.is_empty(), "{name}");
        }
        assert!("no-such-choice".parse::<T>().is_err());
    }

    #[test]
    fn every_name_parses_back_to_its_value() {
        round_trips::<EngineChoice>();
        round_trips::<StatsFormat>();
        round_trips::<Format>();
        round_trips::<RsyslogInput>();
        round_trips::<LongLines>();
        round_trips::<Mode>();
    }

    #[test]
    fn an_unknown_name_is_not_repeated_in_the_error() {
        let e = "hunter2".parse::<Mode>().unwrap_err().to_string();
        assert!(!e.contains("hunter2"));
        assert!(e.contains("mask, hash, partial"));
    }
}
