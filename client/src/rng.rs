//! A small seeded pseudo-random generator (SplitMix64) for backoff jitter and client ids.
//!
//! The core has no randomness source of its own, so it builds for `wasm32-unknown-unknown`
//! without `getrandom`: the caller supplies the seed (the widget from
//! `crypto.getRandomValues`, tests from a fixed number). It is not cryptographic; client ids
//! only have to be unique per author, which a fresh random seed per session makes them.

use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max` (the modulo bias is far below what jitter cares about).
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(bound) => self.next_u64() % bound,
            None => self.next_u64(),
        }
    }

    /// A random (version 4) UUID.
    pub fn uuid_v4(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_ids_are_v4() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.next_u64(), b.next_u64());
        let id = a.uuid_v4();
        assert_eq!(id.get_version_num(), 4);
        assert_ne!(id, a.uuid_v4());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn up_to_stays_in_range() {
        let mut rng = Rng::new(42);
        for max in [0, 1, 10, 1000] {
            for _ in 0..200 {
                assert!(rng.up_to(max) <= max);
            }
        }
        let _ = rng.up_to(u64::MAX);
    }
}
