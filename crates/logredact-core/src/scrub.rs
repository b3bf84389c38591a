//! Error-message hygiene: turns parser errors about rule files into text that cannot carry a
//! value from the file (a rule file may hold a real secret in a pattern or a misplaced value).
//!
//! Owns: the vocabulary an error may repeat and the scrubbing itself. Must never: let through a
//! word that is not in that vocabulary, or a regex error's `Display` (which quotes the pattern).

/// A `regex_syntax` error as its kind and byte offset; its `Display` would quote the pattern.
pub fn syntax_error_reason(error: &regex_syntax::Error) -> String {
    match error {
        regex_syntax::Error::Parse(e) => format!("{} at byte {}", e.kind(), e.span().start.offset),
        regex_syntax::Error::Translate(e) => {
            format!("{} at byte {}", e.kind(), e.span().start.offset)
        }
        _ => "invalid pattern".to_string(),
    }
}

/// Words of the rule-file schema that a message may repeat.
#[rustfmt::skip]
const SCHEMA_WORDS: &[&str] = &[
    "title", "description", "extend", "useDefault", "path", "disabledRules", "allowlist",
    "allowlists", "rules", "id", "regex", "secretGroup", "entropy", "keywords", "tags",
    "skipReport", "validate", "prefix", "redact", "examples", "negativeExamples", "condition",
    "regexTarget", "regexes", "stopwords", "commits", "paths", "secret", "match", "line", "OR",
    "AND", "mask", "hash", "partial", "RuleSpec", "FileSpec", "AllowlistSpec", "ExtendSpec",
    "RegexTarget", "Condition", "Mode", "true", "false",
];

/// Words that `toml` and `serde` use to phrase their errors.
#[rustfmt::skip]
const PARSER_WORDS: &[&str] = &[
    "a", "an", "and", "are", "array", "at", "basic", "be", "boolean", "borrowed", "but", "byte",
    "bytes", "cannot", "char", "character", "characters", "comment", "control", "datetime",
    "digit", "digits", "duplicate", "element", "empty", "end", "enum", "escape", "expected", "f32",
    "f64", "field", "fields", "float", "floating", "for", "found", "header", "i16", "i32", "i64",
    "i8", "identifier", "in", "inline", "input", "integer", "invalid", "is", "key", "keys",
    "leading", "length", "literal", "map", "missing", "multiline", "newline", "newtype", "no",
    "not", "number", "of", "one", "only", "option", "or", "point", "quoted", "sequence", "str",
    "string", "struct", "table", "tables", "the", "there", "to", "tuple", "type", "u16", "u32",
    "u64", "u8", "unclosed", "unexpected", "unicode", "unit", "unknown", "unquoted", "usize",
    "value", "values", "variant", "variants", "whitespace", "with", "zero", "zeros",
];

/// Keeps the words of `message` that are schema or parser vocabulary and its punctuation; every
/// other run of letters and digits (a value from the file) becomes `…`. A whitelist, because
/// serde quotes values in ways a quote-aware scrubber can be fooled by (a backtick inside a
/// backtick-quoted variant name, escapes inside a `{:?}` string). Words match exactly (case
/// included), so a value can only survive where it is itself one of these lower-case words.
pub fn scrub_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    // A misspelt field name is the commonest error: name the field it resembles instead.
    let mut did_you_mean: Option<&str> = None;
    let mut flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let known = SCHEMA_WORDS.contains(&word.as_str()) || PARSER_WORDS.contains(&word.as_str());
        if known {
            out.push_str(word);
        } else {
            if did_you_mean.is_none() {
                did_you_mean = SCHEMA_WORDS
                    .iter()
                    .find(|w| w.len() >= 4 && edit_distance(w, word) <= 2)
                    .copied();
            }
            if !out.ends_with('…') {
                out.push('…');
            }
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        if matches!(
            c,
            ' ' | ',' | ':' | ';' | '.' | '`' | '"' | '\'' | '#' | '(' | ')' | '=' | '[' | ']'
        ) {
            out.push(c);
        } else if !out.ends_with('…') {
            out.push('…');
        }
    }
    flush(&mut word, &mut out);
    if let Some(near) = did_you_mean {
        out.push_str(&format!(" (is `{near}` meant?)"));
    }
    out
}

/// Levenshtein distance, for short words only.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbed_messages_stay_readable() {
        assert_eq!(
            scrub_message("unknown variant `blur`, expected one of `mask`, `hash`, `partial`"),
            "unknown variant `…`, expected one of `mask`, `hash`, `partial`"
        );
        let scrubbed = scrub_message(r#"invalid type: string "Zq9\"Wk7 Pm3", expected f64"#);
        assert!(
            scrubbed.starts_with("invalid type: string \"…"),
            "{scrubbed}"
        );
        assert!(scrubbed.ends_with("\", expected f64"), "{scrubbed}");
        assert!(
            !scrubbed.contains("Wk7") && !scrubbed.contains("Pm3"),
            "{scrubbed}"
        );
    }

    #[test]
    fn a_misspelt_field_is_named_by_the_field_it_resembles() {
        let m = scrub_message("unknown field `keyword`, expected one of `id`, `keywords`");
        assert_eq!(
            m,
            "unknown field `…`, expected one of `id`, `keywords` (is `keywords` meant?)"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
