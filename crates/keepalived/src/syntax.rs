//! The generic syntax tree of keepalived.conf, with includes resolved.
//!
//! A statement is a keyword followed by values, ended by the end of the line, a `{` or a
//! `}`. A statement followed by `{` (on the same line or on a following line) owns the
//! block up to the matching `}`. Every [`Node`] keeps the file and line it was written on.
//!
//! `include PATTERN` (and keepalived's variants `includer`, `includem`, `includew`,
//! `includeb`, `includea`) is replaced by the tokens of the matching files, read through
//! the caller's [`Source`], in sorted order, exactly where the directive is: like
//! keepalived, an included file may hold a few statements in the middle of a block.
//! Relative patterns are relative to the directory of the including file. A pattern
//! without wildcards that matches no file is an error; a wildcard pattern that matches
//! nothing includes nothing (as in keepalived). A file that (indirectly) includes itself is
//! an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Location};
use crate::lexer::{self, TokenKind};
use crate::source::{has_glob_meta, normalize, MemorySource, Source};

/// Deepest `{ ... }` nesting accepted (keepalived itself never needs more than 5).
pub const MAX_NESTING: usize = 64;
/// Deepest include nesting accepted.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Most files read for one configuration (the same file included twice counts twice).
pub const MAX_FILES: usize = 4096;

const INCLUDE_KEYWORDS: [&str; 6] = [
    "include", "includer", "includem", "includew", "includeb", "includea",
];

/// Whether `word` is keepalived's include directive (or one of its variants).
pub fn is_include_keyword(word: &str) -> bool {
    INCLUDE_KEYWORDS.contains(&word)
}

/// One statement: a keyword, its values and, when followed by `{ ... }`, its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The first word of the statement.
    pub keyword: String,
    /// The remaining words, quotes removed.
    pub args: Vec<String>,
    /// The statements inside `{ ... }`, when the statement has a block.
    pub block: Option<Vec<Node>>,
    /// Where the keyword is written.
    pub location: Location,
}

/// How many of `nodes` have a keyword that `wanted` accepts (to size a list before it is filled: a
/// configuration holds tens of thousands of them).
pub(crate) fn count(nodes: &[Node], wanted: impl Fn(&str) -> bool) -> usize {
    nodes.iter().filter(|c| wanted(&c.keyword)).count()
}

#[derive(Debug, Clone)]
struct SpannedToken {
    kind: TokenKind,
    location: Location,
}

/// Reads `path` and everything it includes through `source` and builds the tree.
pub fn parse_file(source: &dyn Source, path: &Path) -> Result<Vec<Node>, Error> {
    parse_file_for(source, path, None)
}

/// [`parse_file`] as keepalived started with `-i config_id` reads it: conditional lines (`@ID ...`,
/// `@^ID ...`) are read for `config_id` (see [`lexer::tokenize_for`]); without one they are errors.
pub fn parse_file_for(
    source: &dyn Source,
    path: &Path,
    config_id: Option<&str>,
) -> Result<Vec<Node>, Error> {
    let path = normalize(path);
    let text = source.read(&path).map_err(|e| {
        Error::new(
            &Location::new(path.as_path(), 0),
            ErrorKind::Read {
                path: path.clone(),
                message: e.to_string(),
            },
        )
    })?;
    parse_with_source_for(source, &path, &text, config_id)
}

/// Builds the tree of `text`, named `name` in locations. Includes are resolved through
/// `source` relative to `name`'s directory.
pub fn parse_with_source(source: &dyn Source, name: &Path, text: &str) -> Result<Vec<Node>, Error> {
    parse_with_source_for(source, name, text, None)
}

/// [`parse_with_source`] with conditional lines read for `config_id`.
pub fn parse_with_source_for(
    source: &dyn Source,
    name: &Path,
    text: &str,
    config_id: Option<&str>,
) -> Result<Vec<Node>, Error> {
    let name = normalize(name);
    let mut tokens = Vec::new();
    let mut reading = Reading {
        stack: vec![name.clone()],
        files: 1,
        config_id,
    };
    expand(source, &name, text, &mut reading, &mut tokens)?;
    TreeBuilder { tokens, pos: 0 }.block(0, None)
}

/// Builds the tree of a single text named `name`; any `include` in it is an error
/// (no file can be found).
pub fn parse_str(name: &Path, text: &str) -> Result<Vec<Node>, Error> {
    parse_with_source(&MemorySource::new(), name, text)
}

/// The files being read (for cycle detection), how many were read so far, and the config id
/// conditional lines are read for.
struct Reading<'a> {
    stack: Vec<PathBuf>,
    files: usize,
    config_id: Option<&'a str>,
}

fn expand(
    source: &dyn Source,
    path: &Path,
    text: &str,
    reading: &mut Reading,
    out: &mut Vec<SpannedToken>,
) -> Result<(), Error> {
    let file: Arc<Path> = Arc::from(path);
    let mut tokens = lexer::tokenize_for(text, reading.config_id)
        .map_err(|e| Error::new(&Location::new(file.clone(), e.line), e.kind))?;
    out.reserve(tokens.len());
    let mut at_statement_start = true;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let location = Location::new(file.clone(), token.line);
        match &token.kind {
            TokenKind::Word {
                text,
                quoted: false,
            } if at_statement_start && is_include_keyword(text) => {
                let mut args = Vec::new();
                let mut j = i + 1;
                while let Some(TokenKind::Word { text, .. }) = tokens.get(j).map(|t| &t.kind) {
                    args.push(text.as_str());
                    j += 1;
                }
                let [pattern] = args.as_slice() else {
                    return Err(Error::new(&location, ErrorKind::IncludeArgs));
                };
                include(source, path, pattern, &location, reading, out)?;
                i = j;
                continue;
            }
            TokenKind::Word { .. } => at_statement_start = false,
            TokenKind::Open | TokenKind::Close | TokenKind::Newline => at_statement_start = true,
        }
        out.push(SpannedToken {
            kind: std::mem::replace(&mut tokens[i].kind, TokenKind::Newline),
            location,
        });
        i += 1;
    }
    Ok(())
}

fn include(
    source: &dyn Source,
    including: &Path,
    pattern: &str,
    location: &Location,
    reading: &mut Reading,
    out: &mut Vec<SpannedToken>,
) -> Result<(), Error> {
    let include_error = |message: String| {
        Error::new(
            location,
            ErrorKind::Include {
                pattern: pattern.to_owned(),
                message,
            },
        )
    };
    let written = Path::new(pattern);
    let resolved = if written.is_absolute() {
        written.to_path_buf()
    } else {
        including
            .parent()
            .map(|dir| dir.join(written))
            .unwrap_or_else(|| written.to_path_buf())
    };
    let resolved = normalize(&resolved);
    let mut matches: Vec<PathBuf> = source
        .glob(&resolved)
        .map_err(|e| include_error(e.to_string()))?
        .iter()
        .map(|p| normalize(p))
        .collect();
    matches.sort();
    matches.dedup();
    if matches.is_empty() && !has_glob_meta(pattern) {
        return Err(include_error(format!(
            "no such file {}",
            resolved.display()
        )));
    }
    for file in matches {
        if reading.stack.contains(&file) {
            return Err(Error::new(location, ErrorKind::IncludeCycle { path: file }));
        }
        if reading.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(Error::new(
                location,
                ErrorKind::IncludeTooDeep {
                    limit: MAX_INCLUDE_DEPTH,
                },
            ));
        }
        reading.files += 1;
        if reading.files > MAX_FILES {
            return Err(include_error(format!("more than {MAX_FILES} files read")));
        }
        let text = source.read(&file).map_err(|e| {
            Error::new(
                location,
                ErrorKind::Read {
                    path: file.clone(),
                    message: e.to_string(),
                },
            )
        })?;
        reading.stack.push(file.clone());
        expand(source, &file, &text, reading, out)?;
        reading.stack.pop();
    }
    Ok(())
}

struct TreeBuilder {
    tokens: Vec<SpannedToken>,
    pos: usize,
}

impl TreeBuilder {
    fn peek(&self) -> Option<&SpannedToken> {
        self.tokens.get(self.pos)
    }

    /// Parses statements until the end of input (top level) or the `}` closing the block
    /// opened at `opener`.
    fn block(&mut self, depth: usize, opener: Option<&Location>) -> Result<Vec<Node>, Error> {
        let mut nodes = Vec::new();
        loop {
            let Some(token) = self.peek() else {
                return match opener {
                    Some(open) => Err(Error::new(open, ErrorKind::UnclosedBrace)),
                    None => Ok(nodes),
                };
            };
            match &token.kind {
                TokenKind::Newline => self.pos += 1,
                TokenKind::Close => {
                    if opener.is_none() {
                        return Err(Error::new(&token.location, ErrorKind::StrayCloseBrace));
                    }
                    self.pos += 1;
                    return Ok(nodes);
                }
                TokenKind::Open => {
                    return Err(Error::new(&token.location, ErrorKind::BlockWithoutKeyword));
                }
                TokenKind::Word { .. } => {
                    let node = self.statement(depth)?;
                    nodes.push(node);
                }
            }
        }
    }

    fn statement(&mut self, depth: usize) -> Result<Node, Error> {
        let location = self.tokens[self.pos].location.clone();
        let mut words = Vec::new();
        while let Some(SpannedToken {
            kind: TokenKind::Word { text, .. },
            ..
        }) = self.tokens.get_mut(self.pos)
        {
            // Each token is read once: its text moves into the tree.
            words.push(std::mem::take(text));
            self.pos += 1;
        }
        let keyword = words.remove(0);

        // The '{' may follow on the same line or on a later line.
        let mut look = self.pos;
        while matches!(
            self.tokens.get(look).map(|t| &t.kind),
            Some(TokenKind::Newline)
        ) {
            look += 1;
        }
        let block = match self.tokens.get(look) {
            Some(SpannedToken {
                kind: TokenKind::Open,
                location: open,
            }) => {
                let open = open.clone();
                if depth + 1 > MAX_NESTING {
                    return Err(Error::new(&open, ErrorKind::TooDeep { limit: MAX_NESTING }));
                }
                self.pos = look + 1;
                Some(self.block(depth + 1, Some(&open))?)
            }
            _ => None,
        };
        Ok(Node {
            keyword,
            args: words,
            block,
            location,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Vec<Node> {
        parse_str(Path::new("/etc/keepalived/keepalived.conf"), text).unwrap()
    }

    fn error(text: &str) -> Error {
        parse_str(Path::new("/etc/keepalived/keepalived.conf"), text).unwrap_err()
    }

    #[test]
    fn nested_blocks_on_one_line() {
        let t = tree(
            "virtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } } }",
        );
        assert_eq!(t.len(), 1);
        let vs = &t[0];
        assert_eq!(vs.keyword, "virtual_server");
        assert_eq!(vs.args, ["10.0.0.1", "80"]);
        let rs = &vs.block.as_ref().unwrap()[0];
        assert_eq!(rs.args, ["10.0.0.2", "80"]);
        let check = &rs.block.as_ref().unwrap()[0];
        assert_eq!(check.keyword, "TCP_CHECK");
        let timeout = &check.block.as_ref().unwrap()[0];
        assert_eq!(
            (timeout.keyword.as_str(), timeout.args.as_slice()),
            ("connect_timeout", &["3".to_owned()][..])
        );
        assert!(timeout.block.is_none());
    }

    #[test]
    fn brace_on_next_line_and_locations() {
        let t = tree("! comment\nvrrp_instance VI_1\n{\n  state MASTER\n\n  virtual_ipaddress {\n    10.0.0.1/24 dev eth0 label eth0:1\n  }\n}\n");
        let vi = &t[0];
        assert_eq!(vi.location.line, 2);
        let block = vi.block.as_ref().unwrap();
        assert_eq!(block[0].location.line, 4);
        let vip = &block[1].block.as_ref().unwrap()[0];
        assert_eq!(vip.keyword, "10.0.0.1/24");
        assert_eq!(vip.args, ["dev", "eth0", "label", "eth0:1"]);
        assert_eq!(vip.location.line, 7);
        assert_eq!(
            &*vip.location.file,
            Path::new("/etc/keepalived/keepalived.conf")
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = error("a {\n  b\n");
        assert_eq!((e.line, &e.kind), (1, &ErrorKind::UnclosedBrace));
        let e = error("a {\n}\n}\n");
        assert_eq!((e.line, &e.kind), (3, &ErrorKind::StrayCloseBrace));
        let e = error("a {\n}\n{\n}\n");
        assert_eq!((e.line, &e.kind), (3, &ErrorKind::BlockWithoutKeyword));
        let e = error("a\nb \"c\n");
        assert_eq!((e.line, &e.kind), (2, &ErrorKind::UnterminatedQuote));
        assert_eq!(e.file, PathBuf::from("/etc/keepalived/keepalived.conf"));
    }

    #[test]
    fn nesting_limit() {
        let deep = "a {".repeat(MAX_NESTING + 1) + &"}".repeat(MAX_NESTING + 1);
        assert!(matches!(error(&deep).kind, ErrorKind::TooDeep { .. }));
        let ok = "a {".repeat(MAX_NESTING) + &"}".repeat(MAX_NESTING);
        assert!(parse_str(Path::new("x"), &ok).is_ok());
    }

    #[test]
    fn includes() {
        let src = MemorySource::new()
            .with(
                "/etc/keepalived/keepalived.conf",
                "global_defs {\n  router_id A\n}\ninclude conf.d/*.conf\nvirtual_server 10.0.0.1 80 {\n  include /srv/rs.inc\n}\n",
            )
            .with("/etc/keepalived/conf.d/b.conf", "vrrp_instance B {\n}\n")
            .with("/etc/keepalived/conf.d/a.conf", "vrrp_instance A {\n}\n")
            .with("/srv/rs.inc", "\n\nreal_server 10.0.0.2 80 {\n}\n");
        let t = parse_file(&src, Path::new("/etc/keepalived/keepalived.conf")).unwrap();
        let names: Vec<_> = t
            .iter()
            .map(|n| (n.keyword.as_str(), n.args.first().map(String::as_str)))
            .collect();
        assert_eq!(
            names,
            [
                ("global_defs", None),
                ("vrrp_instance", Some("A")),
                ("vrrp_instance", Some("B")),
                ("virtual_server", Some("10.0.0.1"))
            ]
        );
        assert_eq!(
            &*t[1].location.file,
            Path::new("/etc/keepalived/conf.d/a.conf")
        );
        let rs = &t[3].block.as_ref().unwrap()[0];
        assert_eq!(&*rs.location.file, Path::new("/srv/rs.inc"));
        assert_eq!(rs.location.line, 3);
    }

    #[test]
    fn include_errors() {
        let src = MemorySource::new()
            .with("/k/main.conf", "include a.conf\n")
            .with("/k/a.conf", "\ninclude ./sub/../main.conf\n");
        let e = parse_file(&src, Path::new("/k/main.conf")).unwrap_err();
        assert_eq!(e.file, PathBuf::from("/k/a.conf"));
        assert_eq!(e.line, 2);
        assert!(matches!(e.kind, ErrorKind::IncludeCycle { .. }));

        let src = MemorySource::new().with(
            "/k/main.conf",
            "\n\ninclude missing.conf\ninclude none/*.conf\n",
        );
        let e = parse_file(&src, Path::new("/k/main.conf")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(matches!(e.kind, ErrorKind::Include { .. }));

        let src = MemorySource::new().with("/k/main.conf", "include none/*.conf\n");
        assert!(parse_file(&src, Path::new("/k/main.conf"))
            .unwrap()
            .is_empty());

        let e = parse_file(&src, Path::new("/k/absent.conf")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Read { .. }));

        let e = error("include a b\n");
        assert_eq!(e.kind, ErrorKind::IncludeArgs);

        // Includes nested without a cycle stop at the depth limit.
        let mut src = MemorySource::new();
        for i in 0..=MAX_INCLUDE_DEPTH + 1 {
            src.insert(format!("/k/{i}.conf"), format!("include {}.conf\n", i + 1));
        }
        let e = parse_file(&src, Path::new("/k/0.conf")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::IncludeTooDeep { .. }), "{e}");

        // A file included many times over stops at the file limit.
        let mut src = MemorySource::new().with("/k/main.conf", "include l0.conf\n");
        for level in 0..16 {
            src.insert(
                format!("/k/l{level}.conf"),
                format!("include l{n}.conf\ninclude l{n}.conf\n", n = level + 1),
            );
        }
        src.insert("/k/l16.conf", "");
        let e = parse_file(&src, Path::new("/k/main.conf")).unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::Include { message, .. } if message.contains("files read")),
            "{e}"
        );
    }
}
