use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Macros may nest deeply; give render threads room (the default 2 MiB is tight for minijinja).
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(16 * 1024 * 1024)
        .build_global();
    let cli = mdwc::cli::Cli::parse();
    match mdwc::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(diagnostic) => {
            eprintln!("{diagnostic}");
            ExitCode::FAILURE
        }
    }
}
