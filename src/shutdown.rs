//! Termination signals for the CLI: installs the SIGTERM/SIGINT handlers that drive the core's
//! [`Shutdown`] flags (see `logredact_core::shutdown` for what the stream does with them).
//!
//! Owns: the signal registrations. Must never: do work in a signal handler (all handling is flag
//! stores, done by `signal-hook`).

use std::io;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

pub use logredact_core::shutdown::Shutdown;

/// A [`Shutdown`] that SIGTERM and SIGINT trigger.
pub fn on_signals() -> io::Result<Shutdown> {
    let s = Shutdown::default();
    let (requested, idle) = s.flags();
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional default runs first and only while idle.
        flag::register_conditional_default(sig, idle.clone())?;
        flag::register_usize(sig, requested.clone(), sig as usize)?;
    }
    Ok(s)
}
