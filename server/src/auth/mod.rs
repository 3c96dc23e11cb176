//! Who is calling: password hashes, signed tokens, and the caller's identity.

mod password;
mod token;

pub use password::{hash_password, verify_password, MIN_PASSWORD_LEN};
pub use token::{Claims, TokenError, TokenKind, Tokens};
