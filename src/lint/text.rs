//! The text report: `path:line:col: rule-id: description`, then an indented redacted preview;
//! coloured when asked (the caller decides: a terminal and no `NO_COLOR`).
//!
//! Owns: the text layout, its colours, and making what it prints terminal-safe. Must never: print
//! anything but the located finding and its already-redacted preview, or pass a control
//! character, a newline or a bidi override from a file name or a preview to the terminal (a file
//! name in a sample set could otherwise forge report lines or drive the terminal; see [`escape`]).

use std::io::{self, Write};

use crate::rules::Rule;

use super::scan::Located;
use super::Reporter;

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

pub struct TextReporter<W: Write> {
    out: W,
    color: bool,
}

impl<W: Write> TextReporter<W> {
    pub fn new(out: W, color: bool) -> Self {
        TextReporter { out, color }
    }
}

impl<W: Write> Reporter for TextReporter<W> {
    fn finding(&mut self, path: &str, f: &Located, rule: &Rule) -> io::Result<()> {
        let (path, preview) = (escape(path), escape(&f.preview));
        // Rule ids and descriptions come from rule files, which may be someone else's too.
        let (id, description) = (escape(&rule.id), escape(&rule.description));
        if self.color {
            writeln!(
                self.out,
                "{BOLD}{path}:{}:{}:{RESET} {RED}{}{RESET}: {}\n    {DIM}|{RESET} {}",
                f.line, f.column, id, description, preview
            )
        } else {
            writeln!(
                self.out,
                "{path}:{}:{}: {}: {}\n    | {}",
                f.line, f.column, id, description, preview
            )
        }
    }

    fn finish(&mut self, _rules: &[Rule], _stable_fingerprints: bool) -> io::Result<()> {
        self.out.flush()
    }
}

/// `text` with every character that could change what a terminal shows written as an escape:
/// C0 and C1 controls and DEL (`\n`, `\r`, `\t`, `\e` as `\x1b`...), and the bidirectional
/// formatting characters (U+202A–U+202E embeddings/overrides, U+2066–U+2069 isolates, U+200E/F
/// and U+061C marks) that reorder what follows them. Borrowed when nothing needs escaping.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn controls_newlines_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("a\x1b[31mred\nb.log"), "a\\x1b[31mred\\nb.log");
        assert_eq!(escape("x\u{202e}gol.txt"), "x\\u{202e}gol.txt");
        assert_eq!(
            escape("\u{2066}\u{2069}\u{7f}\u{85}"),
            "\\u{2066}\\u{2069}\\x7f\\x85"
        );
        assert_eq!(escape("plain é path/ok.log"), "plain é path/ok.log");
    }
}
