//! Command lines as keepalived splits them: words separated by blanks, `'...'` or `"..."` keeping blanks.

/// Splits a keepalived command line into the program and its arguments.
pub fn split(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Joins words back into one keepalived command line, quoting those with blanks or quotes.
pub fn join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.is_empty() || w.chars().any(|c| c.is_whitespace() || c == '"') {
                format!("'{w}'")
            } else if w.contains('\'') {
                format!("\"{w}\"")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(split("/bin/check -p 80"), ["/bin/check", "-p", "80"]);
        assert_eq!(
            split("/bin/sh -c 'test -f /tmp/x'"),
            ["/bin/sh", "-c", "test -f /tmp/x"]
        );
        assert_eq!(split("  a   ''  b "), ["a", "", "b"]);
        let words = split("/bin/sh -c 'echo \"hi there\"'");
        assert_eq!(split(&join(&words)), words);
    }
}
