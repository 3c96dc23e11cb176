//! director-keepalived: a pure keepalived.conf parser and writer.
//!
//! Layers, each usable on its own:
//!
//! 1. [`lexer`]: tokens (comments, quoted strings, braces), with line numbers.
//! 2. [`syntax`]: a generic tree of [`syntax::Node`]s (keyword, values, optional block,
//!    file and line), with `include` directives resolved through a [`Source`].
//! 3. [`mapping`]: the typed [`Config`] ([`config`]) built from the tree; values parsed
//!    into proper types, errors naming file, line and keyword, and every keyword that is
//!    not mapped reported as [`Unmapped`].
//! 4. [`writer`]: the typed configuration rendered back to keepalived.conf text, such that
//!    parsing the output gives back the same [`Config`].
//!
//! The parser does no IO: files are read through the [`Source`] trait, implemented for the
//! real filesystem by [`FsSource`] and in memory by [`MemorySource`].
//!
//! Architecture invariant: imports no other director crate: it knows keepalived, not director's model
//! (`director-convert` maps one onto the other).
//!
//! ```
//! use director_keepalived::{parse_str, write};
//!
//! let text = "vrrp_instance VI_1 {\n  state MASTER\n  virtual_router_id 51\n}\n";
//! let parsed = parse_str("keepalived.conf", text).unwrap();
//! assert_eq!(parsed.config.vrrp_instances[0].virtual_router_id, Some(51));
//! let again = parse_str("out.conf", &write(&parsed.config).unwrap()).unwrap();
//! assert_eq!(again.config, parsed.config);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod fs_source;
pub mod fuzz;
pub mod lexer;
pub mod mapping;
pub mod source;
pub mod spans;
pub mod syntax;
mod values;
pub mod writer;

use std::path::Path;

pub use config::Config;
pub use error::{Error, ErrorKind, Location, Unmapped};
pub use fs_source::FsSource;
pub use mapping::Parsed;
pub use source::{MemorySource, Source};
pub use spans::{BlockSpan, Spans};
pub use writer::{write, WriteError};

/// Parses the file at `path`, and the files it includes, read through `source`.
pub fn parse_file(source: &dyn Source, path: impl AsRef<Path>) -> Result<Parsed, Error> {
    let tree = syntax::parse_file(source, path.as_ref())?;
    mapping::map(&tree)
}

/// [`parse_file`] as keepalived started with `-i config_id` reads it: a line `@ID ...` is read only
/// when `ID` is `config_id`, a line `@^ID ...` only when it is not.
pub fn parse_file_for(
    source: &dyn Source,
    path: impl AsRef<Path>,
    config_id: &str,
) -> Result<Parsed, Error> {
    let tree = syntax::parse_file_for(source, path.as_ref(), Some(config_id))?;
    mapping::map(&tree)
}

/// [`parse_with_source`] with conditional lines read for `config_id` (see [`parse_file_for`]).
pub fn parse_with_source_for(
    source: &dyn Source,
    name: impl AsRef<Path>,
    text: &str,
    config_id: &str,
) -> Result<Parsed, Error> {
    let tree = syntax::parse_with_source_for(source, name.as_ref(), text, Some(config_id))?;
    mapping::map(&tree)
}

/// Parses `text`, named `name` in errors and reports; included files are read through
/// `source`, relative to `name`'s directory.
pub fn parse_with_source(
    source: &dyn Source,
    name: impl AsRef<Path>,
    text: &str,
) -> Result<Parsed, Error> {
    let tree = syntax::parse_with_source(source, name.as_ref(), text)?;
    mapping::map(&tree)
}

/// Parses `text`, named `name` in errors and reports. Any `include` is an error.
pub fn parse_str(name: impl AsRef<Path>, text: &str) -> Result<Parsed, Error> {
    let tree = syntax::parse_str(name.as_ref(), text)?;
    mapping::map(&tree)
}
