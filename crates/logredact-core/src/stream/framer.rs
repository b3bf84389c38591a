//! The line framer under every reader (the filter's stream, the `--threads` reader, `lint`, the
//! rsyslog protocol loop): one buffer that is filled from a [`Read`], knows where its complete
//! lines end, and gives up its front once the caller has used it.
//!
//! Owns: the read buffer, reading (retrying `EINTR`), where the last `\n` is, carrying a partial
//! line over to the next fill, and what happens to a line longer than the caller's limit
//! ([`Overlong`]: cut into windows the caller takes, or dropped whole and reported). Must never:
//! look at line content beyond the `\n` terminator (what a batch should hold — partial-record
//! groups, JSON, CRI — is the caller's policy), drop or reorder a byte (except the body of an
//! over-long line under [`Overlong::Drop`], which the caller asked for and is told about), or
//! search the same bytes for `\n` twice.

use std::io::{self, ErrorKind, Read};

use memchr::{memchr, memrchr};

/// What becomes of a line longer than the framer's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlong {
    /// It stays in the buffer; once `limit` bytes of it are held, [`LineFramer::long_line`] says
    /// so and the caller takes a window off its front ([`LineFramer::consume`]).
    Windows,
    /// Its bytes are dropped as they arrive and [`LineFramer::next_line`] reports it as
    /// [`Line::TooLong`] once its `\n` (or the end of input) is seen.
    Drop,
}

/// One line from [`LineFramer::next_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// `data()[..len]` is the line, without its `\n`; `consume(len + newline)` when done.
    Whole {
        /// Bytes of the line.
        len: usize,
        /// Whether a `\n` follows (not at the end of input without one).
        newline: bool,
    },
    /// A line longer than the limit ended; its bytes were dropped ([`Overlong::Drop`]).
    TooLong,
}

/// A read buffer framed into lines (see the module doc).
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Bytes read and not consumed: `buf[..len]`.
    len: usize,
    /// End of the last complete line in `buf[..len]` (one past its `\n`); 0 when none.
    complete: usize,
    /// The longest line held whole.
    limit: usize,
    overlong: Overlong,
    /// Under [`Overlong::Drop`]: the line being read is over the limit and being dropped.
    dropping: bool,
}

impl LineFramer {
    /// An empty framer; the buffer grows on demand (see [`LineFramer::fill`]).
    pub fn new(limit: usize, overlong: Overlong) -> Self {
        Self::with_buffer(Vec::new(), limit, overlong)
    }

    /// An empty framer reading into `buf` (its old bytes are never read, only overwritten: a
    /// recycled buffer need not be zeroed again).
    pub fn with_buffer(buf: Vec<u8>, limit: usize, overlong: Overlong) -> Self {
        LineFramer {
            buf,
            len: 0,
            complete: 0,
            limit,
            overlong,
            dropping: false,
        }
    }

    /// Reads once (retrying `EINTR`) up to `room` bytes (at least one) after what is held, growing
    /// the buffer to fit; returns how many bytes came, 0 only at the end of input. (A `room` of
    /// 0 once read nothing and returned 0: a caller whose buffer was full took that for the end
    /// and cut its input short.)
    pub fn fill(&mut self, input: &mut dyn Read, room: usize) -> io::Result<usize> {
        let want = self.len + room.max(1);
        if self.buf.capacity() == 0 {
            // A fresh zeroed allocation: the kernel's zero pages, touched only as reads fill
            // them (a `resize` would write every byte of a buffer sized for the longest line).
            self.buf = vec![0; want];
        } else if self.buf.len() < want {
            // Zeroes only memory this buffer never held.
            self.buf.resize(want, 0);
        }
        let n = loop {
            match input.read(&mut self.buf[self.len..want]) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let new = self.len..self.len + n;
        if let Some(nl) = memrchr(b'\n', &self.buf[new.clone()]) {
            self.complete = new.start + nl + 1;
        }
        self.len = new.end;
        Ok(n)
    }

    /// Everything held: complete lines, then perhaps the start of one more.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How many bytes are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the complete lines of [`LineFramer::data`] end (0: not one `\n` held).
    pub fn complete(&self) -> usize {
        self.complete
    }

    /// The longest line held whole.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Under [`Overlong::Windows`]: whether the buffer holds no `\n` and `limit` or more bytes of
    /// one line, so the caller must take a window off its front to make progress.
    pub fn long_line(&self) -> bool {
        self.overlong == Overlong::Windows && self.complete == 0 && self.len >= self.limit
    }

    /// Drops the first `n` bytes held (a batch of whole lines, a window or a line the caller
    /// has used); the rest moves to the front.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
        // The last `\n` is where it was, or was consumed with everything before it.
        self.complete = self.complete.saturating_sub(n);
    }

    /// Hands over the first `end` bytes in the buffer they were read into, without copying
    /// them: returns that buffer (its bytes past `end` are stale) and goes on with `next`, into
    /// which the rest is copied.
    pub fn split_off(&mut self, end: usize, mut next: Vec<u8>) -> Vec<u8> {
        let end = end.min(self.len);
        let rest = self.len - end;
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&self.buf[end..self.len]);
        self.len = rest;
        self.complete = self.complete.saturating_sub(end);
        std::mem::replace(&mut self.buf, next)
    }

    /// Gives up the buffer and everything held in it (`[..len]`), leaving the framer empty.
    pub fn take_all(&mut self) -> (Vec<u8>, usize) {
        let len = std::mem::take(&mut self.len);
        self.complete = 0;
        (std::mem::take(&mut self.buf), len)
    }

    /// Under [`Overlong::Drop`]: the next line held, or `None` when more input is needed (`at_end`:
    /// there is none, so a last line without `\n` counts). Bytes of a line over the limit are
    /// dropped here as they come, so the buffer never holds more than `limit` + one read.
    pub fn next_line(&mut self, at_end: bool) -> Option<Line> {
        if self.dropping {
            return match memchr(b'\n', self.data()) {
                Some(nl) => {
                    self.consume(nl + 1);
                    self.dropping = false;
                    Some(Line::TooLong)
                }
                None => {
                    self.consume(self.len);
                    self.dropping = !at_end;
                    at_end.then_some(Line::TooLong)
                }
            };
        }
        let (len, newline) = match memchr(b'\n', self.data()) {
            Some(nl) => (nl, true),
            None if self.len > self.limit => {
                self.consume(self.len);
                self.dropping = !at_end;
                return at_end.then_some(Line::TooLong);
            }
            None if at_end && self.len > 0 => (self.len, false),
            None => return None,
        };
        if len > self.limit {
            self.consume(len + 1);
            return Some(Line::TooLong);
        }
        Some(Line::Whole { len, newline })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn complete_lines_and_the_partial_rest_carry_over() {
        let input = b"one\ntwo\nthr";
        let mut f = LineFramer::new(64, Overlong::Windows);
        assert_eq!(f.fill(&mut &input[..], 100).unwrap(), 11);
        assert_eq!(f.complete(), 8);
        f.consume(4);
        assert_eq!((f.data(), f.complete()), (&b"two\nthr"[..], 4));
        f.consume(4);
        assert_eq!((f.data(), f.complete()), (&b"thr"[..], 0));
        f.fill(&mut &b"ee\n"[..], 100).unwrap();
        assert_eq!((f.data(), f.complete()), (&b"three\n"[..], 6));
    }

    #[test]
    fn every_byte_comes_out_once_in_order_for_any_read_size() {
        let input: Vec<u8> = (0..2000u32)
            .flat_map(|i| {
                let mut l = vec![b'a' + (i % 26) as u8; (i as usize * 7) % 90];
                l.push(b'\n');
                l
            })
            .chain(*b"tail")
            .collect();
        for step in [1, 3, 64, 1000, 100_000] {
            let mut f = LineFramer::new(50, Overlong::Windows);
            let mut reader = Trickle(&input, step);
            let mut out = Vec::new();
            loop {
                let n = f.fill(&mut reader, 128).unwrap();
                if n == 0 {
                    out.extend_from_slice(f.data());
                    break;
                }
                if f.complete() > 0 {
                    let end = f.complete();
                    assert_eq!(f.data()[end - 1], b'\n');
                    out.extend_from_slice(&f.data()[..end]);
                    f.consume(end);
                } else if f.long_line() {
                    out.extend_from_slice(&f.data()[..10]);
                    f.consume(10);
                }
                assert!(f.len() < 50 + 128, "step {step}: held {}", f.len());
            }
            assert_eq!(out, input, "step {step}");
        }
    }

    #[test]
    fn a_full_buffer_still_reads_and_only_the_end_of_input_returns_zero() {
        let mut f = LineFramer::new(64, Overlong::Windows);
        let mut input = &b"abc"[..];
        assert_eq!(f.fill(&mut input, 0).unwrap(), 1);
        assert_eq!(f.fill(&mut input, 0).unwrap(), 1);
        assert_eq!(f.fill(&mut input, 5).unwrap(), 1);
        assert_eq!(f.fill(&mut input, 0).unwrap(), 0);
        assert_eq!(f.data(), b"abc");
    }

    #[test]
    fn split_off_hands_over_the_front_and_keeps_the_rest() {
        let mut f = LineFramer::new(64, Overlong::Windows);
        f.fill(&mut &b"ab\ncd\nef"[..], 100).unwrap();
        let front = f.split_off(6, vec![9; 1]);
        assert_eq!(&front[..6], b"ab\ncd\n");
        assert_eq!((f.data(), f.complete()), (&b"ef"[..], 0));
        let (all, len) = f.take_all();
        assert_eq!(&all[..len], b"ef");
        assert!(f.is_empty());
    }

    #[test]
    fn dropped_lines_are_reported_once_and_the_others_whole() {
        let input = b"short\nthis one is long\nlast";
        for step in [1, 2, 5, 100] {
            let mut f = LineFramer::new(8, Overlong::Drop);
            let mut reader = Trickle(input, step);
            let mut seen = Vec::new();
            loop {
                let n = f.fill(&mut reader, 16).unwrap();
                while let Some(line) = f.next_line(n == 0) {
                    match line {
                        Line::Whole { len, newline } => {
                            seen.push(Some(f.data()[..len].to_vec()));
                            f.consume(len + usize::from(newline));
                        }
                        Line::TooLong => seen.push(None),
                    }
                }
                assert!(f.len() <= 8 + 16);
                if n == 0 {
                    break;
                }
            }
            assert_eq!(
                seen,
                [Some(b"short".to_vec()), None, Some(b"last".to_vec())],
                "step {step}"
            );
        }
    }
}
