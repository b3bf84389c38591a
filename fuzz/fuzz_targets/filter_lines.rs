//! Arbitrary bytes through `stream::run` with the built-in rules, small and irregular reads:
//! the line count is kept, output equals input when no line changed, reads of any size give the
//! same output, and filtering twice changes nothing more.
//! The invariants live in `checks/filter_lines.rs`, which `tests/fuzz_seeds.rs` also runs on every
//! committed seed.
#![no_main]

#[path = "checks/filter_lines.rs"]
mod check;
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
