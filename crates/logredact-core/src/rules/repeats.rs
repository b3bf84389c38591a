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
//! For the confirm regex only the values and the lazy gaps on every match's path are widened
//! ([`Widen::ValuesAndLazyGaps`]): elsewhere a wide gap's bound is what keeps a search short.
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
    /// For the confirm regex: every wide repeat inside a capture group (a value), and outside
    /// them a lazy gap on every match's path (`\bcurl\b[^\n]{0,300}?\s-u`), where a 300-state
    /// counter in the lazy DFA becomes one loop (realistic corpus: 102.4 -> 97.6 instructions per
    /// byte). Other gaps outside the values stay bounded, because the bound is what keeps a
    /// search short or a match small:
    /// - inside one alternative of several (`(?:requirepass\s|redis-cli[^\n]{0,200}?\s-a\s)`)
    ///   or an optional part (`(?:[^\n]{0,3000}?;expires=…)?`): widened, each search from a
    ///   `redis-cli` without `-a` (or a token without an expiry) reads to the line's end before
    ///   it settles for the shorter match, once per match: quadratic in the line (measured:
    ///   `redis-requirepass` fell to 0.2 MB/s in the rule speed gate). On every match's path
    ///   that cannot happen: if a later `curl` leads to a match, the gap lets the first one
    ///   reach it too, so the leftmost start matches and the search ends there;
    /// - greedy (`[^\n]{0,300}\s-u`): widened, a match would reach the line's *last* `-u` and
    ///   hide the secrets before it; a lazy gap stops at the first, as it did within the bound.
    ValuesAndLazyGaps,
}

/// `pattern` with bounded repeats wider than `widest` widened to `{m,}` where `scope` allows
/// (unchanged if there are none, or if it does not parse: the caller's compile then reports the
/// error).
pub fn widened(pattern: &str, widest: u32, scope: Widen) -> Cow<'_, str> {
    let Ok(mut ast) = ast::parse::Parser::new().parse(pattern) else {
        return Cow::Borrowed(pattern);
    };
    let place = Place {
        in_capture: scope == Widen::Everywhere,
        on_every_path: true,
    };
    if !widen_repeats(&mut ast, widest, place) {
        return Cow::Borrowed(pattern);
    }
    let mut relaxed = String::new();
    match ast::print::Printer::new().print(&ast, &mut relaxed) {
        Ok(()) => Cow::Owned(relaxed),
        Err(_) => Cow::Borrowed(pattern),
    }
}

/// Where a node sits in the pattern: inside a capture group (a value: always widened), and
/// whether every match goes through it (no alternation or repetition above it; see [`Widen`]).
#[derive(Debug, Clone, Copy)]
struct Place {
    in_capture: bool,
    on_every_path: bool,
}

impl Place {
    fn widens(self, rep: &ast::Repetition) -> bool {
        self.in_capture || (self.on_every_path && !rep.greedy)
    }

    fn off_the_path(self) -> Place {
        Place {
            on_every_path: false,
            ..self
        }
    }
}

/// Widens wide bounded repeats in place where `place` allows; returns whether anything changed.
fn widen_repeats(node: &mut Ast, widest: u32, place: Place) -> bool {
    match node {
        Ast::Repetition(rep) => {
            let mut changed = false;
            if let ast::RepetitionKind::Range(ast::RepetitionRange::Bounded(min, max)) = rep.op.kind
            {
                if max > widest && place.widens(rep) {
                    rep.op.kind = ast::RepetitionKind::Range(ast::RepetitionRange::AtLeast(min));
                    changed = true;
                }
            }
            widen_repeats(&mut rep.ast, widest, place.off_the_path()) | changed
        }
        Ast::Group(group) => {
            let capture = matches!(
                group.kind,
                ast::GroupKind::CaptureIndex(_) | ast::GroupKind::CaptureName { .. }
            );
            let place = Place {
                in_capture: place.in_capture || capture,
                ..place
            };
            widen_repeats(&mut group.ast, widest, place)
        }
        Ast::Alternation(alt) => alt.asts.iter_mut().fold(false, |changed, a| {
            widen_repeats(a, widest, place.off_the_path()) | changed
        }),
        Ast::Concat(concat) => concat.asts.iter_mut().fold(false, |changed, a| {
            widen_repeats(a, widest, place) | changed
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
        for scope in [Widen::Everywhere, Widen::ValuesAndLazyGaps] {
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
    fn the_confirm_regex_widens_values_and_lazy_gaps_on_every_path_only() {
        let p = r"(?:pass\s|cli[^\n]{0,200}?\s-a\s)(?:x{0,300}|(?P<v>[^\s]{1,256}))";
        assert_eq!(
            widened(p, 64, Widen::ValuesAndLazyGaps),
            r"(?:pass\s|cli[^\n]{0,200}?\s-a\s)(?:x{0,300}|(?P<v>[^\s]{1,}))"
        );
        assert_eq!(
            widened(p, 64, Widen::Everywhere),
            r"(?:pass\s|cli[^\n]{0,}?\s-a\s)(?:x{0,}|(?P<v>[^\s]{1,}))"
        );
        // A lazy gap on every match's path is widened (an alternation before it does not
        // matter); a greedy one, or one in an optional part, is not.
        let on_the_path = r"(?:curl|wget)[^\n]{0,300}?\s-u[^:]{0,100}:([^\s]{1,256})";
        assert_eq!(
            widened(on_the_path, 64, Widen::ValuesAndLazyGaps),
            r"(?:curl|wget)[^\n]{0,}?\s-u[^:]{0,100}:([^\s]{1,})"
        );
        let optional = r"token=([a-z]{16,64})(?:[^\n]{0,3000}?;expires=([0-9]{1,10}))?";
        assert_eq!(widened(optional, 64, Widen::ValuesAndLazyGaps), optional);
    }
}
