//! Which rule regexes Hyperscan may run: the syntax where Hyperscan would *accept* a pattern but
//! read it differently from Rust's `regex` (so it could miss matches the pure-Rust engine finds).
//!
//! Owns: a conservative text check of a rule's pattern. Must never: decide a match, or let a
//! pattern through when in doubt — a rejected rule still runs, on the pure-Rust path.
//!
//! Hyperscan rejects outright what it does not support (the compiler says so, and that rule falls
//! back too). This module catches the quiet differences:
//! - `\A`, `\z`: Rust anchors them at the line being confirmed; Hyperscan at the batch's ends.
//! - `\<`, `\>`, `\b{…}`: Rust word-boundary assertions; PCRE reads `\<` as a literal `<`.
//! - nested classes `[a[bc]]` and class set operations `&&`, `--`, `~~`: Rust only.
//!
//! Hyperscan compiles each rule's pattern with its wide bounded repeats widened, as the confirm
//! stage does ([`crate::rules::repeats`]).
//!
//! Semantics that agree, and why (the differential tests check them): with `unicode(false)` Rust's
//! `\w \d \s \b .` and `(?i)` are ASCII, as Hyperscan's are without `HS_FLAG_UTF8`/`HS_FLAG_UCP`;
//! Hyperscan runs with `HS_FLAG_MULTILINE`, so `^`/`$` match at line edges, which is where Rust's
//! `^`/`$` match when `detect` confirms one line. Hyperscan's `\v` is wider than Rust's (vertical
//! whitespace, not only VT): a superset only adds candidates, which the confirm stage drops.

/// Keywords shorter than this are too common to stand in for a rule's regex.
const SHORTEST_STAND_IN_KEYWORD: usize = 4;

/// Words that occur in ordinary log lines ("password policy updated", "token refreshed"): as
/// stand-ins they would send a tenth of all lines to the confirm stage (measured on the typical
/// corpus: 7 000 candidates in 57 000 lines, against 600 without them).
const COMMON_LOG_WORDS: &[&str] = &[
    "access",
    "api",
    "apikey",
    "auth",
    "authorization",
    "basic",
    "bearer",
    "cookie",
    "credential",
    "credentials",
    "key",
    "login",
    "oauth",
    "pass",
    "passwd",
    "password",
    "private",
    "pwd",
    "secret",
    "session",
    "token",
    "user",
    "username",
];

/// Whether `keyword` is rare enough in logs to stand in for a rule's regex.
fn rare_keyword(keyword: &str) -> bool {
    let word = keyword
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_ascii_lowercase();
    keyword.len() >= SHORTEST_STAND_IN_KEYWORD && !COMMON_LOG_WORDS.contains(&word.as_str())
}

/// Whether Hyperscan should look for `keywords` instead of running `pattern`: the pattern has no
/// literal of 3+ bytes to start or end on, so Hyperscan runs an automaton over most of the input
/// (`(?:[?&;]|\bsig=)...` alone cut the whole database's scan from ~3 GB/s to ~0.5 GB/s), while
/// every keyword is rare in logs (4+ bytes, not a [`COMMON_LOG_WORDS`] word). Findings stay the same: a keyword-mode rule is
/// confirmed on exactly the lines where a keyword occurs, as in the pure-Rust engine.
pub fn keywords_stand_in(pattern: &str, keywords: &[String]) -> bool {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    if keywords.is_empty() || !keywords.iter().all(|k| rare_keyword(k)) {
        return false;
    }
    let parsed = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern);
    let Ok(hir) = parsed else { return false };
    let weak = |kind| {
        let literals = Extractor::new().kind(kind).extract(&hir);
        literals.min_literal_len().map_or(true, |len| len < 3)
    };
    weak(ExtractKind::Prefix) && weak(ExtractKind::Suffix)
}

/// A Hyperscan expression matching any of `keywords`, ASCII-case-insensitively (as the keyword
/// engine compares them).
pub fn keyword_expression(keywords: &[String]) -> String {
    let alternatives: Vec<String> = keywords.iter().map(|k| regex_syntax::escape(k)).collect();
    format!("(?i)(?:{})", alternatives.join("|"))
}

/// Why Hyperscan must not run `pattern`, if it must not.
pub fn unsupported_reason(pattern: &str) -> Option<&'static str> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    // Depth of `[...]` classes we are in; Rust allows nesting, so track it to stay in sync.
    let mut class_depth = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            let next = bytes.get(i + 1).copied();
            if class_depth == 0 {
                match next {
                    Some(b'A') | Some(b'z') | Some(b'Z') => {
                        return Some("uses \\A or \\z (anchored to the batch in Hyperscan)")
                    }
                    Some(b'<') | Some(b'>') => return Some("uses \\< or \\> word boundaries"),
                    Some(b'b') | Some(b'B') if bytes.get(i + 2) == Some(&b'{') => {
                        return Some("uses \\b{...} word boundaries")
                    }
                    _ => {}
                }
            }
            i += 2;
            continue;
        }
        if class_depth > 0 {
            match b {
                b'[' if bytes.get(i + 1) == Some(&b':') => {
                    // POSIX class `[:alpha:]`: both engines support it; skip to its `:]`.
                    match pattern[i..].find(":]") {
                        Some(end) => i += end + 2,
                        None => return Some("unterminated POSIX class"),
                    }
                    continue;
                }
                b'[' => return Some("uses a nested character class"),
                b'&' | b'-' | b'~' if bytes.get(i + 1) == Some(&b) => {
                    return Some("uses character class set operations (&&, --, ~~)")
                }
                b']' => class_depth -= 1,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'[' {
            class_depth = 1;
            i += 1;
            // A leading `^` and a leading `]` are part of the class, not its end.
            if bytes.get(i) == Some(&b'^') {
                i += 1;
            }
            if bytes.get(i) == Some(&b']') {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unsupported_reason;

    #[test]
    fn keywords_stand_in_for_patterns_without_anchors() {
        use super::{keyword_expression, keywords_stand_in};
        let kw = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let sas = r"(?:[?&;]|\bsig=)(?:sig=)?([A-Za-z0-9%+/]{43,100})(?:[&;\s]|$)";
        assert!(keywords_stand_in(sas, &kw(&["sig="])));
        assert!(!keywords_stand_in(sas, &kw(&["sig"])), "keyword too short");
        assert!(
            !keywords_stand_in(sas, &kw(&["sig=", "-Token"])),
            "common word"
        );
        assert!(!keywords_stand_in(
            r"\b(ghp_[A-Za-z0-9]{36})\b",
            &kw(&["ghp_"])
        ));
        assert!(!keywords_stand_in(r"[a-z]{8}", &[]));
        assert_eq!(
            keyword_expression(&kw(&["a.b", "sig="])),
            r"(?i)(?:a\.b|sig=)"
        );
    }

    #[test]
    fn ordinary_rule_patterns_pass() {
        for p in [
            r"\b(ghp_[A-Za-z0-9]{36})\b",
            r"(?i)password\s*[:=]\s*([^\s'\x22]{4,64})",
            r"[]a-z]{3}",
            r"[^]a]x",
            r"[[:alnum:]_-]{20,40}",
            r"^key=([a-z0-9\-]{10})$",
            r"a\[b\]c",
            r"[\[\]-]+",
        ] {
            assert_eq!(unsupported_reason(p), None, "{p}");
        }
    }

    #[test]
    fn quiet_differences_are_caught() {
        for p in [
            r"\Atoken",
            r"token\z",
            r"\<word\>",
            r"\b{start}x",
            r"[a[bc]]",
            r"[a-z&&[^aeiou]]",
            r"[a-z--b]",
            r"[a~~b]",
        ] {
            assert!(unsupported_reason(p).is_some(), "{p}");
        }
    }
}
