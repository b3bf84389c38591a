//! [`RedactingWriter`]: an [`io::Write`] adapter that redacts every line written through it
//! before it reaches the wrapped writer, so a program can redact its own log output in-process
//! (a `tracing` or `log` writer, a child's output, a file).
//!
//! Owns: the partial line between two `write` calls and the windows of an over-long line. Must
//! never: write a byte of a line before that line (or its window) has been redacted by the
//! [`Filter`] — the same filter, scanner and redactor the `logredact` CLI runs, so a finding means
//! the same thing in both; add, drop or reorder lines; hold more than about `max_line_bytes` of
//! input.
//!
//! When bytes go out:
//! - a complete line (ending in `\n`) is redacted and written during the `write` call that
//!   completes it;
//! - [`Write::flush`] writes nothing new: it flushes the wrapped writer. A trailing partial line
//!   (no `\n` yet) stays buffered, because its end may still hold a secret that only its whole
//!   line shows;
//! - [`RedactingWriter::finish`] (or dropping the writer) redacts and writes that partial line as
//!   a last line without a newline, then flushes;
//! - a line longer than `max_line_bytes` is redacted and written in overlapping windows as it
//!   arrives (as the CLI does, `--long-lines window`), so memory stays bounded.

use std::io::{self, Write};
use std::sync::Arc;

use memchr::{memchr, memrchr};

use crate::filter::{Filter, FilterScratch, Outcome};
use crate::stats::Stats;
use crate::stream::DEFAULT_MAX_LINE_BYTES;

/// Smallest window the writer works in (as the stream's): every window emits at least
/// `window - overlap` bytes.
const MIN_WINDOW_BYTES: usize = 4096;

/// Wraps a writer; redacts each line written through it (see the module docs for when bytes go
/// out).
///
/// ```
/// use std::io::Write;
/// use logredact_core::{builtin_filter, RedactingWriter};
///
/// let mut out = RedactingWriter::new(Vec::new(), builtin_filter()?);
/// // Written in pieces, as a logger might.
/// out.write_all(b"login ok password=hunter2hunter")?;
/// out.write_all(b"2 user=ann\n")?;
/// let text = String::from_utf8(out.finish()?)?;
/// assert_eq!(text, "login ok password=[REDACTED:password-assignment] user=ann\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedactingWriter<W: Write> {
    /// `None` only after [`RedactingWriter::finish`].
    inner: Option<W>,
    filter: Arc<Filter>,
    scratch: FilterScratch,
    stats: Stats,
    /// The partial line held between writes: no `\n`, shorter than `max_line`.
    pending: Vec<u8>,
    out: Vec<u8>,
    max_line: usize,
    /// Set while a long line has been partly written: whether its windows changed it already.
    long_line_changed: Option<bool>,
}

impl<W: Write> RedactingWriter<W> {
    /// A writer that redacts with `filter` (for example [`crate::builtin_filter`]) and writes to
    /// `inner`. Lines longer than [`DEFAULT_MAX_LINE_BYTES`] are redacted in windows.
    pub fn new(inner: W, filter: impl Into<Arc<Filter>>) -> Self {
        let filter = filter.into();
        let rule_count = filter.detector().rules().rules.len();
        let mut writer = RedactingWriter {
            inner: Some(inner),
            scratch: filter.scratch(),
            filter,
            stats: Stats::new(rule_count),
            pending: Vec::new(),
            out: Vec::new(),
            max_line: 0,
            long_line_changed: None,
        };
        writer.set_max_line_bytes(DEFAULT_MAX_LINE_BYTES);
        writer
    }

    /// Sets the longest line held whole (at least 4 KiB and four window overlaps are used
    /// whatever is asked); longer lines are redacted in overlapping windows. This bounds the
    /// memory the writer holds.
    pub fn with_max_line_bytes(mut self, max_line_bytes: usize) -> Self {
        self.set_max_line_bytes(max_line_bytes);
        self
    }

    fn set_max_line_bytes(&mut self, max_line_bytes: usize) {
        let overlap = self.filter.window_overlap();
        self.max_line = max_line_bytes.max(4 * overlap).max(MIN_WINDOW_BYTES);
    }

    /// Counts of what went through so far (lines, findings per kind, changed lines), as the CLI's
    /// `--stats` counts them.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The longest line held whole, in bytes: what was asked with
    /// [`RedactingWriter::with_max_line_bytes`], raised where windows need more room.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line
    }

    /// Bytes of a partial line held, unwritten (always less than
    /// [`RedactingWriter::max_line_bytes`]).
    pub fn buffered_len(&self) -> usize {
        self.pending.len()
    }

    /// The wrapped writer (`None` once finished).
    pub fn get_ref(&self) -> Option<&W> {
        self.inner.as_ref()
    }

    /// Redacts and writes a held partial line (as a last line, without a newline), flushes, and
    /// returns the wrapped writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.finish_pending()?;
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("the writer was already finished"))
    }

    fn finish_pending(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.stats.lines += 1; // the last line, without a newline
            let result = self.lines(&line);
            self.pending = line;
            self.pending.clear();
            result?;
        }
        self.inner_mut()?.flush()
    }

    fn inner_mut(&mut self) -> io::Result<&mut W> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::other("the writer was already finished"))
    }

    /// Redacts and writes whole lines (the first may end a long line's earlier windows).
    fn lines(&mut self, batch: &[u8]) -> io::Result<()> {
        self.out.clear();
        let outcome =
            self.filter
                .process_lines(batch, &mut self.scratch, &mut self.out, &mut self.stats);
        let long_line_changed = self.long_line_changed.take();
        let bytes: &[u8] = match outcome {
            Outcome::Unchanged => batch,
            Outcome::Rewritten { first_line_changed } => {
                if first_line_changed && long_line_changed == Some(true) {
                    self.stats.lines_changed -= 1; // counted already with its earlier windows
                }
                &self.out
            }
        };
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("the writer was already finished"))?;
        inner.write_all(bytes)
    }

    /// Redacts and writes the front of `pending` (a long line's window) and keeps the rest.
    fn window(&mut self) -> io::Result<()> {
        self.out.clear();
        let (emitted, changed) = self.filter.process_window(
            &self.pending,
            &mut self.scratch,
            &mut self.out,
            &mut self.stats,
        );
        let before = self.long_line_changed == Some(true);
        if changed && !before {
            self.stats.lines_changed += 1;
        }
        self.long_line_changed = Some(before || changed);
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| io::Error::other("the writer was already finished"))?;
        inner.write_all(&self.out)?;
        self.pending.drain(..emitted);
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    /// Takes all of `buf`: writes the lines it completes, redacted, and holds a partial line. On
    /// an error from the wrapped writer some of `buf`'s lines may have been written; the writer
    /// should then be dropped.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.pending.is_empty() {
                // The common case (whole lines per write): no copy of the input.
                if let Some(nl) = memrchr(b'\n', rest) {
                    self.lines(&rest[..=nl])?;
                    rest = &rest[nl + 1..];
                    continue;
                }
            }
            let room = self.max_line - self.pending.len();
            let piece = &rest[..rest.len().min(room)];
            let take = memchr(b'\n', piece).map_or(piece.len(), |nl| nl + 1);
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.last() == Some(&b'\n') {
                let line = std::mem::take(&mut self.pending);
                let result = self.lines(&line);
                self.pending = line;
                self.pending.clear();
                result?;
            } else if self.pending.len() >= self.max_line {
                self.window()?;
            }
        }
        Ok(buf.len())
    }

    /// Flushes the wrapped writer. Complete lines are already written; a partial line stays held
    /// (see [`RedactingWriter::finish`]).
    fn flush(&mut self) -> io::Result<()> {
        self.inner_mut()?.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    /// Writes a held partial line, redacted, as [`RedactingWriter::finish`] does; errors are
    /// ignored (call `finish` to see them).
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = self.finish_pending();
        }
    }
}

impl<W: Write> std::fmt::Debug for RedactingWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the held bytes: they are unredacted input.
        f.debug_struct("RedactingWriter")
            .field("pending_bytes", &self.pending.len())
            .field("max_line_bytes", &self.max_line)
            .finish_non_exhaustive()
    }
}
