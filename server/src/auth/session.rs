//! Agent login sessions. The bearer token is 32 random bytes (base64url); the database keeps
//! only its SHA-256, so a leaked database does not leak live sessions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie that carries the session token for browsers (HttpOnly, SameSite=Strict).
pub const COOKIE_NAME: &str = "bellhop_session";

/// Agent session tokens start with this, so they cannot be mistaken for visitor tokens.
const PREFIX: &str = "bs1_";

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database stores for a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a string has the shape of a session token (cheap pre-check before a lookup).
pub fn looks_like_token(token: &str) -> bool {
    token.starts_with(PREFIX) && token.len() < 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(looks_like_token(&a));
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
