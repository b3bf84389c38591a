//! Detection: turns engine candidates into findings — exact spans of secrets in lines.
//!
//! Owns: confirming a candidate with the rule's `regex`, picking the secret group (gitleaks
//! semantics), the gates that drop false positives (entropy, validators, allowlists, built-in
//! placeholder vetoes, our own `[REDACTED…]` markers) and merging overlapping findings.
//! Lines up to [`WHOLE_LINE_LIMIT`] are confirmed whole; longer ones in windows around candidates,
//! merged per rule, where a rule without a finite maximum match length searches at most that cap
//! past the earliest match: linear in the line, even for a regex that reads on past its match.
//! Each [`Scratch`] holds its own search cache per rule, under one budget for all threads
//! ([`CacheBudget`], see `caches`).
//! Must never: modify text, or keep or report the bytes of a secret — a [`RuleMatch`] is offsets only.

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use regex_automata::meta::{Cache, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::Input;

use crate::engine::{line_around, Candidate, CandidatePlace, KeywordIndex, Matcher};
use crate::finding::{is_stand_in, MarkerGrammar, Precedence};
use crate::rules::{Allowlist, Condition, RegexTarget, Rule, RuleSet, MAX_MATCH_LEN_CAP};

pub use crate::engine::WHOLE_LINE_LIMIT;
pub use caches::{CacheBudget, DEFAULT_CACHE_BUDGET};
pub use profile::{RuleCost, RuleProfile};

mod caches;
mod profile;

/// One rule match confirmed through the gates: byte offsets into the searched text. Never holds
/// the secret itself. (`scan` turns these into [`crate::finding::Finding`]s in raw coordinates.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMatch {
    /// Index into `RuleSet::rules`.
    pub rule: u32,
    /// The secret: the part that gets replaced.
    pub start: usize,
    /// End of the secret (exclusive).
    pub end: usize,
    /// The whole regex match (context such as `password=` included).
    pub match_start: usize,
    /// End of the whole regex match (exclusive).
    pub match_end: usize,
}

/// Per-thread working memory for [`Detector::find`], so the hot path does not allocate.
pub struct Scratch {
    candidates: Vec<Candidate>,
    line_findings: Vec<RuleMatch>,
    /// Per rule: its regex's capture slots, created on first use.
    captures: Vec<Option<Captures>>,
    /// Per rule, then per allowlist regex ([`Detector::allowlist_caches`]): its search cache,
    /// under the budget shared by all threads.
    caches: caches::RuleCaches,
    markers: Vec<Range<usize>>,
    /// Per rule: the `line_number` it was last confirmed on (dedups candidates in O(1)).
    last_line_of_rule: Vec<u64>,
    line_number: u64,
    /// Confirmation windows of a long line, per rule.
    windows: Vec<(u32, Range<usize>)>,
    /// Per-rule cost counters, when profiling (`rules profile`); `None` costs one branch per
    /// confirmation and per engine pass.
    profile: Option<Box<RuleProfile>>,
}

impl Scratch {
    /// Offsets of the engine's candidates in the text of the last [`Detector::find`], sorted.
    pub fn candidate_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.candidates.iter().map(|c| c.at)
    }

    /// Starts counting per-rule costs (zeroed) in every later [`Detector::find`].
    pub fn enable_profile(&mut self) {
        self.profile = Some(Box::new(RuleProfile::new(self.last_line_of_rule.len())));
    }

    /// The counters so far, and stops counting (`None` if profiling was off).
    pub fn take_profile(&mut self) -> Option<RuleProfile> {
        self.profile.take().map(|p| *p)
    }

    /// The bytes its confirm regexes' caches hold, as counted after the last search.
    pub fn cache_bytes(&self) -> usize {
        self.caches.bytes()
    }
}

/// The rules plus the engine that finds their candidates.
pub struct Detector {
    rules: RuleSet,
    matcher: Box<dyn Matcher>,
    /// For [`Detector::may_match_in`]: every rule's keywords, the engine's own index when it has
    /// one, else built on first use (`None` if it cannot be built, or some rule has no keyword:
    /// then any text may match).
    keywords: OnceLock<Option<Arc<KeywordIndex>>>,
    /// Our own markers: a match inside one is never reported again.
    markers: MarkerGrammar,
    /// Where the allowlist regexes' caches are among a scratch's caches (after the rules'):
    /// see [`AllowlistCaches`].
    allowlist_caches: AllowlistCaches,
    /// Where the engine's candidates are: keyword starts let a search start late
    /// ([`Detector::search_start`]).
    candidate_place: CandidatePlace,
}

/// Cache slots of the allowlist regexes: those of rule `i`'s allowlists from `of_rule[i]` on (in
/// order, one per regex), those of the global allowlists from `global` on; `total` slots in all,
/// the rules' own included.
#[derive(Debug, Default)]
struct AllowlistCaches {
    of_rule: Vec<u32>,
    global: u32,
    total: usize,
}

impl AllowlistCaches {
    fn new(rules: &RuleSet) -> Self {
        let regexes = |als: &[Allowlist]| als.iter().map(|al| al.patterns.len()).sum::<usize>();
        let mut next = rules.rules.len();
        let of_rule = rules
            .rules
            .iter()
            .map(|r| {
                let first = next as u32;
                next += regexes(&r.allowlists);
                first
            })
            .collect();
        let global = next as u32;
        next += regexes(&rules.allowlists);
        AllowlistCaches {
            of_rule,
            global,
            total: next,
        }
    }
}

impl Detector {
    /// A detector for `rules`, with candidates from `matcher` (built for the same rules).
    pub fn new(rules: RuleSet, matcher: Box<dyn Matcher>) -> Self {
        let markers = MarkerGrammar::new(rules.rules.iter().map(|r| r.id.as_str()));
        let keywords = OnceLock::new();
        if rules.rules.iter().any(Rule::runs_on_every_line) {
            let _ = keywords.set(None);
        } else if let Some(index) = matcher.keyword_index() {
            let _ = keywords.set(Some(index));
        }
        let allowlist_caches = AllowlistCaches::new(&rules);
        let candidate_place = matcher.candidate_place();
        Detector {
            rules,
            matcher,
            keywords,
            markers,
            allowlist_caches,
            candidate_place,
        }
    }

    /// Whether some rule may match in `text`: one of the rules' keywords occurs in it (ASCII
    /// case-insensitive), or a rule has no keyword at all. For callers that search a text the
    /// engine did not see (a decoded JSON string) only when it may hold something.
    pub fn may_match_in(&self, text: &[u8]) -> bool {
        let keywords = self
            .keywords
            .get_or_init(|| KeywordIndex::new(&self.rules).ok().map(Arc::new));
        keywords.as_ref().map_or(true, |k| k.occurs_in(text))
    }

    /// [`Detector::may_match_in`] for `line` of the text that the last [`Detector::find`] with
    /// `scratch` searched. A line with a candidate may match (whatever the engine: saying yes is
    /// always safe). When the engine reports every keyword occurrence, a line with no candidate
    /// holds no keyword, so the answer costs a binary search instead of a pass over the line (on
    /// Docker json-file lines, whose `\n` escapes call for this check, that pass was ~4 % of the
    /// pure-Rust engine's instructions on the realistic corpus).
    pub fn may_match_in_searched(
        &self,
        text: &[u8],
        line: Range<usize>,
        scratch: &Scratch,
    ) -> bool {
        if self.has_candidate_in(line.clone(), scratch) {
            return true;
        }
        !self.matcher.reports_every_keyword() && self.may_match_in(&text[line])
    }

    /// Whether the last [`Detector::find`] with `scratch` had a candidate in `line` of its text.
    pub fn has_candidate_in(&self, line: Range<usize>, scratch: &Scratch) -> bool {
        let candidates = &scratch.candidates;
        let first = candidates.partition_point(|c| c.at < line.start);
        candidates.get(first).is_some_and(|c| c.at < line.end)
    }

    /// Replaces the marker grammar (the redactor's configuration adds its template).
    pub fn set_markers(&mut self, markers: MarkerGrammar) {
        self.markers = markers;
    }

    /// The markers that count as already redacted.
    pub fn markers(&self) -> &MarkerGrammar {
        &self.markers
    }

    /// Which rule `index`'s findings rank among overlapping findings ([`Rule::precedence`]).
    pub fn precedence(&self, index: u32) -> Precedence {
        self.rules.rules[index as usize].precedence
    }

    /// The rules it detects.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The engine that finds its candidates.
    pub fn matcher(&self) -> &dyn Matcher {
        self.matcher.as_ref()
    }

    /// Working memory for one thread's detection, its regex caches under the process-wide
    /// budget ([`CacheBudget::global`]).
    pub fn scratch(&self) -> Scratch {
        self.scratch_with_budget(CacheBudget::global())
    }

    /// Working memory for one thread's detection, its regex caches under `budget`.
    pub fn scratch_with_budget(&self, budget: Arc<CacheBudget>) -> Scratch {
        Scratch {
            candidates: Vec::new(),
            line_findings: Vec::new(),
            captures: (0..self.rules.rules.len()).map(|_| None).collect(),
            caches: caches::RuleCaches::new(budget, self.allowlist_caches.total),
            markers: Vec::new(),
            last_line_of_rule: vec![0; self.rules.rules.len()],
            line_number: 0,
            windows: Vec::new(),
            profile: None,
        }
    }

    /// Finds the secrets in `text`, which holds zero or more `\n`-separated lines (one engine call
    /// for all of them). Appends findings to `out`, sorted by start, not overlapping, none spanning
    /// a newline.
    pub fn find(&self, text: &[u8], scratch: &mut Scratch, out: &mut Vec<RuleMatch>) {
        let mut candidates = std::mem::take(&mut scratch.candidates);
        candidates.clear();
        let started = scratch.profile.is_some().then(Instant::now);
        self.matcher.candidates(text, &mut candidates);
        if let (Some(p), Some(started)) = (&mut scratch.profile, started) {
            p.candidate_passes += 1;
            p.candidate_nanos += profile::nanos_since(started);
        }
        // Engines report candidates nearly in order (keyword hits left to right, Hyperscan's
        // match ends per piece): a stable sort by offset merges those runs in near-linear time,
        // where sorting by (offset, rule) was a tenth of the time on keyword-dense lines.
        // Duplicates left apart by it are harmless: a rule is confirmed once per line.
        candidates.sort_by_key(|c| c.at);
        candidates.dedup();
        if let Some(p) = &mut scratch.profile {
            for c in &candidates {
                p.rules[c.rule as usize].candidates += 1;
            }
        }

        let mut rest = &candidates[..];
        while let Some(first) = rest.first() {
            let line = line_around(text, first.at);
            let in_line = rest.partition_point(|c| c.at <= line.end);
            self.find_in_line(text, line, &rest[..in_line], scratch, out);
            rest = &rest[in_line..];
        }
        scratch.candidates = candidates;
        scratch.caches.settle();
    }

    fn find_in_line(
        &self,
        text: &[u8],
        line: Range<usize>,
        candidates: &[Candidate],
        scratch: &mut Scratch,
        out: &mut Vec<RuleMatch>,
    ) {
        let mut found = std::mem::take(&mut scratch.line_findings);
        found.clear();
        scratch.markers.clear();
        let line_text = &text[line.clone()];
        let before = scratch.markers.len();
        self.markers.find_all(line_text, &mut scratch.markers);
        for m in &mut scratch.markers[before..] {
            *m = m.start + line.start..m.end + line.start;
        }

        scratch.line_number += 1;
        if line.len() <= WHOLE_LINE_LIMIT {
            for c in candidates {
                // One confirmation per rule and line, however many keyword hits it had.
                let last = &mut scratch.last_line_of_rule[c.rule as usize];
                if *last != scratch.line_number {
                    *last = scratch.line_number;
                    let from = self.search_start(c, line.start);
                    self.confirm(
                        c.rule,
                        text,
                        line.clone(),
                        from..line.end,
                        scratch,
                        &mut found,
                    );
                }
            }
        } else {
            // A window around each hit, merged per rule where they overlap: a megabyte line
            // packed with hits costs one pass per rule, not one window per hit.
            let mut windows = std::mem::take(&mut scratch.windows);
            windows.clear();
            for c in candidates {
                let reach = self.rules.rules[c.rule as usize].max_match_len + 64;
                let window =
                    c.at.saturating_sub(reach).max(line.start)..(c.at + reach).min(line.end);
                windows.push((c.rule, window));
            }
            windows.sort_unstable_by_key(|(rule, w)| (*rule, w.start));
            let mut i = 0;
            while i < windows.len() {
                let (rule, mut window) = windows[i].clone();
                i += 1;
                while let Some((_, next)) = windows
                    .get(i)
                    .filter(|(r, w)| *r == rule && w.start <= window.end)
                {
                    window.end = window.end.max(next.end);
                    i += 1;
                }
                self.confirm(rule, text, line.clone(), window, scratch, &mut found);
            }
            scratch.windows = windows;
        }
        merge_overlapping(&mut found, |rule| self.precedence(rule));
        out.extend_from_slice(&found);
        scratch.line_findings = found;
    }

    /// Where the search for rule `first.rule` in a whole line starting at `line_start` may start,
    /// `first` being the rule's first candidate there: when candidates are keyword starts and
    /// every match holds a keyword within the rule's keyword reach of its start, no match starts
    /// before `first.at` minus that reach; otherwise the line's start.
    fn search_start(&self, first: &Candidate, line_start: usize) -> usize {
        if self.candidate_place != CandidatePlace::KeywordStarts {
            return line_start;
        }
        match self.rules.rules[first.rule as usize].keyword_reach() {
            Some(reach) => first.at.saturating_sub(reach).max(line_start),
            None => line_start,
        }
    }

    /// Runs rule `index`'s regex over `window` of `line` and keeps the matches that pass the gates.
    fn confirm(
        &self,
        index: u32,
        text: &[u8],
        line: Range<usize>,
        window: Range<usize>,
        scratch: &mut Scratch,
        found: &mut Vec<RuleMatch>,
    ) {
        let rule = &self.rules.rules[index as usize];
        let regex = rule.regex();
        // Timed after the regex is built (once per run, on first use): the cost of running it.
        let started = scratch.profile.is_some().then(Instant::now);
        let found_before = found.len();
        // Counted in locals (registers) and stored once, so profiling off costs one branch.
        let (mut matches, mut rejected) = (0u64, 0u64);
        let caps = scratch.captures[index as usize].get_or_insert_with(|| regex.create_captures());
        // Out of its slot while the rule runs: the gates search allowlist regexes with caches
        // from the same set.
        let mut taken = scratch.caches.take(index, regex);
        let cache = &mut *taken;
        // The haystack starts at the line so `^` means line start; it ends at the window.
        let hay = &text[line.start..window.end];
        let bound_searches =
            line.len() > WHOLE_LINE_LIMIT && rule.max_match_len >= MAX_MATCH_LEN_CAP;
        let mut pos = window.start - line.start;
        // The last run of token bytes a secret was extended over (see `extend_cut_secret`).
        let mut run = 0..0;
        // Whole-line allowlist verdicts, once per line (see `LineVerdicts`).
        let mut verdicts = LineVerdicts::default();
        while pos <= hay.len() {
            let search_end = if bound_searches {
                match bounded_search_end(regex, cache, hay, pos, rule.max_match_len) {
                    Some(end) => end,
                    None => break,
                }
            } else {
                hay.len()
            };
            let mut matched = captures_at(regex, cache, caps, &hay[..search_end], pos);
            let certain = matched.is_some_and(|m| m.start() + rule.max_match_len < search_end);
            if search_end < hay.len() && !certain {
                // Not seen with the heuristic's end: search to the window's end, as unbounded.
                matched = captures_at(regex, cache, caps, hay, pos);
            }
            let Some(m) = matched else {
                break;
            };
            matches += 1;
            pos = if m.end() > m.start() {
                m.end()
            } else {
                m.end() + 1
            };
            let Some(secret) = secret_span(rule, caps, m.range()) else {
                continue;
            };
            let mut finding = RuleMatch {
                rule: index,
                start: line.start + secret.start,
                end: line.start + secret.end,
                match_start: line.start + m.start(),
                match_end: line.start + m.end(),
            };
            if !clear_of_markers(&mut finding, &scratch.markers) {
                rejected += 1;
                continue;
            }
            let gates = (&mut verdicts, &mut scratch.caches);
            if self.passes_gates(index, text, &line, &finding, gates) {
                extend_cut_secret(&text[..window.end], &mut finding, &mut run);
                found.push(finding);
                let (items, dropped) = self.confirm_list_items(
                    index,
                    text,
                    (&line, (&mut verdicts, &mut scratch.caches)),
                    window.end,
                    finding.end,
                    found,
                );
                matches += items;
                rejected += dropped;
            } else {
                rejected += 1;
            }
        }
        scratch.caches.put_back(index, taken);
        scratch.caches.note_search(index);
        if let (Some(p), Some(started)) = (&mut scratch.profile, started) {
            let cost = &mut p.rules[index as usize];
            cost.confirmations += 1;
            cost.matches += matches;
            cost.passed += (found.len() - found_before) as u64;
            cost.rejected += rejected;
            cost.nanos += profile::nanos_since(started);
        }
    }

    /// The further secrets of a list after one (`API_KEYS=k1,k2,k3`): the rule's `listItem`
    /// matched right where the last item ends, each through the same gates (an item that fails
    /// them, a UUID say, is kept but the list goes on). The list ends where `listItem` does not
    /// match or at `end` (the window's). Linear: each item's search starts where the last ended.
    /// Returns how many items it matched and how many of those the gates dropped.
    fn confirm_list_items(
        &self,
        index: u32,
        text: &[u8],
        line: (&Range<usize>, Gates),
        end: usize,
        mut at: usize,
        found: &mut Vec<RuleMatch>,
    ) -> (u64, u64) {
        let (line, (verdicts, caches)) = line;
        let rule = &self.rules.rules[index as usize];
        let (mut items, mut dropped) = (0, 0);
        let Some(item) = &rule.list_item else {
            return (items, dropped);
        };
        loop {
            let Some(caps) = item.captures(&text[at..end]) else {
                return (items, dropped);
            };
            let Some(secret) = caps.get(1).or(caps.get(0)).filter(|s| !s.is_empty()) else {
                return (items, dropped);
            };
            items += 1;
            let finding = RuleMatch {
                rule: index,
                start: at + secret.start(),
                end: at + secret.end(),
                match_start: at + secret.start(),
                match_end: at + secret.end(),
            };
            if self.passes_gates(index, text, line, &finding, (&mut *verdicts, &mut *caches)) {
                found.push(finding);
            } else {
                dropped += 1;
            }
            at = finding.end;
        }
    }

    fn passes_gates(
        &self,
        index: u32,
        text: &[u8],
        line: &Range<usize>,
        f: &RuleMatch,
        (verdicts, caches): Gates,
    ) -> bool {
        let rule = &self.rules.rules[index as usize];
        let secret = &text[f.start..f.end];
        if is_placeholder(secret) {
            return false;
        }
        if let Some(min) = rule.entropy {
            if shannon_entropy(secret) < min {
                return false;
            }
        }
        // Fail closed: only a weak shape's validator vetoes (see `Validator::on_failure`).
        if rule.validate.is_some_and(|v| v.vetoes(secret)) {
            return false;
        }
        let targets = Targets {
            secret,
            matched: &text[f.match_start..f.match_end],
            line: &text[line.clone()],
        };
        let slots = &self.allowlist_caches;
        !with_cache_slots(&rule.allowlists, slots.of_rule[index as usize])
            .chain(with_cache_slots(&self.rules.allowlists, slots.global))
            .enumerate()
            .any(|(slot, (al, cache))| allowlisted(al, &targets, (slot, verdicts), (cache, caches)))
    }
}

/// The verdicts of allowlist regexes that read the whole line (`regexTarget = "line"`), each
/// computed once per line and rule: a long line packed with matches would otherwise run them over
/// the whole line once per match, quadratic in the line's length (the rule speed gate's 1 MB
/// line). Slots are allowlist positions (the rule's, then the global ones); past the last slot a
/// verdict is computed each time, as before. Lives on the stack of one `confirm` call.
#[derive(Default)]
struct LineVerdicts([Option<bool>; 8]);

impl LineVerdicts {
    fn get(&mut self, slot: usize, compute: impl FnOnce() -> bool) -> bool {
        match self.0.get_mut(slot) {
            Some(Some(verdict)) => *verdict,
            Some(cell) => *cell.insert(compute()),
            None => compute(),
        }
    }
}

/// Where a search of a long line's window (`hay`, from `pos`) by a rule without a finite maximum
/// match length may stop: `longest` (its `max_match_len`, the cap) past the end of the earliest
/// match from `pos`. The leftmost match starts at or before that end, so if it is no longer than
/// `longest` it ends before the search's end (the caller checks the start of the match it gets,
/// and searches to the window's end if it is too late). `None`: nothing matches from `pos`.
///
/// Why: such a regex may read on to the window's end for every match (an optional `[^\n]*…` tail
/// looking for its end), quadratic in a long line whose windows merged into one; bounded, it reads
/// up to `longest` per match, as in a whole line of that length. A rule with a finite maximum
/// needs no bound: its search stops within that maximum of the match start anyway.
///
/// What changes is confined to matches longer than the cap: they are cut at the search's end, as
/// they already are at a window's end — an optional tail further away is left out (the secret
/// group before it is still found), a greedy repetition stops there, `$` or `\b` may hold there —
/// and such a cut match hides the matches it overlaps, as one to the window's end would.
fn bounded_search_end(
    regex: &Regex,
    cache: &mut Cache,
    hay: &[u8],
    pos: usize,
    longest: usize,
) -> Option<usize> {
    if hay.len() - pos <= longest + 1 {
        return Some(hay.len());
    }
    // What `regex::bytes::Regex::shortest_match_at` does, with our cache.
    let input = Input::new(hay).earliest(true).span(pos..hay.len());
    let earliest_end = regex.search_half_with(cache, &input)?.offset();
    Some(earliest_end.saturating_add(longest + 1).min(hay.len()))
}

/// Secrets at least this long that are followed by more token bytes were cut by the rule's
/// bounded length (`{8,512}`), not ended by a delimiter. Rules with shorter bounds end their
/// values at a boundary (`\b`, a delimiter class) instead.
const CUT_SECRET_LEN: usize = 128;

/// Whether `b` may continue a token (base64, base64url, hex, and the like).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-')
}

/// Fail closed: a secret is replaced whole. A long secret (128+ bytes) that ends in a token byte
/// and is followed by more token bytes ran past the rule's bounded length (`session_token=` + a
/// 600-character STS token), so it is extended to the end of that run; otherwise the tail would
/// leak after the marker. `run` remembers the last run scanned, so many matches inside one long
/// run cost one scan (linear, not quadratic).
fn extend_cut_secret(hay: &[u8], f: &mut RuleMatch, run: &mut Range<usize>) {
    let len = f.end - f.start;
    // The value goes on: an alphanumeric next, or one separator (`+/_-=`) followed by one, so
    // an armour line (`…-----END`) after a key body is not taken for more of it.
    let goes_on = |at: usize| hay.get(at).is_some_and(u8::is_ascii_alphanumeric);
    let cut = len >= CUT_SECRET_LEN
        && is_token_byte(hay[f.end - 1])
        && (goes_on(f.end)
            || (hay.get(f.end).copied().is_some_and(is_token_byte) && goes_on(f.end + 1)));
    if !cut {
        return;
    }
    if run.contains(&f.end) {
        f.end = run.end;
    } else {
        let tail = hay[f.end..]
            .iter()
            .position(|&b| !is_token_byte(b))
            .unwrap_or(hay.len() - f.end);
        *run = f.end..f.end + tail;
        f.end = run.end;
    }
    f.match_end = f.match_end.max(f.end);
}

/// Keeps our own markers out of findings, so output is never redacted twice: a match that starts
/// inside a marker is dropped; a secret that runs into one is cut where the marker begins
/// (`password=hunter2[REDACTED:x]` still loses `hunter2`). Returns whether anything is left.
/// `markers` are sorted and disjoint: each check is a binary search, so a line packed with
/// markers and matches stays linear-logarithmic, not markers × matches.
fn clear_of_markers(f: &mut RuleMatch, markers: &[Range<usize>]) -> bool {
    let inside = |at: usize| {
        let i = markers.partition_point(|mk| mk.end <= at);
        markers.get(i).is_some_and(|mk| mk.contains(&at))
    };
    if inside(f.match_start) || inside(f.start) {
        return false;
    }
    let first_after_start = markers.partition_point(|mk| mk.start <= f.start);
    if let Some(mk) = markers.get(first_after_start).filter(|mk| mk.start < f.end) {
        f.end = mk.start;
        f.match_end = f.match_end.min(mk.start);
    }
    f.start < f.end
}

/// What the gates need besides the finding: the line's allowlist verdicts and the scratch's
/// caches (for the allowlist regexes).
type Gates<'a> = (&'a mut LineVerdicts, &'a mut caches::RuleCaches);

struct Targets<'a> {
    secret: &'a [u8],
    matched: &'a [u8],
    line: &'a [u8],
}

/// Each of `allowlists` with the cache slot of its first regex, the first from `first` on (see
/// `AllowlistCaches`).
fn with_cache_slots(
    allowlists: &[Allowlist],
    first: u32,
) -> impl Iterator<Item = (&Allowlist, u32)> + '_ {
    allowlists.iter().scan(first, |next, al| {
        let at = *next;
        *next += al.patterns.len() as u32;
        Some((al, at))
    })
}

/// Whether allowlist `al` drops the finding `t`; `slot` is its place for the line's verdicts,
/// `first_cache` the cache slot of its first regex among `caches`.
fn allowlisted(
    al: &Allowlist,
    t: &Targets,
    (slot, verdicts): (usize, &mut LineVerdicts),
    (first_cache, caches): (u32, &mut caches::RuleCaches),
) -> bool {
    let mut matches = |target: &[u8]| {
        al.regexes().iter().zip(first_cache..).any(|(regex, at)| {
            let input = Input::new(target).earliest(true);
            let hit = regex
                .search_half_with(caches.cache(at, regex), &input)
                .is_some();
            caches.note_search(at);
            hit
        })
    };
    let regex_hit = (!al.patterns.is_empty()).then(|| match al.regex_target {
        RegexTarget::Secret => matches(t.secret),
        RegexTarget::Match => matches(t.matched),
        RegexTarget::Line => verdicts.get(slot, || matches(t.line)),
    });
    let stop_hit = (!al.stopwords.is_empty()).then(|| {
        al.stopwords
            .iter()
            .any(|w| contains_ignore_ascii_case(t.secret, w))
    });
    match al.condition {
        Condition::Or => regex_hit == Some(true) || stop_hit == Some(true),
        Condition::And => regex_hit != Some(false) && stop_hit != Some(false),
    }
}

/// The leftmost-first match of `regex` in `hay` starting at or after `pos`, its groups in `caps`:
/// what `regex::bytes::Regex::captures_read_at` does, with our cache. The haystack is the whole
/// `hay`, so `^`, `\b` and look-behind see the bytes before `pos`.
fn captures_at(
    regex: &Regex,
    cache: &mut Cache,
    caps: &mut Captures,
    hay: &[u8],
    pos: usize,
) -> Option<regex_automata::Match> {
    let input = Input::new(hay).span(pos..hay.len());
    regex.search_captures_with(cache, &input, caps);
    caps.get_match()
}

/// gitleaks semantics: `secretGroup`, else the first non-empty group, else the whole match.
fn secret_span(rule: &Rule, caps: &Captures, whole: Range<usize>) -> Option<Range<usize>> {
    let span = match rule.secret_group {
        Some(g) => caps.get_group(g).map(|s| s.start..s.end)?,
        None => (1..caps.group_len())
            .filter_map(|g| caps.get_group(g))
            .find(|s| s.end > s.start)
            .map_or(whole, |s| s.start..s.end),
    };
    (!span.is_empty()).then_some(span)
}

/// Obvious stand-ins that are not secrets, judged on the value **as a whole** (L7): a value that
/// merely contains `example`, `xxxx` or `${` is a secret (`exampleQw3rtyU1op`, `Summer${2024`).
/// Stand-ins: one repeated character; what frameworks log instead of a value
/// ([`is_stand_in`]: `[FILTERED]`, `<hidden>`, `${VAR}`, `REPLACE_ME`, our markers, ...);
/// documentation words (`example`, `changeme`, ...); AWS's documentation keys (`…EXAMPLE`,
/// `…EXAMPLEKEY`); a vendor prefix followed only by filler (`tvly-xxxxxxxx`, `ghp_aaaa…`,
/// `xoxb-0000000000-xxxxxxxx`); and masked values (`sk-****abcd`: a run of `*` with at most 8
/// other characters).
pub fn is_placeholder(secret: &[u8]) -> bool {
    let Some(&first) = secret.first() else {
        return true;
    };
    if secret.iter().all(|&b| b == first) || is_stand_in(secret) {
        return true;
    }
    const WHOLE: &[&[u8]] = &[
        b"example",
        b"examples",
        b"sample",
        b"dummy",
        b"placeholder",
        b"changeme",
        b"change_me",
        b"changeit",
        b"redacted",
        b"filtered",
        b"sensitive",
        b"secure",
        b"notset",
        b"not_set",
        b"xxxx",
    ];
    if WHOLE.iter().any(|w| secret.eq_ignore_ascii_case(w)) {
        return true;
    }
    if secret.ends_with(b"EXAMPLE") || secret.ends_with(b"EXAMPLEKEY") {
        return true;
    }
    let stars = secret.iter().filter(|&&b| b == b'*').count();
    if secret.windows(4).any(|w| w == b"****") && secret.len() - stars <= 8 {
        return true;
    }
    prefix_and_filler(secret)
}

/// `tvly-xxxxxxxx`, `ghp_aaaaaaaa…`, `xoxb-0000000000-0000000000000-xxxxxxxx`: split at `-`, `_`
/// and `.`, the segments that are one letter or symbol repeated (4 or more; a repeated digit
/// counts for neither side) add up to at least 8
/// characters, and every other segment is a short word (a vendor prefix: at most 6 characters,
/// at least one letter), of which there is at least one.
fn prefix_and_filler(secret: &[u8]) -> bool {
    let (mut filler, mut prefix) = (0, 0);
    for seg in secret.split(|&b| matches!(b, b'-' | b'_' | b'.')) {
        let Some(&c) = seg.first() else {
            continue;
        };
        if seg.iter().all(|&b| b == c) && c.is_ascii_digit() {
            // `0000000000`: neither prefix nor filler (`tok_0000000000000000` is a value).
            continue;
        }
        if seg.len() >= 4 && seg.iter().all(|&b| b == c) {
            filler += seg.len();
        } else if seg.len() > 6 || !seg.iter().any(u8::is_ascii_alphabetic) {
            // Not a vendor prefix (a word): `00-aaaa…` is a value, not a prefix and filler.
            return false;
        } else {
            prefix += 1;
        }
    }
    filler >= 8 && prefix > 0
}

fn contains_ignore_ascii_case(hay: &[u8], lower_needle: &[u8]) -> bool {
    hay.len() >= lower_needle.len()
        && hay
            .windows(lower_needle.len())
            .any(|w| w.eq_ignore_ascii_case(lower_needle))
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Sorts findings and merges overlapping ones. A merged finding keeps the first one's rule, unless
/// another ranks before it by [`Precedence`] (`github-pat` says more than `secret-assignment`).
fn merge_overlapping(found: &mut Vec<RuleMatch>, precedence: impl Fn(u32) -> Precedence) {
    found.sort_unstable_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.rule));
    let mut merged: Vec<RuleMatch> = Vec::with_capacity(found.len());
    for f in found.drain(..) {
        match merged.last_mut() {
            Some(last) if f.start < last.end => {
                if precedence(f.rule) < precedence(last.rule) {
                    last.rule = f.rule;
                }
                last.end = last.end.max(f.end);
                last.match_start = last.match_start.min(f.match_start);
                last.match_end = last.match_end.max(f.match_end);
            }
            _ => merged.push(f),
        }
    }
    *found = merged;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::KeywordMatcher;

    fn detector(toml: &str) -> Detector {
        let mut set = RuleSet::default();
        set.add_toml("t.toml", toml).unwrap();
        let m = KeywordMatcher::new(&set).unwrap();
        Detector::new(set, Box::new(m))
    }

    fn spans(d: &Detector, text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        d.find(text, &mut d.scratch(), &mut out);
        out.iter().map(|f| (f.start, f.end)).collect()
    }

    const PW: &str =
        "[[rules]]\nid='pw'\nregex='''(?i)password=(\\S{4,40})'''\nkeywords=['password']\n";

    #[test]
    fn secret_group_is_the_first_non_empty_group() {
        let d = detector(PW);
        assert_eq!(spans(&d, b"x password=hunter22 y"), vec![(11, 19)]);
    }

    #[test]
    fn findings_are_per_line_in_a_batch() {
        let d = detector(PW);
        let text = b"a\nPASSWORD=s3cretpw\nnothing\npassword=0ther-pw\n";
        assert_eq!(spans(&d, text), vec![(11, 19), (37, 45)]);
    }

    #[test]
    fn placeholders_and_markers_are_vetoed() {
        let d = detector(PW);
        for line in [
            "password=${DB_PASSWORD}",
            "password=aaaaaaaa",
            "password=********",
            "password=EXAMPLE",
            "password=tvly-xxxxxxxxxxxx",
            "password=sk-****abcd",
            "password=[REDACTED:pw]",
            "password=[REDACTED:pw]tail",
            "password={{.Values.pw}}",
        ] {
            assert!(
                spans(&d, line.as_bytes()).is_empty(),
                "vetoed line number {}",
                line.len()
            );
        }
    }

    #[test]
    fn a_value_that_merely_contains_a_placeholder_word_is_a_secret() {
        // L7: only whole-value stand-ins are vetoed.
        let d = detector(PW);
        for line in [
            "password=EXAMPLEpw1",
            "password=Qw3rxxxxty",
            "password=pre${x",
            "password=ab****cdefghijk",
            "password=00-aaaaaaaaaaaaaa",
            "password=tok_0000000000000000",
        ] {
            assert_eq!(
                spans(&d, line.as_bytes()).len(),
                1,
                "line length {}",
                line.len()
            );
        }
    }

    #[test]
    fn a_value_past_the_bounded_length_is_redacted_to_its_end() {
        let d = detector(
            "[[rules]]\nid='t'\nregex='''token=([A-Za-z0-9]{8,200})'''\nkeywords=['token']\n",
        );
        // The rule allows 8..=200 characters: a token run of 300 is a cut secret, extended.
        let line = format!("x token={} y", "q2Xl3kL9vJ".repeat(30));
        assert_eq!(spans(&d, line.as_bytes()), vec![(8, 308)]);
        // Extended only over token bytes; a value ended by a delimiter stays as it is.
        let line = format!("token={};next=1", "q2Xl3kL9vJ".repeat(5));
        assert_eq!(spans(&d, line.as_bytes()), vec![(6, 56)]);
    }

    #[test]
    fn a_secret_glued_to_a_marker_is_cut_at_the_marker() {
        let d = detector(PW);
        assert_eq!(spans(&d, b"password=hunter22[REDACTED:pw]"), vec![(9, 17)]);
        // Text that merely looks like a marker does not shield what follows it.
        assert_eq!(spans(&d, b"[REDACTED password=hunter22").len(), 1);
    }

    #[test]
    fn entropy_gate_drops_low_entropy() {
        let d = detector(
            "[[rules]]\nid='t'\nregex='''tok_([a-z0-9]{8,32})'''\nkeywords=['tok_']\nentropy=3.0\n",
        );
        assert!(spans(&d, b"tok_abababab").is_empty());
        assert_eq!(spans(&d, b"tok_a8f3k2m9x7q1").len(), 1);
    }

    #[test]
    fn allowlist_regex_and_stopwords() {
        let d = detector(&format!(
            "{PW}[[rules.allowlists]]\nregexes=['''^changeme''']\nstopwords=['dummy']\n"
        ));
        assert!(spans(&d, b"password=changeme1").is_empty());
        assert!(spans(&d, b"password=myDummyPw").is_empty());
        assert_eq!(spans(&d, b"password=hunter22").len(), 1);
    }

    /// Allowlist regexes (a rule's and the global ones) are searched with the scratch's caches,
    /// under its budget, after the rules' own: none in `regex`'s hidden per-thread pools.
    #[test]
    fn allowlist_regexes_use_the_scratchs_budgeted_caches() {
        let d = detector(&format!(
            "[[allowlists]]\nregexes=['''^global''']\n\
             {PW}[[rules.allowlists]]\nregexes=['''^changeme''', '''^letmein''']\n"
        ));
        assert_eq!(d.allowlist_caches.of_rule, vec![1]);
        assert_eq!(
            (d.allowlist_caches.global, d.allowlist_caches.total),
            (3, 4)
        );
        let budget = CacheBudget::new(usize::MAX);
        let mut scratch = d.scratch_with_budget(budget.clone());
        let mut out = Vec::new();
        // Found: the rule's regex and all three allowlist regexes ran, each with its cache.
        d.find(b"password=hunter22", &mut scratch, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(scratch.caches.held(), 4);
        assert_eq!(budget.in_use(), scratch.cache_bytes());
        // Dropped by the rule's second allowlist regex, or by the global one.
        for dropped in [&b"password=letmein1"[..], b"password=globalpw"] {
            out.clear();
            d.find(dropped, &mut scratch, &mut out);
            assert!(out.is_empty());
        }
    }

    #[test]
    fn overlapping_findings_merge() {
        let d = detector(
            "[[rules]]\nid='a'\nregex='''key=([a-z0-9]{10})'''\nkeywords=['key=']\n\
             [[rules]]\nid='b'\nregex='''([a-z0-9]{5}[0-9]{10})'''\nkeywords=['key=']\n",
        );
        let s = spans(&d, b"key=abcde12345678901");
        assert_eq!(s, vec![(4, 19)]);
    }

    #[test]
    fn long_lines_are_confirmed_in_windows() {
        let d = detector(PW);
        let mut line = vec![b'.'; 100_000];
        line.extend_from_slice(b" password=hunter22 ");
        line.extend(vec![b'.'; 100_000]);
        assert_eq!(spans(&d, &line), vec![(100_010, 100_018)]);
    }

    #[test]
    fn rules_without_keywords_run_on_every_line() {
        let d = detector("[[rules]]\nid='n'\nregex='''zz([0-9]{6})'''\n");
        assert_eq!(spans(&d, b"a\nb zz123456\n").len(), 1);
    }

    #[test]
    fn entropy_values() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
