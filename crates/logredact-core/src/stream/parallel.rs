//! The parallel stream (`--threads N`, N > 1): the reader (the calling thread) cuts input into
//! batches of whole lines, N workers run the expensive stateless scan ([`Filter::scan`]) on
//! different batches at once, and one writer thread puts the results back in input order, applies
//! them ([`Filter::apply`], which carries private-key state from batch to batch) and writes.
//! When input trickles (a small batch, everything before it written), the reader scans it itself
//! and hands it straight to the writer. Output is byte for byte the same as the single-threaded
//! stream's.
//!
//! Owns: the threads, the channels between them, batch order. Must never: write batches out of
//! order, hold an unbounded number of batches (channels and the reader's buffer pool are bounded,
//! so a slow consumer or a slow worker stalls the reader), or leave a thread running when it
//! returns.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};

use super::framer::{LineFramer, Overlong};
use super::{Cut, LongLines, StreamError, StreamOptions};
use crate::filter::{Filter, Outcome, Scanned};
use crate::scan::ScanScratch;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// How far the threads have got, so a signal can tell whether anything is held (see
/// [`Shutdown`]): idle means the reader waits with no partial line and every batch is written.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    written: AtomicU64,
    reader_waiting_empty: AtomicBool,
    /// Bytes read so far, for the writer's SIGUSR1 reports (the writer counts everything else).
    bytes_read: AtomicU64,
}

impl Progress {
    fn update_idle(&self, shutdown: &Shutdown) {
        let all_written = self.sent.load(Ordering::SeqCst) == self.written.load(Ordering::SeqCst);
        if all_written && self.reader_waiting_empty.load(Ordering::SeqCst) {
            shutdown.set_idle(true);
        }
    }
}

/// Batches up to this size are scanned by the reader itself when every earlier batch has been
/// written (input trickles in): the workers are for throughput, not for single lines.
const INLINE_SCAN_BYTES: usize = 16 * 1024;

/// Work for the pool, numbered in input order: the lines are `batch[..len]` (the buffer's bytes
/// past `len` are stale; see [`BufferPool::take`]).
struct Job {
    seq: u64,
    batch: Vec<u8>,
    len: usize,
}

/// A result for the writer, numbered in input order; its bytes are `batch[..len]`.
struct Done {
    seq: u64,
    batch: Vec<u8>,
    len: usize,
    piece: Piece,
}

enum Piece {
    /// Whole lines, scanned by a worker; the writer applies the findings.
    Lines(Scanned),
    /// A window of an over-long line, already redacted by the reader, with its counts.
    Rendered(Stats),
}

/// Like [`super::run_until`], with `threads` scanning workers.
pub fn run<W: Write + Send>(
    input: &mut dyn Read,
    output: W,
    filter: &Filter,
    options: StreamOptions,
    stats: &mut Stats,
    shutdown: &Shutdown,
    threads: usize,
) -> Result<(), StreamError> {
    if options.long_lines == LongLines::Split {
        // Cutting long lines happens while writing and needs the single-threaded sink.
        let mut output = output;
        return super::run_until(input, &mut output, filter, options, stats, shutdown);
    }
    let threads = threads.max(1);
    // The bound the reader groups partial records by (see `super::lines_end`).
    let record_bound = super::max_line(filter, &options);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads * 2);
    let (done_tx, done_rx) = mpsc::sync_channel::<Done>(threads * 2);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    // The writer's counts: zero, but answering SIGUSR1 like `stats` (it sees lines and findings).
    let writer_stats = stats.zeroed_twin();
    let progress = Progress::default();

    std::thread::scope(|scope| {
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || scan_jobs(filter, record_bound, &job_rx, &done_tx));
        }
        // Only the workers may hold the job receiver: when they stop (the writer failed), the
        // reader's next send must fail instead of blocking forever.
        drop(job_rx);
        let progress = &progress;
        let writer = scope.spawn(move || {
            write_in_order(
                filter,
                output,
                done_rx,
                free_tx,
                writer_stats,
                progress,
                shutdown,
            )
        });
        let channels = Channels {
            jobs: &job_tx,
            done: &done_tx,
            free: BufferPool::new(&free_rx, threads),
        };
        let read = read_batches(input, filter, options, stats, shutdown, channels, progress);
        // Closing the channels lets the workers and then the writer finish.
        drop(job_tx);
        drop(done_tx);
        let written = writer.join().unwrap_or_else(|_| {
            Err(StreamError::Write(std::io::Error::other(
                "output thread failed",
            )))
        });
        match (read, written) {
            (_, Err(e)) => Err(e),
            (Err(e), Ok(counts)) => {
                stats.merge(&counts);
                Err(e)
            }
            (Ok(()), Ok(counts)) => {
                stats.merge(&counts);
                Ok(())
            }
        }
    })
}

fn scan_jobs(
    filter: &Filter,
    record_bound: usize,
    jobs: &Mutex<Receiver<Job>>,
    done: &SyncSender<Done>,
) {
    let mut scratch = filter.scan_scratch();
    scratch.set_record_bound(record_bound);
    loop {
        // The lock is held only to take one job, never while scanning.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if done.send(scan(filter, &mut scratch, job)).is_err() {
            return;
        }
    }
}

/// A job's scan, ready for the writer: what a worker does with it, and the reader with a small
/// batch when input trickles.
fn scan(filter: &Filter, scratch: &mut ScanScratch, job: Job) -> Done {
    let mut scanned = Scanned::default();
    filter.scan(&job.batch[..job.len], scratch, &mut scanned);
    Done {
        seq: job.seq,
        batch: job.batch,
        len: job.len,
        piece: Piece::Lines(scanned),
    }
}

fn write_in_order<W: Write>(
    filter: &Filter,
    mut output: W,
    done: Receiver<Done>,
    free: Sender<Vec<u8>>,
    mut stats: Stats,
    progress: &Progress,
    shutdown: &Shutdown,
) -> Result<Stats, StreamError> {
    let mut scratch = filter.scratch();
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    let mut out = Vec::new();
    let mut long_line_changed: Option<bool> = None;
    for d in done {
        pending.insert(d.seq, d);
        while let Some(mut d) = pending.remove(&next) {
            next += 1;
            let batch = &d.batch[..d.len];
            match &mut d.piece {
                Piece::Lines(scanned) => {
                    out.clear();
                    let bytes: &[u8] =
                        match filter.apply(batch, scanned, &mut scratch, &mut out, &mut stats) {
                            Outcome::Unchanged => batch,
                            Outcome::Rewritten { first_line_changed } => {
                                if first_line_changed && long_line_changed == Some(true) {
                                    stats.lines_changed -= 1; // counted with the line's windows
                                }
                                &out
                            }
                        };
                    long_line_changed = None;
                    output.write_all(bytes).map_err(StreamError::Write)?;
                }
                Piece::Rendered(window_stats) => {
                    let changed = window_stats.total_findings() > 0;
                    if changed && long_line_changed != Some(true) {
                        stats.lines_changed += 1;
                    }
                    long_line_changed = Some(long_line_changed == Some(true) || changed);
                    let mut counts = window_stats.clone();
                    counts.lines_changed = 0;
                    stats.merge(&counts);
                    output.write_all(batch).map_err(StreamError::Write)?;
                }
            }
            let _ = free.send(d.batch);
        }
        output.flush().map_err(StreamError::Write)?;
        stats.report_if_requested_with_bytes(progress.bytes_read.load(Ordering::Relaxed));
        progress.written.store(next, Ordering::SeqCst);
        progress.update_idle(shutdown);
    }
    output.flush().map_err(StreamError::Write)?;
    Ok(stats)
}

/// The reader's ends of the channels.
struct Channels<'a> {
    jobs: &'a SyncSender<Job>,
    done: &'a SyncSender<Done>,
    free: BufferPool<'a>,
}

/// The reader: fills buffers, sends whole-line batches to the workers and long-line windows
/// (redacted here, they are rare) straight to the writer.
fn read_batches(
    input: &mut dyn Read,
    filter: &Filter,
    options: StreamOptions,
    stats: &mut Stats,
    shutdown: &Shutdown,
    channels: Channels,
    progress: &Progress,
) -> Result<(), StreamError> {
    let Channels {
        jobs,
        done,
        mut free,
    } = channels;
    let max_line = super::max_line(filter, &options);
    let read_bytes = options.read_bytes.max(1);
    let mut window_scratch = filter.scratch();
    let mut inline_scratch = filter.scan_scratch();
    inline_scratch.set_record_bound(max_line);
    let mut seq = 0u64;
    // A send fails only when the writer stopped (its error is what the caller reports).
    let stopped = || Ok(());
    let Some(buf) = free.take(read_bytes) else {
        return stopped();
    };
    let mut framer = LineFramer::with_buffer(buf, max_line, Overlong::Windows);
    // Reading on (see `StreamOptions::more_waiting`) instead of sending what is complete.
    let mut reading_on = false;
    loop {
        // Reading on with complete lines in hand: only up to `read_bytes` in all, so batch
        // buffers (the pool's unit of memory) stay at `read_bytes` plus a partial line.
        let room = match reading_on && framer.complete() > 0 {
            false => read_bytes,
            true => read_bytes.saturating_sub(framer.len()).max(1),
        };
        progress.sent.store(seq, Ordering::SeqCst);
        // Complete lines in hand while not reading on are partial records held for the rest of
        // their group: they must be written on a signal.
        let holding = !reading_on && framer.complete() > 0;
        if holding && super::wait_holding(&options, shutdown) == super::Wait::Stop {
            // A partial line after the held records is dropped, as on any signal.
            let len = framer.complete();
            let (batch, _) = framer.take_all();
            if jobs.send(Job { seq, batch, len }).is_err() {
                return stopped();
            }
            return Ok(());
        }
        // A partial line alone does not count as held: it is dropped on a signal (see Shutdown).
        progress
            .reader_waiting_empty
            .store(framer.complete() == 0, Ordering::SeqCst);
        progress.update_idle(shutdown);
        let read = framer.fill(input, room).map_err(StreamError::Read);
        progress.reader_waiting_empty.store(false, Ordering::SeqCst);
        shutdown.set_idle(false);
        let n = read?;
        stats.bytes += n as u64;
        progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        let filled = framer.len();
        let at_end = n == 0 || shutdown.requested();
        if !at_end && filled < read_bytes && (options.more_waiting)() {
            reading_on = true;
            continue;
        }
        reading_on = false;
        if n == 0 && filled > 0 && !shutdown.requested() {
            // End of input: everything in hand is the last batch (its last line may lack a
            // newline).
            if framer.data()[filled - 1] != b'\n' {
                stats.lines += 1;
            }
            let (batch, len) = framer.take_all();
            if jobs.send(Job { seq, batch, len }).is_err() {
                return stopped();
            }
            return Ok(());
        }
        // At a signal every complete line goes, held partial records too.
        let cut = match at_end {
            true if framer.complete() > 0 => Cut::Lines(framer.complete()),
            true if framer.long_line() => Cut::Window,
            true => Cut::More,
            false => super::next_cut(&framer, filter.format()),
        };
        match cut {
            Cut::Lines(end) => {
                let Some(next) = free.take(read_bytes + filled - end) else {
                    return stopped();
                };
                let job = Job {
                    seq,
                    batch: framer.split_off(end, next),
                    len: end,
                };
                let idle = progress.written.load(Ordering::SeqCst) == seq;
                let sent = if idle && end <= INLINE_SCAN_BYTES {
                    // Trickling input: scanning here saves the hand-over to a sleeping worker
                    // (a thread wake-up per line: twice the latency of --threads 1, measured).
                    done.send(scan(filter, &mut inline_scratch, job)).is_ok()
                } else {
                    jobs.send(job).is_ok()
                };
                if !sent {
                    return stopped();
                }
                seq += 1;
            }
            Cut::Window => {
                // A recycled buffer: every buffer the writer frees must be taken again here, or
                // the free list would grow by one window per window.
                let Some(mut out) = free.take(filled) else {
                    return stopped();
                };
                out.clear();
                let mut window_stats = Stats::new(stats.findings.len());
                let (emitted, _) = filter.process_window(
                    framer.data(),
                    &mut window_scratch,
                    &mut out,
                    &mut window_stats,
                );
                framer.consume(emitted);
                let piece = Piece::Rendered(window_stats);
                if done
                    .send(Done {
                        seq,
                        len: out.len(),
                        batch: out,
                        piece,
                    })
                    .is_err()
                {
                    return stopped();
                }
                seq += 1;
            }
            Cut::More => {}
        }
        if at_end {
            // A partial line in hand at a signal is dropped, as in the single-threaded stream.
            return Ok(());
        }
    }
}

/// The reader's batch buffers. Recycled from the writer; a new one only while fewer than `limit`
/// exist, else the reader waits for the writer to free one. The channels alone do not bound the
/// batches held: while one worker is slow (descheduled on a busy machine), the others' results
/// pile up in the writer waiting for its batch, and each needed a new buffer (measured: peak RSS
/// 96 MiB with `--threads 4` on 3 GB of typical logs, and varying from run to run).
struct BufferPool<'a> {
    free: &'a Receiver<Vec<u8>>,
    allocated: usize,
    limit: usize,
}

impl<'a> BufferPool<'a> {
    fn new(free: &'a Receiver<Vec<u8>>, threads: usize) -> Self {
        BufferPool {
            free,
            allocated: 0,
            // As many as the channels and threads can hold at once: 2 per worker queued for the
            // workers, 1 being scanned, 2 queued for the writer, and the reader's two plus the
            // writer's one, so the limit only bites when results pile up out of order.
            limit: threads * 5 + 3,
        }
    }

    /// A buffer with room for `capacity` bytes, or `None` when the writer has stopped. Its old
    /// bytes are left in place (its length is how much of it is initialised): callers overwrite
    /// what they use, and a recycled buffer is never zeroed again (that memset was 6 % of the
    /// CPU time with 2 threads).
    fn take(&mut self, capacity: usize) -> Option<Vec<u8>> {
        let mut v = match self.free.try_recv() {
            Ok(v) => v,
            Err(TryRecvError::Empty) if self.allocated < self.limit => {
                self.allocated += 1;
                Vec::new()
            }
            // Every buffer is in flight: the writer frees one as soon as it writes the next
            // batch in order, which is never the reader's (it has been sent already).
            Err(TryRecvError::Empty) => self.free.recv().ok()?,
            Err(TryRecvError::Disconnected) => return None,
        };
        if v.capacity() > 2 * capacity {
            // Grown for a long line's window: give the memory back.
            v = Vec::new();
        }
        // Exact: amortized growth would double every buffer whose next carried-over partial
        // line is a little longer than its last.
        v.reserve_exact(capacity.saturating_sub(v.len()));
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_allocates_up_to_its_limit_then_only_recycles() {
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let mut pool = BufferPool::new(&free_rx, 1);
        let limit = pool.limit;
        let held: Vec<Vec<u8>> = (0..limit).map(|_| pool.take(100).unwrap()).collect();
        assert_eq!(pool.allocated, limit);
        // The writer frees one: the next take gets that very buffer, not a new one.
        let freed = held[0].as_ptr();
        free_tx.send(held.into_iter().next().unwrap()).unwrap();
        let again = pool.take(100).unwrap();
        assert_eq!(again.as_ptr(), freed);
        assert_eq!(pool.allocated, limit);
        // The writer stopped and nothing is free: the reader is told to stop, not to allocate.
        drop(free_tx);
        assert!(pool.take(100).is_none());
        assert_eq!(pool.allocated, limit);
    }

    #[test]
    fn recycled_buffers_grow_exactly_and_shrink_after_a_long_line() {
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let mut pool = BufferPool::new(&free_rx, 1);
        free_tx.send(Vec::with_capacity(1000)).unwrap();
        let grown = pool.take(1500).unwrap();
        assert!(
            grown.capacity() >= 1500 && grown.capacity() < 2000,
            "not doubled"
        );
        free_tx.send(Vec::with_capacity(10 * 1024 * 1024)).unwrap();
        let after_long_line = pool.take(1000).unwrap();
        assert!(after_long_line.capacity() >= 1000 && after_long_line.capacity() < 2000);
    }
}
