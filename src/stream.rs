//! Streaming: reads input in large chunks, hands complete lines to the [`Filter`] in batches,
//! carries partial lines over, cuts over-long lines into overlapping windows, and writes and
//! flushes output.
//!
//! Owns: buffers, line framing, the flush policy. Must never: lose, duplicate, split or reorder a
//! line; hold more than `max_line_bytes` + one read of input in memory; wait for more input while
//! a complete line is still unwritten.
//!
//! Flush policy: every read is followed by a write and a flush of everything it completed. A read
//! returns as soon as the producer has written anything, so under trickle each line goes out at
//! once, and under load reads are large and so are writes (one `write` per batch; a batch always
//! ends on a line boundary, so each line goes out in one piece).

use std::io::{self, ErrorKind, Read, Write};

use memchr::memrchr;

use crate::filter::{Filter, FilterScratch, Outcome};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// Default size of one read.
pub const DEFAULT_READ_BYTES: usize = 256 * 1024;
/// Default longest line held whole (`--max-line-bytes`).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1024 * 1024;

/// Tuning for [`run`].
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    /// Lines longer than this are redacted in windows.
    pub max_line_bytes: usize,
    /// Bytes asked for per read.
    pub read_bytes: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            read_bytes: DEFAULT_READ_BYTES,
        }
    }
}

/// Where an I/O failure happened: the CLI treats a closed stdout differently from a bad read.
#[derive(Debug)]
pub enum StreamError {
    Read(io::Error),
    Write(io::Error),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Read(e) => write!(f, "error reading input: {e}"),
            StreamError::Write(e) => write!(f, "error writing output: {e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// Copies `input` to `output`, redacting every line. Returns at end of input, after the last
/// byte has been written and flushed.
pub fn run(
    input: &mut dyn Read,
    output: &mut dyn Write,
    filter: &Filter,
    options: StreamOptions,
    stats: &mut Stats,
) -> Result<(), StreamError> {
    run_until(input, output, filter, options, stats, &Shutdown::never())
}

/// [`run`], also stopping when `shutdown` is requested: after the batch in hand (and any partial
/// line already read) is written and flushed.
pub fn run_until(
    input: &mut dyn Read,
    output: &mut dyn Write,
    filter: &Filter,
    options: StreamOptions,
    stats: &mut Stats,
    shutdown: &Shutdown,
) -> Result<(), StreamError> {
    let overlap = filter.window_overlap();
    // Windows must make progress: each emits at least `max_line - overlap` bytes.
    let max_line = options.max_line_bytes.max(4 * overlap).max(4096);
    let read_bytes = options.read_bytes.max(1);
    let mut buf = vec![0u8; max_line + read_bytes];
    let mut len = 0;
    let mut out: Vec<u8> = Vec::new();
    let mut scratch = filter.scratch();
    // Set while a long line has been partly written: its first window changed it already.
    let mut long_line_changed: Option<bool> = None;

    loop {
        // Everything read so far is written: the moment to answer a SIGUSR1 stats request.
        stats.report_if_requested();
        // Idle only with nothing held: a partial line waits for its end (or EOF) instead.
        shutdown.set_idle(len == 0);
        let read = read_some(input, &mut buf[len..]);
        shutdown.set_idle(false);
        let n = read?;
        if shutdown.requested() {
            // Write every complete line in hand. A partial line is dropped: the rest of it will
            // never come, and its cut-off end could hold a secret too short to be recognised.
            let filled = len + n;
            stats.bytes += n as u64;
            if let Some(nl) = memrchr(b'\n', &buf[..filled]) {
                process_and_write(
                    filter,
                    &buf[..=nl],
                    &mut scratch,
                    &mut out,
                    output,
                    stats,
                    long_line_changed,
                )?;
            }
            return output.flush().map_err(StreamError::Write);
        }
        if n == 0 {
            if len > 0 {
                stats.lines += 1;
                let piece = &buf[..len];
                process_and_write(
                    filter,
                    piece,
                    &mut scratch,
                    &mut out,
                    output,
                    stats,
                    long_line_changed,
                )?;
            }
            return output.flush().map_err(StreamError::Write);
        }
        stats.bytes += n as u64;
        let filled = len + n;
        if let Some(nl) = memrchr(b'\n', &buf[len..filled]) {
            let end = len + nl + 1;
            process_and_write(
                filter,
                &buf[..end],
                &mut scratch,
                &mut out,
                output,
                stats,
                long_line_changed,
            )?;
            long_line_changed = None;
            buf.copy_within(end..filled, 0);
            len = filled - end;
        } else if filled >= max_line {
            out.clear();
            let (emitted, changed) =
                filter.process_window(&buf[..filled], &mut scratch, &mut out, stats);
            if changed && long_line_changed != Some(true) {
                stats.lines_changed += 1;
            }
            long_line_changed = Some(long_line_changed == Some(true) || changed);
            output.write_all(&out).map_err(StreamError::Write)?;
            buf.copy_within(emitted..filled, 0);
            len = filled - emitted;
        } else {
            len = filled;
            continue;
        }
        output.flush().map_err(StreamError::Write)?;
    }
}

fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> Result<usize, StreamError> {
    loop {
        match input.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Read(e)),
        }
    }
}

fn process_and_write(
    filter: &Filter,
    batch: &[u8],
    scratch: &mut FilterScratch,
    out: &mut Vec<u8>,
    output: &mut dyn Write,
    stats: &mut Stats,
    long_line_changed: Option<bool>,
) -> Result<(), StreamError> {
    out.clear();
    let bytes: &[u8] = match filter.process_lines(batch, scratch, out, stats) {
        Outcome::Unchanged => batch,
        Outcome::Rewritten { first_line_changed } => {
            if first_line_changed && long_line_changed == Some(true) {
                stats.lines_changed -= 1; // counted already with its earlier windows
            }
            out
        }
    };
    output.write_all(bytes).map_err(StreamError::Write)
}
