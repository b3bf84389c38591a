//! The keyword automaton: every occurrence of a fixed set of short keywords, ASCII
//! case-insensitively, in one pass with a table lookup per byte.
//!
//! Owns: an Aho-Corasick DFA (trie, failure links, full transitions over byte classes) and its
//! search loop. Must never: allocate while searching, miss an occurrence, or report a keyword
//! where it does not occur.
//!
//! Why not the `aho-corasick` crate's DFA: its generic search loop (start-state and prefilter
//! checks per byte, and a restart after every leftmost match to see overlapping ones) cost ~16
//! instructions per byte on the realistic corpus, and its table for the built-in rules' ~700
//! keywords took 3.7 MiB (the few non-ASCII keywords double its byte classes). Here one loop
//! reports every occurrence, overlapping ones included, from a ~1.2 MB table.

use std::collections::VecDeque;

/// The most table bytes an automaton may take. The built-in rules' keywords need ~1.2 MB; a rule
/// file whose keywords would need more is refused rather than allowed to take the memory.
const MAX_TABLE_BYTES: usize = 256 << 20;
/// Set in a transition when some keyword ends in the state it leads to.
const MATCH: u32 = 1 << 31;
/// No trie edge (only while building).
const NONE: u32 = u32::MAX;

/// A DFA over lower-cased keywords; see the module docs.
pub struct KeywordDfa {
    /// Byte → class. ASCII upper-case letters share their lower-case letter's class; bytes that
    /// occur in no keyword share class 0.
    classes: [u16; 256],
    /// A row's width: the number of classes.
    stride: u32,
    /// Row-major transitions: entry `row + class` is the start of the next state's row
    /// (`state * stride`), with [`MATCH`] set when a keyword ends in that state.
    table: Vec<u32>,
    /// Per state: the keywords (indices into the list it was built from) that end in it.
    ends_here: Vec<Vec<u32>>,
    /// Per keyword: its length in bytes.
    lens: Vec<usize>,
    /// Some keyword is empty: it occurs everywhere.
    has_empty: bool,
}

/// The automaton's table would take more than [`MAX_TABLE_BYTES`] (or its state offsets more
/// than 31 bits): millions of keyword bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyKeywordBytes;

impl KeywordDfa {
    /// The automaton of `keywords` (matched ASCII case-insensitively).
    pub fn new<K: AsRef<[u8]>>(keywords: &[K]) -> Result<Self, TooManyKeywordBytes> {
        let mut classes = [0u16; 256];
        let mut count: u16 = 1;
        for kw in keywords {
            for &b in kw.as_ref() {
                let b = b.to_ascii_lowercase();
                if classes[b as usize] == 0 {
                    classes[b as usize] = count;
                    count += 1;
                }
            }
        }
        for upper in b'A'..=b'Z' {
            classes[upper as usize] = classes[upper.to_ascii_lowercase() as usize];
        }
        // Exactly one entry per class (a power of two would let `|` stand for `+`, but the
        // built-in keywords' 83 classes would take 128: 35 % of the table unused).
        let stride = usize::from(count);

        // The trie, one dense row per state.
        let mut goto = vec![NONE; stride];
        let mut ends_here: Vec<Vec<u32>> = vec![Vec::new()];
        for (index, kw) in keywords.iter().enumerate() {
            if kw.as_ref().is_empty() {
                continue; // `has_empty` answers for it
            }
            let mut state = 0usize;
            for &b in kw.as_ref() {
                let slot = state * stride + usize::from(classes[b as usize]);
                if goto[slot] == NONE {
                    let next = ends_here.len();
                    let rows = (next + 1) * stride;
                    if rows > MATCH as usize || rows * 4 > MAX_TABLE_BYTES {
                        return Err(TooManyKeywordBytes);
                    }
                    goto[slot] = next as u32;
                    goto.resize(goto.len() + stride, NONE);
                    ends_here.push(Vec::new());
                }
                state = goto[slot] as usize;
            }
            ends_here[state].push(index as u32);
        }

        // Failure links, breadth first, turning the trie into a DFA: a missing edge goes where
        // the longest proper suffix that is a trie path goes; each state also ends every keyword
        // its failure state ends.
        let mut fail = vec![0usize; ends_here.len()];
        let mut queue = VecDeque::new();
        for slot in goto.iter_mut().take(stride) {
            if *slot == NONE {
                *slot = 0;
            } else {
                queue.push_back(*slot as usize);
            }
        }
        while let Some(state) = queue.pop_front() {
            for class in 0..stride {
                let slot = state * stride + class;
                let via_fail = goto[fail[state] * stride + class];
                if goto[slot] == NONE {
                    goto[slot] = via_fail;
                } else {
                    let child = goto[slot] as usize;
                    fail[child] = via_fail as usize;
                    let inherited = ends_here[via_fail as usize].clone();
                    ends_here[child].extend(inherited);
                    queue.push_back(child);
                }
            }
        }
        // In place: no second table beside the first while building.
        let mut table = goto;
        for to in &mut table {
            let row = *to * stride as u32;
            *to = if ends_here[*to as usize].is_empty() {
                row
            } else {
                row | MATCH
            };
        }
        table.shrink_to_fit();
        // What `next_match`'s unchecked lookup relies on.
        let rows = ends_here.len();
        assert!(table.len() == rows * stride && classes.iter().all(|&c| usize::from(c) < stride));
        assert!(table
            .iter()
            .all(|&to| ((to & !MATCH) as usize) < table.len()));
        Ok(KeywordDfa {
            classes,
            stride: stride as u32,
            table,
            ends_here,
            lens: keywords.iter().map(|k| k.as_ref().len()).collect(),
            has_empty: keywords.iter().any(|k| k.as_ref().is_empty()),
        })
    }

    /// Calls `found(start, keyword)` for every occurrence of every non-empty keyword in `hay`,
    /// in order of where they end.
    pub fn for_each_occurrence(&self, hay: &[u8], mut found: impl FnMut(usize, u32)) {
        let mut from = 0;
        let mut row = 0u32;
        while let Some((end, state)) = self.next_match(hay, from, row) {
            for &k in &self.ends_here[(state / self.stride) as usize] {
                found(end - self.lens[k as usize], k);
            }
            (from, row) = (end, state);
        }
    }

    /// Runs the automaton from `row` over `hay[from..]` up to the first byte whose transition
    /// enters a state where a keyword ends: returns the offset after that byte and that state's
    /// row, or `None` at the end of `hay`. Its own function, so that the loop over every byte
    /// keeps its few values in registers (inlined into the caller's closure it spilled them to
    /// the stack: 19 instructions a byte instead of 8).
    #[inline(never)]
    fn next_match(&self, hay: &[u8], from: usize, mut row: u32) -> Option<(usize, u32)> {
        let (table, classes) = (&self.table[..], &self.classes);
        for (i, &b) in hay[from..].iter().enumerate() {
            let slot = (row + u32::from(classes[b as usize])) as usize;
            // SAFETY: `row` is 0 or a value from `table` with MATCH cleared, i.e. `state * stride`
            // for a state of the automaton, and every class is below `stride`, so `slot` is
            // below `states * stride == table.len()` (checked once in `new`). The bounds check
            // this skips was 2 of the loop's 10 instructions per byte (measured: see the commit).
            let next = unsafe { *table.get_unchecked(slot) };
            if next & MATCH != 0 {
                return Some((from + i + 1, next & !MATCH));
            }
            row = next;
        }
        None
    }

    /// Whether some keyword occurs in `hay`.
    pub fn occurs_in(&self, hay: &[u8]) -> bool {
        self.has_empty || self.next_match(hay, 0, 0).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn occurrences(dfa: &KeywordDfa, hay: &[u8]) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        dfa.for_each_occurrence(hay, |at, k| out.push((at, k)));
        out.sort_unstable();
        out
    }

    /// Every (start, keyword) where `keyword` occurs in `hay`, ASCII case-insensitively.
    fn naive(keywords: &[Vec<u8>], hay: &[u8]) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        for (k, kw) in keywords.iter().enumerate() {
            if kw.is_empty() || kw.len() > hay.len() {
                continue;
            }
            for at in 0..=hay.len() - kw.len() {
                if hay[at..at + kw.len()].eq_ignore_ascii_case(kw) {
                    out.push((at, k as u32));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn overlapping_and_nested_keywords_are_all_found() {
        let keywords: Vec<Vec<u8>> = ["token", "x-consul-token", "oken", "to", "密码"]
            .iter()
            .map(|k| k.as_bytes().to_vec())
            .collect();
        let dfa = KeywordDfa::new(&keywords).unwrap();
        let hay = "X-Consul-TOKEN: tototoken 密码".as_bytes();
        assert_eq!(occurrences(&dfa, hay), naive(&keywords, hay));
        assert!(dfa.occurs_in(b"..TO.."));
        assert!(!dfa.occurs_in(b"t-o-k-e-n"));
    }

    #[test]
    fn an_automaton_over_its_size_limit_is_refused() {
        // 230 classes (every byte value, ASCII case folded: rows of 1 KiB) and ~345,000 states.
        let keywords: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b; 1500]).collect();
        assert!(KeywordDfa::new(&keywords).is_err());
    }

    #[test]
    fn an_empty_keyword_occurs_everywhere() {
        let dfa = KeywordDfa::new(&[b"".to_vec(), b"ab".to_vec()]).unwrap();
        assert!(dfa.occurs_in(b"zz"));
        assert_eq!(occurrences(&dfa, b"xabx"), vec![(1, 1)]);
    }

    proptest! {
        /// Same occurrences as a naive search, for random keyword sets over a small alphabet
        /// (so that keywords overlap and nest a lot) and random mixed-case text.
        #[test]
        fn finds_what_a_naive_search_finds(
            keywords in prop::collection::vec("[abAB\u{e9}.-]{1,5}", 1..12),
            hay in "[abcABC\u{e9}.-]{0,80}",
        ) {
            let keywords: Vec<Vec<u8>> = keywords
                .iter()
                .map(|k| k.to_ascii_lowercase().into_bytes())
                .collect();
            let dfa = KeywordDfa::new(&keywords).unwrap();
            prop_assert_eq!(occurrences(&dfa, hay.as_bytes()), naive(&keywords, hay.as_bytes()));
            prop_assert_eq!(
                dfa.occurs_in(hay.as_bytes()),
                !naive(&keywords, hay.as_bytes()).is_empty()
            );
        }
    }
}
