//! directorctl: a command-line client of director's gRPC API for pipelines. Output is a table or JSON (the
//! REST API's shapes); the exit code says what went wrong (see `directorctl --help`).

mod apply;
mod cli;
mod client;
mod commands;
mod failure;
mod file;
mod json;
mod output;

/// The types and the client of `director.v1` (compiled once, in `director-proto`).
use director_proto as proto;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; everything else is a usage error (1, not clap's 2, which
            // means "not found" here).
            let code = if e.use_stderr() {
                failure::USAGE
            } else {
                failure::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("directorctl: cannot start: {e}");
            return ExitCode::from(failure::INTERNAL);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::from(failure::OK),
        Err(failure::Failure::Closed) => ExitCode::from(failure::OK),
        Err(e) => {
            eprintln!("directorctl: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
