//! keepalived.conf in: one node's configuration mapped onto director's objects (`director import keepalived`).
//!
//! - [`mapping`] (pure): the typed keepalived configuration of one node -> VRRP groups (this node as a
//!   member) and virtual servers, with a warning (file:line) for every keyword director does not carry over
//!   and an error (file:line) for every value director refuses.
//! - [`merge`] (pure): that result against the current desired state -> create-or-update of each object;
//!   a VRRP group imported from a second node's file gains that node as a member instead of being replaced.
//!   Everything is checked before anything is written.
//!
//! The IO shell of the command (read the files, open the data directory, apply the batch through the service
//! layer as one audited change with `via: import`) is the binary's `import.rs`.

pub mod mapping;
pub mod merge;
pub(crate) mod words;

use director_keepalived::Location;
use std::fmt;
use std::path::PathBuf;

/// A place in the imported files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub line: u32,
}

impl From<&Location> for Place {
    fn from(l: &Location) -> Self {
        Place {
            file: l.file.to_path_buf(),
            line: l.line,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Something of the file that is not imported as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// Why nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ImportError {
    pub place: Place,
    pub message: String,
}

impl ImportError {
    pub fn at(location: &Location, message: impl Into<String>) -> Self {
        ImportError {
            place: location.into(),
            message: message.into(),
        }
    }
}
