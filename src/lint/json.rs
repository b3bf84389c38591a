//! The JSON-lines report: one object per finding, written as it is found.
//!
//! Owns: the field names (`path`, `line`, `column`, `end_column` (on `line`), `end_line` (the
//! last line of a secret split over partial records), `rule`, `description`, `fingerprint`,
//! `preview`). Must never: write a secret (the preview is redacted, the
//! fingerprint keyed).

use std::io::{self, Write};

use serde_json::json;

use crate::rules::Rule;

use super::scan::Located;
use super::Reporter;

pub struct JsonReporter<W: Write> {
    out: W,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        JsonReporter { out }
    }
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn finding(&mut self, path: &str, f: &Located, rule: &Rule) -> io::Result<()> {
        let record = json!({
            "path": path,
            "line": f.line,
            "column": f.column,
            "end_column": f.end_column,
            "end_line": f.end_line,
            "rule": rule.id,
            "description": rule.description,
            "fingerprint": f.fingerprint,
            "preview": f.preview,
        });
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self, _rules: &[Rule], _stable_fingerprints: bool) -> io::Result<()> {
        self.out.flush()
    }
}
