//! `--long-lines split`: cuts redacted output into lines of at most `--max-line-bytes`, after
//! redaction, for shippers that split long lines at a fixed buffer size anyway.
//!
//! Owns: where output lines are cut (never inside a redaction marker or a UTF-8 character; CRI
//! records into CRI records). Must never: drop, add (other than the newlines of its cuts) or
//! reorder a byte, or see input before it is redacted.

use memchr::{memchr, memmem};

use super::MIN_SPLIT_LINE_BYTES;
use crate::finding::MARKER_OPEN;
use crate::format::cri;

/// Cuts redacted output into lines of at most `limit` bytes (newline not counted). Sees the
/// output in order, in pieces; a cut never falls inside a marker (markers are written whole
/// within one piece) or a UTF-8 character. A CRI record (with `--format cri` or `auto`) is cut
/// into CRI records: every piece gets the record's time and stream, the pieces before the last
/// are `P` records and the last keeps the record's own tag (issue 14, C4); to know which piece is
/// the last, up to `limit` bytes of such a line are held until the next cut or its end.
pub(super) struct LineSplitter {
    limit: usize,
    /// Bytes of the current output line already written (plain lines).
    column: usize,
    /// Whether CRI records are cut as CRI records.
    cri_records: bool,
    /// What the current line is; `None` until its first bytes (`head`) tell.
    line: Option<SplitLine>,
    head: Vec<u8>,
    out: Vec<u8>,
}

/// Enough of a line's first bytes to hold any CRI envelope (a 40-byte time at most).
const SPLIT_HEAD_BYTES: usize = 64;

/// The line being cut.
enum SplitLine {
    Plain,
    /// A CRI record: `pending` (the piece not yet written, starting with the envelope) and the
    /// envelope's shape.
    Cri {
        pending: Vec<u8>,
        /// Offset of the tag (`P`/`F`) in every piece.
        tag_at: usize,
        /// The record's own tag, for its last piece.
        tag: u8,
    },
}

impl LineSplitter {
    pub(super) fn new(limit: usize, cri_records: bool) -> Self {
        LineSplitter {
            limit,
            column: 0,
            cri_records,
            line: None,
            head: Vec::new(),
            out: Vec::new(),
        }
    }

    pub(super) fn split(&mut self, bytes: &[u8]) -> &[u8] {
        self.out.clear();
        let mut rest = bytes;
        while !rest.is_empty() {
            let newline = memchr(b'\n', rest);
            let segment = &rest[..newline.unwrap_or(rest.len())];
            let mut head = Vec::new();
            let mut piece = segment;
            if self.line.is_none() {
                // The envelope must be seen whole to tell a CRI record: a line's first bytes
                // are held until there are enough of them or the line ends.
                self.head.extend_from_slice(segment);
                if newline.is_none() && self.head.len() < SPLIT_HEAD_BYTES {
                    break;
                }
                head = std::mem::take(&mut self.head);
                self.line = Some(self.start_line(&head));
                piece = &head;
            }
            match &mut self.line {
                Some(SplitLine::Cri {
                    pending, tag_at, ..
                }) => {
                    pending.extend_from_slice(piece);
                    cut_cri(pending, *tag_at, self.limit, &mut self.out);
                }
                _ => self.plain(piece),
            }
            drop(head);
            if newline.is_some() {
                self.end_line();
            }
            rest = &rest[(segment.len() + 1).min(rest.len())..];
        }
        &self.out
    }

    /// What the line starting with `segment` is.
    fn start_line(&self, segment: &[u8]) -> SplitLine {
        let record = self.cri_records.then(|| cri::parse(segment)).flatten();
        match record {
            // `message_start` is the tag's offset + 2 when the record has a message.
            Some(r) if r.message_start >= 2 && segment.get(r.message_start - 1) == Some(&b' ') => {
                let tag_at = r.message_start - 2;
                SplitLine::Cri {
                    pending: Vec::new(),
                    tag_at,
                    tag: segment[tag_at],
                }
            }
            _ => SplitLine::Plain,
        }
    }

    /// Ends the current line: its held piece goes out with the record's own tag.
    fn end_line(&mut self) {
        if let Some(SplitLine::Cri {
            pending,
            tag_at,
            tag,
        }) = &mut self.line
        {
            pending[*tag_at] = *tag;
            self.out.extend_from_slice(pending);
        }
        self.out.push(b'\n');
        self.column = 0;
        self.line = None;
    }

    /// Writes what is held of a last line without newline (end of input).
    pub(super) fn finish(&mut self) -> &[u8] {
        self.out.clear();
        if self.line.is_none() {
            let head = std::mem::take(&mut self.head);
            self.line = Some(self.start_line(&head));
            match &mut self.line {
                Some(SplitLine::Cri { pending, .. }) => pending.extend_from_slice(&head),
                _ => self.plain(&head),
            }
        }
        if let Some(SplitLine::Cri {
            mut pending,
            tag_at,
            tag,
        }) = self.line.take()
        {
            pending[tag_at] = tag;
            self.out.extend_from_slice(&pending);
        }
        &self.out
    }

    /// A piece of a plain line (no newline in it).
    fn plain(&mut self, segment: &[u8]) {
        let mut rest = segment;
        while self.column + rest.len() > self.limit {
            let cut = safe_cut(rest, self.limit - self.column);
            if cut == 0 && self.column > 0 {
                // Nothing more fits on this line: start a new one.
                self.out.push(b'\n');
                self.column = 0;
                continue;
            }
            // `cut == 0` at a line start only for a marker longer than the limit: keep it whole.
            let cut = if cut == 0 {
                marker_end(rest, 0).unwrap_or(1).min(rest.len())
            } else {
                cut
            };
            self.out.extend_from_slice(&rest[..cut]);
            rest = &rest[cut..];
            if rest.is_empty() {
                self.column += cut;
                return;
            }
            self.out.push(b'\n');
            self.column = 0;
        }
        self.out.extend_from_slice(rest);
        self.column += rest.len();
    }
}

/// Writes `P` records of at most `limit` bytes from the front of `pending` (a CRI record's piece,
/// envelope first) while more than `limit` bytes are held; what stays is the next piece, under the
/// same envelope.
fn cut_cri(pending: &mut Vec<u8>, tag_at: usize, limit: usize, out: &mut Vec<u8>) {
    let message_start = tag_at + 2;
    while pending.len() > limit {
        let mut cut = safe_cut(pending, limit);
        if cut <= message_start {
            // A marker longer than the room after the envelope: keep it whole.
            cut = marker_end(pending, message_start)
                .unwrap_or(message_start + 1)
                .min(pending.len());
        }
        if cut >= pending.len() {
            return;
        }
        pending[tag_at] = b'P';
        out.extend_from_slice(&pending[..cut]);
        out.push(b'\n');
        pending.drain(message_start..cut);
    }
}

/// The largest cut `<= want` into `line` (which is longer than `want`) that is neither inside a
/// redaction marker nor inside a UTF-8 character.
fn safe_cut(line: &[u8], want: usize) -> usize {
    let mut cut = want;
    // A marker is at most a few hundred bytes: look back that far for one that spans the cut.
    let from = cut.saturating_sub(MIN_SPLIT_LINE_BYTES * 4);
    // A marker whose opening text itself straddles the cut counts too.
    let to = (cut + MARKER_OPEN.len()).min(line.len());
    let last_open_before_cut = memmem::rfind_iter(&line[from..to], MARKER_OPEN)
        .map(|p| from + p)
        .find(|&p| p < cut);
    if let Some(open) = last_open_before_cut {
        if marker_end(line, open).map_or(true, |end| end > cut) {
            cut = open;
        }
    }
    while cut > 0 && (line[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    cut
}

/// Where the marker starting at `open` ends (one past its `]`).
fn marker_end(line: &[u8], open: usize) -> Option<usize> {
    memchr(b']', &line[open..]).map(|p| open + p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(limit: usize, pieces: &[&[u8]]) -> Vec<u8> {
        split_with(limit, false, pieces)
    }

    fn split_with(limit: usize, cri_records: bool, pieces: &[&[u8]]) -> Vec<u8> {
        let mut s = LineSplitter::new(limit, cri_records);
        let mut all = Vec::new();
        for p in pieces {
            all.extend_from_slice(s.split(p));
        }
        all.extend_from_slice(s.finish());
        all
    }

    fn max_line(text: &[u8]) -> usize {
        text.split(|&b| b == b'\n')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn short_lines_pass_unchanged_and_exact_fits_are_not_cut() {
        let text = [b"a".repeat(128), b"\n".to_vec(), b"b".repeat(10)].concat();
        assert_eq!(split_all(128, &[&text]), text);
    }

    #[test]
    fn long_lines_are_cut_at_the_limit_and_nothing_is_lost() {
        let text = [b"x".repeat(1000), b"\nshort\n".to_vec(), b"y".repeat(300)].concat();
        let out = split_all(128, &[&text]);
        assert!(max_line(&out) <= 128);
        let joined: Vec<u8> = out.iter().copied().filter(|&b| b != b'\n').collect();
        let original: Vec<u8> = text.iter().copied().filter(|&b| b != b'\n').collect();
        assert_eq!(joined, original);
        assert!(
            !out.ends_with(b"\n"),
            "no newline added after a last unterminated line"
        );
    }

    #[test]
    fn a_cut_never_falls_inside_a_marker_or_a_utf8_character() {
        let marker = b"[REDACTED:some-rule-id]";
        for offset in 100..128 {
            let line = [
                b"a".repeat(offset),
                marker.to_vec(),
                "é".repeat(100).into_bytes(),
            ]
            .concat();
            let out = split_all(128, &[&line]);
            assert!(max_line(&out) <= 128);
            assert!(
                out.windows(marker.len()).any(|w| w == marker),
                "marker cut at offset {offset}"
            );
            for piece in out.split(|&b| b == b'\n') {
                assert!(
                    std::str::from_utf8(piece).is_ok(),
                    "UTF-8 cut at offset {offset}"
                );
            }
        }
    }

    #[test]
    fn the_line_length_carries_over_between_pieces() {
        let a = b"a".repeat(100);
        let b = b"b".repeat(100);
        let out = split_all(128, &[&a, &b, b"\n", &a]);
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), 128);
        assert_eq!(lines[1].len(), 72);
        assert_eq!(lines[2], &a[..]);
    }

    #[test]
    fn cri_records_are_cut_into_cri_records() {
        let env = b"2024-05-01T10:00:00.123456789Z stdout F ";
        let line = [
            &env[..],
            &b"a".repeat(300),
            b" [REDACTED:some-rule-id] ",
            &b"b".repeat(60),
        ]
        .concat();
        for chunk in [7, 100, 1000] {
            let pieces: Vec<&[u8]> = line.chunks(chunk).chain([&b"\n"[..]]).collect();
            let out = split_with(128, true, &pieces);
            let records: Vec<&[u8]> = out
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            assert!(records.len() >= 4, "chunk {chunk}");
            let mut message = Vec::new();
            for (i, r) in records.iter().enumerate() {
                assert!(r.len() <= 128, "chunk {chunk}: record {i} too long");
                let parsed = cri::parse(r).expect("every piece is a CRI record");
                assert_eq!(&r[..31], &env[..31], "time and stream kept");
                let last = i + 1 == records.len();
                assert_eq!(
                    parsed.partial, !last,
                    "chunk {chunk}: P until the last piece, then F"
                );
                message.extend_from_slice(&r[parsed.message_start..]);
            }
            assert_eq!(message, line[env.len()..], "chunk {chunk}: nothing lost");
            assert!(out.windows(23).any(|w| w == b"[REDACTED:some-rule-id]"));
        }
        // A P record stays P in every piece; a short record is not touched.
        let p = [
            &b"2024-05-01T10:00:00Z stderr P "[..],
            &b"c".repeat(200),
            b"\nshort\n",
        ]
        .concat();
        let out = split_with(128, true, &[&p]);
        assert!(out
            .split(|&b| b == b'\n')
            .filter(|l| l.len() > 5)
            .all(|r| cri::parse(r).is_some_and(|c| c.partial)));
        assert!(out.ends_with(b"\nshort\n"));
    }
}
