//! Harness of the end-to-end suites: starts real `director` daemons on loopback with temporary data
//! directories and talks to them over HTTP.

pub mod cluster;
pub mod daemon;
pub mod netns;
pub mod pki;
pub mod proxy;

pub use daemon::{faketime, Daemon, DaemonOptions, InNamespace};

use std::path::PathBuf;

/// The `director` binary under test: `$DIRECTOR_BIN`, or the one cargo built next to the test executable.
pub fn director_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DIRECTOR_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // A test runs from target/<profile>/deps/<test>, a bench binary from target/<profile>/<bench>: the daemon
    // is target/<profile>/director.
    let bin = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("director"))
        .find(|b| b.is_file())
        .unwrap_or_else(|| exe.with_file_name("director"));
    assert!(
        bin.exists(),
        "{} does not exist: build it first (`cargo build -p director`) or set DIRECTOR_BIN",
        bin.display()
    );
    bin
}

/// Percent-encodes everything but RFC 3986's unreserved characters (a query parameter or a form value).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
