//! Embeds every `patterns/*.toml` file into the binary (see `rules::BUILTIN_FILES`).
//!
//! The rule files live at the top of the repository (`patterns/`, beside the CLI), two levels
//! above this crate: one place for people editing rules, for `rules test` and for the tools.
use std::{env, fs, path::Path, path::PathBuf};

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir: PathBuf = Path::new(&root).join("../../patterns");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert!(
        !names.is_empty(),
        "no rule files in {}: the built-in rules would be empty",
        dir.display()
    );
    let mut out = String::from("[\n");
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push(']');
    let dest =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_rules.rs");
    fs::write(dest, out).expect("write builtin_rules.rs");
}
