//! Writes a generated benchmark corpus to stdout: `cargo run --release --example gen-corpus -- typical 200`
//! (kind: clean | typical | worst; size in MB).

#[path = "support/corpus.rs"]
mod corpus;

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = match args.next().as_deref() {
        Some("clean") => corpus::Kind::Clean,
        Some("worst") => corpus::Kind::Worst,
        Some("typical") | None => corpus::Kind::Typical {
            secret_permille: 10,
        },
        Some(other) => {
            eprintln!("gen-corpus: unknown kind '{other}' (clean | typical | worst)");
            std::process::exit(2);
        }
    };
    let mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let data = corpus::generate(kind, mb * 1_000_000, 42);
    let _ = std::io::stdout().lock().write_all(&data);
}
