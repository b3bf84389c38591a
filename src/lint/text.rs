//! The text report: `path:line:col: rule-id: description`, then an indented redacted preview;
//! coloured when asked (the caller decides: a terminal and no `NO_COLOR`).
//!
//! Owns: the text layout and its colours. Must never: print anything but the located finding and
//! its already-redacted preview.

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
        if self.color {
            writeln!(
                self.out,
                "{BOLD}{path}:{}:{}:{RESET} {RED}{}{RESET}: {}\n    {DIM}|{RESET} {}",
                f.line, f.column, rule.id, rule.description, f.preview
            )
        } else {
            writeln!(
                self.out,
                "{path}:{}:{}: {}: {}\n    | {}",
                f.line, f.column, rule.id, rule.description, f.preview
            )
        }
    }

    fn finish(&mut self, _rules: &[Rule], _stable_fingerprints: bool) -> io::Result<()> {
        self.out.flush()
    }
}
