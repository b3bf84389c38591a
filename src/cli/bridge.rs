//! The CLI's side of the core API: argument parsers for the core's enum-valued options, built
//! from the names and help texts the core publishes (`logredact_core::choices`), so the core
//! needs no command-line library; and stderr for the warnings the core returns, as it prints
//! nothing itself.
//!
//! Owns: the bridge from a [`Choice`] table to a clap value parser, and the wording of core
//! warnings on stderr. Must never: define names or help of its own (one table, in the core, so
//! `--help`, completions and the man page agree).

use std::str::FromStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use logredact_core::choices::{Choice, UnknownChoice};
use logredact_core::engine::{self, EngineChoice, EngineError, EngineWarning, Matcher};
use logredact_core::rules::RuleSet;

/// A clap value parser for `T`: its names as possible values (shown in `--help`, completions and
/// man pages, each with its help), parsed with `T`'s `FromStr`.
pub fn choice<T>() -> impl TypedValueParser<Value = T>
where
    T: Choice + FromStr<Err = UnknownChoice>,
{
    let values = T::CHOICES
        .iter()
        .map(|(_, name, help)| PossibleValue::new(*name).help(*help));
    PossibleValuesParser::new(values).try_map(|name: String| name.parse::<T>())
}

/// [`engine::build`], with its warnings (an engine fallback, a rejected cache) on stderr.
pub fn build_engine(
    rules: &RuleSet,
    choice: EngineChoice,
) -> Result<Box<dyn Matcher>, EngineError> {
    engine::build_reporting(rules, choice, &mut print_engine_warning)
}

fn print_engine_warning(warning: EngineWarning) {
    eprintln!("logredact: warning: {warning}");
}
