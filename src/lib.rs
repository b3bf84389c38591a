//! logredact: a streaming filter that removes secrets from logs before they are shipped.
//!
//! The data path, top to bottom: [`stream`] reads and frames lines → [`format`] says where the
//! strings of a line are → [`scan`] runs detection ([`engine`] candidates, [`detect`] exact spans
//! and gates) over every view and returns one list of [`finding::Finding`]s per batch →
//! [`redact`] writes the replacements (driven per batch by [`filter`]) → [`stream`] writes and
//! flushes. [`rules`] loads what is searched for; [`cli`] wires it all to the command line.
//! See docs/ARCHITECTURE.md.

pub mod cli;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod finding;
pub mod format;
pub mod lint;
pub mod redact;
pub mod relay;
pub mod rules;
pub mod run;
pub mod scan;
pub mod scrub;
pub mod selftest;
pub mod shutdown;
pub mod stats;
pub mod stream;
pub mod validate;
