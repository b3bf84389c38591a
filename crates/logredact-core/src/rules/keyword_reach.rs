//! Keyword reach: how far into a match, at most, one of its rule's keywords starts, when every
//! match holds one.
//!
//! Why: the keyword engine puts a rule's candidate at the start of the first occurrence of its
//! keywords in a line. If every match holds a keyword starting at most `reach` bytes after the
//! match's own start, no match starts before that candidate minus `reach`, so `detect` may start
//! the rule's search there instead of at the line's start and find exactly the same matches
//! (realistic corpus: 28 % fewer bytes searched; most lines say where the message starts, or
//! which field, long before their first keyword).
//!
//! How: a syntax-tree walk over the rule's confirm pattern (the widened one that `detect` runs).
//! A part whose matches are a small finite set of strings (`(?i)token`, `(?:api|app)[_.-]?key`)
//! is expanded, ASCII lower-cased as the keyword engine compares, and holds a keyword if every
//! string does; a concatenation looks for such a part (or run of parts) after a prefix of
//! bounded length. Anything else has no reach: the search starts at the line's start as before.
//!
//! Owns: the analysis. Must never: claim a reach that some match exceeds (a search would then
//! start after a secret); when unsure it answers `None`.

use std::collections::HashMap;
use std::rc::Rc;

use regex_syntax::hir::{Class, Hir, HirKind};

/// Expansions larger than this give up (the built-in rules need at most a few dozen strings
/// where it matters; larger sets only cost load time).
const MAX_STRINGS: usize = 256;
/// Classes with more distinct lower-cased bytes than this are not expanded (`[_.-]` is, `\w`
/// is not).
const MAX_CLASS_BYTES: usize = 8;
/// Repeats with a larger upper bound are not expanded.
const MAX_REPEAT: u32 = 8;

/// The keyword reach of a rule's confirm pattern, parsed (`hir`, the widened pattern that
/// `detect` runs), for its `keywords`: `Some(n)` if every match holds one of them starting at
/// most `n` bytes after the match's start, compared as the keyword engine compares (ASCII case
/// folded).
pub(super) fn keyword_reach(hir: &Hir, keywords: &[String]) -> Option<usize> {
    let keywords: Vec<Vec<u8>> = keywords
        .iter()
        .map(|k| k.as_bytes().to_ascii_lowercase())
        .collect();
    if keywords.is_empty() || keywords.iter().any(|k| k.is_empty()) {
        return None;
    }
    Analysis {
        keywords: &keywords,
        strings: HashMap::new(),
    }
    .reach(hir)
}

/// The strings a part matches, lower-cased, or `None` if there are too many (or infinitely many).
type Strings = Option<Rc<Vec<Vec<u8>>>>;

struct Analysis<'k> {
    keywords: &'k [Vec<u8>],
    /// [`Analysis::strings`] per node, so that each subtree is expanded once.
    strings: HashMap<*const Hir, Strings>,
}

impl Analysis<'_> {
    /// Where a keyword starts in every match of `hir`, at the latest (see the module docs).
    fn reach(&mut self, hir: &Hir) -> Option<usize> {
        if let Some(strings) = self.strings(hir) {
            return self.reach_in(&strings);
        }
        match hir.kind() {
            HirKind::Capture(c) => self.reach(&c.sub),
            // The first repetition starts where the repeat does.
            HirKind::Repetition(r) if r.min >= 1 => self.reach(&r.sub),
            HirKind::Alternation(branches) => branches
                .iter()
                .try_fold(0, |most, b| Some(most.max(self.reach(b)?))),
            HirKind::Concat(parts) => self.reach_in_concat(parts),
            _ => None,
        }
    }

    /// A part, or a run of parts expanded together (a keyword may span them: `secret` `[_.-]?`
    /// `key`), that holds a keyword, after parts of bounded length.
    fn reach_in_concat(&mut self, parts: &[Hir]) -> Option<usize> {
        let mut before = 0usize;
        for (i, part) in parts.iter().enumerate() {
            if let Some(reach) = self.reach(part) {
                return before.checked_add(reach);
            }
            let mut run = vec![Vec::new()];
            for next in &parts[i..] {
                let Some(more) = self.strings(next).and_then(|s| product(&run, &s)) else {
                    break;
                };
                run = more;
                if let Some(reach) = self.reach_in(&run) {
                    return before.checked_add(reach);
                }
            }
            before = before.checked_add(part.properties().maximum_len()?)?;
        }
        None
    }

    /// The latest first keyword start over `strings`, if every one holds a keyword.
    fn reach_in(&self, strings: &[Vec<u8>]) -> Option<usize> {
        strings.iter().try_fold(0, |most, s| {
            let first = self
                .keywords
                .iter()
                .filter_map(|k| s.windows(k.len()).position(|w| w == k.as_slice()))
                .min()?;
            Some(most.max(first))
        })
    }

    /// Every string `hir` matches, lower-cased, if there are at most [`MAX_STRINGS`].
    fn strings(&mut self, hir: &Hir) -> Strings {
        let key = hir as *const Hir;
        if let Some(known) = self.strings.get(&key) {
            return known.clone();
        }
        let strings = self.expand(hir).map(Rc::new);
        self.strings.insert(key, strings.clone());
        strings
    }

    fn expand(&mut self, hir: &Hir) -> Option<Vec<Vec<u8>>> {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
            HirKind::Literal(literal) => Some(vec![literal.0.to_ascii_lowercase()]),
            HirKind::Class(class) => {
                class_bytes(class).map(|bytes| bytes.into_iter().map(|b| vec![b]).collect())
            }
            HirKind::Capture(c) => self.strings(&c.sub).map(|s| s.as_ref().clone()),
            HirKind::Repetition(r) => {
                let max = r.max.filter(|&m| m <= MAX_REPEAT)?;
                let once = self.strings(&r.sub)?;
                let mut all = Vec::new();
                let mut times = vec![Vec::new()];
                for n in 0..=max {
                    if n >= r.min {
                        all.extend(times.iter().cloned());
                    }
                    if n < max {
                        times = product(&times, &once)?;
                    }
                }
                deduplicated(all)
            }
            HirKind::Concat(parts) => parts.iter().try_fold(vec![Vec::new()], |run, part| {
                product(&run, &self.strings(part)?)
            }),
            HirKind::Alternation(branches) => {
                let mut all = Vec::new();
                for b in branches {
                    all.extend(self.strings(b)?.iter().cloned());
                    if all.len() > MAX_STRINGS * 2 {
                        return None;
                    }
                }
                deduplicated(all)
            }
        }
    }
}

/// The distinct lower-cased bytes of `class`, if ASCII and at most [`MAX_CLASS_BYTES`].
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    // Both cases of each letter at most, before any byte is listed.
    let size: u32 = ranges.iter().map(|(s, e)| e - s + 1).sum();
    if size as usize > 2 * MAX_CLASS_BYTES || ranges.iter().any(|&(_, e)| e > 0x7f) {
        return None;
    }
    let mut bytes: Vec<u8> = ranges
        .iter()
        .flat_map(|&(s, e)| s..=e)
        .map(|b| (b as u8).to_ascii_lowercase())
        .collect();
    bytes.sort_unstable();
    bytes.dedup();
    (bytes.len() <= MAX_CLASS_BYTES).then_some(bytes)
}

/// Every `a` followed by every `b`, if at most [`MAX_STRINGS`].
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len().saturating_mul(b.len()) > MAX_STRINGS {
        return None;
    }
    let mut all = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            all.push([x.as_slice(), y].concat());
        }
    }
    deduplicated(all)
}

fn deduplicated(mut strings: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    strings.sort_unstable();
    strings.dedup();
    (strings.len() <= MAX_STRINGS).then_some(strings)
}

#[cfg(test)]
mod tests {
    use super::keyword_reach;
    use crate::rules::parse_pattern;

    fn reach(pattern: &str, keywords: &[&str]) -> Option<usize> {
        let hir = parse_pattern(pattern).unwrap();
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        keyword_reach(&hir, &keywords)
    }

    #[test]
    fn a_keyword_in_every_match_after_a_bounded_prefix_has_a_reach() {
        assert_eq!(reach(r"ghp_[A-Za-z0-9]{36}", &["ghp_"]), Some(0));
        assert_eq!(reach(r"(?i)\bx-api-token:\s?\w+", &["token"]), Some(6));
        // Across parts, case-insensitively, the latest branch counting.
        assert_eq!(
            reach(
                r"(?i)(?:api|ingest)[_.-]?key\s*=\s*(\w+)",
                &["_key", "apikey", "ingestkey"]
            ),
            None,
            "`api.key` holds none of the keywords"
        );
        assert_eq!(
            reach(
                r"(?i)(?:api|ingest)[_-]?key=(\w+)",
                &["_key", "-key", "apikey", "ingestkey"]
            ),
            Some(6)
        );
        // After a bounded prefix: `(?:next|page)[_.-]?` at most 5 bytes.
        assert_eq!(
            reach(r"(?i)(?:(?:next|page)_)?token=\w+", &["token"]),
            Some(5)
        );
    }

    #[test]
    fn without_a_keyword_in_every_match_there_is_no_reach() {
        // Context keywords outside the match.
        assert_eq!(reach(r"[0-9a-f]{40}", &["github"]), None);
        // A keyword behind an unbounded gap.
        assert_eq!(reach(r"curl\b.*?\s-u\s(\S+)", &["-u"]), None);
        // One branch without one.
        assert_eq!(reach(r"(?:token|key)=(\w+)", &["token"]), None);
        // An optional keyword.
        assert_eq!(reach(r"(?:token)?=(\w+)", &["token"]), None);
        // An empty keyword is in every match but says nothing about where.
        assert_eq!(reach(r"token", &[""]), None);
    }
}
