//! Redacts a program's own `tracing` output in-process: a [`RedactingWriter`] behind a
//! `tracing-subscriber` fmt layer, so no secret a log call formats reaches stdout (or a file, or
//! a socket: any `io::Write`).
//!
//! Run: `cargo run -p logredact-core --example tracing_redact` — the token below is printed as
//! `[REDACTED:github-pat]`.
//!
//! The fmt layer asks its `MakeWriter` for a writer per event and writes the event's line
//! through it; here every event locks one shared `RedactingWriter`, so lines from several
//! threads are never interleaved and each is redacted whole.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use logredact_core::{builtin_filter, RedactingWriter};
use tracing_subscriber::fmt::MakeWriter;

/// One `RedactingWriter`, shared by every event (and thread).
pub struct SharedRedactor<W: Write>(Arc<Mutex<RedactingWriter<W>>>);

impl<W: Write> Clone for SharedRedactor<W> {
    fn clone(&self) -> Self {
        SharedRedactor(Arc::clone(&self.0))
    }
}

impl<W: Write> SharedRedactor<W> {
    /// Wraps `out` in a writer with the built-in rules.
    pub fn new(out: W) -> Result<Self, logredact_core::Error> {
        Ok(SharedRedactor(Arc::new(Mutex::new(RedactingWriter::new(
            out,
            builtin_filter()?,
        )))))
    }

    /// The writer, locked (a panic while it was held does not make its lines unreachable).
    pub fn lock(&self) -> MutexGuard<'_, RedactingWriter<W>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer of one event: the shared writer, locked for the event's line.
pub struct EventWriter<'a, W: Write>(MutexGuard<'a, RedactingWriter<W>>);

impl<W: Write> Write for EventWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a, W: Write + 'a> MakeWriter<'a> for SharedRedactor<W> {
    type Writer = EventWriter<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(self.lock())
    }
}

/// A subscriber that formats events as text lines into `writer`.
pub fn subscriber<W: Write + Send + 'static>(
    writer: SharedRedactor<W>,
) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_target(false)
        .finish()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let writer = SharedRedactor::new(io::stdout())?;
    tracing::subscriber::set_global_default(subscriber(writer.clone()))?;

    // A made-up token (a rule example), as a careless log call would write a real one.
    let token = "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";
    tracing::info!(user = "ann", token, "authenticated");
    tracing::warn!("retrying with password=hunter2hunter2");

    writer.lock().flush()?;
    Ok(())
}
