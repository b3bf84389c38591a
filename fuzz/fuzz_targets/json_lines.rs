//! JSON object lines (built from the fuzz input, or the input's own lines when they parse) through
//! the filter in `auto` and `json` formats: every output line is still JSON, with the same shape
//! (same keys, same array lengths, same numbers/booleans/nulls — only string contents may change),
//! envelope fields untouched, and planted example secrets gone from every decoded string.
//! The invariants live in `checks/json_lines.rs`, which `tests/fuzz_seeds.rs` also runs on every
//! committed seed.
#![no_main]

#[path = "checks/json_lines.rs"]
mod check;
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
