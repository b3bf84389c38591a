//! The attacker model: a built-in example secret with attacker-chosen prefix, suffix and
//! neighbour lines, in text, CRI, Docker and JSON envelopes and cut by runtime partial records;
//! the secret must go and the neighbours must stay. The invariants live in `checks/attacker.rs`,
//! which `tests/fuzz_seeds.rs` also runs on every committed seed.
#![no_main]

#[path = "checks/attacker.rs"]
mod check;
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
