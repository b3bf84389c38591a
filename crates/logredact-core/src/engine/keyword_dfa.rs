//! The keyword automaton: every occurrence of a fixed set of short keywords, ASCII
//! case-insensitively, in one pass with a table lookup per byte.
//!
//! Owns: an Aho-Corasick DFA (trie, failure links, full transitions over byte classes) and its
//! search loops (one lane, or several lanes of a long text at once: parts split after newlines
//! where the order of occurrences is kept, overlapping parts where it is not). Must never: miss
//! an occurrence, report a keyword where it does not occur, or break the order a search promises;
//! allocate while searching, except the lists that hold a long text's later lanes' occurrences
//! until the lanes before them are reported.
//!
//! Why not the `aho-corasick` crate's DFA: its generic search loop (start-state and prefilter
//! checks per byte, and a restart after every leftmost match to see overlapping ones) cost ~16
//! instructions per byte on the realistic corpus, and its table for the built-in rules' ~700
//! keywords took 3.7 MiB (the few non-ASCII keywords double its byte classes). Here one loop
//! reports every occurrence, overlapping ones included, from a ~1.2 MB table. Four lanes at once
//! make the candidate stage 2.7-3x faster than one (`cargo bench --bench prefilter`: 308 -> 930
//! MiB/s on the clean corpus, 253 -> 695 on the realistic one; 2 lanes 601 / 435, 6 and 8 no
//! better than 4).

use std::collections::VecDeque;

/// The most table bytes an automaton may take. The built-in rules' keywords need ~1.2 MB; a rule
/// file whose keywords would need more is refused rather than allowed to take the memory.
const MAX_TABLE_BYTES: usize = 256 << 20;
/// Set in a transition when some keyword ends in the state it leads to.
const MATCH: u32 = 1 << 31;
/// How many lanes a long haystack is searched in at once (see
/// [`KeywordDfa::for_each_occurrence`]).
const LANES: usize = 4;
/// Where each lane of a search is: its offset, and the row of the automaton's state there.
type Lanes = [(usize, u32); LANES];
/// Haystacks at least this long are searched in lanes; shorter ones are not worth the setup.
const LANES_FROM: usize = 4096;
/// The searches that keep no order ([`KeywordDfa::occurs_in`],
/// [`KeywordDfa::for_each_occurrence_unordered`]) search a haystack at least this long in lanes:
/// they need no newline to split at.
const OCCURS_LANES_FROM: usize = 256;
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
    /// The longest keyword's length in bytes.
    longest: usize,
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
            longest: keywords.iter().map(|k| k.as_ref().len()).max().unwrap_or(0),
        })
    }

    /// Calls `found(start, keyword)` for every occurrence of every non-empty keyword in `hay`,
    /// in order of where they end.
    ///
    /// A long `hay` is searched in [`LANES`] lanes at once, its parts split after newlines. The
    /// search is a chain of dependent table lookups, one per byte, so a single lane waits on
    /// each load; independent chains fill those waits. A newline (in no keyword) always leads
    /// back to the start state, so a part searched from there finds exactly what one pass would.
    /// Each part's occurrences are reported after the previous part's, keeping the order.
    pub fn for_each_occurrence(&self, hay: &[u8], mut found: impl FnMut(usize, u32)) {
        let Some(starts) = self.lane_starts(hay) else {
            self.each_in_lane(hay, 0, hay.len(), 0, &mut found);
            return;
        };
        let mut ends = [hay.len(); LANES];
        ends[..LANES - 1].copy_from_slice(&starts[1..]);
        // The later lanes' hits, held until the lanes before them are done.
        let mut held: [Vec<(usize, u32)>; LANES] = Default::default();
        let lanes = self.run_lanes(hay, starts.map(|start| (start, 0)), ends, |lane, hit| {
            if lane == 0 {
                self.report(hit, &mut found);
            } else {
                held[lane].push(hit);
            }
        });
        for lane in 0..LANES {
            for &hit in &held[lane] {
                self.report(hit, &mut found);
            }
            let (from, row) = lanes[lane];
            self.each_in_lane(hay, from, ends[lane], row, &mut found);
        }
    }

    /// Runs `lanes` together, each up to its end in `ends`, calling `hit(lane, (end, row))` for
    /// each state entered where keywords end, lane by lane at each step, until one lane reaches
    /// its end. Returns where every lane stopped (offset and row), for the caller to finish each
    /// lane alone ([`KeywordDfa::each_in_lane`]).
    fn run_lanes(
        &self,
        hay: &[u8],
        mut lanes: Lanes,
        ends: [usize; LANES],
        mut hit: impl FnMut(usize, (usize, u32)),
    ) -> Lanes {
        loop {
            let (after, hits) = self.next_match_in_lanes(hay, lanes, ends);
            lanes = after;
            if hits == [false; LANES] {
                return lanes; // a lane reached its end
            }
            for lane in 0..LANES {
                if hits[lane] {
                    hit(lane, lanes[lane]);
                }
            }
        }
    }

    /// Where the lanes start in `hay` (see [`KeywordDfa::for_each_occurrence`]): the first at 0,
    /// each other after the first newline past its share of `hay`; `None` (one lane) when `hay`
    /// is short, some keyword holds a newline, or the newlines are too few.
    fn lane_starts(&self, hay: &[u8]) -> Option<[usize; LANES]> {
        if hay.len() < LANES_FROM || self.classes[usize::from(b'\n')] != 0 {
            return None;
        }
        let mut starts = [0; LANES];
        for lane in 1..LANES {
            let share = (hay.len() / LANES * lane).max(starts[lane - 1]);
            let newline = memchr::memchr(b'\n', &hay[share..])?;
            starts[lane] = share + newline + 1;
        }
        (starts[LANES - 1] < hay.len()).then_some(starts)
    }

    /// Reports the keywords that end at `end`, where the automaton entered the state of `row`.
    fn report(&self, (end, row): (usize, u32), found: &mut impl FnMut(usize, u32)) {
        for &k in &self.ends_here[(row / self.stride) as usize] {
            found(end - self.lens[k as usize], k);
        }
    }

    /// Every occurrence that ends in `hay[from..end]`, from state `row` at `from`.
    fn each_in_lane(
        &self,
        hay: &[u8],
        mut from: usize,
        end: usize,
        mut row: u32,
        found: &mut impl FnMut(usize, u32),
    ) {
        while let Some((at, state)) = self.next_match(&hay[..end], from, row) {
            self.report((at, state), found);
            (from, row) = (at, state);
        }
    }

    /// Runs the lanes (each an offset and the row of the state there) a byte at a time together,
    /// each up to its end in `ends`, until a transition enters a state where a keyword ends:
    /// returns every lane's position and row after that byte, and which lanes matched there.
    /// No lane matched: the shortest lane reached its end.
    #[inline(never)]
    fn next_match_in_lanes(
        &self,
        hay: &[u8],
        lanes: Lanes,
        ends: [usize; LANES],
    ) -> (Lanes, [bool; LANES]) {
        let (table, classes) = (&self.table[..], &self.classes);
        let n = (0..LANES).map(|l| ends[l] - lanes[l].0).min().unwrap_or(0);
        let bytes: [&[u8]; LANES] = std::array::from_fn(|l| &hay[lanes[l].0..lanes[l].0 + n]);
        let mut rows = lanes.map(|(_, row)| row);
        for i in 0..n {
            let next: [u32; LANES] = std::array::from_fn(|l| {
                let slot = (rows[l] + u32::from(classes[bytes[l][i] as usize])) as usize;
                // SAFETY: as in `next_match`: each row is 0 or a value from `table` with MATCH
                // cleared, and every class is below the stride, so the slot is in the table.
                unsafe { *table.get_unchecked(slot) }
            });
            if next.iter().fold(0, |any, &to| any | to) & MATCH != 0 {
                let after = std::array::from_fn(|l| (lanes[l].0 + i + 1, next[l] & !MATCH));
                return (after, next.map(|to| to & MATCH != 0));
            }
            rows = next;
        }
        (
            std::array::from_fn(|l| (lanes[l].0 + n, rows[l])),
            [false; LANES],
        )
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

    /// Whether some keyword occurs in `hay`. A long `hay` is searched in lanes over overlapping
    /// parts (see [`KeywordDfa::overlapping_parts`]).
    pub fn occurs_in(&self, hay: &[u8]) -> bool {
        if self.has_empty {
            return true;
        }
        let Some((lanes, ends)) = self.overlapping_parts(hay) else {
            return self.next_match(hay, 0, 0).is_some();
        };
        let (after, hits) = self.next_match_in_lanes(hay, lanes, ends);
        hits.contains(&true)
            || (0..LANES).any(|l| {
                let (from, row) = after[l];
                self.next_match(&hay[..ends[l]], from, row).is_some()
            })
    }

    /// Calls `found(start, keyword)` for every occurrence of every non-empty keyword in `hay`,
    /// in no particular order and some possibly twice: for callers that collect a set. A long
    /// `hay` is searched in lanes over overlapping parts (see
    /// [`KeywordDfa::overlapping_parts`]).
    pub fn for_each_occurrence_unordered(&self, hay: &[u8], mut found: impl FnMut(usize, u32)) {
        let Some((lanes, ends)) = self.overlapping_parts(hay) else {
            self.each_in_lane(hay, 0, hay.len(), 0, &mut found);
            return;
        };
        let lanes = self.run_lanes(hay, lanes, ends, |_, hit| self.report(hit, &mut found));
        for lane in 0..LANES {
            let (from, row) = lanes[lane];
            self.each_in_lane(hay, from, ends[lane], row, &mut found);
        }
    }

    /// For searches that keep no order: [`LANES`] lanes (offset and start state) and their ends
    /// over a `hay` of [`OCCURS_LANES_FROM`] bytes or more (a line, a decoded string), split
    /// anywhere. Each part but the first starts a keyword's length less one before its share,
    /// so every occurrence lies whole in the part where it ends (one that ends in that lead
    /// lies whole in the part before too: it may be found twice). `None`: search in one lane.
    fn overlapping_parts(&self, hay: &[u8]) -> Option<(Lanes, [usize; LANES])> {
        if hay.len() < OCCURS_LANES_FROM {
            return None;
        }
        let share = hay.len() / LANES;
        let lead = self.longest.saturating_sub(1);
        let lanes = std::array::from_fn(|l| ((l * share).saturating_sub(lead), 0));
        let mut ends: [usize; LANES] = std::array::from_fn(|l| (l + 1) * share);
        ends[LANES - 1] = hay.len();
        Some((lanes, ends))
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

    /// Generated keywords as the automaton takes them: lower-cased bytes.
    fn lowered(keywords: &[String]) -> Vec<Vec<u8>> {
        keywords
            .iter()
            .map(|k| k.to_ascii_lowercase().into_bytes())
            .collect()
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

    #[test]
    fn a_long_text_is_searched_in_lanes_with_the_same_results() {
        let keywords: Vec<Vec<u8>> = ["token", "en\nto", "key"]
            .iter()
            .map(|k| k.as_bytes().to_vec())
            .collect();
        let line = "a TOKEN, a key\n";
        let hay = line.repeat(2 * LANES_FROM / line.len());
        // A keyword with a newline: one lane, and the occurrences across lines are found.
        let dfa = KeywordDfa::new(&keywords).unwrap();
        assert!(dfa.lane_starts(hay.as_bytes()).is_none());
        assert_eq!(
            occurrences(&dfa, hay.as_bytes()),
            naive(&keywords, hay.as_bytes())
        );
        let dfa = KeywordDfa::new(&keywords[..1]).unwrap();
        let starts = dfa.lane_starts(hay.as_bytes()).unwrap();
        assert!(starts[1..].iter().all(|&s| hay.as_bytes()[s - 1] == b'\n'));
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            occurrences(&dfa, hay.as_bytes()),
            naive(&keywords[..1], hay.as_bytes())
        );
    }

    #[test]
    fn occurs_in_finds_a_keyword_wherever_it_sits_in_a_long_text() {
        let keywords = [b"tokenvalue".to_vec(), b"zz".to_vec()];
        let dfa = KeywordDfa::new(&keywords).unwrap();
        let clean = vec![b'c'; 4 * OCCURS_LANES_FROM];
        assert!(!dfa.occurs_in(&clean));
        // Across every lane boundary too.
        for at in 0..=clean.len() - keywords[0].len() {
            let mut hay = clean.clone();
            hay[at..at + keywords[0].len()].copy_from_slice(b"TokenValue");
            assert!(dfa.occurs_in(&hay), "missed at {at}");
        }
    }

    proptest! {
        /// Long texts (searched in lanes over overlapping parts) hold a keyword exactly when a
        /// naive search finds one.
        #[test]
        fn occurs_in_a_long_text_as_a_naive_search_says(
            keywords in prop::collection::vec("[abAB]{6,12}", 1..6),
            hay in "[abcABC]{256,1200}",
            plant in prop::option::of((0usize..6, 0usize..1200)),
        ) {
            let keywords = lowered(&keywords);
            let mut hay = hay.into_bytes();
            if let Some((k, at)) = plant {
                let kw = &keywords[k % keywords.len()];
                let at = at % (hay.len() - kw.len());
                hay[at..at + kw.len()].copy_from_slice(kw);
            }
            let dfa = KeywordDfa::new(&keywords).unwrap();
            prop_assert_eq!(dfa.occurs_in(&hay), !naive(&keywords, &hay).is_empty());
        }

        /// Long texts searched without order (in lanes over overlapping parts) give every
        /// occurrence a naive search finds, and no other.
        #[test]
        fn unordered_occurrences_in_a_long_text_are_the_naive_ones(
            keywords in prop::collection::vec("[abAB]{1,8}", 1..8),
            hay in "[abcABC]{256,1200}",
        ) {
            let keywords = lowered(&keywords);
            let dfa = KeywordDfa::new(&keywords).unwrap();
            let mut found = Vec::new();
            dfa.for_each_occurrence_unordered(hay.as_bytes(), |at, k| found.push((at, k)));
            found.sort_unstable();
            found.dedup();
            prop_assert_eq!(found, naive(&keywords, hay.as_bytes()));
        }

        /// Long texts (searched in lanes) find what a naive search finds, in order of where the
        /// occurrences end, around the split too.
        #[test]
        fn lanes_find_what_a_naive_search_finds(
            keywords in prop::collection::vec("[abAB\u{e9}.-]{1,5}", 1..12),
            lines in prop::collection::vec("[abcABC\u{e9}.-]{0,80}", 120..240),
        ) {
            let keywords = lowered(&keywords);
            let dfa = KeywordDfa::new(&keywords).unwrap();
            let hay = lines.join("\n");
            let mut in_order = Vec::new();
            dfa.for_each_occurrence(hay.as_bytes(), |at, k| in_order.push((at, k)));
            let ends: Vec<usize> = in_order.iter().map(|&(at, k)| at + keywords[k as usize].len()).collect();
            prop_assert!(ends.windows(2).all(|w| w[0] <= w[1]));
            in_order.sort_unstable();
            prop_assert_eq!(in_order, naive(&keywords, hay.as_bytes()));
        }

        /// Same occurrences as a naive search, for random keyword sets over a small alphabet
        /// (so that keywords overlap and nest a lot) and random mixed-case text.
        #[test]
        fn finds_what_a_naive_search_finds(
            keywords in prop::collection::vec("[abAB\u{e9}.-]{1,5}", 1..12),
            hay in "[abcABC\u{e9}.-]{0,80}",
        ) {
            let keywords = lowered(&keywords);
            let dfa = KeywordDfa::new(&keywords).unwrap();
            prop_assert_eq!(occurrences(&dfa, hay.as_bytes()), naive(&keywords, hay.as_bytes()));
            prop_assert_eq!(
                dfa.occurs_in(hay.as_bytes()),
                !naive(&keywords, hay.as_bytes()).is_empty()
            );
        }
    }
}
