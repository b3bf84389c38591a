//! `--template`: user-chosen marker text with `{rule}`, `{hash}`, `{prefix}` and `{suffix}`.
//!
//! Owns: parsing and validating a template. Must never: accept a template that could write
//! secret bytes beyond what partial mode allows, or one that `detect` would not recognise as our
//! own marker on a second pass.
//!
//! Why templates must start with `[REDACTED` (rather than teaching `detect` to skip the template's
//! literal text): `detect` drops any match that touches a `[REDACTED…]` span, from `[REDACTED` to
//! the first `]`. Skipping arbitrary user text instead would let input that happens to contain that
//! text (`***`, `<hidden>`) shield a real secret next to it from redaction, and it would make
//! idempotence depend on a per-run setting that a second run may not share. So a template is a
//! `[REDACTED…]` span: it starts with `[REDACTED`, ends with its only `]`, and holds no control
//! characters (a newline would split the line) and no `"` or `\` (which JSON lines would need
//! escaped). Placeholder values cannot break that span: rule ids are sanitised, tags are hex, and
//! kept prefix/suffix bytes come from a character set without brackets, quotes or backslashes.

use crate::finding::{MarkerPart, MARKER_OPEN};

/// Longest accepted template, in bytes.
const MAX_TEMPLATE_BYTES: usize = 256;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes written as they are.
    Literal(Vec<u8>),
    /// `{rule}`: the marker id.
    Rule,
    /// `{hash}`: the keyed-hash tag.
    Hash,
    /// `{prefix}`: the rule's public prefix.
    Prefix,
    /// `{suffix}`: the last characters partial mode shows.
    Suffix,
}

/// A validated template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template's parts, in order.
    pub segments: Vec<Segment>,
}

/// Why a `--template` was refused. The message quotes the template's own placeholders (it is
/// configuration, public already), never anything from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    reason: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--template: {}", self.reason)
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parses and validates `text`. Errors quote the template (it is a command-line argument,
    /// public already) but never anything from the input.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let bytes = text.as_bytes();
        let bad = |why: &str| {
            Err(TemplateError {
                reason: why.to_owned(),
            })
        };
        if bytes.len() > MAX_TEMPLATE_BYTES {
            return bad(&format!("longer than {MAX_TEMPLATE_BYTES} bytes"));
        }
        if !bytes.starts_with(MARKER_OPEN) {
            return bad(
                "must start with `[REDACTED` (that is how a second pass recognises its own markers)",
            );
        }
        if bytes.last() != Some(&b']') || bytes[..bytes.len() - 1].contains(&b']') {
            return bad("must end with `]` and contain no other `]`");
        }
        if bytes.iter().any(|b| b.is_ascii_control()) {
            return bad("must not contain control characters (a newline would split the line)");
        }
        if bytes.iter().any(|&b| b == b'"' || b == b'\\') {
            return bad("must not contain `\"` or `\\` (they would need escaping in JSON lines)");
        }
        let mut segments = Vec::new();
        let mut literal = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            literal.extend_from_slice(&rest.as_bytes()[..open]);
            if rest.as_bytes()[open] == b'}' {
                return bad("`}` without a matching `{`");
            }
            let Some(close) = rest[open..].find('}') else {
                return bad("`{` without a matching `}`");
            };
            let name = &rest[open + 1..open + close];
            let segment = match name {
                "rule" => Segment::Rule,
                "hash" => Segment::Hash,
                "prefix" => Segment::Prefix,
                "suffix" => Segment::Suffix,
                _ => {
                    return bad(&format!(
                        "unknown placeholder {{{name}}}: only {{rule}}, {{hash}}, {{prefix}} and \
                         {{suffix}} exist (nothing may reproduce the secret)"
                    ))
                }
            };
            if segments.contains(&segment) && matches!(segment, Segment::Prefix | Segment::Suffix) {
                return bad(&format!("{{{name}}} may appear only once"));
            }
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(segment);
            rest = &rest[open + close + 1..];
        }
        literal.extend_from_slice(rest.as_bytes());
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template { segments })
    }

    /// Whether the template has a `wanted` part.
    pub fn uses(&self, wanted: &Segment) -> bool {
        self.segments.contains(wanted)
    }

    /// The template as the marker grammar reads it back (so a second pass skips its markers).
    pub fn marker_parts(&self) -> Vec<MarkerPart> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => MarkerPart::Literal(l.clone()),
                Segment::Rule => MarkerPart::Id,
                Segment::Hash => MarkerPart::Tag,
                Segment::Prefix | Segment::Suffix => MarkerPart::Visible,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_placeholders_and_literals() {
        let t = Template::parse("[REDACTED {rule} #{hash}]").unwrap();
        assert_eq!(
            t.segments,
            vec![
                Segment::Literal(b"[REDACTED ".to_vec()),
                Segment::Rule,
                Segment::Literal(b" #".to_vec()),
                Segment::Hash,
                Segment::Literal(b"]".to_vec()),
            ]
        );
    }

    #[test]
    fn rejects_templates_that_could_leak_or_break_idempotence() {
        for (template, why) in [
            ("[REDACTED:{secret}]", "unknown placeholder {secret}"),
            ("[REDACTED:{match}]", "unknown placeholder {match}"),
            ("[REDACTED:{0}]", "unknown placeholder {0}"),
            ("<hidden:{rule}>", "must start with `[REDACTED`"),
            ("[REDACTED:{rule}", "must end with `]`"),
            ("[REDACTED:{rule}]x", "must end with `]`"),
            ("[REDACTED:]{rule}]", "no other `]`"),
            ("[REDACTED:{rule}\n]", "control characters"),
            ("[REDACTED:{rule]", "without a matching `}`"),
            ("[REDACTED:rule}]", "without a matching `{`"),
            ("[REDACTED:{suffix}{suffix}]", "only once"),
            ("[REDACTED \"{rule}\"]", "escaping in JSON"),
            ("[REDACTED \\{rule}]", "escaping in JSON"),
        ] {
            let e = Template::parse(template).unwrap_err().to_string();
            assert!(e.contains(why), "{template:?}: {e}");
        }
    }
}
