//! Errors of the parser and the typed layer, and the report of unmapped keywords.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where something was written: a file and a 1-based line number.
///
/// Line 0 means "the file as a whole" (for example when it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as the caller named it or as the include directive resolved it.
    pub file: Arc<Path>,
    /// 1-based line number.
    pub line: u32,
}

impl Location {
    /// A location in `file` at `line`.
    pub fn new(file: impl Into<Arc<Path>>, line: u32) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A parse error: the file and line it is about, and what is wrong.
///
/// Displays as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {kind}", file.display())]
pub struct Error {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line number (0: the file as a whole).
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// An error at `location`.
    pub fn new(location: &Location, kind: ErrorKind) -> Self {
        Self {
            file: location.file.to_path_buf(),
            line: location.line,
            kind,
        }
    }

    /// The keyword the error is about, when it is about one.
    pub fn keyword(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::UnknownTopLevel { keyword }
            | ErrorKind::MissingValue { keyword }
            | ErrorKind::UnexpectedValue { keyword, .. }
            | ErrorKind::InvalidValue { keyword, .. }
            | ErrorKind::ExpectedBlock { keyword }
            | ErrorKind::UnexpectedBlock { keyword }
            | ErrorKind::Duplicate { keyword, .. }
            | ErrorKind::Invalid { keyword, .. } => Some(keyword),
            _ => None,
        }
    }
}

/// What is wrong, for [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `"` without its closing `"` on the same line.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A NUL byte (keepalived would silently cut the line there; this parser refuses it).
    #[error("NUL byte in the line")]
    NulByte,
    /// A `{` that is never closed; the location is the `{`.
    #[error("unclosed '{{': this block is never closed")]
    UnclosedBrace,
    /// A `}` with no open block.
    #[error("unexpected '}}' without a matching '{{'")]
    StrayCloseBrace,
    /// A `{` with no keyword before it.
    #[error("'{{' without a keyword before it")]
    BlockWithoutKeyword,
    /// Blocks nested deeper than the parser allows.
    #[error("blocks nested too deeply (more than {limit} levels)")]
    TooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// keepalived's preprocessor (`@id` conditional lines, `$NAME=` parameters, `~SEQ`/`~LST`),
    /// which this parser does not implement.
    #[error("unsupported keepalived preprocessor syntax: {what}")]
    Preprocessor {
        /// Which construct.
        what: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The reason given by the source.
        message: String,
    },
    /// An `include` directive could not be resolved.
    #[error("include {pattern}: {message}")]
    Include {
        /// The pattern as written.
        pattern: String,
        /// What went wrong.
        message: String,
    },
    /// An `include` directive without exactly one pattern.
    #[error("'include' needs exactly one file name or pattern")]
    IncludeArgs,
    /// A file includes itself, directly or through other files.
    #[error("include cycle: {} is already being read", path.display())]
    IncludeCycle {
        /// The file that would be read a second time.
        path: PathBuf,
    },
    /// Includes nested deeper than the parser allows.
    #[error("includes nested too deeply (more than {limit} levels)")]
    IncludeTooDeep {
        /// The nesting limit.
        limit: usize,
    },
    /// A top-level keyword that keepalived does not have.
    #[error("unknown top-level keyword '{keyword}'")]
    UnknownTopLevel {
        /// The keyword.
        keyword: String,
    },
    /// A keyword without its value.
    #[error("{keyword}: missing value")]
    MissingValue {
        /// The keyword.
        keyword: String,
    },
    /// A keyword with a value too many.
    #[error("{keyword}: unexpected value '{value}'")]
    UnexpectedValue {
        /// The keyword.
        keyword: String,
        /// The first value too many.
        value: String,
    },
    /// A value that does not parse or is out of range.
    #[error("{keyword}: invalid value '{value}': {reason}")]
    InvalidValue {
        /// The keyword.
        keyword: String,
        /// The value as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A keyword that needs a `{ ... }` block written without one.
    #[error("{keyword}: expected a '{{ ... }}' block")]
    ExpectedBlock {
        /// The keyword.
        keyword: String,
    },
    /// A keyword that takes no block written with one.
    #[error("{keyword}: does not take a '{{ ... }}' block")]
    UnexpectedBlock {
        /// The keyword.
        keyword: String,
    },
    /// A single-valued keyword given twice in the same block.
    #[error("{keyword}: given more than once (first at {first})")]
    Duplicate {
        /// The keyword.
        keyword: String,
        /// Where it was first given (`file:line`).
        first: String,
    },
    /// Two objects of the same kind with the same name.
    #[error("duplicate {kind} '{name}'")]
    DuplicateName {
        /// The kind of object (`vrrp_instance`, ...).
        kind: String,
        /// The name.
        name: String,
    },
    /// Anything else wrong with a keyword.
    #[error("{keyword}: {message}")]
    Invalid {
        /// The keyword.
        keyword: String,
        /// What is wrong.
        message: String,
    },
}

/// A keyword that the typed layer does not map, reported instead of being dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// The file it is in.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: u32,
    /// The keyword (or option word) as written.
    pub keyword: String,
    /// Where it is, e.g. `vrrp_instance VI_1` or
    /// `virtual_server 10.0.0.1 80 > real_server 10.0.0.2 80`.
    pub context: String,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: '{}' in {} is not imported",
            self.file.display(),
            self.line,
            self.keyword,
            self.context
        )
    }
}
