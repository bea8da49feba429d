//! The `mimamori` command: a thin clap front over the library (see `src/cli/`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
