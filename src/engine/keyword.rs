//! The pure-Rust engine: one `aho-corasick` automaton over every rule keyword (ASCII
//! case-insensitive, SIMD "Teddy" prefilter inside), so a rule's regex only runs where one of its
//! keywords occurs. Rules without keywords are left to `detect`, which runs them on every line.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::{Candidate, Matcher};
use crate::rules::RuleSet;

/// Keyword prefilter: keyword hit → candidates for every rule that lists that keyword.
pub struct KeywordMatcher {
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the rules that list it.
    rules_of_keyword: Vec<Vec<u32>>,
}

impl KeywordMatcher {
    pub fn new(rules: &RuleSet) -> Result<Self, String> {
        Self::for_rules(rules, |_| true)
    }

    /// A prefilter for the rules of `rules` that `include` selects (by index); candidates keep
    /// their index in `rules`. The Hyperscan engine uses it for the rules Hyperscan rejects.
    pub fn for_rules(rules: &RuleSet, include: impl Fn(usize) -> bool) -> Result<Self, String> {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of_keyword: Vec<Vec<u32>> = Vec::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            if !include(index) {
                continue;
            }
            for kw in &rule.keywords {
                let kw = kw.to_ascii_lowercase();
                let slot = match keywords.iter().position(|k| *k == kw) {
                    Some(slot) => slot,
                    None => {
                        keywords.push(kw);
                        rules_of_keyword.push(Vec::new());
                        keywords.len() - 1
                    }
                };
                let index = index as u32;
                if !rules_of_keyword[slot].contains(&index) {
                    rules_of_keyword[slot].push(index);
                }
            }
        }
        let automaton = if keywords.is_empty() {
            None
        } else {
            // Standard semantics so overlapping keywords ("token" inside "x-consul-token") are
            // all reported; the DFA is the fastest kind for a few hundred short patterns.
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&keywords)
                    .map_err(|e| format!("cannot build keyword automaton: {e}"))?,
            )
        };
        Ok(KeywordMatcher {
            automaton,
            rules_of_keyword,
        })
    }
}

impl Matcher for KeywordMatcher {
    fn name(&self) -> &'static str {
        "regex"
    }

    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        let Some(ac) = &self.automaton else { return };
        for hit in ac.find_overlapping_iter(haystack) {
            for &rule in &self.rules_of_keyword[hit.pattern().as_usize()] {
                out.push(Candidate {
                    at: hit.start(),
                    rule,
                });
            }
        }
    }
}
