use clap::Parser;
use director::cli::{self, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    director::telemetry::init(cli.global.log_format);
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("director: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
