//! logredact: a streaming filter that removes secrets from logs before they are shipped.
//!
//! The data path, top to bottom: [`stream`] reads and frames lines → [`format`] says where the
//! strings of a line are → [`scan`] runs detection ([`engine`] candidates, [`detect`] exact spans
//! and gates) over every view and returns one list of [`finding::Finding`]s per batch →
//! [`redact`] writes the replacements (driven per batch by [`filter`]) → [`stream`] writes and
//! flushes. [`rules`] loads what is searched for; [`cli`] wires it all to the command line.
//! See docs/ARCHITECTURE.md.
//!
//! Everything up to [`stream`] lives in the `logredact-core` library crate
//! (crates/logredact-core) and is re-exported here under its old paths; this crate holds the
//! commands.

pub use logredact_core::{
    detect, engine, filter, finding, format, redact, rules, scan, scrub, selftest, stats, stream,
    validate,
};

pub mod cli;
pub mod lint;
pub mod relay;
pub mod run;
pub mod shutdown;
