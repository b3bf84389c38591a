//! Multi-line private keys: an armour line (`-----BEGIN … PRIVATE KEY-----`, PGP `PRIVATE KEY
//! BLOCK`, OpenVPN static keys, SSH2 `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`, PuTTY
//! `PuTTY-User-Key-File-N:`) opens a block; the block holds only lines shaped like key material
//! (base64 or hex of bounded width, the headers these formats define, one blank line) and ends at
//! its END line or at the first line that is not key-shaped, which it leaves untouched.
//!
//! Why so strict: armour text can come from anyone (a user name, a search term). A block that
//! swallowed whatever followed a BEGIN would let one logged field erase the next lines of
//! everyone's logs. Here a BEGIN without an END costs at most the key-shaped lines after it.
//!
//! Owns: the block state machine and the shapes it accepts. Must never: search for anything but
//! armour, change bytes, or report anything outside a body (armour and headers stay, so readers
//! see what was there).

use std::ops::Range;

use memchr::memmem;

/// Most body lines one block may hold (a 16 kbit RSA key is ~ 70 lines).
pub const MAX_BODY_LINES: u32 = 200;
/// Byte bound of a body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest line that counts as key material (PEM writes 64, OpenSSH 70, some tools 76).
const MAX_BODY_LINE_BYTES: usize = 128;

const BEGIN: &[u8] = b"-----BEGIN ";
const SSH2_BEGIN: &[u8] = b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----";
const PUTTY_BEGIN: &[u8] = b"PuTTY-User-Key-File-";
const END: &[u8] = b"-----END ";
const SSH2_END: &[u8] = b"---- END SSH2";
const DASHES: &[u8] = b"-----";

/// Headers the key formats put inside a block (PEM, PGP, SSH2, PuTTY): kept, and the block goes on.
const HEADERS: &[&[u8]] = &[
    b"Proc-Type:",
    b"DEK-Info:",
    b"Version:",
    b"Comment:",
    b"Hash:",
    b"Charset:",
    b"Subject:",
    b"Encryption:",
    b"Public-Lines:",
    b"Private-Lines:",
    b"Key-Derivation:",
    b"Argon2-Memory:",
    b"Argon2-Passes:",
    b"Argon2-Parallelism:",
    b"Argon2-Salt:",
];
/// The header that ends a PuTTY key (its value is a MAC, not key material).
const PUTTY_LAST: &[u8] = b"Private-MAC:";

/// Where one stream of lines is relative to a private-key block.
#[derive(Debug, Clone, Default)]
pub struct PemState {
    open: Option<Open>,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    lines: u32,
    bytes: usize,
    blank_seen: bool,
}

impl PemState {
    /// Whether a block is open: then every line of this stream must be fed.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Feeds one line (without its newline) and appends to `bodies` the parts of it that are key
    /// material, trimmed of blanks, in order.
    pub fn feed(&mut self, line: &[u8], bodies: &mut Vec<Range<usize>>) {
        let mut pos = 0;
        if let Some(open) = self.open.as_mut() {
            if let Some(end) = find_end(line) {
                push_trimmed(line, 0..end, bodies);
                self.open = None;
                pos = armour_end(line, end);
            } else {
                let trimmed = trim(line, 0..line.len());
                let text = &line[trimmed.clone()];
                if text.is_empty() {
                    if open.blank_seen {
                        self.open = None;
                    } else {
                        open.blank_seen = true;
                    }
                    return;
                }
                if text.starts_with(PUTTY_LAST) {
                    self.open = None;
                    return;
                }
                if HEADERS.iter().any(|h| text.starts_with(h)) {
                    return;
                }
                if let Some(body) = body_of_line(text) {
                    open.lines += 1;
                    open.bytes += text.len();
                    if open.lines > MAX_BODY_LINES || open.bytes > MAX_BODY_BYTES {
                        self.open = None;
                    } else {
                        bodies.push(trimmed.start + body.start..trimmed.start + body.end);
                    }
                    return;
                }
                // Not key material: the block is over and this line is left as it is (it may
                // open another block itself).
                self.open = None;
            }
        }
        // Closed: look for an armour line; a key may start after an END on the same line too.
        while pos < line.len() {
            let Some(header_end) = find_begin(&line[pos..]).map(|e| pos + e) else {
                return;
            };
            match find_end(&line[header_end..]) {
                Some(end) => {
                    // A one-line key: the armour on both sides is evidence enough.
                    push_trimmed(line, header_end..header_end + end, bodies);
                    pos = armour_end(line, header_end + end);
                }
                None => {
                    let rest = trim(line, header_end..line.len());
                    if is_body_run(&line[rest.clone()]) {
                        bodies.push(rest);
                    }
                    self.open = Some(Open {
                        lines: 0,
                        bytes: 0,
                        blank_seen: false,
                    });
                    return;
                }
            }
        }
    }
}

/// End offset (in `line`) of the first armour line that opens a private-key block.
pub fn find_begin(line: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut consider = |end: Option<usize>| {
        if let Some(e) = end {
            best = Some(best.map_or(e, |b: usize| b.min(e)));
        }
    };
    consider(memmem::find(line, SSH2_BEGIN).map(|at| at + SSH2_BEGIN.len()));
    consider(memmem::find(line, PUTTY_BEGIN).map(|_| line.len()));
    let mut from = 0;
    while let Some(at) = memmem::find(&line[from..], BEGIN) {
        let label_start = from + at + BEGIN.len();
        let Some(label_len) = memmem::find(&line[label_start..], DASHES) else {
            break;
        };
        let label = &line[label_start..label_start + label_len];
        if label.len() <= 48 && is_private_label(label) {
            consider(Some(label_start + label_len + DASHES.len()));
            break;
        }
        from = label_start;
    }
    best
}

/// Whether the cheap test for "this line may open a block" holds: callers use it to pick the lines
/// worth a look (see [`find_begin`] for the real test).
pub fn may_open(text: &[u8]) -> bool {
    memmem::find(text, b"BEGIN ").is_some() || memmem::find(text, PUTTY_BEGIN).is_some()
}

fn is_private_label(label: &[u8]) -> bool {
    label.ends_with(b"PRIVATE KEY")
        || label.ends_with(b"PRIVATE KEY BLOCK")
        || label == b"OpenVPN Static key V1"
}

/// Offset of the first END armour in `text`.
fn find_end(text: &[u8]) -> Option<usize> {
    match (memmem::find(text, END), memmem::find(text, SSH2_END)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where the END armour starting at `at` ends: after its closing dashes, else the line's end.
fn armour_end(line: &[u8], at: usize) -> usize {
    let after_word = at + 5;
    match memmem::find(&line[after_word.min(line.len())..], b"----") {
        Some(p) => {
            // Four dashes close SSH2 armour, five PEM's; a BEGIN may follow right after.
            let end = after_word + p + 4;
            end + usize::from(line.get(end) == Some(&b'-'))
        }
        None => line.len(),
    }
}

/// The key material of a whole line (trimmed): base64 (or hex) without blanks inside, of bounded
/// width, perhaps quoted as a string of source code (`"MIIE…" +`, `'MIIE…\n',`).
fn body_of_line(text: &[u8]) -> Option<Range<usize>> {
    let mut start = 0;
    let mut end = text.len();
    if matches!(text.first(), Some(b'"' | b'\'')) {
        start = 1;
        // Closing quote, then what source code puts after a string piece.
        while end > start && matches!(text[end - 1], b'+' | b',' | b';' | b' ' | b'\t') {
            end -= 1;
        }
        if end > start && matches!(text[end - 1], b'"' | b'\'') {
            end -= 1;
        }
    }
    // Escaped line ends kept literally (`\r\n`).
    while end >= start + 2 && text[end - 2] == b'\\' && matches!(text[end - 1], b'n' | b'r') {
        end -= 2;
    }
    let body = &text[start..end];
    (!body.is_empty() && body.len() <= MAX_BODY_LINE_BYTES && body.iter().all(|&b| is_base64(b)))
        .then_some(start..end)
}

/// Key material on an armour line after its header: base64 words, blanks between them allowed
/// (one-line dumps), bounded.
fn is_body_run(text: &[u8]) -> bool {
    !text.is_empty()
        && text.len() <= MAX_BODY_BYTES
        && text
            .iter()
            .all(|&b| is_base64(b) || b == b' ' || b == b'\t')
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

fn trim(line: &[u8], range: Range<usize>) -> Range<usize> {
    let part = &line[range.clone()];
    match part.iter().position(|b| !b.is_ascii_whitespace()) {
        None => range.start..range.start,
        Some(first) => {
            let last = part
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .unwrap_or(first);
            range.start + first..range.start + last + 1
        }
    }
}

fn push_trimmed(line: &[u8], range: Range<usize>, bodies: &mut Vec<Range<usize>>) {
    let r = trim(line, range);
    if !r.is_empty() {
        bodies.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut PemState, line: &str) -> Vec<Range<usize>> {
        let mut v = Vec::new();
        s.feed(line.as_bytes(), &mut v);
        v
    }

    #[test]
    fn body_lines_are_hidden_until_end() {
        let mut s = PemState::default();
        assert!(feed(&mut s, "key: -----BEGIN RSA PRIVATE KEY-----").is_empty());
        assert!(s.is_open());
        assert_eq!(feed(&mut s, "  MIIEowIBAAKCAQEA\r"), vec![2..18]);
        assert_eq!(feed(&mut s, "Hg=="), vec![0..4]);
        assert!(feed(&mut s, "-----END RSA PRIVATE KEY-----").is_empty());
        assert!(!s.is_open());
        assert!(feed(&mut s, "MIIEnotakey").is_empty());
    }

    #[test]
    fn a_line_that_is_not_key_material_ends_the_block_untouched() {
        let mut s = PemState::default();
        feed(
            &mut s,
            "login failed for user \"-----BEGIN PRIVATE KEY-----\"",
        );
        assert!(s.is_open());
        assert!(feed(&mut s, "audit: user mallory dropped table t1").is_empty());
        assert!(!s.is_open());
        assert!(feed(&mut s, "OK").is_empty());
    }

    #[test]
    fn one_line_keys_and_a_second_key_after_an_end() {
        let mut s = PemState::default();
        let line = "-----BEGIN PRIVATE KEY----- MIIabc -----END PRIVATE KEY-----";
        assert_eq!(feed(&mut s, line), vec![28..34]);
        assert!(!s.is_open());
        feed(&mut s, "-----BEGIN RSA PRIVATE KEY-----");
        assert!(feed(
            &mut s,
            "-----END RSA PRIVATE KEY----------BEGIN EC PRIVATE KEY-----"
        )
        .is_empty());
        assert!(s.is_open());
        assert_eq!(feed(&mut s, "MHcCAQEEIBq2"), vec![0..12]);
    }

    #[test]
    fn other_key_formats() {
        let mut s = PemState::default();
        feed(&mut s, "-----BEGIN PGP PRIVATE KEY BLOCK-----");
        assert!(feed(&mut s, "Version: x").is_empty());
        assert!(feed(&mut s, "").is_empty());
        assert_eq!(feed(&mut s, "lQOYBF2xq2Xl3kL9"), vec![0..16]);
        assert_eq!(feed(&mut s, "=AbCd"), vec![0..5]);
        assert!(feed(&mut s, "-----END PGP PRIVATE KEY BLOCK-----").is_empty());
        assert!(!s.is_open());

        feed(&mut s, "PuTTY-User-Key-File-3: ssh-ed25519");
        assert!(feed(&mut s, "Encryption: none").is_empty());
        assert!(feed(&mut s, "Private-Lines: 1").is_empty());
        assert_eq!(feed(&mut s, "AAAAIFq2Xl3kL9vJ"), vec![0..16]);
        assert!(feed(&mut s, "Private-MAC: 5f83b2a1").is_empty());
        assert!(!s.is_open());
    }

    #[test]
    fn public_keys_and_certificates_do_not_open() {
        let mut s = PemState::default();
        feed(&mut s, "-----BEGIN CERTIFICATE-----");
        feed(&mut s, "-----BEGIN PUBLIC KEY-----");
        assert!(!s.is_open());
    }

    #[test]
    fn our_own_markers_end_a_block_so_a_second_pass_changes_nothing() {
        let mut s = PemState::default();
        feed(&mut s, "-----BEGIN RSA PRIVATE KEY-----");
        assert!(feed(&mut s, "[REDACTED:private-key-block]").is_empty());
        assert!(!s.is_open());
    }

    #[test]
    fn state_resets_after_the_bound() {
        let mut s = PemState::default();
        feed(&mut s, "-----BEGIN EC PRIVATE KEY-----");
        for _ in 0..MAX_BODY_LINES {
            assert_eq!(feed(&mut s, "AAAA").len(), 1);
        }
        assert!(feed(&mut s, "AAAA").is_empty());
        assert!(!s.is_open());
    }
}
