//! CSRF tokens: an HMAC-SHA256 keyed with the session's secret (the session token in its HttpOnly cookie, or
//! the pre-login nonce), over a fixed label. A page embeds the token in a hidden field of every form; a POST
//! is accepted only when the field matches the cookie it came with. Another site can make the browser send
//! the cookie (SameSite=Strict already stops that in current browsers) but cannot read it, so it cannot
//! compute the field. Nothing is stored on the server, and the tokens survive a restart of the daemon.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the hidden form field.
pub const FIELD: &str = "_csrf";

const LABEL: &[u8] = b"director web ui csrf v1";

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(LABEL);
    mac
}

/// The token of the session whose secret is `secret`.
pub fn token(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret).finalize().into_bytes())
}

/// Whether `presented` is the token of `secret` (compared in constant time).
pub fn verify(secret: &str, presented: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(presented.trim()) {
        Ok(bytes) => mac(secret).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_against_its_own_secret() {
        let t = token("session-a");
        assert!(verify("session-a", &t));
        assert!(!verify("session-b", &t));
        assert!(!verify("session-a", ""));
        assert!(!verify("session-a", "not base64 !"));
        assert!(!verify("session-a", &t[..t.len() - 2]));
        assert_eq!(t, token("session-a"), "tokens are stable for a session");
        assert_eq!(t.len(), 43);
    }
}
