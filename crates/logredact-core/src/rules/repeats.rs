//! Wide bounded repeats (`[A-Za-z0-9]{8,512}`, `{40,4000}`), widened to `{m,}` before a rule's
//! regex is compiled, for the confirm stage and for Hyperscan alike.
//!
//! Why: a bounded repeat is unrolled into one NFA state per repetition, so a `{8,512}` makes the
//! capture engines (bounded backtracker, PikeVM) and the lazy DFA walk hundreds of states per byte.
//! Measured on the realistic corpus (`valgrind --tool=callgrind`, 3 MB, pure-Rust engine): the
//! confirm stage ran 221 M instructions with the rules as written and 127 M widened; compiling
//! every built-in rule takes 0.6 G instead of 1.5 G instructions. Hyperscan compiles wide bounded
//! repeats slowly too (a `{64,4000}` took 7 s of a 9 s database compile).
//!
//! Why it is safe: the widened pattern matches a superset. Where a value runs on past the bound,
//! the rule as written matched a bounded prefix of it and `detect` extended the finding over the
//! rest of the value (a secret is replaced whole); widened, the match reaches the value's end by
//! itself. Each rule's examples and negative examples are checked on the widened regex by
//! `cargo test`, on every engine, and both engines confirm with this same regex.
//!
//! For the confirm regex only repeats inside capture groups (the values) are widened: a wide gap
//! before a required suffix is what bounds each search ([`Widen::CaptureGroups`]).
//!
//! Owns: the rewrite of a pattern's repeats. Must never: narrow what a pattern matches.

use std::borrow::Cow;

use regex_syntax::ast::{self, Ast};

/// Bounded repeats wider than this are widened to `{m,}`. At 64 the built-in set compiles for
/// Hyperscan in ~0.8 s CPU instead of ~1.5 s, and scans no slower than at 256 or 16
/// (`hyperscan-widen*` in `benches/engines.rs`); narrower repeats (`\s{0,16}`, `{0,20}` of a key
/// name) stay as written, so rules keep their shape where the shape is what they test.
pub const WIDEST_BOUNDED_REPEAT: u32 = 64;

/// Which bounded repeats [`widened`] may widen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widen {
    /// Every wide repeat: for Hyperscan, whose matches are only candidates (a superset costs a
    /// confirmation that finds nothing).
    Everywhere,
    /// Only repeats inside capture groups, the secret values: for the confirm regex. A wide repeat
    /// *between* a keyword and a required suffix (`redis-cli[^\n]{0,200}?\s-a\s`) is what keeps
    /// a search from every keyword short; widened, a line of keywords without the suffix costs
    /// quadratic time (measured: `redis-requirepass` fell to 0.1 MB/s in the rule speed gate).
    CaptureGroups,
}

/// `pattern` with bounded repeats wider than `widest` widened to `{m,}` where `scope` allows
/// (unchanged if there are none, or if it does not parse: the caller's compile then reports the
/// error).
pub fn widened(pattern: &str, widest: u32, scope: Widen) -> Cow<'_, str> {
    let Ok(mut ast) = ast::parse::Parser::new().parse(pattern) else {
        return Cow::Borrowed(pattern);
    };
    let inside = scope == Widen::Everywhere;
    if !widen_repeats(&mut ast, widest, inside) {
        return Cow::Borrowed(pattern);
    }
    let mut relaxed = String::new();
    match ast::print::Printer::new().print(&ast, &mut relaxed) {
        Ok(()) => Cow::Owned(relaxed),
        Err(_) => Cow::Borrowed(pattern),
    }
}

/// Widens wide bounded repeats in place (only those inside a capture group unless `inside` is
/// already true); returns whether anything changed.
fn widen_repeats(node: &mut Ast, widest: u32, inside: bool) -> bool {
    match node {
        Ast::Repetition(rep) => {
            let mut changed = false;
            if let ast::RepetitionKind::Range(ast::RepetitionRange::Bounded(min, max)) = rep.op.kind
            {
                if inside && max > widest {
                    rep.op.kind = ast::RepetitionKind::Range(ast::RepetitionRange::AtLeast(min));
                    changed = true;
                }
            }
            widen_repeats(&mut rep.ast, widest, inside) | changed
        }
        Ast::Group(group) => {
            let capture = matches!(
                group.kind,
                ast::GroupKind::CaptureIndex(_) | ast::GroupKind::CaptureName { .. }
            );
            widen_repeats(&mut group.ast, widest, inside || capture)
        }
        Ast::Alternation(alt) => alt.asts.iter_mut().fold(false, |changed, a| {
            widen_repeats(a, widest, inside) | changed
        }),
        Ast::Concat(concat) => concat.asts.iter_mut().fold(false, |changed, a| {
            widen_repeats(a, widest, inside) | changed
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{widened, Widen};

    #[test]
    fn wide_bounded_repeats_are_widened_only() {
        let p = r#"key:"((?:\\[nr]|[A-Za-z0-9+/=]){64,4000})"\s{0,8}x{3}y{2,}"#;
        let wide = r#"key:"((?:\\[nr]|[A-Za-z0-9+/=]){64,})"\s{0,8}x{3}y{2,}"#;
        for scope in [Widen::Everywhere, Widen::CaptureGroups] {
            assert_eq!(widened(p, 256, scope), wide);
            assert_eq!(widened(r"(a{1,256})", 256, scope), r"(a{1,256})");
            assert_eq!(widened(r"(unclosed", 256, scope), r"(unclosed");
        }
        assert_eq!(
            widened(r"(?i)a[b-z]{2,9000}?", 256, Widen::Everywhere),
            r"(?i)a[b-z]{2,}?"
        );
    }

    #[test]
    fn the_confirm_regex_keeps_gaps_between_keyword_and_suffix_bounded() {
        let p = r"cli[^\n]{0,200}?\s-a\s(?:x{0,300}|(?P<v>[^\s]{1,256}))";
        assert_eq!(
            widened(p, 64, Widen::CaptureGroups),
            r"cli[^\n]{0,200}?\s-a\s(?:x{0,300}|(?P<v>[^\s]{1,}))"
        );
        assert_eq!(
            widened(p, 64, Widen::Everywhere),
            r"cli[^\n]{0,}?\s-a\s(?:x{0,}|(?P<v>[^\s]{1,}))"
        );
    }
}
