//! Embeds every `patterns/*.toml` file into the binary (see `rules::BUILTIN_FILES`).
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("patterns");
    println!("cargo:rerun-if-changed=patterns");
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out = String::from("[\n");
    for n in &names {
        println!("cargo:rerun-if-changed=patterns/{n}");
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?})),\n",
            Path::new(&root)
                .join("patterns")
                .join(n)
                .display()
                .to_string()
        ));
    }
    out.push(']');
    let dest =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_rules.rs");
    fs::write(dest, out).expect("write builtin_rules.rs");
}
