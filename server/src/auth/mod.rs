//! Who is asking: agent passwords and sessions, the server-signed visitor tokens, and where a
//! request comes from.
//!
//! - [`identity`] — identity verification of a site's logged-in users.
//! - [`limits`] — bounded password hashing and locks after repeated failed logins.
//! - [`origin`] — web origins, the sites' allow-lists and the same-origin check.
//! - [`password`] — argon2id hashing.
//! - [`session`] — agent login sessions: random bearer tokens, stored only as SHA-256 hashes.
//! - [`visitor_token`] — HMAC-signed tokens naming one visitor of one site.

pub mod identity;
pub mod limits;
pub mod origin;
pub mod password;
pub mod session;
pub mod visitor_token;

use rand::Rng;

/// `len` random ASCII letters and digits from the thread's CSPRNG (passwords, widget keys).
pub fn random_alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
