//! The `logredact` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    logredact::cli::install_panic_hook();
    logredact::cli::main_with(std::env::args_os().collect())
}
