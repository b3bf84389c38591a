//! JSON lines without a parse tree: validates one object per line, lists its string values with
//! the key they belong to, decodes a string's escapes with a map back to raw offsets, and writes
//! JSON-safe text.
//!
//! Owns: the JSON grammar and string escaping. Must never: change a byte outside a string value
//! it was asked to rewrite, split an escape sequence, or produce invalid JSON from valid JSON.

use std::ops::Range;

/// Deepest nesting accepted; deeper lines are not treated as JSON (then handled as text).
const MAX_DEPTH: u32 = 64;

/// One string value of an object (member value or array element).
#[derive(Debug, Clone)]
pub struct JsonString {
    /// The bytes between the quotes, raw (escapes not decoded).
    pub content: Range<usize>,
    /// Raw content of the nearest member key above this value (array elements inherit it).
    pub key: Option<Range<usize>>,
    /// Whether the value is a member of the outermost object (envelope fields live there).
    pub top_level: bool,
}

/// Whether `text` is one JSON object (surrounding whitespace allowed); its string values are
/// appended to `strings` in order. On `false`, `strings` may hold a partial list.
pub fn scan_object(text: &[u8], strings: &mut Vec<JsonString>) -> bool {
    let mut p = Parser { s: text, i: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return false;
    }
    if std::str::from_utf8(text).is_err() {
        return false;
    }
    if p.value(0, None, strings).is_none() {
        return false;
    }
    p.ws();
    p.i == text.len()
}

/// Cheap pre-check: does `text` look like it could be a JSON object (first and last non-blank
/// bytes are braces)?
pub fn looks_like_object(text: &[u8]) -> bool {
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    let last = text.iter().rposition(|b| !b.is_ascii_whitespace());
    matches!((first, last), (Some(f), Some(l)) if text[f] == b'{' && text[l] == b'}' && f < l)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.i += 1)
    }

    /// Parses one value; string values are reported with `key`.
    fn value(
        &mut self,
        depth: u32,
        key: Option<(Range<usize>, bool)>,
        out: &mut Vec<JsonString>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.value(depth + 1, Some((k, depth == 0)), out)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                // Elements inherit the array's key, but are never envelope fields themselves.
                let inherited = key.map(|(k, _)| (k, false));
                loop {
                    self.value(depth + 1, inherited.clone(), out)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let content = self.string()?;
                let (key, top_level) = match key {
                    Some((k, top)) => (Some(k), top),
                    None => (None, false),
                };
                out.push(JsonString {
                    content,
                    key,
                    top_level,
                });
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.s[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        if self.digits() == 0 {
            return None;
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Parses a string starting at `"`; returns the raw content range.
    fn string(&mut self) -> Option<Range<usize>> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    self.i += 1;
                    return Some(start..self.i - 1);
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.s.get(self.i + 1..self.i + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }
}

/// Decodes the raw content of a JSON string (already validated) into `decoded`; `map[i]` is the
/// raw offset of the escape (or byte) that produced decoded byte `i`, and `map[decoded.len()]`
/// is `raw.len()`. Invalid surrogates decode to U+FFFD.
pub fn decode(raw: &[u8], decoded: &mut Vec<u8>, map: &mut Vec<usize>) {
    decoded.clear();
    map.clear();
    let mut i = 0;
    while i < raw.len() {
        let start = i;
        if raw[i] != b'\\' {
            // The run up to the next escape, in bulk: a byte at a time was most of this
            // function's cost on escaped Docker `log` strings.
            let end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
            decoded.extend_from_slice(&raw[i..end]);
            map.extend(i..end);
            i = end;
            continue;
        }
        let esc = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        let simple = match esc {
            b'u' => None,
            other => Some(control_escape(other).unwrap_or(other)),
        };
        let ch = match simple {
            Some(b) => {
                decoded.push(b);
                map.push(start);
                continue;
            }
            None => {
                let hi = hex4(raw, i);
                i += 4;
                match hi {
                    Some(hi @ 0xD800..=0xDBFF) => {
                        let lo = (raw.get(i..i + 2) == Some(b"\\u"))
                            .then(|| hex4(raw, i + 2))
                            .flatten();
                        match lo {
                            Some(lo @ 0xDC00..=0xDFFF) => {
                                i += 6;
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            }
                            _ => None,
                        }
                    }
                    Some(cp) => char::from_u32(cp),
                    None => None,
                }
                .unwrap_or(char::REPLACEMENT_CHARACTER)
            }
        };
        let mut buf = [0u8; 4];
        for &b in ch.encode_utf8(&mut buf).as_bytes() {
            decoded.push(b);
            map.push(start);
        }
    }
    map.push(raw.len());
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let h = std::str::from_utf8(raw.get(at..at + 4)?).ok()?;
    u32::from_str_radix(h, 16).ok()
}

/// The raw range covering decoded range `span`, widened to whole escapes (never splits one).
pub fn raw_span(map: &[usize], span: Range<usize>) -> Range<usize> {
    let last = map.len() - 1; // index of the end sentinel
    let start = map[span.start.min(last)];
    let mut end_index = span.end.min(last);
    if end_index > span.start {
        let inside = map[end_index - 1];
        while end_index < last && map[end_index] == inside {
            end_index += 1;
        }
    }
    start..map[end_index]
}

/// Appends `text` to `out` escaped as JSON string content (no quotes). Invalid UTF-8 becomes
/// U+FFFD, so the result is always valid JSON whatever the input bytes.
pub fn escape_into(text: &[u8], out: &mut Vec<u8>) {
    for chunk in text.utf8_chunks() {
        escape_str(chunk.valid(), out);
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// The control byte that the JSON escape with letter `letter` decodes to (`\n`, `\t`, `\r`,
/// `\b`, `\f`), if it is one of those.
pub fn control_escape(letter: u8) -> Option<u8> {
    match letter {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        _ => None,
    }
}

fn escape_str(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..i]);
        if esc.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(esc);
        }
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(text: &str) -> Option<Vec<(String, Option<String>, bool)>> {
        let mut v = Vec::new();
        scan_object(text.as_bytes(), &mut v).then(|| {
            v.iter()
                .map(|s| {
                    (
                        text[s.content.clone()].to_string(),
                        s.key.clone().map(|k| text[k].to_string()),
                        s.top_level,
                    )
                })
                .collect()
        })
    }

    #[test]
    fn lists_string_values_with_keys() {
        let got = strings(r#"{"a":"x","n":1.5e3,"b":{"c":["y",true,null]},"d":"z\"q"}"#).unwrap();
        assert_eq!(
            got,
            vec![
                ("x".into(), Some("a".into()), true),
                ("y".into(), Some("c".into()), false),
                ("z\\\"q".into(), Some("d".into()), true),
            ]
        );
    }

    #[test]
    fn rejects_non_objects_and_broken_json() {
        for bad in [
            "",
            "[1]",
            "\"s\"",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":\"\x01\"}",
            "{\"a\":1} x",
            "{\"a\":01x}",
            "{\"a\":\"\\x\"}",
        ] {
            assert!(
                strings(bad).is_none(),
                "accepted case of length {}",
                bad.len()
            );
        }
        assert!(strings(" {} \r").is_some());
    }

    #[test]
    fn decode_maps_back_to_whole_escapes() {
        let raw = br#"a\/b\u00e9\n\ud83d\ude00z"#;
        let (mut d, mut m) = (Vec::new(), Vec::new());
        decode(raw, &mut d, &mut m);
        assert_eq!(d, "a/bé\n😀z".as_bytes());
        // "é" (2 bytes) comes from `\u00e9` at raw 4..10.
        assert_eq!(raw_span(&m, 3..5), 4..10);
        // Half of the emoji widens to the whole surrogate pair.
        assert_eq!(raw_span(&m, 7..8), 12..24);
        assert_eq!(raw_span(&m, 0..d.len()), 0..raw.len());
    }

    #[test]
    fn escape_is_valid_json() {
        let mut out = b"\"".to_vec();
        escape_into(b"q\"\\\n\x01\xff", &mut out);
        out.push(b'"');
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, serde_json::json!("q\"\\\n\u{1}\u{FFFD}"));
    }
}
