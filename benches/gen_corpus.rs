//! Writes a generated benchmark corpus to stdout: `cargo run --release --example gen-corpus -- typical 200`
//! (kind: clean | typical | worst | realistic; size in MB). `realistic` (issue 13: container logs in
//! 13 styles and 4 wrappers, context words at real rates, ~2 % secrets, ~3 % decoys) prints its
//! statistics to stderr.

#[path = "support/corpus.rs"]
mod corpus;
// Both corpora load `support/random_text.rs` as their own private module.
#[allow(clippy::duplicate_mod)]
#[path = "support/realistic/mod.rs"]
mod realistic;

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next();
    let mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let data = match kind.as_deref() {
        Some("realistic") => {
            let (data, stats) = realistic::generate(mb * 1_000_000, 42);
            eprint!("{}", stats.report());
            data
        }
        Some("clean") => corpus::generate(corpus::Kind::Clean, mb * 1_000_000, 42),
        Some("worst") => corpus::generate(corpus::Kind::Worst, mb * 1_000_000, 42),
        Some("typical") | None => corpus::generate(
            corpus::Kind::Typical {
                secret_permille: 10,
            },
            mb * 1_000_000,
            42,
        ),
        Some(other) => {
            eprintln!("gen-corpus: unknown kind '{other}' (clean | typical | worst | realistic)");
            std::process::exit(2);
        }
    };
    let _ = std::io::stdout().lock().write_all(&data);
}
