//! `logredact run -- CMD [ARGS...]`: the container entrypoint wrapper. Starts CMD with our stdin,
//! redacts its stdout to our stdout and its stderr to our stderr, forwards termination and user
//! signals to it, reaps it, and reports its exit status.
//!
//! Owns: the child process, signal forwarding, the two output pumps and the exit code (the child's
//! code; 128+N when it died of signal N; 127 "not found" / 126 "cannot execute", as a shell does).
//! Must never: lose a line the child wrote before it exited (pumps run until end of file on each
//! pipe, so an abrupt exit still delivers everything, a last line without newline included), leave
//! the child unreaped, or mention the child's output in a message.
//!
//! Threads, and why: tokio (a current-thread runtime on the main thread) waits for signals — the
//! ones we forward, and SIGCHLD, on which we reap with `wait` (any child): the child, and as PID 1 of a
//! container the orphans re-parented to us (tokio's own process reaping only knows its own
//! children, so the child is spawned with `std::process` and reaped here). The two pumps
//! are plain threads that call the library's blocking [`stream::run`], so `run` redacts and
//! flushes exactly like the filter (same batching, long-line windows, flush policy) with no
//! second, async copy of that logic. Both pumps share one [`Filter`] (it is `Sync`); each has its
//! own scratch inside `stream::run`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, ErrorKind, IsTerminal, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread;

use rustix::process::{kill_process, wait, Pid, Signal, WaitOptions, WaitStatus};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::filter::Filter;
use crate::redact::HashKey;
use crate::stats::Stats;
use crate::stream::{self, StreamError, StreamOptions};

/// The signals forwarded to the child: what an orchestrator or a terminal sends to stop, reload
/// or poke a service. SIGKILL/SIGSTOP cannot be caught; SIGCHLD/SIGPIPE/SIGWINCH are ours.
pub const FORWARDED_SIGNALS: [(Signal, &str); 6] = [
    (Signal::TERM, "TERM"),
    (Signal::INT, "INT"),
    (Signal::HUP, "HUP"),
    (Signal::QUIT, "QUIT"),
    (Signal::USR1, "USR1"),
    (Signal::USR2, "USR2"),
];

/// Shell conventions for a command that could not be started.
pub const EXIT_NOT_FOUND: u8 = 127;
pub const EXIT_CANNOT_EXECUTE: u8 = 126;

/// Why `run` could not do its job. Messages name the command, never its output.
#[derive(Debug)]
pub enum RunError {
    /// The command could not be started; `code` is 127 or 126 like a shell's.
    Start { code: u8, message: String },
    /// Our own machinery failed (runtime, signal registration, pipes).
    Internal(String),
}

/// What happened to the child, and what went through the pumps.
#[derive(Debug)]
pub struct RunReport {
    /// The exit code to return: the child's, or 128+N for signal N.
    pub exit_code: u8,
    /// Lines, bytes and findings of both streams together.
    pub stats: Stats,
    /// A failure of a pump (reading the child's pipe or writing ours), if any; a closed
    /// stdout/stderr (broken pipe) is not one, as for the filter.
    pub pump_error: Option<String>,
}

/// Runs `command` under redaction and returns when the child has exited and both of its output
/// streams have been drained.
pub fn run(
    filter: Arc<Filter>,
    options: StreamOptions,
    command: &[OsString],
) -> Result<RunReport, RunError> {
    let Some((program, args)) = command.split_first() else {
        return Err(RunError::Start {
            code: 2,
            message: "run: no command given (usage: logredact run [OPTIONS] -- CMD [ARGS...])"
                .into(),
        });
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Internal(format!("run: cannot start the runtime: {e}")))?;
    runtime.block_on(supervise(filter, options, program, args))
}

async fn supervise(
    filter: Arc<Filter>,
    options: StreamOptions,
    program: &OsString,
    args: &[OsString],
) -> Result<RunReport, RunError> {
    // Handlers first: a SIGTERM that arrives between spawn and registration would otherwise kill
    // us with the default action and leave the child running without a reader; a SIGCHLD would
    // be missed.
    let mut signals = forward_signals_to_channel()?;
    let mut child_events = signal(SignalKind::child())
        .map_err(|e| RunError::Internal(format!("run: cannot handle SIGCHLD: {e}")))?;

    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A `--hash-key-env` variable is already gone from our environment; this keeps it from the
    // child even if something set it again since.
    for var in HashKey::must_not_inherit() {
        command.env_remove(var);
    }
    // In its own process group, a signal sent to our group (Ctrl-C on a terminal, `kill -INT
    // -PGID`) reaches the child once, through us, and not twice. Not when our stdin is a
    // terminal: a child reading it from a background group would be stopped (SIGTTIN).
    if !io::stdin().is_terminal() {
        command.process_group(0);
    }
    // The `Child` handle is never waited on: `reap_children` collects its status.
    let mut child = command.spawn().map_err(|e| start_error(program, &e))?;
    let pid = Pid::from_raw(child.id() as i32)
        .ok_or_else(|| RunError::Internal("run: the child has no process id".into()))?;
    let child_stdout = take_pipe(child.stdout.take().map(OwnedFd::from))?;
    let child_stderr = take_pipe(child.stderr.take().map(OwnedFd::from))?;

    // Both pumps write whole batches under one lock, so if our stdout and stderr are the same
    // pipe (`2>&1`) lines from the two streams interleave, but never inside a line.
    let write_lock = Arc::new(Mutex::new(()));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<()>();
    let pumps = [
        spawn_pump(
            "stdout",
            child_stdout,
            Sink::Stdout,
            &filter,
            options,
            &write_lock,
            done_tx.clone(),
        )?,
        spawn_pump(
            "stderr",
            child_stderr,
            Sink::Stderr,
            &filter,
            options,
            &write_lock,
            done_tx,
        )?,
    ];

    let mut status = reap_children(pid)?;
    while status.is_none() {
        tokio::select! {
            Some(()) = child_events.recv() => status = reap_children(pid)?,
            Some(sig) = signals.recv() => {
                // ESRCH only means the child is exiting right now; its status comes next.
                let _ = kill_process(pid, sig);
            }
        }
    }
    let mut exit_code = status.unwrap_or(1);

    // The child is gone; drain what it wrote. A process it left behind may hold a pipe open:
    // then a further stop signal (TERM, INT, QUIT) ends the wait instead of being forwarded.
    let mut pumps_running = pumps.len();
    let mut abandoned = None;
    while pumps_running > 0 {
        tokio::select! {
            done = done_rx.recv() => match done {
                Some(()) => pumps_running -= 1,
                // Every sender is gone: both threads have ended (a panicked one sends nothing).
                None => break,
            },
            // As PID 1 we keep reaping orphans that were handed to us while we drain.
            Some(()) = child_events.recv() => { reap_children(pid)?; }
            Some(sig) = signals.recv() => {
                if [Signal::TERM, Signal::INT, Signal::QUIT].contains(&sig) {
                    abandoned = Some(sig);
                    break;
                }
            }
        }
    }

    let mut stats = Stats::new(filter.detector().rules().rules.len());
    let mut pump_error = None;
    if let Some(sig) = abandoned {
        // The child exited cleanly and something it left behind holds the pipe open: we were
        // told to stop, so report the stop (128+N) as a shell would, not a failure (1); a child
        // that failed keeps its own code.
        if exit_code == 0 {
            exit_code = 128u8.saturating_add(u8::try_from(sig.as_raw()).unwrap_or(0));
        }
        pump_error = Some("run: stopped before the child's output streams were closed".into());
    } else {
        for pump in pumps {
            let (name, result, pump_stats) = pump
                .join()
                .map_err(|_| RunError::Internal("run: an output pump failed".into()))?;
            add_stats(&mut stats, &pump_stats);
            match result {
                Ok(()) => {}
                Err(StreamError::Write(e)) if e.kind() == ErrorKind::BrokenPipe => {}
                Err(e) => pump_error = Some(format!("run: child's {name}: {e}")),
            }
        }
    }
    Ok(RunReport {
        exit_code,
        stats,
        pump_error,
    })
}

/// Collects the status of every child that has exited — `child` and, when we are PID 1 of a
/// container, the orphans the kernel hands to us, which would otherwise stay zombies — and
/// returns the exit code of `child` if it was among them.
fn reap_children(child: Pid) -> Result<Option<u8>, RunError> {
    let mut child_code = None;
    loop {
        // `wait` is waitpid(-1): any child, whatever its process group.
        match wait(WaitOptions::NOHANG) {
            Ok(Some((pid, status))) => {
                if pid == child {
                    child_code = Some(exit_code_of(status));
                }
            }
            // Children remain, none has exited (yet); or no children at all.
            Ok(None) => return Ok(child_code),
            Err(e) if e == rustix::io::Errno::CHILD => return Ok(child_code),
            Err(e) if e == rustix::io::Errno::INTR => continue,
            Err(e) => {
                return Err(RunError::Internal(format!(
                    "run: waiting for the child failed: {e}"
                )))
            }
        }
    }
}

/// The exit code a shell would report for `status`: the code, or 128+N for signal N.
fn exit_code_of(status: WaitStatus) -> u8 {
    match (status.exit_status(), status.terminating_signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => (128 + sig).min(255) as u8,
        (None, None) => 1,
    }
}

fn start_error(program: &OsString, e: &io::Error) -> RunError {
    let name = program.to_string_lossy();
    match e.kind() {
        ErrorKind::NotFound => RunError::Start {
            code: EXIT_NOT_FOUND,
            message: format!("run: {name}: command not found"),
        },
        _ => RunError::Start {
            code: EXIT_CANNOT_EXECUTE,
            message: format!("run: {name}: cannot execute: {e}"),
        },
    }
}

fn take_pipe(pipe: Option<OwnedFd>) -> Result<File, RunError> {
    pipe.map(File::from)
        .ok_or_else(|| RunError::Internal("run: the child's output is not a pipe".into()))
}

/// Registers handlers for [`FORWARDED_SIGNALS`] (which also stops their default action, so we
/// outlive the child) and funnels them into one channel.
fn forward_signals_to_channel() -> Result<mpsc::UnboundedReceiver<Signal>, RunError> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (sig, name) in FORWARDED_SIGNALS {
        let mut stream = signal(SignalKind::from_raw(sig.as_raw()))
            .map_err(|e| RunError::Internal(format!("run: cannot handle SIG{name}: {e}")))?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
    }
    Ok(rx)
}

#[derive(Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

/// Our stdout or stderr, written one whole batch at a time under the shared lock.
struct LockedSink {
    sink: Sink,
    lock: Arc<Mutex<()>>,
}

impl Write for LockedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // A poisoned lock only means the other pump panicked; writing on is still correct.
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.sink {
            Sink::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(buf)?;
                out.flush()
            }
            Sink::Stderr => io::stderr().lock().write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every `write_all` above flushed already.
        Ok(())
    }
}

type PumpResult = (&'static str, Result<(), StreamError>, Stats);

fn spawn_pump(
    name: &'static str,
    mut source: File,
    sink: Sink,
    filter: &Arc<Filter>,
    options: StreamOptions,
    lock: &Arc<Mutex<()>>,
    done: mpsc::UnboundedSender<()>,
) -> Result<thread::JoinHandle<PumpResult>, RunError> {
    let filter = Arc::clone(filter);
    let mut output = LockedSink {
        sink,
        lock: Arc::clone(lock),
    };
    thread::Builder::new()
        .name(format!("pump-{name}"))
        .spawn(move || {
            let mut stats = Stats::new(filter.detector().rules().rules.len());
            let result = stream::run(&mut source, &mut output, &filter, options, &mut stats);
            // Closing our read end now (not at exit) matters when our output is gone: the child
            // then gets EPIPE/SIGPIPE on its next write, as in a shell pipeline, instead of
            // blocking forever on a full pipe.
            drop(source);
            let _ = done.send(());
            (name, result, stats)
        })
        .map_err(|e| RunError::Internal(format!("run: cannot start a pump thread: {e}")))
}

fn add_stats(total: &mut Stats, part: &Stats) {
    total.lines += part.lines;
    total.bytes += part.bytes;
    total.lines_changed += part.lines_changed;
    for (t, p) in total.findings.iter_mut().zip(&part.findings) {
        *t += p;
    }
}
