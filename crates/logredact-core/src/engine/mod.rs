//! Engines: the [`Matcher`] trait that finds *candidates* — places where a rule may match — in a
//! batch of lines, and the implementations behind it.
//!
//! Owns: choosing and building an engine, and the candidate contract. Must never: decide what is a
//! secret (that is `detect`'s job: exact spans, groups, entropy, vetoes) or look at line structure.
//!
//! Contract for every engine: for each rule that matches somewhere in the haystack, report at least
//! one [`Candidate`] whose `at` lies inside (or at the end of) a region where the rule's keyword or
//! regex occurs, so `detect` can confirm it with the rule's own `regex` near `at`. Reporting too
//! much costs speed; reporting too little loses a secret. Both engines must lead to identical
//! findings; `tests/engines.rs` checks it.

#[cfg(feature = "hyperscan")]
mod hs_build;
#[cfg(feature = "hyperscan")]
mod hs_cache;
#[cfg(feature = "hyperscan")]
mod hs_compat;
#[cfg(feature = "hyperscan")]
pub mod hyperscan;
mod keyword;
mod keyword_dfa;

#[cfg(feature = "hyperscan")]
pub use self::hyperscan::{HyperscanMatcher, HyperscanOptions};
pub use keyword::{KeywordIndex, KeywordMatcher, RuleBits};

/// `--cache-dir`: where the Hyperscan engine caches compiled databases, instead of
/// `$XDG_CACHE_HOME/logredact` or `~/.cache/logredact` (daemons such as rsyslog's mmexternal run
/// us with an empty environment). The directory gets the same trust checks. Ignored without the
/// `hyperscan` feature.
pub fn set_cache_dir(dir: std::path::PathBuf) {
    #[cfg(feature = "hyperscan")]
    hs_cache::set_dir(dir);
    #[cfg(not(feature = "hyperscan"))]
    let _ = dir;
}

/// The line of `text` holding offset `at` (clamped to the text), without its newline; the end
/// of a line counts as inside it. How every layer delimits the line of a candidate or a match.
pub(crate) fn line_around(text: &[u8], at: usize) -> std::ops::Range<usize> {
    let at = at.min(text.len());
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
    start..end
}

/// Lines up to this long are confirmed whole; longer ones only in windows around candidates, so
/// a megabyte line with a keyword in it costs a few kilobytes of regex work, not a megabyte per rule.
pub const WHOLE_LINE_LIMIT: usize = 16 * 1024;

use crate::rules::RuleSet;

/// "Rule `rule` may match near byte `at` of the haystack."
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// Byte offset in the haystack within `max_match_len` of a match of the rule, on either side
    /// (a keyword's start for the keyword engine, a match's end for Hyperscan). `detect` confirms
    /// the rule in the candidate's line, or for long lines in a window reaching that far both
    /// ways, so it never needs to know which engine made it.
    pub at: usize,
    /// Index into `RuleSet::rules`.
    pub rule: u32,
}

/// Finds candidates for all rules in one pass over a haystack (a batch of whole lines).
pub trait Matcher: Send + Sync {
    /// Short engine name for `--stats` and `rules list`.
    fn name(&self) -> &'static str;

    /// Appends the candidates found in `haystack` to `out`, in any order.
    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>);

    /// Which engine runs rule `rule` (a Hyperscan build may fall back per rule).
    fn engine_of(&self, rule: usize) -> &'static str {
        let _ = rule;
        self.name()
    }

    /// Its index of every rule's keywords, when it has one: the detector shares it (for
    /// [`KeywordIndex::occurs_in`]) instead of building a second one.
    fn keyword_index(&self) -> Option<std::sync::Arc<KeywordIndex>> {
        None
    }

    /// Whether [`Matcher::candidates`] reports a candidate at every occurrence of every rule's
    /// keywords (the keyword engine does; Hyperscan reports regex matches, not keyword hits): then
    /// a line without a candidate holds no keyword, and the detector need not look again.
    fn reports_every_keyword(&self) -> bool {
        false
    }

    /// Where its candidates are, relative to a rule's matches (what `detect` may assume).
    fn candidate_place(&self) -> CandidatePlace {
        CandidatePlace::NearAMatch
    }
}

/// Where a matcher's candidates are, relative to a rule's matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidatePlace {
    /// Within the rule's `max_match_len` of a match, on either side (Hyperscan: a match's end).
    NearAMatch,
    /// At the start of an occurrence of one of the rule's keywords, with one at the first
    /// occurrence of each of its keywords in every line up to [`WHOLE_LINE_LIMIT`] (the keyword
    /// engine): a rule's first candidate in such a line is where its first keyword starts.
    KeywordStarts,
}

/// One rule's candidates from a matcher built for a whole rule set, reported as rule 0: tests a
/// rule alone (as if its set held nothing else) without building an engine per rule (a Hyperscan
/// database per rule took ~5 s for the built-ins). Every engine finds each rule's candidates
/// independently of the other rules, so this is the same as a matcher built for the rule alone.
pub struct OneRule {
    /// The matcher built for the whole rule set.
    pub whole: std::sync::Arc<dyn Matcher>,
    /// The rule reported (as rule 0).
    pub rule: u32,
}

impl Matcher for OneRule {
    fn name(&self) -> &'static str {
        self.whole.name()
    }

    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        let mut all = Vec::new();
        self.whole.candidates(haystack, &mut all);
        out.extend(
            all.into_iter()
                .filter(|c| c.rule == self.rule)
                .map(|c| Candidate { at: c.at, rule: 0 }),
        );
    }

    fn engine_of(&self, _rule: usize) -> &'static str {
        self.whole.engine_of(self.rule as usize)
    }

    fn candidate_place(&self) -> CandidatePlace {
        self.whole.candidate_place()
    }
}

/// Which engine the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineChoice {
    /// Hyperscan when compiled in, else the pure-Rust engine.
    #[default]
    Auto,
    /// The Hyperscan/Vectorscan engine (needs the `hyperscan` cargo feature).
    Hyperscan,
    /// The pure-Rust engine: an Aho-Corasick keyword automaton (`keyword_dfa`), then the rules'
    /// regexes.
    Regex,
}

/// Whether this build contains the Hyperscan engine (cargo feature `hyperscan`).
pub const HYPERSCAN_COMPILED_IN: bool = cfg!(feature = "hyperscan");

/// Every engine this build can run, the pure-Rust one first (tests check findings on each).
pub fn compiled_in() -> Vec<EngineChoice> {
    let mut engines = vec![EngineChoice::Regex];
    if HYPERSCAN_COMPILED_IN {
        engines.push(EngineChoice::Hyperscan);
    }
    engines
}

/// Something the engine did other than what was asked, which the caller may want to tell its
/// user (the core prints nothing: see [`build_reporting`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineWarning {
    /// `auto`: no Hyperscan database could be built (the reason), so the pure-Rust engine runs.
    HyperscanUnavailable(EngineError),
    /// The cached Hyperscan database did not find every rule's examples (damaged or tampered
    /// with), so it was compiled again.
    CacheRejected,
}

impl std::fmt::Display for EngineWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineWarning::HyperscanUnavailable(why) => {
                write!(f, "{why}; using the pure-Rust engine")
            }
            EngineWarning::CacheRejected => f.write_str(
                "the cached Hyperscan database does not find every rule's examples (damaged or \
                 tampered with); compiling it again",
            ),
        }
    }
}

/// Why no engine could be built. Messages name rules by id and never quote a pattern or input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
    /// The keyword automaton could not be built (the automaton library's reason).
    KeywordAutomaton(String),
    /// `--engine hyperscan` in a build without the `hyperscan` cargo feature.
    HyperscanNotCompiledIn,
    /// Hyperscan refused a rule's expression (rule id).
    HyperscanPattern(String),
    /// Hyperscan could not build its database (Hyperscan's reason).
    HyperscanDatabase(String),
    /// Hyperscan could not allocate its scratch space.
    HyperscanScratch,
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::KeywordAutomaton(why) => {
                write!(f, "cannot build keyword automaton: {why}")
            }
            EngineError::HyperscanNotCompiledIn => f.write_str(
                "this logredact was built without the Hyperscan engine; rebuild with \
                 `--features hyperscan` or use --engine regex",
            ),
            EngineError::HyperscanPattern(rule) => {
                write!(f, "Hyperscan pattern: rule {rule}: expression refused")
            }
            EngineError::HyperscanDatabase(why) => {
                write!(f, "cannot build the Hyperscan database: {why}")
            }
            EngineError::HyperscanScratch => f.write_str("cannot allocate Hyperscan scratch space"),
        }
    }
}

impl std::error::Error for EngineError {}

/// Builds the matcher for `rules`. `Auto` prefers Hyperscan when it is compiled in and falls back
/// to the pure-Rust engine if no Hyperscan database can be built; [`build_reporting`] says so.
pub fn build(rules: &RuleSet, choice: EngineChoice) -> Result<Box<dyn Matcher>, EngineError> {
    build_reporting(rules, choice, &mut |_| {})
}

/// [`build`], handing every [`EngineWarning`] to `warn` (the CLI prints them to stderr).
pub fn build_reporting(
    rules: &RuleSet,
    choice: EngineChoice,
    warn: &mut dyn FnMut(EngineWarning),
) -> Result<Box<dyn Matcher>, EngineError> {
    match choice {
        EngineChoice::Regex => Ok(Box::new(KeywordMatcher::new(rules)?)),
        EngineChoice::Hyperscan => build_hyperscan(rules, warn),
        EngineChoice::Auto if HYPERSCAN_COMPILED_IN => match build_hyperscan(rules, warn) {
            Ok(matcher) => Ok(matcher),
            Err(why) => {
                warn(EngineWarning::HyperscanUnavailable(why));
                Ok(Box::new(KeywordMatcher::new(rules)?))
            }
        },
        EngineChoice::Auto => Ok(Box::new(KeywordMatcher::new(rules)?)),
    }
}

#[cfg(feature = "hyperscan")]
fn build_hyperscan(
    rules: &RuleSet,
    warn: &mut dyn FnMut(EngineWarning),
) -> Result<Box<dyn Matcher>, EngineError> {
    let matcher = HyperscanMatcher::new_reporting(rules, &HyperscanOptions::from_env(), warn)?;
    Ok(Box::new(matcher))
}

#[cfg(not(feature = "hyperscan"))]
fn build_hyperscan(
    _rules: &RuleSet,
    _warn: &mut dyn FnMut(EngineWarning),
) -> Result<Box<dyn Matcher>, EngineError> {
    Err(EngineError::HyperscanNotCompiledIn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// `OneRule` over a whole-set matcher reports what a matcher built for the rule alone does,
    /// on every built-in example, for every engine compiled in.
    #[test]
    fn one_rule_of_a_whole_set_equals_the_rule_alone() {
        let set = RuleSet::builtin().unwrap();
        for choice in compiled_in() {
            let whole: Arc<dyn Matcher> = build(&set, choice).unwrap().into();
            for (index, rule) in set.rules.iter().enumerate() {
                let alone = RuleSet {
                    rules: vec![rule.clone()],
                    allowlists: set.allowlists.clone(),
                    warnings: Vec::new(),
                };
                let by_itself = build(&alone, choice).unwrap();
                let view = OneRule {
                    whole: whole.clone(),
                    rule: index as u32,
                };
                for (n, text) in rule
                    .examples
                    .iter()
                    .chain(&rule.negative_examples)
                    .enumerate()
                {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    view.candidates(text.as_bytes(), &mut a);
                    by_itself.candidates(text.as_bytes(), &mut b);
                    // Duplicates do not matter (`detect` drops them); places and rules do.
                    for v in [&mut a, &mut b] {
                        v.sort_unstable();
                        v.dedup();
                    }
                    assert_eq!(a, b, "{choice:?} rule {} text #{n}", rule.id);
                }
            }
        }
    }
}
