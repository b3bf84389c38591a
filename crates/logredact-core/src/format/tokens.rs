//! A tolerant JSON tokenizer: where the string (and number) tokens of a JSON-looking text are,
//! which are keys, and which key each value belongs to — without requiring the text to be valid.
//!
//! Why tolerant: structure-aware protection (secret-named keys, decoding escapes) must not switch
//! off because of one invalid UTF-8 byte, a top-level array, deep nesting, a truncated line or any
//! other detail an attacker can put into a logged field. The tokenizer only needs the lexical
//! rules of strings (a `"` opens, an unescaped `"` closes) and the brackets around them; it never
//! recurses (any depth costs the same), reads each byte once, and treats what it does not
//! understand as filler between tokens.
//!
//! Owns: token boundaries and key/value roles. Must never: search for secrets, or change bytes.

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A string; `content` excludes the quotes. `closed` is false for a string cut by the end of
    /// the text.
    String {
        /// Whether the closing quote is there.
        closed: bool,
    },
    /// A number, `true`, `false` or `null`.
    Scalar,
}

/// Its place in the structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An object member's name.
    Key,
    /// An object member's value; `key` is the index of its key token.
    MemberValue {
        /// Index of the member's key token.
        key: u32,
    },
    /// An array element, or a value outside any container.
    Element,
}

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The bytes of the token (for strings: between the quotes, escapes not decoded).
    pub content: Range<usize>,
    /// What the token is.
    pub kind: TokenKind,
    /// Its place in the structure.
    pub role: Role,
    /// Index into [`Tokens::containers`] of the innermost object or array holding the token.
    pub container: Option<u32>,
    /// Whether the content holds a backslash (then it must be decoded to be read).
    pub escaped: bool,
}

/// An object or array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container {
    /// An object (else an array).
    pub is_object: bool,
    /// The key token this container is the value of, when it is an object member.
    pub key: Option<u32>,
    /// The container holding this one.
    pub parent: Option<u32>,
}

/// The tokens of one text, in order.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// The tokens, in text order.
    pub tokens: Vec<Token>,
    /// The objects and arrays, by index.
    pub containers: Vec<Container>,
    /// [`Tokens::read`]'s stack of open containers, kept so that reading allocates nothing once
    /// it has grown.
    stack: Vec<(u32, bool)>,
}

/// Whether `text` starts (after blanks) like a JSON document: `{` or `[`.
pub fn looks_like_json(text: &[u8]) -> bool {
    matches!(
        text.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

impl Tokens {
    /// Tokenizes `text` (replacing what was there). Linear in `text`, whatever it holds.
    pub fn read(&mut self, text: &[u8]) {
        self.tokens.clear();
        self.containers.clear();
        // Per open container: its index, and for objects whether a key is expected next.
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        // The key awaiting its value (after its `:`).
        let mut pending_key: Option<u32> = None;
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            match b {
                b'"' => {
                    let (content, closed, escaped) = string_at(text, i);
                    i = if closed { content.end + 1 } else { content.end };
                    let kind = TokenKind::String { closed };
                    let role = self.role_for_next(&mut stack, &mut pending_key, text, i);
                    self.push(content, kind, role, &stack, escaped);
                }
                b'{' | b'[' => {
                    let is_object = b == b'{';
                    let key = pending_key.take();
                    if let Some((_, expects_key)) = stack.last_mut() {
                        // A container as a member value: the member is done.
                        *expects_key = false;
                    }
                    let index = self.containers.len() as u32;
                    self.containers.push(Container {
                        is_object,
                        key,
                        parent: stack.last().map(|&(c, _)| c),
                    });
                    stack.push((index, is_object));
                    i += 1;
                }
                b'}' | b']' => {
                    stack.pop();
                    pending_key = None;
                    i += 1;
                }
                b',' => {
                    if let Some((c, expects_key)) = stack.last_mut() {
                        *expects_key = self.containers[*c as usize].is_object;
                    }
                    pending_key = None;
                    i += 1;
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    let end = scalar_end(text, i);
                    if end > i {
                        let role = match pending_key.take() {
                            Some(key) => Role::MemberValue { key },
                            None => Role::Element,
                        };
                        self.push(i..end, TokenKind::Scalar, role, &stack, false);
                        i = end;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        self.stack = stack;
    }

    /// The role of a string that just ended at `after`: a key when an object expects one (and
    /// a `:` follows), else the value of the pending key, else an element.
    fn role_for_next(
        &self,
        stack: &mut [(u32, bool)],
        pending_key: &mut Option<u32>,
        text: &[u8],
        after: usize,
    ) -> Role {
        let next_is_colon = text[after..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b':');
        let in_object_expecting_key = stack.last().is_some_and(|&(_, expects)| expects);
        if next_is_colon && (in_object_expecting_key || pending_key.is_none()) {
            if let Some((_, expects)) = stack.last_mut() {
                *expects = false;
            }
            *pending_key = Some(self.tokens.len() as u32);
            return Role::Key;
        }
        match pending_key.take() {
            Some(key) => Role::MemberValue { key },
            None => Role::Element,
        }
    }

    fn push(
        &mut self,
        content: Range<usize>,
        kind: TokenKind,
        role: Role,
        stack: &[(u32, bool)],
        escaped: bool,
    ) {
        self.tokens.push(Token {
            content,
            kind,
            role,
            container: stack.last().map(|&(c, _)| c),
            escaped,
        });
    }

    /// The index of the token whose content contains `start..end`, if one does (binary search).
    pub fn holding(&self, start: usize, end: usize) -> Option<usize> {
        let i = self.tokens.partition_point(|t| t.content.end < end);
        self.tokens
            .get(i)
            .filter(|t| t.content.start <= start && end <= t.content.end)
            .map(|_| i)
    }
}

/// The string starting at the quote at `open`: its content, whether it was closed, and whether it
/// holds a backslash.
fn string_at(text: &[u8], open: usize) -> (Range<usize>, bool, bool) {
    let start = open + 1;
    let mut i = start;
    let mut escaped = false;
    while i < text.len() {
        match memchr::memchr2(b'"', b'\\', &text[i..]) {
            None => break,
            Some(p) => {
                let at = i + p;
                if text[at] == b'"' {
                    return (start..at, true, escaped);
                }
                escaped = true;
                i = at + 2;
            }
        }
    }
    (start..text.len(), false, escaped)
}

/// End of a number or literal starting at `at` (`at` itself when there is none).
fn scalar_end(text: &[u8], at: usize) -> usize {
    for word in [&b"true"[..], b"false", b"null"] {
        if text[at..].starts_with(word) {
            return at + word.len();
        }
    }
    let mut end = at;
    while end < text.len() && matches!(text[end], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
        end += 1;
    }
    // A lone sign or letter is filler, not a number.
    if text[at..end].iter().any(u8::is_ascii_digit) {
        end
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, &'static str, Option<String>)> {
        let mut t = Tokens::default();
        t.read(text.as_bytes());
        t.tokens
            .iter()
            .map(|tok| {
                let (role, key) = match tok.role {
                    Role::Key => ("key", None),
                    Role::MemberValue { key } => (
                        "value",
                        Some(text[t.tokens[key as usize].content.clone()].to_string()),
                    ),
                    Role::Element => ("element", None),
                };
                (text[tok.content.clone()].to_string(), role, key)
            })
            .collect()
    }

    #[test]
    fn keys_values_and_elements() {
        let got = read(r#"{"a":"x","n":-1.5e3,"b":{"c":["y",true]},"d":"z\"q"}"#);
        let want: Vec<(String, &str, Option<String>)> = vec![
            ("a".into(), "key", None),
            ("x".into(), "value", Some("a".into())),
            ("n".into(), "key", None),
            ("-1.5e3".into(), "value", Some("n".into())),
            ("b".into(), "key", None),
            ("c".into(), "key", None),
            ("y".into(), "element", None),
            ("true".into(), "element", None),
            ("d".into(), "key", None),
            ("z\\\"q".into(), "value", Some("d".into())),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn tolerates_what_a_strict_parser_rejects() {
        // Invalid UTF-8, a top-level array, a cut-off end: the secret-named member is still seen.
        let mut t = Tokens::default();
        let text = b"[1,{\"u\":\"\xe9\",\"token\":\"abc\"},{\"x\":\"cut";
        t.read(text);
        let token = t
            .tokens
            .iter()
            .position(|tok| &text[tok.content.clone()] == b"token")
            .unwrap();
        let value = t.tokens[token + 1].clone();
        assert_eq!(&text[value.content.clone()], b"abc");
        assert_eq!(value.role, Role::MemberValue { key: token as u32 });
        assert_eq!(
            t.tokens.last().unwrap().kind,
            TokenKind::String { closed: false }
        );
    }

    #[test]
    fn deep_nesting_is_linear_and_still_read() {
        let text = format!(
            "{}{{\"password\":\"pw\"}}{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let mut t = Tokens::default();
        t.read(text.as_bytes());
        assert_eq!(t.tokens.len(), 2);
        assert_eq!(t.tokens[1].role, Role::MemberValue { key: 0 });
    }
}
