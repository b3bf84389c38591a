//! The Hyperscan engine (cargo feature `hyperscan`, system `libhs` 5.4 or Vectorscan): every
//! rule's regex in one block-mode database, scanned once per batch of lines; each reported match
//! end becomes a [`Candidate`] that `detect` confirms with the rule's Rust regex (exact span,
//! secret group), the approach of Nosey Parker and Kingfisher.
//!
//! Owns: building (or loading from the cache) the database, the per-rule fallback to the pure-Rust
//! keyword path for rules Hyperscan must not run, scratch spaces, and turning match ends into
//! candidates. Must never: report fewer candidates than the pure-Rust engine would need to reach
//! the same findings; put input text in an error or a log.
//!
//! What the database holds per rule (`rules list` shows it): the rule's regex, with very wide
//! bounded repeats widened (`hyperscan`; a superset, so no match end is lost); or, for a regex with
//! no literal to anchor on whose keywords are rare, the keywords themselves (`hs-keywords`; see
//! `hs_compat::keywords_stand_in`). Rules Hyperscan must not or cannot run go to the keyword
//! automaton (`regex`). `HS_FLAG_SOM_LEFTMOST` is off: measured 2.7x slower on the typical corpus.
//!
//! Equivalence with the pure-Rust engine (checked by `tests/engines.rs`). That engine confirms a
//! rule on a line only when one of the rule's keywords occurs in it; Hyperscan evaluates the whole
//! regex, which may match without the keyword. So a match end of a rule with keywords becomes a
//! candidate only if a keyword occurs in the same line — or, for lines longer than
//! [`WHOLE_LINE_LIMIT`] (which `detect` confirms in windows), within the window `detect` will
//! confirm. The check runs on regex matches only, which are rare, so it costs next to nothing
//! (a keyword literal in the database would fire on half of all lines). What is guaranteed:
//! - lines up to `WHOLE_LINE_LIMIT` bytes: identical findings (`detect` confirms whole lines, and
//!   every Rust match in a line has its end reported by Hyperscan: same regex semantics, see
//!   `hs_compat`; extra ends only cost a confirmation that finds nothing);
//! - longer lines: both engines find every match that contains one of its rule's keywords (and
//!   Hyperscan also finds keyword-less rules' matches anywhere in the line).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::hyperscan::{BlockDatabase, Matching, PatternFlags, Scratch};
use memchr::{memchr, memrchr};

use super::hs_build::{self, Plan};
use super::hs_cache;
use super::{line_around, Candidate, EngineError, EngineWarning, KeywordIndex, Matcher, RuleBits};
use crate::engine::WHOLE_LINE_LIMIT;
use crate::rules::{RuleSet, MAX_MATCH_LEN_CAP};

/// Compiles slower than this are worth caching: the full built-in set takes ~1 s, loading its
/// serialized database a few ms. One-rule databases (`rules test` builds one per rule) mostly
/// compile faster than this, so testing rules does not fill the cache directory.
const CACHE_AFTER: Duration = Duration::from_millis(100);

/// `hs_scan` takes a 32-bit length.
const MAX_SCAN_BYTES: usize = u32::MAX as usize;

/// How the engine is built.
#[derive(Debug, Clone)]
pub struct HyperscanOptions {
    /// Where compiled databases are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Only databases that took at least this long to compile are written to the cache.
    pub cache_after: Duration,
    /// Compile with `HS_FLAG_SOM_LEFTMOST` (measured slower; kept for the benchmark).
    pub som_leftmost: bool,
    /// Bounded repeats wider than this are compiled as `{m,}` (see `hs_compat`).
    pub widest_bounded_repeat: u32,
    /// Let Hyperscan look for the keywords of rules whose regex it scans slowly (see
    /// `hs_compat::keywords_stand_in`).
    pub keyword_stand_ins: bool,
}

impl HyperscanOptions {
    /// The defaults: cache under `$XDG_CACHE_HOME/logredact/` (or `~/.cache/logredact/`).
    pub fn from_env() -> Self {
        HyperscanOptions {
            cache_dir: hs_cache::default_dir(),
            ..Self::uncached()
        }
    }

    /// No cache: always compile.
    pub fn uncached() -> Self {
        HyperscanOptions {
            cache_dir: None,
            cache_after: CACHE_AFTER,
            som_leftmost: false,
            widest_bounded_repeat: crate::rules::repeats::WIDEST_BOUNDED_REPEAT,
            keyword_stand_ins: true,
        }
    }
}

/// Whether a build may load the cached database, or must compile and replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheUse {
    Load,
    Replace,
}

/// Where the database of a [`HyperscanMatcher`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseSource {
    /// Compiled for this run.
    Compiled,
    /// Loaded from the on-disk cache (and checked against every rule's examples).
    Cache,
    /// Hyperscan runs no rule (all fell back to the pure-Rust path).
    Empty,
}

/// Per-scan working memory; pooled because `Matcher::candidates` takes `&self` on any thread.
struct ScanScratch {
    hs: Scratch,
    /// Raw candidates `(end, rule)` as Hyperscan reports them (thinned, see `on_match`).
    raw: Vec<(usize, u32)>,
    /// Per rule: the end of the last kept raw candidate.
    last_kept: Vec<usize>,
    /// The rules with a keyword in the current short line (see `gate`).
    line_rules: RuleBits,
    /// The rules that already have their candidate in the current short line.
    line_reported: RuleBits,
    /// The rules with a keyword in the window of a match in a long line.
    window_rules: RuleBits,
}

/// Hyperscan for the rules it can run, the keyword engine for the others.
pub struct HyperscanMatcher {
    database: Option<BlockDatabase>,
    source: DatabaseSource,
    pool: Mutex<Vec<ScanScratch>>,
    /// Every rule's keywords: candidates for the rules Hyperscan does not run, the keyword check
    /// of those it does (see `gate`), and the detector's (see [`Matcher::keyword_index`]).
    keywords: Arc<KeywordIndex>,
    /// Whether some rule is not in the database (its candidates come from `keywords`).
    falls_back: bool,
    /// Per rule: whether Hyperscan runs it.
    in_database: Vec<bool>,
    /// Per rule: a regex match counts only where one of the rule's keywords is near (it has
    /// some, and Hyperscan runs its regex rather than its keywords; see `gate`).
    gated: Vec<bool>,
    /// Per rule: Hyperscan looks for the rule's keywords instead of its regex, so its
    /// candidates are keyword hits and need no keyword check.
    keyword_mode: Vec<bool>,
    /// Per rule: `max_match_len + 64`, the half-width of the window `detect` confirms in long lines.
    reach: Vec<usize>,
    /// Per rule: raw match ends closer than this on one line are thinned to one (`detect`
    /// confirms ±`reach` around the kept one, which must cover the dropped one's match).
    spacing: Vec<usize>,
}

impl HyperscanMatcher {
    /// Builds the engine for `rules`: loads the database from the cache or compiles it. Rules
    /// Hyperscan must not or cannot run fall back to the keyword path; an error means no database
    /// could be built at all.
    pub fn new(rules: &RuleSet, options: &HyperscanOptions) -> Result<Self, EngineError> {
        Self::new_reporting(rules, options, &mut |_| {})
    }

    /// [`HyperscanMatcher::new`], handing a rejected cache ([`EngineWarning::CacheRejected`]) to
    /// `warn`.
    pub fn new_reporting(
        rules: &RuleSet,
        options: &HyperscanOptions,
        warn: &mut dyn FnMut(EngineWarning),
    ) -> Result<Self, EngineError> {
        let matcher = Self::build(rules, options, CacheUse::Load)?;
        // Whoever runs as us (the child of `logredact run`) can forge a cache file that passes
        // every file check: a loaded database is only used once it finds every rule's examples.
        if matcher.source == DatabaseSource::Cache && !matcher.finds_every_example(rules) {
            warn(EngineWarning::CacheRejected);
            return Self::build(rules, options, CacheUse::Replace);
        }
        Ok(matcher)
    }

    /// Whether every example of every rule gets a candidate of its rule (the check of a loaded
    /// database, see `hs_cache`; examples are fake secrets, and nothing is printed).
    fn finds_every_example(&self, rules: &RuleSet) -> bool {
        let mut out = Vec::new();
        rules.rules.iter().enumerate().all(|(i, rule)| {
            rule.examples.iter().all(|example| {
                out.clear();
                self.candidates(example.as_bytes(), &mut out);
                out.iter().any(|c| c.rule as usize == i)
            })
        })
    }

    fn build(
        rules: &RuleSet,
        options: &HyperscanOptions,
        cache: CacheUse,
    ) -> Result<Self, EngineError> {
        let mut flags = PatternFlags::MULTILINE;
        if options.som_leftmost {
            flags |= PatternFlags::SOM_LEFTMOST;
        }
        let key = hs_build::cache_key(rules, options, flags);
        // A rule without an example could be switched off by a forged file unnoticed.
        let verifiable = rules.rules.iter().all(|r| !r.examples.is_empty());
        let cached = options
            .cache_dir
            .as_ref()
            .filter(|_| cache == CacheUse::Load && verifiable)
            .and_then(|dir| hs_cache::load(dir, &key))
            .filter(|entry| {
                let n = rules.rules.len() as u32;
                entry
                    .in_database
                    .iter()
                    .chain(&entry.keyword_mode)
                    .all(|&i| i < n)
            })
            .and_then(|entry| hs_build::usable_database(&entry.database).map(|db| (db, entry)));
        let (database, plan, source) = match cached {
            Some((db, entry)) => {
                let plan = Plan::from_entry(rules.rules.len(), &entry);
                (Some(db), plan, DatabaseSource::Cache)
            }
            None => {
                let started = Instant::now();
                let (database, plan) = hs_build::compile(rules, options, flags)?;
                if let (Some(dir), Some(db)) = (&options.cache_dir, &database) {
                    if started.elapsed() >= options.cache_after {
                        // A cache that cannot be written only costs the next start-up time.
                        if let Ok(bytes) = db.serialize() {
                            let _ = hs_cache::store(dir, &key, &plan.entry(bytes.to_vec()));
                        }
                    }
                }
                let source = if database.is_some() {
                    DatabaseSource::Compiled
                } else {
                    DatabaseSource::Empty
                };
                (database, plan, source)
            }
        };
        let Plan {
            in_database,
            keyword_mode,
        } = plan;

        let keywords = Arc::new(KeywordIndex::new(rules)?);
        let gated = rules
            .rules
            .iter()
            .zip(&keyword_mode)
            .map(|(r, &by_keyword)| !r.keywords.is_empty() && !by_keyword)
            .collect();
        // A match ending at a thinned-out end lies within `reach` of the kept one when ends
        // are match ends (spacing up to max_match_len); a keyword end can sit at the start of
        // a match that reaches max_match_len further, so keyword hits keep one per 64 bytes.
        let spacing: Vec<usize> = rules
            .rules
            .iter()
            .zip(&keyword_mode)
            .map(|(r, &by_keyword)| match by_keyword {
                true => r.max_match_len.clamp(1, 64),
                false => r.max_match_len.max(1),
            })
            .collect();
        let matcher = HyperscanMatcher {
            source,
            pool: Mutex::new(Vec::new()),
            falls_back: in_database.iter().any(|&runs| !runs),
            keywords,
            gated,
            keyword_mode,
            reach: rules.rules.iter().map(|r| r.max_match_len + 64).collect(),
            spacing,
            in_database,
            database,
        };
        // One scratch now: allocation errors show at build time, and the first batch is not slower.
        if let Some(scratch) = matcher.take_scratch() {
            matcher.put_back(scratch);
        } else if matcher.database.is_some() {
            return Err(EngineError::HyperscanScratch);
        }
        Ok(matcher)
    }

    /// Where the database came from (for tests and `--stats`).
    pub fn database_source(&self) -> DatabaseSource {
        self.source
    }

    fn take_scratch(&self) -> Option<ScanScratch> {
        let db = self.database.as_ref()?;
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        if pooled.is_some() {
            return pooled;
        }
        Some(ScanScratch {
            hs: db.alloc_scratch().ok()?,
            raw: Vec::new(),
            last_kept: vec![usize::MAX; self.in_database.len()],
            line_rules: RuleBits::default(),
            line_reported: RuleBits::default(),
            window_rules: RuleBits::default(),
        })
    }

    fn put_back(&self, scratch: ScanScratch) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(scratch);
        }
    }

    /// Runs the database over `haystack`, filling `s.raw`. Returns false if Hyperscan failed.
    fn scan(&self, db: &BlockDatabase, haystack: &[u8], s: &mut ScanScratch) -> bool {
        s.raw.clear();
        s.last_kept.fill(usize::MAX);
        for piece in scan_pieces(haystack, MAX_SCAN_BYTES) {
            let offset = piece.start;
            let (raw, last_kept, spacing) = (&mut s.raw, &mut s.last_kept, &self.spacing);
            let result = db.scan(&haystack[piece], &s.hs, |id, _from, to, _flags| {
                let (rule, end) = (id as usize, offset + to as usize);
                // Thin out the many ends one match region produces (`[a-z]{20,64}` ends at 45
                // places): keep an end unless a kept one of the same rule lies within `spacing`
                // on the same line. `detect` confirms whole short lines, and windows of ±reach
                // (> spacing) in long ones, so the kept end still covers the dropped one's match.
                // Only ends after the kept one are thinned: an end reported out of order (some
                // assertions allow it) is always kept.
                let last = last_kept[rule];
                let near = last != usize::MAX && last <= end && end - last < spacing[rule];
                if near && memchr(b'\n', &haystack[last..end]).is_none() {
                    return Matching::Continue;
                }
                last_kept[rule] = end;
                raw.push((end, id));
                Matching::Continue
            });
            if result.is_err() {
                return false;
            }
        }
        true
    }

    /// Turns `s.raw` into candidates: rules with keywords only where a keyword is near enough,
    /// told by one pass of the keyword automaton over the line (or the window) for every rule.
    fn gate(&self, haystack: &[u8], s: &mut ScanScratch, out: &mut Vec<Candidate>) {
        s.raw.sort_unstable();
        let rules = self.in_database.len();
        // The line of the last end (its rules are in `s.line_rules` when it is short).
        let mut line: Option<std::ops::Range<usize>> = None;
        for &(end, rule) in &s.raw {
            if !self.gated[rule as usize] {
                out.push(Candidate { at: end, rule });
                continue;
            }
            let current = match &line {
                Some(l) if l.start <= end && end <= l.end => l.clone(),
                _ => {
                    let l = line_around(haystack, end);
                    if l.len() <= WHOLE_LINE_LIMIT {
                        self.keywords
                            .rules_with_keywords_in(&haystack[l.clone()], &mut s.line_rules);
                        s.line_reported.clear(rules);
                    }
                    line = Some(l.clone());
                    l
                }
            };
            if current.len() <= WHOLE_LINE_LIMIT {
                // One candidate per rule and short line is enough.
                if s.line_rules.contains(rule) && !s.line_reported.contains(rule) {
                    s.line_reported.set(rule);
                    out.push(Candidate { at: end, rule });
                }
            } else {
                let reach = self.reach[rule as usize];
                let window =
                    end.saturating_sub(reach).max(current.start)..(end + reach).min(current.end);
                self.keywords
                    .rules_with_keywords_in(&haystack[window], &mut s.window_rules);
                if s.window_rules.contains(rule) {
                    out.push(Candidate { at: end, rule });
                }
            }
        }
    }

    /// The safe answer when Hyperscan fails mid-scan (it should not: the database was
    /// smoke-tested): what the pure-Rust engine would report for the rules Hyperscan runs.
    fn candidates_without_hyperscan(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        self.keywords
            .candidates_for(haystack, out, |rule| self.in_database[rule as usize]);
    }
}

impl Matcher for HyperscanMatcher {
    fn name(&self) -> &'static str {
        "hyperscan"
    }

    fn candidates(&self, haystack: &[u8], out: &mut Vec<Candidate>) {
        if self.falls_back {
            self.keywords
                .candidates_for(haystack, out, |rule| !self.in_database[rule as usize]);
        }
        let Some(db) = &self.database else { return };
        let Some(mut scratch) = self.take_scratch() else {
            self.candidates_without_hyperscan(haystack, out);
            return;
        };
        if self.scan(db, haystack, &mut scratch) {
            self.gate(haystack, &mut scratch, out);
        } else {
            self.candidates_without_hyperscan(haystack, out);
        }
        self.put_back(scratch);
    }

    fn keyword_index(&self) -> Option<Arc<KeywordIndex>> {
        Some(Arc::clone(&self.keywords))
    }

    /// `hyperscan` (Hyperscan runs the regex), `hs-keywords` (Hyperscan looks for the keywords,
    /// see `hs_compat::keywords_stand_in`) or `regex` (the pure-Rust path).
    fn engine_of(&self, rule: usize) -> &'static str {
        match (self.in_database.get(rule), self.keyword_mode.get(rule)) {
            (Some(true), Some(true)) => "hs-keywords",
            (Some(true), _) => "hyperscan",
            _ => "regex",
        }
    }
}

/// Splits `haystack` into pieces of at most `limit` bytes for `hs_scan`: at line ends where
/// possible; a single longer line in pieces overlapping by more than any match can be long.
fn scan_pieces(haystack: &[u8], limit: usize) -> Vec<std::ops::Range<usize>> {
    let overlap = (MAX_MATCH_LEN_CAP + 64).min(limit / 2);
    let mut pieces = Vec::new();
    let mut start = 0;
    while haystack.len() - start > limit {
        let end = start + limit;
        match memrchr(b'\n', &haystack[start..end]) {
            Some(nl) if nl > 0 => {
                pieces.push(start..start + nl + 1);
                start += nl + 1;
            }
            _ => {
                pieces.push(start..end);
                start = end - overlap;
            }
        }
    }
    pieces.push(start..haystack.len());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml: &str) -> RuleSet {
        let mut set = RuleSet::default();
        set.add_toml("t.toml", toml).unwrap();
        set
    }

    fn candidates(m: &HyperscanMatcher, text: &[u8]) -> Vec<Candidate> {
        let mut out = Vec::new();
        m.candidates(text, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn match_without_keyword_in_its_line_is_not_a_candidate() {
        let set = rules("[[rules]]\nid='t'\nregex='''tok_[a-z]{8}'''\nkeywords=['token']\n");
        let m = HyperscanMatcher::new(&set, &HyperscanOptions::uncached()).unwrap();
        assert_eq!(m.engine_of(0), "hyperscan");
        let text = b"tok_abcdefgh\ntoken tok_abcdefgh\n";
        assert_eq!(candidates(&m, text), vec![Candidate { at: 31, rule: 0 }]);
    }

    /// In a line too long to confirm whole, a match end counts only with a keyword of its rule
    /// inside the window `detect` confirms around it; one keyword of another rule does not count.
    #[test]
    fn in_a_long_line_the_keyword_must_be_near_the_match() {
        let set = rules(
            "[[rules]]\nid='t'\nregex='''tok_[a-z]{8}'''\nkeywords=['token']\n\
             [[rules]]\nid='o'\nregex='''zzz'''\nkeywords=['other']\n",
        );
        let m = HyperscanMatcher::new(&set, &HyperscanOptions::uncached()).unwrap();
        let mut line = vec![b'.'; 3 * WHOLE_LINE_LIMIT];
        let near = WHOLE_LINE_LIMIT;
        line[near - 10..near - 5].copy_from_slice(b"TOKEN");
        line[near..near + 12].copy_from_slice(b"tok_abcdefgh");
        let far = 2 * WHOLE_LINE_LIMIT;
        line[far - 10..far - 5].copy_from_slice(b"other");
        line[far..far + 12].copy_from_slice(b"tok_abcdefgh");
        assert_eq!(
            candidates(&m, &line),
            vec![Candidate {
                at: near + 12,
                rule: 0
            }]
        );
    }

    #[test]
    fn rejected_and_incompatible_rules_fall_back_alone() {
        let set = rules(
            "[[rules]]\nid='ok'\nregex='''abc[0-9]{4}'''\nkeywords=['abc']\n\
             [[rules]]\nid='anchored'\nregex='''\\Aabc'''\nkeywords=['abc']\n\
             [[rules]]\nid='empty'\nregex='''x*'''\nkeywords=['abc']\n",
        );
        let m = HyperscanMatcher::new(&set, &HyperscanOptions::uncached()).unwrap();
        let engines: Vec<_> = (0..3).map(|i| m.engine_of(i)).collect();
        assert_eq!(engines, ["hyperscan", "regex", "regex"]);
    }

    #[test]
    fn many_ends_of_one_match_are_thinned_per_line() {
        let set = rules("[[rules]]\nid='w'\nregex='''[a-z]{4,8}'''\n");
        let m = HyperscanMatcher::new(&set, &HyperscanOptions::uncached()).unwrap();
        let found = candidates(&m, b"abcdefghijklmnop\nabcd\n");
        // 16 letters end matches at 13 places: thinned to one per 8 bytes; the next line keeps its own.
        assert_eq!(
            found.iter().map(|c| c.at).collect::<Vec<_>>(),
            vec![4, 12, 21]
        );
    }

    #[test]
    fn scan_pieces_cut_at_lines_and_overlap_long_ones() {
        let text = b"aaaa\nbbbb\ncccccccccccccccccccc";
        let pieces = scan_pieces(text, 8);
        assert_eq!(pieces[0], 0..5);
        assert_eq!(pieces[1], 5..10);
        assert!(pieces.windows(2).all(|w| w[1].start <= w[0].end));
        assert!(pieces.iter().all(|p| p.len() <= 8));
        assert_eq!(pieces.last().unwrap().end, text.len());
    }

    #[test]
    fn fallback_without_hyperscan_covers_keywords() {
        let set = rules("[[rules]]\nid='t'\nregex='''tok_[a-z]{8}'''\nkeywords=['TOKEN']\n");
        let m = HyperscanMatcher::new(&set, &HyperscanOptions::uncached()).unwrap();
        let mut out = Vec::new();
        m.candidates_without_hyperscan(b"x Token y\nzz tOkEn", &mut out);
        assert_eq!(out.iter().map(|c| c.at).collect::<Vec<_>>(), vec![2, 13]);
    }
}
