//! logredact: a streaming filter that removes secrets from logs before they are shipped.
//!
//! The data path, top to bottom: [`stream`] reads and frames lines → [`engine`] finds candidates
//! → [`detect`] confirms exact spans and drops false positives → [`redact`] writes replacements
//! (driven per batch by [`filter`]) → [`stream`] writes and flushes. [`rules`] loads what is
//! searched for; [`cli`] wires it all to the command line.

pub mod cli;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod format;
pub mod lint;
pub mod redact;
pub mod relay;
pub mod rules;
pub mod run;
pub mod scrub;
pub mod selftest;
pub mod shutdown;
pub mod stats;
pub mod stream;
pub mod validate;
