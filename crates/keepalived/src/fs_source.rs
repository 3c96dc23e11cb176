//! The real filesystem as a [`Source`]: the only place in this crate that does IO.

use std::io;
use std::path::{Path, PathBuf};

use crate::source::Source;

/// Reads files from the local filesystem and expands include patterns with glob(3)
/// semantics (`*`, `?`, `[...]`; csh-style `{a,b}` braces are not supported).
///
/// Files that are not valid UTF-8 are read lossily (invalid bytes become U+FFFD), since
/// keepalived configurations sometimes carry Latin-1 comments.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsSource;

impl Source for FsSource {
    fn read(&self, path: &Path) -> io::Result<String> {
        let bytes = std::fs::read(path)?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pattern = pattern.to_str().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "pattern is not valid UTF-8")
        })?;
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let paths = glob::glob_with(pattern, options)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut out = Vec::new();
        for entry in paths {
            let path = entry.map_err(io::Error::from)?;
            if path.is_file() {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_globs_a_temporary_directory() {
        let dir =
            std::env::temp_dir().join(format!("director-keepalived-fs-{}", std::process::id()));
        let sub = dir.join("conf.d");
        std::fs::create_dir_all(sub.join("nested.conf")).unwrap();
        std::fs::write(sub.join("b.conf"), "b").unwrap();
        std::fs::write(sub.join("a.conf"), b"a \xe9").unwrap();
        let found = FsSource.glob(&sub.join("*.conf")).unwrap();
        assert_eq!(found, [sub.join("a.conf"), sub.join("b.conf")]);
        assert_eq!(FsSource.read(&sub.join("a.conf")).unwrap(), "a \u{fffd}");
        assert!(FsSource.read(&sub.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
