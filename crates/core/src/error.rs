//! The one error type of model validation: what is wrong, and which field it is.

use std::fmt;

/// How the edge should classify a [`ModelError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The value is not acceptable on its own (422).
    Invalid,
    /// The value clashes with another object (409): a duplicate name, address or VRID.
    Conflict,
}

/// A validation failure, naming the field as a JSON path such as `real_servers[1].weight`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ModelError {
    pub kind: ErrorKind,
    pub field: String,
    pub message: String,
}

impl ModelError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Conflict,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error seen from an enclosing object: `weight` becomes `real_servers[2].weight`.
    pub fn within(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = if self.field.is_empty() {
                prefix.to_string()
            } else if self.field.starts_with('[') {
                format!("{prefix}{}", self.field)
            } else {
                format!("{prefix}.{}", self.field)
            };
        }
        self
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Checks that `value` lies in `lo..=hi`, naming `field` otherwise.
pub(crate) fn check_range<T>(field: &str, value: T, lo: T, hi: T) -> Result<()>
where
    T: PartialOrd + fmt::Display + Copy,
{
    if value < lo || value > hi {
        return Err(ModelError::invalid(
            field,
            format!("must be between {lo} and {hi}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_builds_json_paths() {
        let e = ModelError::invalid("weight", "bad").within("real_servers[2]");
        assert_eq!(e.field, "real_servers[2].weight");
        let e = ModelError::invalid("", "bad").within("health_check");
        assert_eq!(e.field, "health_check");
        assert_eq!(e.to_string(), "health_check: bad");
    }
}
