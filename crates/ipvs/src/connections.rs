//! The kernel's IPVS connection table, read from `/proc/net/ip_vs_conn` (generic netlink has no command
//! for it; `ipvsadm -Lnc` reads the same file). The file is per network namespace, streamed line by line:
//! a table of millions of entries is never held in memory here.

use crate::Error;
use director_kernel_table::connections::{parse_line, Connection};
use std::io::BufRead;
use std::path::Path;

/// Where the kernel lists the connections of this network namespace.
pub const CONNECTIONS_PATH: &str = "/proc/net/ip_vs_conn";

/// Streams every entry of the connection table at `path` to `each`; returns how many lines were read.
/// A missing file means the kernel has no IPVS; a line that does not parse is an error naming it.
pub fn read_connections(path: &Path, each: impl FnMut(Connection)) -> Result<u64, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::ConnectionTable {
        path: path.display().to_string(),
        source,
    })?;
    read_connections_from(
        std::io::BufReader::with_capacity(64 * 1024, file),
        &path.display().to_string(),
        each,
    )
}

/// [`read_connections`] from any reader (`path` names it in errors).
pub fn read_connections_from(
    mut reader: impl BufRead,
    path: &str,
    mut each: impl FnMut(Connection),
) -> Result<u64, Error> {
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|source| Error::ConnectionTable {
                path: path.to_string(),
                source,
            })?;
        if n == 0 {
            return Ok(number);
        }
        number += 1;
        match parse_line(&line) {
            Ok(Some(c)) => each(c),
            Ok(None) => {}
            Err(source) => {
                return Err(Error::ConnectionLine {
                    path: path.to_string(),
                    line: number,
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_streamed_and_a_bad_line_is_named() {
        let text =
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n\
                    TCP 0A280002 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED     897\n\
                    UDP 0A280002 D432 0A320001 0035 0A1E000C 0035 UDP             299\n";
        let mut seen = Vec::new();
        let lines = read_connections_from(text.as_bytes(), "t", |c| seen.push(c)).unwrap();
        assert_eq!(lines, 3);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].protocol, "udp");
        let bad = format!("{text}TCP 0A280002 D431 0A320001 0050 0A1E000B 0050 ESTABLISHED soon\n");
        let e = read_connections_from(bad.as_bytes(), "t", |_| {}).unwrap_err();
        assert_eq!(e.to_string(), "t line 4: expires: cannot read \"soon\"");
    }

    #[test]
    fn a_missing_table_says_which_file() {
        let e = read_connections(Path::new("/nonexistent/ip_vs_conn"), |_| {}).unwrap_err();
        assert!(
            e.to_string().starts_with("/nonexistent/ip_vs_conn: "),
            "{e}"
        );
    }
}
