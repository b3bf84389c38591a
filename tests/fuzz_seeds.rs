//! Every committed seed of every fuzz target (`fuzz/corpus/<target>/`) through that target's own
//! invariants (`fuzz/fuzz_targets/checks/<target>.rs`, shared with the libFuzzer binaries), so
//! `cargo test` covers the seeds without cargo-fuzz. A failure names the target and the seed file.

#[path = "../fuzz/fuzz_targets/support.rs"]
mod support;

#[path = "../fuzz/fuzz_targets/checks/attacker.rs"]
mod attacker;
#[path = "../fuzz/fuzz_targets/checks/filter_lines.rs"]
mod filter_lines;
#[path = "../fuzz/fuzz_targets/checks/json_lines.rs"]
mod json_lines;
#[path = "../fuzz/fuzz_targets/checks/windows.rs"]
mod windows;

use std::path::PathBuf;

/// A target's invariants on one input.
type Check = fn(&[u8]);

/// Every target, with its invariants.
const TARGETS: &[(&str, Check)] = &[
    ("attacker", attacker::run),
    ("filter_lines", filter_lines::run),
    ("json_lines", json_lines::run),
    ("windows", windows::run),
];

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_seed_passes_its_targets_invariants() {
    let mut run = 0;
    for (target, check) in TARGETS {
        let files = seeds(target);
        assert!(!files.is_empty(), "{target}: no committed seeds");
        for file in files {
            let data = std::fs::read(&file).expect("seed readable");
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            // The invariants panic with a message that names the invariant; say which seed.
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: seed {name:?} breaks an invariant"
            );
            run += 1;
        }
    }
    assert!(run >= 17, "seeds run: {run}");
}

/// Every target directory in `fuzz/fuzz_targets/` is listed above (a new target's seeds must
/// not go untested).
#[test]
fn every_fuzz_target_is_replayed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for entry in std::fs::read_dir(dir).expect("fuzz targets") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "support" {
            assert!(
                TARGETS.iter().any(|(t, _)| *t == stem),
                "fuzz target {stem} has no seed replay"
            );
        }
    }
}
