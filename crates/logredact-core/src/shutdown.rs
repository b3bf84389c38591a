//! Termination signals for the filter: SIGTERM and SIGINT end the stream after the batch in hand
//! is written and flushed, so no line that was read is lost.
//!
//! Owns: the two flags that signal handlers drive (the handlers are installed by the CLI). Must
//! never: install signal handlers (a library leaves signals to its host program).
//!
//! While the stream waits in `read` with every complete line it has read written and flushed, it
//! is *idle*: a signal then takes its default action at once, so the process ends with 128+N as
//! the README promises (a blocked read would otherwise never notice). A partial line held at that
//! moment (no newline yet) is dropped, not written cut off — its cut-off end could hold a secret
//! too short to be recognised — and it must not delay the exit: v0.1 waited for its end, so
//! `docker stop` sat out its grace period (issue 14, D2). Otherwise (complete lines in hand) the
//! signal only sets `requested`, and the stream stops after writing every complete line in hand.
//! The window between `read` returning and the idle flag being cleared is a few instructions
//! long; a signal landing exactly there loses that read.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Flags shared between the signal handlers and the stream loop.
#[derive(Debug, Default, Clone)]
pub struct Shutdown {
    /// The number of the signal that asked to stop, or 0.
    requested: Arc<AtomicUsize>,
    idle: Arc<AtomicBool>,
}

impl Shutdown {
    /// A shutdown that no signal triggers (library use, tests, benchmarks).
    pub fn never() -> Self {
        Shutdown::default()
    }

    /// The two flags, for whoever installs the signal handlers (the CLI's `shutdown` module):
    /// `requested` is set to the number of the signal that asks to stop, `idle` says whether that
    /// signal may take its default action at once. The core installs no handlers itself.
    pub fn flags(&self) -> (Arc<AtomicUsize>, Arc<AtomicBool>) {
        (Arc::clone(&self.requested), Arc::clone(&self.idle))
    }

    /// Whether a termination signal arrived.
    pub fn requested(&self) -> bool {
        self.signal().is_some()
    }

    /// The signal that asked to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.requested.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok(),
        }
    }

    /// Marks the stream as waiting for input with all output flushed (or not).
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::SeqCst);
    }
}
