//! The pure-Rust engine: one keyword automaton over every rule keyword (ASCII case-insensitive,
//! [`KeywordDfa`]), so a rule's regex only runs where one of its keywords occurs. Rules without
//! keywords get candidates on every line (spaced through long lines).
//!
//! The automaton reports every occurrence of every keyword, overlapping and nested ones included
//! (`token` inside `x-consul-token`), so each keyword carries only its own rules.

use std::sync::Arc;

use memchr::memchr;

use super::keyword_dfa::KeywordDfa;
use super::{line_around, Candidate, CandidatePlace, EngineError, Matcher, WHOLE_LINE_LIMIT};
use crate::rules::RuleSet;

/// Every keyword of every rule of a set in one automaton: which rules a keyword hit calls for, and
/// whether a text holds any keyword at all. Both engines hold one (the pure-Rust engine's
/// candidates come from it; the Hyperscan engine's fallback and keyword checks do), and the
/// detector asks the engine's for whether a decoded string may hold anything
/// ([`Matcher::keyword_index`]): one automaton for all of them.
pub struct KeywordIndex {
    automaton: Option<KeywordDfa>,
    /// Per keyword of the automaton: the rules that list it.
    rules_of_keyword: Vec<Vec<u32>>,
    /// The rules that name no keyword, with the spacing of their candidates in long lines (the
    /// rule's longest match): they may match anywhere, so every line gets candidates for them.
    every_line: Vec<(u32, usize)>,
    /// How many rules the set has.
    rule_count: usize,
}

impl KeywordIndex {
    /// The index of the keywords of every rule of `rules`.
    pub fn new(rules: &RuleSet) -> Result<Self, EngineError> {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of_keyword: Vec<Vec<u32>> = Vec::new();
        let mut every_line = Vec::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            if rule.runs_on_every_line() {
                every_line.push((index as u32, rule.max_match_len.max(1)));
                continue;
            }
            for kw in &rule.keywords {
                let kw = kw.to_ascii_lowercase();
                let slot = keywords.iter().position(|k| *k == kw).unwrap_or_else(|| {
                    keywords.push(kw);
                    rules_of_keyword.push(Vec::new());
                    keywords.len() - 1
                });
                rules_of_keyword[slot].push(index as u32);
            }
        }
        let automaton = if keywords.is_empty() {
            None
        } else {
            Some(KeywordDfa::new(&keywords).map_err(|_| {
                EngineError::KeywordAutomaton("the keywords are too many to index".to_string())
            })?)
        };
        Ok(KeywordIndex {
            automaton,
            rules_of_keyword,
            every_line,
            rule_count: rules.rules.len(),
        })
    }

    /// Whether one of its keywords occurs in `text` (ASCII case-insensitive).
    pub fn occurs_in(&self, text: &[u8]) -> bool {
        self.automaton
            .as_ref()
            .is_some_and(|dfa| dfa.occurs_in(text))
    }

    /// Marks in `found` the rules one of whose keywords occurs whole in `text` (ASCII
    /// case-insensitive), after clearing it: one pass for every rule, where a search per rule
    /// and keyword cost one pass each.
    pub fn rules_with_keywords_in(&self, text: &[u8], found: &mut RuleBits) {
        found.clear(self.rule_count);
        let Some(dfa) = &self.automaton else { return };
        dfa.for_each_occurrence_unordered(text, |_, keyword| {
            for &rule in &self.rules_of_keyword[keyword as usize] {
                found.set(rule);
            }
        });
    }

    /// Candidates for every rule: see [`KeywordIndex::candidates_for`].
    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        self.candidates_for(haystack, out, |_| true);
    }

    /// Candidates in `haystack` for the rules that `include` selects: a candidate at each keyword
    /// occurrence for the keyword's rules, and for rules without keywords at every line (spaced
    /// through long ones).
    pub fn candidates_for(
        &self,
        haystack: &[u8],
        out: &mut Vec<Candidate>,
        include: impl Fn(u32) -> bool,
    ) {
        if !self.every_line.is_empty() {
            let rules: Vec<(u32, usize)> = self
                .every_line
                .iter()
                .copied()
                .filter(|&(rule, _)| include(rule))
                .collect();
            every_line_candidates(haystack, &rules, out);
        }
        let Some(dfa) = &self.automaton else { return };
        // `detect` confirms a line up to WHOLE_LINE_LIMIT whole, once per rule: a keyword's
        // later occurrences in such a line add nothing. Reporting only its first one per line
        // keeps a line packed with keywords (`token secret key token password …`) from costing a
        // candidate per occurrence per rule. Longer lines keep every occurrence (they are
        // confirmed in windows around them).
        let mut line = 0..0;
        // Per line, a stamp; 0 marks a long line, where nothing is deduplicated.
        let (mut stamp, mut line_stamp) = (0u32, 0u32);
        let mut reported_on = vec![0u32; self.rules_of_keyword.len()];
        dfa.for_each_occurrence(haystack, |at, keyword| {
            if stamp == 0 || at >= line.end {
                line = line_around(haystack, at);
                stamp += 1;
                line_stamp = if line.len() <= WHOLE_LINE_LIMIT {
                    stamp
                } else {
                    0
                };
            }
            let seen = &mut reported_on[keyword as usize];
            if line_stamp != 0 && *seen == line_stamp {
                return;
            }
            *seen = line_stamp;
            for &rule in &self.rules_of_keyword[keyword as usize] {
                if include(rule) {
                    out.push(Candidate { at, rule });
                }
            }
        });
    }
}

/// A set of rules by index (a bit each), reused from line to line without allocating.
#[derive(Debug, Default, Clone)]
pub struct RuleBits(Vec<u64>);

impl RuleBits {
    /// Empties it, with room for rules `0..rules`.
    pub fn clear(&mut self, rules: usize) {
        self.0.clear();
        self.0.resize(rules.div_ceil(64), 0);
    }

    /// Adds `rule` (below the `rules` of the last [`RuleBits::clear`]).
    pub fn set(&mut self, rule: u32) {
        self.0[rule as usize / 64] |= 1 << (rule % 64);
    }

    /// Whether `rule` is in it.
    pub fn contains(&self, rule: u32) -> bool {
        self.0
            .get(rule as usize / 64)
            .is_some_and(|word| word & (1 << (rule % 64)) != 0)
    }
}

/// Keyword prefilter: each occurrence of a keyword → candidates for every rule that lists it.
pub struct KeywordMatcher {
    index: Arc<KeywordIndex>,
}

impl KeywordMatcher {
    /// The pure-Rust engine for every rule of `rules`.
    pub fn new(rules: &RuleSet) -> Result<Self, EngineError> {
        Ok(KeywordMatcher {
            index: Arc::new(KeywordIndex::new(rules)?),
        })
    }
}

impl Matcher for KeywordMatcher {
    fn name(&self) -> &'static str {
        "regex"
    }

    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        self.index.candidates(haystack, out);
    }

    fn keyword_index(&self) -> Option<Arc<KeywordIndex>> {
        Some(Arc::clone(&self.index))
    }

    fn reports_every_keyword(&self) -> bool {
        true
    }

    /// Candidates are keyword starts (`candidates_for`), each keyword's first one in a line
    /// up to `WHOLE_LINE_LIMIT` always among them.
    fn candidate_place(&self) -> CandidatePlace {
        CandidatePlace::KeywordStarts
    }
}

/// Candidates for rules that name no keyword: one at the start of each line that `detect`
/// confirms whole; in longer lines one every `spacing` bytes (and at the end), so that the
/// windows around them cover the line (see `super::WHOLE_LINE_LIMIT`).
fn every_line_candidates(haystack: &[u8], rules: &[(u32, usize)], out: &mut Vec<Candidate>) {
    let mut line_start = 0;
    while line_start <= haystack.len() {
        let line_end =
            memchr(b'\n', &haystack[line_start..]).map_or(haystack.len(), |p| line_start + p);
        for &(rule, spacing) in rules {
            out.push(Candidate {
                at: line_start,
                rule,
            });
            if line_end - line_start > WHOLE_LINE_LIMIT {
                let mut at = line_start + spacing;
                while at < line_end {
                    out.push(Candidate { at, rule });
                    at += spacing;
                }
                out.push(Candidate { at: line_end, rule });
            }
        }
        line_start = line_end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_hit(toml: &str, text: &str) -> Vec<u32> {
        let mut set = RuleSet::default();
        set.add_toml("t", toml).unwrap();
        let m = KeywordMatcher::new(&set).unwrap();
        let mut out = Vec::new();
        m.candidates(text.as_bytes(), &mut out);
        let mut rules: Vec<u32> = out.iter().map(|c| c.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    const TWO: &str = "[[rules]]\nid='a'\nregex='x'\nkeywords=['token']\n\
                       [[rules]]\nid='b'\nregex='x'\nkeywords=['x-consul-token']\n\
                       [[rules]]\nid='c'\nregex='x'\nkeywords=['consul']\n";

    #[test]
    fn a_keyword_inside_a_longer_one_still_reports_its_rule() {
        assert_eq!(rules_hit(TWO, "X-Consul-Token: abc"), vec![0, 1, 2]);
        assert_eq!(rules_hit(TWO, "my token"), vec![0]);
    }

    #[test]
    fn overlapping_keywords_that_are_not_substrings_are_both_seen() {
        let toml = "[[rules]]\nid='a'\nregex='x'\nkeywords=['ghp_x']\n\
                    [[rules]]\nid='b'\nregex='x'\nkeywords=['xoxb']\n";
        assert_eq!(rules_hit(toml, "ghp_xoxb-1"), vec![0, 1]);
    }

    #[test]
    fn rules_with_keywords_in_a_text_are_marked_in_one_pass() {
        let mut set = RuleSet::default();
        set.add_toml("t", TWO).unwrap();
        let index = KeywordIndex::new(&set).unwrap();
        let mut found = RuleBits::default();
        index.rules_with_keywords_in(b"a Consul value", &mut found);
        assert_eq!(
            (0..3).map(|r| found.contains(r)).collect::<Vec<_>>(),
            [false, false, true]
        );
        index.rules_with_keywords_in(b"x-consul-TOKEN", &mut found);
        assert_eq!(
            (0..3).map(|r| found.contains(r)).collect::<Vec<_>>(),
            [true, true, true]
        );
        index.rules_with_keywords_in(b"nothing", &mut found);
        assert!(!(0..3).any(|r| found.contains(r)));
    }

    #[test]
    fn keywords_are_ascii_case_insensitive() {
        assert_eq!(rules_hit(TWO, "TOKEN"), vec![0]);
    }

    /// Every occurrence of every keyword (any case, anywhere, overlapping or not) gets a
    /// candidate for each of its rules in its line (the contract `detect` relies on for lines it
    /// confirms whole): checked against a naive search.
    #[test]
    fn every_keyword_occurrence_gets_a_candidate_for_its_rules() {
        use proptest::prelude::*;
        let set = RuleSet::builtin().unwrap();
        let m = KeywordMatcher::new(&set).unwrap();
        let keywords: Vec<String> = set
            .rules
            .iter()
            .flat_map(|r| r.keywords.iter().map(|k| k.to_ascii_lowercase()))
            .collect();
        let pieces = prop::collection::vec(
            prop_oneof![
                prop::sample::select(keywords.clone()),
                "[ a-zA-Z0-9_=:.-]{0,6}",
                Just("\n".to_string()),
            ],
            0..16,
        );
        let mixed_case = (pieces, any::<u64>()).prop_map(|(pieces, seed)| {
            let mut bits = seed;
            let mut text = pieces.concat().into_bytes();
            for b in &mut text {
                if bits & 1 == 1 {
                    *b = b.to_ascii_uppercase();
                }
                bits = bits.rotate_right(1);
            }
            text
        });
        proptest!(|(text in mixed_case)| {
            let mut out = Vec::new();
            m.candidates(&text, &mut out);
            let lower = text.to_ascii_lowercase();
            for (index, rule) in set.rules.iter().enumerate() {
                for kw in &rule.keywords {
                    let kw = kw.to_ascii_lowercase().into_bytes();
                    for at in (0..lower.len()).filter(|&at| lower[at..].starts_with(&kw)) {
                        let line = line_around(&text, at);
                        let found = out
                            .iter()
                            .any(|c| c.rule == index as u32 && line.contains(&c.at));
                        prop_assert!(found, "rule {} keyword at {}", rule.id, at);
                    }
                }
            }
        });
    }

    /// A line too long to confirm whole keeps a candidate at every occurrence (it is confirmed
    /// in windows around them); a short one gets one per keyword.
    #[test]
    fn long_lines_keep_every_occurrence() {
        let mut long = vec![b'.'; 3 * WHOLE_LINE_LIMIT];
        long[10..15].copy_from_slice(b"token");
        long[2 * WHOLE_LINE_LIMIT..2 * WHOLE_LINE_LIMIT + 5].copy_from_slice(b"TOKEN");
        let mut set = RuleSet::default();
        set.add_toml("t", TWO).unwrap();
        let m = KeywordMatcher::new(&set).unwrap();
        let mut out = Vec::new();
        m.candidates(&long, &mut out);
        let at: Vec<usize> = out.iter().filter(|c| c.rule == 0).map(|c| c.at).collect();
        assert_eq!(at, vec![10, 2 * WHOLE_LINE_LIMIT]);
        out.clear();
        m.candidates(b"token token\ntoken", &mut out);
        let at: Vec<usize> = out.iter().filter(|c| c.rule == 0).map(|c| c.at).collect();
        assert_eq!(at, vec![0, 12]);
    }
}
