//! Over-long lines cut into windows: built-in rule examples planted at fuzzer-chosen offsets in a
//! long line of filler, read in small irregular pieces with a small `max_line_bytes`. No planted
//! secret may survive, and the output keeps the line count.
//! The invariants live in `checks/windows.rs`, which `tests/fuzz_seeds.rs` also runs on every
//! committed seed.
#![no_main]

#[path = "checks/windows.rs"]
mod check;
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
