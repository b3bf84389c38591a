//! Redaction: the text that replaces a secret, and splicing it into a line.
//!
//! Owns: replacement markers (`[REDACTED:<rule-id>]`). Must never: let a replacement contain any
//! byte of the secret beyond what a mode documents as public, or produce text that `detect` would
//! report again (markers start with `detect::MARKER_OPEN`, which `detect` skips).

use crate::detect::Finding;
use crate::rules::RuleSet;

/// Builds replacements for findings.
pub struct Redactor {
    /// `[REDACTED:<id>]` per rule, built once.
    markers: Vec<Vec<u8>>,
}

impl Redactor {
    pub fn new(rules: &RuleSet) -> Self {
        let markers = rules
            .rules
            .iter()
            .map(|r| format!("[REDACTED:{}]", r.id).into_bytes())
            .collect();
        Redactor { markers }
    }

    /// Appends the replacement for `finding` (whose secret is `secret`) to `out`.
    pub fn write_replacement(&self, finding: &Finding, secret: &[u8], out: &mut Vec<u8>) {
        let _ = secret;
        out.extend_from_slice(&self.markers[finding.rule as usize]);
    }

    /// Appends `text` to `out` with every finding replaced. `findings` are sorted, do not
    /// overlap, and are offsets into `text`.
    pub fn apply(&self, text: &[u8], findings: &[Finding], out: &mut Vec<u8>) {
        let mut copied = 0;
        for f in findings {
            out.extend_from_slice(&text[copied..f.start]);
            self.write_replacement(f, &text[f.start..f.end], out);
            copied = f.end;
        }
        out.extend_from_slice(&text[copied..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_secret_spans() {
        let mut set = RuleSet::default();
        set.add_toml("t", "[[rules]]\nid='pw'\nregex='x'\n")
            .unwrap();
        let r = Redactor::new(&set);
        let f = |start, end| Finding {
            rule: 0,
            start,
            end,
            match_start: start,
            match_end: end,
        };
        let mut out = Vec::new();
        r.apply(b"a=111 b=222", &[f(2, 5), f(8, 11)], &mut out);
        assert_eq!(out, b"a=[REDACTED:pw] b=[REDACTED:pw]");
    }
}
