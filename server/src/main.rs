//! The `director` binary: parses the command line, then runs the command on a multi-threaded Tokio runtime
//! (the daemon also tunes the allocator first). Everything else is in the library (`lib.rs`).

use clap::Parser;
use director::cli::{self, Cli};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, cli::Command::Serve(_)) {
        tune_malloc_for_the_daemon();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("director: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        director::telemetry::init(cli.global.log_format);
        match cli::run(cli).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("director: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}

/// mimalloc: the import's half a million small objects and the API's per-request allocations are
/// cheaper than with glibc's malloc, and its heap does not fragment into an arena per thread.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the bundled mimalloc 3's mimalloc.h (the crate names only the older options).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc keeps freed memory for a second (ten for whole arena chunks) before it hands it back to the OS,
/// which is right for a short command such as `import` (it reuses what it frees) but not for a daemon that
/// idles most of the time and is judged by its resident memory: the daemon hands it back at once.
/// `MIMALLOC_PURGE_DELAY` in the environment wins.
fn tune_malloc_for_the_daemon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set stores an integer in mimalloc's option table; mimalloc reads the purge delay
        // each time it considers a purge.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_option_tuned_is_the_purge_delay() {
        // mimalloc 3 documents a purge delay of 1,000 ms by default; no other option has that default.
        // SAFETY: mi_option_get reads mimalloc's option table.
        let value = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(value, 1000);
    }
}
