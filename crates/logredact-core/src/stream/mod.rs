//! Streaming: reads input in large chunks, hands complete lines to the [`Filter`] in batches,
//! carries partial lines over, cuts over-long lines into overlapping windows, and writes and
//! flushes output.
//!
//! Owns: the read loop over the one line framer ([`framer::LineFramer`]), the batching policy
//! every reader shares ([`next_cut`]), the flush policy, and (only with `--long-lines split`, on
//! request) cutting over-long output lines after redaction. Must never: lose, duplicate, split or reorder
//! a line otherwise; hold more than twice `max_line_bytes` + one read of input in memory (partial
//! records held for their group, less than `max_line_bytes`, and a line being read); wait for
//! more input while a complete line is still unwritten, except the runtime partial records of a
//! group that is not complete yet and the lines after them (see `lines_end`).
//!
//! Flush policy: every read is followed by a write and a flush of everything it completed. A read
//! returns as soon as the producer has written anything, so under trickle each line goes out at
//! once, and under load reads are large and so are writes (one `write` per batch; a batch always
//! ends on a line boundary, so each line goes out in one piece).

pub mod framer;
pub mod parallel;
mod split;

use std::io::{self, Read, Write};

pub use framer::{Line, LineFramer, Overlong};

use crate::filter::{Filter, FilterScratch, Outcome};
use crate::format::{records, Format};
use crate::shutdown::Shutdown;
use crate::stats::Stats;
use split::LineSplitter;

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
    /// What becomes of a line longer than `max_line_bytes` in the output.
    pub long_lines: LongLines,
    /// Whether more input can be read right now without waiting (see [`stdin_ready`]). While it
    /// says yes, the stream reads on until a batch holds `read_bytes`: one big batch costs less
    /// per byte than many pipe-sized ones (64 KiB), and trickling input is never held back.
    pub more_waiting: fn() -> bool,
}

/// `--long-lines`: how an over-long line leaves the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongLines {
    /// One output line, redacted in overlapping windows.
    #[default]
    Window,
    /// Cut into lines of at most `max_line_bytes` bytes (newline not counted), after redaction,
    /// never inside a redaction marker or a UTF-8 character: for shippers that split long lines
    /// at a fixed buffer size anyway (Fluent Bit `exec`'s `Buf_Size`).
    Split,
}

/// Smallest `--max-line-bytes` that `--long-lines split` accepts: room for any marker.
pub const MIN_SPLIT_LINE_BYTES: usize = 128;

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            read_bytes: DEFAULT_READ_BYTES,
            long_lines: LongLines::Window,
            more_waiting: || false,
        }
    }
}

/// Whether stdin has input (or its end) ready to read right now: a zero-timeout `poll`.
pub fn stdin_ready() -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&now)), Ok(ready) if ready > 0)
}

/// Where an I/O failure happened: the CLI treats a closed stdout differently from a bad read.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
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
    let max_line = max_line(filter, &options);
    let read_bytes = options.read_bytes.max(1);
    // Held partial records (less than `max_line`, see `lines_end`) plus a line being read.
    let capacity = 2 * max_line + read_bytes;
    let mut framer = LineFramer::new(max_line, Overlong::Windows);
    // Reading on (see `more_waiting`) instead of writing what is complete.
    let mut reading_on = false;
    let mut scratch = filter.scratch();
    scratch.set_record_bound(max_line);
    let mut writer = BatchWriter {
        filter,
        scratch,
        out: Vec::new(),
        output,
        splitter: (options.long_lines == LongLines::Split).then(|| {
            let cri_records = matches!(filter.format(), Format::Cri | Format::Auto);
            LineSplitter::new(
                options.max_line_bytes.max(MIN_SPLIT_LINE_BYTES),
                cri_records,
            )
        }),
        long_line_changed: None,
    };

    loop {
        // Everything read so far is written: the moment to answer a SIGUSR1 stats request.
        stats.report_if_requested();
        // Complete lines in hand while not reading on are partial records held for the rest of
        // their group: a signal must get them written, so the wait for input must notice it.
        let holding = !reading_on && framer.complete() > 0;
        if holding && wait_holding(&options, shutdown) == Wait::Stop {
            // As below: a partial line after the held records is dropped.
            writer.lines(&framer.data()[..framer.complete()], stats)?;
            return writer.finish();
        }
        // Idle when every complete line read is written: a held partial line (no newline) would
        // be dropped on a signal anyway, so it must not delay the exit.
        shutdown.set_idle(framer.complete() == 0);
        // One read is at most `read_bytes`, as in the parallel reader: a file answers a read
        // of the whole room (2 MiB and more), and a batch that size doubled the peak RSS of
        // `logredact < file` through its output buffer. (`lines_end` keeps what is held under
        // `capacity - read_bytes`.)
        let room = capacity.saturating_sub(framer.len()).min(read_bytes);
        let read = framer.fill(input, room).map_err(StreamError::Read);
        shutdown.set_idle(false);
        let n = read?;
        stats.bytes += n as u64;
        if shutdown.requested() {
            // Write every complete line in hand. A partial line is dropped: the rest of it will
            // never come, and its cut-off end could hold a secret too short to be recognised.
            if framer.complete() > 0 {
                writer.lines(&framer.data()[..framer.complete()], stats)?;
            }
            return writer.finish();
        }
        if n == 0 {
            let data = framer.data();
            if let Some(&last) = data.last() {
                if last != b'\n' {
                    stats.lines += 1; // the last line, without a newline
                }
                writer.lines(data, stats)?;
            }
            return writer.finish();
        }
        if framer.len() < options.read_bytes && (options.more_waiting)() {
            reading_on = true;
            continue;
        }
        reading_on = false;
        match next_cut(&framer, filter.format()) {
            Cut::Lines(end) => {
                writer.lines(&framer.data()[..end], stats)?;
                framer.consume(end);
            }
            Cut::Window => {
                let emitted = writer.window(framer.data(), stats)?;
                framer.consume(emitted);
            }
            Cut::More => continue,
        }
        writer.flush()?;
    }
}

/// What the reader should do with what its [`LineFramer`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Hand over `data()[..end]`: whole lines, never ending inside a group of partial records.
    Lines(usize),
    /// A line of `limit` bytes or more without its end: redact a window of it.
    Window,
    /// Read more first.
    More,
}

/// The batching policy shared by every reader of the data path (the filter's stream, the
/// parallel reader, `lint`), over a framer whose limit is [`line_bound`]: whole lines up to the
/// last one that settles every group of partial records (see `lines_end`), else a window of an
/// over-long line, else wait for more.
pub fn next_cut(framer: &LineFramer, format: Format) -> Cut {
    let end = lines_end(framer.data(), framer.complete(), framer.limit(), format);
    if end > 0 {
        Cut::Lines(end)
    } else if framer.long_line() {
        Cut::Window
    } else {
        Cut::More
    }
}

/// What [`wait_holding`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Input is ready (or cannot block): read it.
    Read,
    /// A termination signal arrived: write what is held and stop.
    Stop,
}

/// While partial records wait for the rest of their group, a blocking read must not hide a
/// signal (a handler that only sets a flag does not interrupt a restarted `read`): on stdin,
/// wait in short polls that check for a signal between them. Other inputs (files) never block.
pub(crate) fn wait_holding(options: &StreamOptions, shutdown: &Shutdown) -> Wait {
    if options.more_waiting as usize != stdin_ready as fn() -> bool as usize {
        return Wait::Read;
    }
    loop {
        if shutdown.requested() {
            return Wait::Stop;
        }
        if stdin_ready_within(50) {
            return Wait::Read;
        }
    }
}

/// [`stdin_ready`], waiting up to `millis` for it.
fn stdin_ready_within(millis: i64) -> bool {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: millis * 1_000_000,
    };
    // An error (EINTR from a signal) returns at once: the caller checks for the signal.
    matches!(poll(&mut fds, Some(&timeout)), Ok(ready) if ready > 0)
}

/// Where the batch of whole lines in `buf[..complete]` (`buf` is everything read) should end.
/// Runtime partial records are held until their group is complete (CRI `P` until its `F`, Docker
/// `log` until its `\n`), so the group is searched whole; the grouping rule
/// (`format::records::Grouping`) closes a group whose span reaches `max_line`, and a line longer
/// than `max_line` cuts every open group where it starts. Both cuts depend on content alone, so
/// any pattern of reads (and the parallel stream) joins the same records. A complete line that is
/// no partial record is held only behind an open group that comes before it.
pub(crate) fn lines_end(buf: &[u8], complete: usize, max_line: usize, format: Format) -> usize {
    if buf.len() - complete >= max_line {
        return complete;
    }
    records::settled_end(&buf[..complete], format, max_line)
}

/// The longest line held whole: `--max-line-bytes`, but windows must make progress (each emits
/// at least `max_line - overlap` bytes).
pub(crate) fn max_line(filter: &Filter, options: &StreamOptions) -> usize {
    line_bound(filter, options.max_line_bytes)
}

/// The longest line any reader holds whole for `--max-line-bytes` `max_line_bytes` (the limit of
/// its [`LineFramer`], and the bound partial-record groups are closed at): at least four window
/// overlaps, so every window makes progress, and at least 4 KiB.
pub fn line_bound(filter: &Filter, max_line_bytes: usize) -> usize {
    max_line_bytes.max(4 * filter.window_overlap()).max(4096)
}

/// The output side of the single-threaded stream: redacts what it is given and writes it,
/// through the long-line splitter when `--long-lines split` is on.
struct BatchWriter<'a, 'w> {
    filter: &'a Filter,
    scratch: FilterScratch,
    out: Vec<u8>,
    output: &'a mut (dyn Write + 'w),
    splitter: Option<LineSplitter>,
    /// Set while a long line has been partly written: whether its windows changed it already.
    long_line_changed: Option<bool>,
}

impl BatchWriter<'_, '_> {
    /// Redacts and writes whole lines (the first may end a long line's earlier windows).
    fn lines(&mut self, batch: &[u8], stats: &mut Stats) -> Result<(), StreamError> {
        self.out.clear();
        let outcome = self
            .filter
            .process_lines(batch, &mut self.scratch, &mut self.out, stats);
        let long_line_changed = self.long_line_changed.take();
        let bytes: &[u8] = match outcome {
            Outcome::Unchanged => batch,
            Outcome::Rewritten { first_line_changed } => {
                if first_line_changed && long_line_changed == Some(true) {
                    stats.lines_changed -= 1; // counted already with its earlier windows
                }
                &self.out
            }
        };
        write_through(self.output, self.splitter.as_mut(), bytes)
    }

    /// Redacts and writes the front of a long line's window; returns how much of it was used.
    fn window(&mut self, window: &[u8], stats: &mut Stats) -> Result<usize, StreamError> {
        self.out.clear();
        let (emitted, changed) =
            self.filter
                .process_window(window, &mut self.scratch, &mut self.out, stats);
        let before = self.long_line_changed == Some(true);
        if changed && !before {
            stats.lines_changed += 1;
        }
        self.long_line_changed = Some(before || changed);
        write_through(self.output, self.splitter.as_mut(), &self.out)?;
        Ok(emitted)
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        self.output.flush().map_err(StreamError::Write)
    }

    /// The end of the stream: writes what the splitter holds of a last line, and flushes.
    fn finish(&mut self) -> Result<(), StreamError> {
        if let Some(splitter) = self.splitter.as_mut() {
            let held = splitter.finish();
            self.output.write_all(held).map_err(StreamError::Write)?;
        }
        self.flush()
    }
}

fn write_through(
    output: &mut dyn Write,
    splitter: Option<&mut LineSplitter>,
    bytes: &[u8],
) -> Result<(), StreamError> {
    let bytes = match splitter {
        Some(splitter) => splitter.split(bytes),
        None => bytes,
    };
    output.write_all(bytes).map_err(StreamError::Write)
}
