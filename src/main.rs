//! The binary: parse the command line, set up tracing, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, sources) = match workhealth::config::parse() {
        Ok(parsed) => parsed,
        Err(e) => e.exit(),
    };
    workhealth::run::init_tracing(&cli);
    match workhealth::run::run(cli, &sources) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("workhealth: error: {err:#}");
            ExitCode::from(workhealth::run::exit_code_for(&err))
        }
    }
}
