//! The binary: parse the command line, set up tracing, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = workhealth::cli::Cli::parse();
    workhealth::run::init_tracing(&cli);
    match workhealth::run::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("workhealth: error: {err:#}");
            ExitCode::from(workhealth::run::exit_code_for(&err))
        }
    }
}
