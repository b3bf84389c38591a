//! Multi-line private keys: a `-----BEGIN … PRIVATE KEY-----` line opens a block whose body lines
//! are redacted up to the `-----END` line. The state lives across lines and batches (in the
//! filter's scratch) and is bounded: after [`MAX_BODY_LINES`] lines or [`MAX_BODY_BYTES`] bytes
//! without an END line the block is abandoned and lines are scanned normally again.
//!
//! Owns: the block state machine. Must never: hide more than one bounded block per BEGIN line,
//! or change anything but the body (the BEGIN/END armour lines stay, so readers see what was there).

use std::ops::Range;

use memchr::memmem;

use crate::detect::MARKER_OPEN;

/// Longest body kept in the redacting state (a 16 kbit RSA key is ~ 70 lines).
pub const MAX_BODY_LINES: u32 = 200;
/// Byte bound of a body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END";
const DASHES: &[u8] = b"-----";

/// Where the stream is relative to a private-key block.
#[derive(Debug, Clone, Default)]
pub struct PemState {
    open: bool,
    lines: u32,
    bytes: usize,
}

impl PemState {
    /// Whether a block is open: then every line must be fed.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Feeds one line (without its newline) and returns the part of it that is key material,
    /// trimmed of surrounding blanks, if any.
    pub fn feed(&mut self, line: &[u8]) -> Option<Range<usize>> {
        if self.open {
            if let Some(end) = memmem::find(line, END) {
                self.open = false;
                return non_blank(line, 0..end);
            }
            self.lines += 1;
            self.bytes += line.len();
            if self.lines > MAX_BODY_LINES || self.bytes > MAX_BODY_BYTES {
                // Not a key after all (or a broken one): stop hiding lines.
                self.open = false;
                return None;
            }
            return non_blank(line, 0..line.len());
        }
        let body_start = private_key_header_end(line)?;
        match memmem::find(&line[body_start..], END) {
            Some(end) => non_blank(line, body_start..body_start + end),
            None => {
                let rest = &line[body_start..];
                if memmem::find(rest, MARKER_OPEN).is_some() && only_markers(rest) {
                    // A one-line key that a rule has redacted already (this is a second pass):
                    // it opens no block, as the raw line did not either.
                    return None;
                }
                self.open = true;
                self.lines = 0;
                self.bytes = 0;
                non_blank(line, body_start..line.len())
            }
        }
    }
}

/// End offset of a `-----BEGIN … PRIVATE KEY-----` header in `line`, if there is one.
pub fn private_key_header_end(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memmem::find(&line[from..], BEGIN) {
        let label_start = from + at + BEGIN.len();
        let label_len = memmem::find(&line[label_start..], DASHES)?;
        let label = &line[label_start..label_start + label_len];
        if label.len() <= 40 && label.ends_with(b"PRIVATE KEY") {
            return Some(label_start + label_len + DASHES.len());
        }
        from = label_start;
    }
    None
}

/// `range` of `line` without leading/trailing blanks, or `None` when nothing is left — or when
/// what is left holds no key material beside our own markers (a body redacted already: hiding it
/// again would make a second pass change `[REDACTED:private-key-rsa]` into another marker).
fn non_blank(line: &[u8], range: Range<usize>) -> Option<Range<usize>> {
    let part = &line[range.clone()];
    let first = part.iter().position(|b| !b.is_ascii_whitespace())?;
    let last = part.iter().rposition(|b| !b.is_ascii_whitespace())?;
    let body = range.start + first..range.start + last + 1;
    (!only_markers(&line[body.clone()])).then_some(body)
}

/// Whether `text` holds no key material outside our `[REDACTED…]` markers: nothing alphanumeric
/// (key bodies are base64), only blanks, quotes, escapes' punctuation and the markers themselves.
fn only_markers(text: &[u8]) -> bool {
    let mut rest = text;
    loop {
        let (before, after) = match memmem::find(rest, MARKER_OPEN) {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, None),
        };
        if before.iter().any(u8::is_ascii_alphanumeric) {
            return false;
        }
        let Some(marker) = after else { return true };
        let Some(close) = memchr::memchr(b']', marker) else {
            return false;
        };
        rest = &marker[close + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_lines_are_hidden_until_end() {
        let mut s = PemState::default();
        assert_eq!(s.feed(b"key: -----BEGIN RSA PRIVATE KEY-----"), None);
        assert!(s.is_open());
        assert_eq!(s.feed(b"  MIIEowIBAAKCAQEA\r"), Some(2..18));
        assert_eq!(s.feed(b""), None);
        assert_eq!(s.feed(b"-----END RSA PRIVATE KEY-----"), None);
        assert!(!s.is_open());
        assert_eq!(s.feed(b"MIIEnotakey"), None);
    }

    #[test]
    fn one_line_key_body_is_hidden() {
        let mut s = PemState::default();
        let line = b"-----BEGIN PRIVATE KEY----- MIIabc -----END PRIVATE KEY-----";
        assert_eq!(s.feed(line), Some(28..34));
        assert!(!s.is_open());
    }

    #[test]
    fn a_body_redacted_already_is_left_alone() {
        let mut s = PemState::default();
        let line = b"key=-----BEGIN RSA PRIVATE KEY----- [REDACTED:private-key-rsa]";
        assert_eq!(s.feed(line), None);
        assert!(!s.is_open());
        assert_eq!(s.feed(b"-----BEGIN RSA PRIVATE KEY-----"), None);
        assert!(s.is_open());
        assert_eq!(s.feed(b"  [REDACTED:private-key-block] "), None);
        assert_eq!(s.feed(b"[REDACTED:private-key-block]\""), None);
        assert_eq!(s.feed(b"[REDACTED:x] MIIabc"), Some(0..19));
        // A BEGIN whose END a rule has hidden already opens no block either.
        assert_eq!(s.feed(b"-----END RSA PRIVATE KEY-----"), None);
        assert_eq!(
            s.feed(b"\"-----BEGIN DSA PRIVATE KEY-----[REDACTED:k]\""),
            None
        );
        assert!(!s.is_open());
    }

    #[test]
    fn public_keys_and_certificates_do_not_open() {
        let mut s = PemState::default();
        assert_eq!(s.feed(b"-----BEGIN CERTIFICATE-----"), None);
        assert_eq!(s.feed(b"-----BEGIN PUBLIC KEY-----"), None);
        assert!(!s.is_open());
    }

    #[test]
    fn state_resets_after_the_bound() {
        let mut s = PemState::default();
        s.feed(b"-----BEGIN EC PRIVATE KEY-----");
        for _ in 0..MAX_BODY_LINES {
            assert!(s.feed(b"AAAA").is_some());
        }
        assert_eq!(s.feed(b"AAAA"), None);
        assert!(!s.is_open());
    }
}
