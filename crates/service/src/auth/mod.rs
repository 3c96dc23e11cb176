//! Who is calling: password hashes, signed tokens, and the caller's identity.

mod gate;
pub mod limiter;
mod password;
mod token;

pub use gate::{GateError, HashGate};
pub use limiter::{LimiterConfig, LoginLimiter};
pub use password::{hash_password, verify_password, MIN_PASSWORD_LEN};
pub use token::{random_hex, Claims, TokenError, TokenKind, Tokens, LEEWAY_S};
