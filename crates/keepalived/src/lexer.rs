//! Tokens of keepalived.conf.
//!
//! keepalived reads its configuration line by line. On each line:
//!
//! - `#` and `!` start a comment that runs to the end of the line, unless they are inside a
//!   double-quoted string or escaped as `\#` / `\!`;
//! - words are separated by blanks (space, tab, CR, FF, VT);
//! - `"..."` is one word with its blanks kept (no escape sequences, as keepalived's own
//!   tokenizer); a quoted string must close on the same line;
//! - `{` and `}` outside quotes are tokens of their own even when not separated by blanks
//!   (keepalived splits the line there), so `auth { auth_type PASS }` is four statements
//!   worth of tokens on one line.
//!
//! `@ID rest` and `@^ID rest` are keepalived's conditional lines (its `-i CONFIG_ID`): read
//! [`tokenize_for`] a config id, `rest` is read on the node whose id is `ID` (`@ID`) or on every
//! other node (`@^ID`), and the line is empty elsewhere. Without a config id ([`tokenize`]) they
//! are rejected, as are the rest of keepalived's preprocessor (`$NAME=value` definitions,
//! `~SEQ(...)` / `~LST(...)`), with [`ErrorKind::Preprocessor`]: this parser does not expand
//! them and must not guess.

use crate::error::ErrorKind;

/// One token and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// 1-based line number.
    pub line: u32,
}

/// The kinds of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A word; `quoted` is true when it was written as `"..."`.
    Word {
        /// The text, without the quotes.
        text: String,
        /// Whether it was written in double quotes.
        quoted: bool,
    },
    /// `{`
    Open,
    /// `}`
    Close,
    /// The end of a line.
    Newline,
}

/// A lexical error: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// 1-based line number.
    pub line: u32,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// The blanks that separate words, as keepalived defines them.
pub(crate) fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// Splits `text` into tokens. Every line, including the last, ends with a
/// [`TokenKind::Newline`]. A conditional line (`@ID ...`) is an error.
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    tokenize_for(text, None)
}

/// Splits `text` into tokens as keepalived started with `-i config_id` reads it: a conditional
/// line `@ID rest` keeps `rest` only when `ID` is `config_id`, `@^ID rest` only when it is not.
/// Without a config id a conditional line is an error.
pub fn tokenize_for(text: &str, config_id: Option<&str>) -> Result<Vec<Token>, LexError> {
    // A UTF-8 byte order mark left by an editor is not part of the first keyword.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // About one token per six bytes in typical files: one allocation instead of a doubling series.
    let mut tokens = Vec::with_capacity(text.len() / 6);
    for (index, raw) in text.split('\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        tokenize_line(raw, line, config_id, &mut tokens)?;
        tokens.push(Token {
            kind: TokenKind::Newline,
            line,
        });
    }
    Ok(tokens)
}

fn check_preprocessor(trimmed: &str, line: u32) -> Result<(), LexError> {
    let what = if trimmed.starts_with('@') {
        Some("conditional configuration line ('@id ...')")
    } else if trimmed.starts_with("~SEQ") || trimmed.starts_with("~LST") {
        Some("sequence/list block ('~SEQ(...)' / '~LST(...)')")
    } else if is_definition(trimmed) {
        Some("parameter definition ('$NAME=value')")
    } else {
        None
    };
    match what {
        Some(what) => Err(LexError {
            line,
            kind: ErrorKind::Preprocessor {
                what: what.to_owned(),
            },
        }),
        None => Ok(()),
    }
}

/// `$NAME=...` where NAME is `[A-Za-z_][A-Za-z0-9_]*` (blanks allowed before `=`).
fn is_definition(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('$') else {
        return false;
    };
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    for (i, c) in chars {
        if c.is_ascii_alphanumeric() || c == '_' {
            continue;
        }
        return rest[i..].trim_start_matches([' ', '\t']).starts_with('=');
    }
    false
}

/// The part of a conditional line `@ID rest` / `@^ID rest` read on the node `config_id`: `rest`
/// when the condition holds, else nothing (as keepalived, also when nothing follows the id).
fn conditional<'a>(trimmed: &'a str, config_id: &str) -> &'a str {
    let Some(cond) = trimmed.strip_prefix('@') else {
        return trimmed;
    };
    let (negated, cond) = match cond.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, cond),
    };
    let Some(end) = cond.find(is_blank) else {
        return "";
    };
    if (&cond[..end] == config_id) != negated {
        cond[end..].trim_start_matches(is_blank)
    } else {
        ""
    }
}

fn tokenize_line(
    raw: &str,
    line: u32,
    config_id: Option<&str>,
    tokens: &mut Vec<Token>,
) -> Result<(), LexError> {
    if raw.contains('\0') {
        return Err(LexError {
            line,
            kind: ErrorKind::NulByte,
        });
    }
    let mut trimmed = raw.trim_start_matches(is_blank);
    if let Some(id) = config_id {
        trimmed = conditional(trimmed, id);
    }
    check_preprocessor(trimmed, line)?;

    let mut word = String::new();
    let mut in_word = false;
    let mut chars = trimmed.chars().peekable();
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            // An exact-size copy; the buffer is kept for the next word.
            tokens.push(Token {
                kind: TokenKind::Word {
                    text: word.as_str().to_owned(),
                    quoted: false,
                },
                line,
            });
            word.clear();
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '{' | '}' => {
                flush(&mut word, &mut in_word, tokens);
                tokens.push(Token {
                    kind: if c == '{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    },
                    line,
                });
            }
            '"' => {
                flush(&mut word, &mut in_word, tokens);
                let mut text = String::new();
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == '"' {
                        closed = true;
                        break;
                    }
                    text.push(q);
                }
                if !closed {
                    return Err(LexError {
                        line,
                        kind: ErrorKind::UnterminatedQuote,
                    });
                }
                tokens.push(Token {
                    kind: TokenKind::Word { text, quoted: true },
                    line,
                });
            }
            '\\' if matches!(chars.peek(), Some('#' | '!')) => {
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                    in_word = true;
                }
            }
            c if is_blank(c) => flush(&mut word, &mut in_word, tokens),
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    flush(&mut word, &mut in_word, tokens);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| match t.kind {
                TokenKind::Word { text, quoted: true } => format!("\"{text}\""),
                TokenKind::Word { text, .. } => text,
                TokenKind::Open => "{".into(),
                TokenKind::Close => "}".into(),
                TokenKind::Newline => "NL".into(),
            })
            .collect()
    }

    #[test]
    fn comments_quotes_and_braces() {
        assert_eq!(
            words("a b # c\n! all\nscript \"x # y\" z!w"),
            ["a", "b", "NL", "NL", "script", "\"x # y\"", "z", "NL"]
        );
        assert_eq!(
            words("authentication{auth_type PASS}"),
            ["authentication", "{", "auth_type", "PASS", "}", "NL"]
        );
        assert_eq!(words("a\\#b \"\""), ["a#b", "\"\"", "NL"]);
        assert_eq!(words("x\"a b\"c"), ["x", "\"a b\"", "c", "NL"]);
    }

    #[test]
    fn nul_bytes_are_refused_with_their_line() {
        // Found by the fuzz run: a NUL inside a name parsed, then could not be written back.
        let e = tokenize("a\nvrrp_instance V\0_GW {\n").unwrap_err();
        assert_eq!((e.line, e.kind), (2, ErrorKind::NulByte));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(words("\u{feff}global_defs {"), ["global_defs", "{", "NL"]);
    }

    #[test]
    fn line_numbers() {
        let t = tokenize("a\n\n  b {\n}").unwrap();
        let lines: Vec<u32> = t.iter().map(|t| t.line).collect();
        assert_eq!(lines, [1, 1, 2, 3, 3, 3, 4, 4]);
    }

    #[test]
    fn unterminated_quote() {
        let e = tokenize("a\nb \"c d\ne").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.kind, ErrorKind::UnterminatedQuote);
    }

    #[test]
    fn preprocessor_is_rejected() {
        for text in [
            "@main router_id x",
            "$PRIO=100",
            " $A_1 = x",
            "~SEQ(i,1,3) x",
        ] {
            let e = tokenize(text).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::Preprocessor { .. }), "{text}");
        }
        // A '$' that is not a definition is an ordinary word.
        assert_eq!(
            words("script \"$HOME/x\" $1"),
            ["script", "\"$HOME/x\"", "$1", "NL"]
        );
    }

    #[test]
    fn conditional_lines_are_read_for_the_config_id() {
        let text = "@lvs1 priority 150\n@^lvs1 priority 100\n  @lvs2 a b\n@lvs1\nc";
        let read = |id: &str| -> Vec<String> {
            tokenize_for(text, Some(id))
                .unwrap()
                .into_iter()
                .map(|t| match t.kind {
                    TokenKind::Word { text, .. } => format!("{}:{text}", t.line),
                    _ => String::new(),
                })
                .filter(|w| !w.is_empty())
                .collect()
        };
        assert_eq!(read("lvs1"), ["1:priority", "1:150", "5:c"]);
        assert_eq!(read("lvs2"), ["2:priority", "2:100", "3:a", "3:b", "5:c"]);
        assert_eq!(read("lvs3"), ["2:priority", "2:100", "5:c"]);
        // Still no other preprocessor under a condition that holds.
        let e = tokenize_for("@lvs1 $X=1", Some("lvs1")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Preprocessor { .. }));
    }
}
