//! Argon2id password hashes in PHC string format.
//!
//! Each hash needs a work area of `m_cost` KiB (19 MiB with the default parameters). The
//! argon2 crate's own entry points allocate it afresh for every hash, and the allocator keeps
//! what was freed (measured: 200 concurrent logins, bounded to two at a time, still left the
//! process 380 MiB larger, the freed work areas spread over its arenas). So the work area is
//! allocated once per thread and reused: with hashing on a fixed set of threads
//! ([`crate::auth::limits::Hasher`]), memory is bounded by threads × 19 MiB, whatever the
//! burst.

use std::cell::RefCell;
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// The most work-area blocks (KiB) a stored hash may ask for: 4 × the default. A hash asking
/// for more never matches, so a bad row cannot make a login allocate gigabytes.
const MAX_BLOCKS: u32 = 4 * Params::DEFAULT_M_COST;

thread_local! {
    /// This thread's argon2 work area, grown to the largest hash it has computed.
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes the raw argon2 output into `out`, in this thread's reused work area.
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon.params().block_count();
    WORK_AREA.with_borrow_mut(|area| {
        if area.len() < blocks {
            // Replace rather than grow, so the old area is freed before the new one is made.
            *area = Vec::new();
            *area = vec![Block::default(); blocks];
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut area[..])
    })
}

/// A new hash of `password` with a fresh salt and the default parameters.
pub fn hash(password: &str) -> Result<String, HashError> {
    let fail = |e: &dyn std::fmt::Display| HashError(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::default();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password.as_bytes(), salt_bytes, &mut out).map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// True when `password` matches `hash`. A malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    matches_hash(password, hash).unwrap_or(false)
}

fn matches_hash(password: &str, hash: &str) -> Option<bool> {
    let parsed = PasswordHash::new(hash).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_BLOCKS {
        return None;
    }
    let expected = parsed.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    compute(&argon, password.as_bytes(), salt, &mut out).ok()?;
    // `Output`'s comparison takes constant time.
    Some(Output::new(&out).ok()? == expected)
}

/// Spends the same time as a real check, so an unknown email cannot be told from a wrong
/// password by timing.
pub fn verify_dummy(password: &str) {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash("no account has this password").unwrap_or_default());
    let _ = verify(password, &DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_verify_and_differ_by_salt() -> Result<(), HashError> {
        let a = hash("correct horse")?;
        let b = hash("correct horse")?;
        assert_ne!(a, b);
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("correct horse", "not a hash"));
        Ok(())
    }

    #[test]
    fn hashes_are_the_argon2_crates_own_both_ways() -> Result<(), HashError> {
        // Ours, checked by the crate: the stored format is unchanged.
        let ours = hash("correct horse")?;
        let parsed = PasswordHash::new(&ours).map_err(|e| HashError(e.to_string()))?;
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // The crate's (as stored before), checked by us; other parameters too.
        let salt = SaltString::generate(&mut OsRng);
        for argon in [
            Argon2::default(),
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(8 * 1024, 3, 1, Some(16)).map_err(|e| HashError(e.to_string()))?,
            ),
        ] {
            let theirs = argon
                .hash_password(b"battery staple", &salt)
                .map_err(|e| HashError(e.to_string()))?
                .to_string();
            assert!(verify("battery staple", &theirs), "{theirs}");
            assert!(!verify("battery stapler", &theirs));
        }
        Ok(())
    }

    #[test]
    fn a_hash_asking_for_too_much_memory_never_matches() -> Result<(), HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let greedy =
            Params::new(MAX_BLOCKS + 8, 1, 1, None).map_err(|e| HashError(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&greedy).map_err(|e| HashError(e.to_string()))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&[0u8; 32]).map_err(|e| HashError(e.to_string()))?),
        };
        assert!(!verify("anything", &phc.to_string()));
        Ok(())
    }
}
