//! Object names: unique slugs.

use crate::error::{ModelError, Result};

/// The longest name docs/design.md allows: one leading character and 62 more.
pub const MAX_NAME_LEN: usize = 63;

/// Checks `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn validate_name(field: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_first = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok_first || !ok_rest || name.len() > MAX_NAME_LEN {
        return Err(ModelError::invalid(
            field,
            format!(
                "{name:?} is not a valid name: use 1 to {MAX_NAME_LEN} characters of a-z, 0-9, '.', '_', '-', \
                 starting with a letter or digit"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        for n in ["web", "a", "0", "web-01.prod_eu", &"a".repeat(63)] {
            validate_name("name", n).unwrap();
        }
    }

    #[test]
    fn rejects_others() {
        for n in [
            "",
            "-web",
            ".x",
            "Web",
            "web server",
            "wéb",
            "a/b",
            &"a".repeat(64),
        ] {
            let e = validate_name("name", n).unwrap_err();
            assert_eq!(e.field, "name");
        }
    }
}
