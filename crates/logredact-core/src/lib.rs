//! logredact-core: the library under the `logredact` CLI.

pub mod choices;
pub mod detect;
pub mod engine;
pub mod filter;
pub mod finding;
pub mod format;
pub mod redact;
pub mod rules;
pub mod scan;
pub mod scrub;
pub mod selftest;
pub mod shutdown;
pub mod stats;
pub mod stream;
pub mod validate;
