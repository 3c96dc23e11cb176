//! Where configuration text comes from.
//!
//! The parser never touches the filesystem itself: the root file and every file named by
//! an `include` directive are read through a [`Source`]. [`crate::fs_source::FsSource`] reads
//! the real filesystem; [`MemorySource`] holds files in memory (tests, fuzzing, text
//! uploaded through an API).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Reads configuration files and expands include patterns.
pub trait Source {
    /// Returns the text of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<String>;

    /// Returns the files matching the glob `pattern` (`*`, `?`, `[...]`), sorted.
    ///
    /// The pattern is already resolved against the including file's directory.
    /// Directories are not returned. No match is an empty list, not an error.
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>>;
}

impl<S: Source + ?Sized> Source for &S {
    fn read(&self, path: &Path) -> io::Result<String> {
        (**self).read(path)
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        (**self).glob(pattern)
    }
}

/// Files held in memory, keyed by their (lexically normalized) path.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    files: BTreeMap<PathBuf, String>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file and returns the source, for chaining.
    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }

    /// Adds (or replaces) a file.
    pub fn insert(&mut self, path: impl AsRef<Path>, text: impl Into<String>) {
        self.files.insert(normalize(path.as_ref()), text.into());
    }
}

impl Source for MemorySource {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pattern = normalize(pattern);
        let wanted: Vec<String> = pattern
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut out: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|path| {
                let parts: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                parts.len() == wanted.len()
                    && parts
                        .iter()
                        .zip(&wanted)
                        .all(|(name, pat)| wildcard_match(pat, name))
            })
            .cloned()
            .collect();
        out.sort();
        Ok(out)
    }
}

/// Whether `pattern` contains glob metacharacters (`*`, `?`, `[`).
pub fn has_glob_meta(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Resolves `.` and `..` lexically, without looking at the filesystem.
///
/// `..` at the root stays at the root; leading `..` of a relative path are kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Matches one path component against one glob component (`*`, `?`, `[abc]`, `[a-z]`,
/// `[!a]`), the way glob(3) does: a leading `.` must be matched explicitly.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    if s.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, s[si]) {
                        if matched {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if s[si] == '[' {
                        // An unclosed '[' is a literal character.
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_p, star_s)) => {
                pi = star_p + 1;
                si = star_s + 1;
                star = Some((star_p, star_s + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`.
/// Returns (matched, index after the class), or None when the class is not closed.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(normalize(Path::new("../a/./")), PathBuf::from("../a"));
        assert_eq!(normalize(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(!wildcard_match("*.conf", "a.conf.bak"));
        assert!(!wildcard_match("*.conf", ".hidden.conf"));
        assert!(wildcard_match("vs-?[0-9].conf", "vs-a7.conf"));
        assert!(!wildcard_match("vs-[!a]*", "vs-abc"));
        assert!(wildcard_match("a*b*c", "aXXbYYbc"));
        assert!(wildcard_match("[", "["));
        assert!(wildcard_match("x[]]", "x]"));
    }

    #[test]
    fn memory_glob() {
        let src = MemorySource::new()
            .with("/etc/k/conf.d/b.conf", "")
            .with("/etc/k/conf.d/a.conf", "")
            .with("/etc/k/conf.d/sub/c.conf", "")
            .with("/etc/k/other.txt", "");
        assert_eq!(
            src.glob(Path::new("/etc/k/conf.d/*.conf")).unwrap(),
            [
                PathBuf::from("/etc/k/conf.d/a.conf"),
                PathBuf::from("/etc/k/conf.d/b.conf")
            ]
        );
        assert_eq!(src.glob(Path::new("/etc/k/*/*/*.conf")).unwrap().len(), 1);
        assert!(src.glob(Path::new("/nothing/*")).unwrap().is_empty());
    }
}
