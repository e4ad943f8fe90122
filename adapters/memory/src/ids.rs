//! Id generators: random ones for running shops, sequential ones for tests. Also the small
//! secret-handling helpers the other memory adapters share (OS randomness, HMAC-SHA-256,
//! randomly keyed cursor codecs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shopkit_core::ids::CartToken;
use shopkit_core::ports::{CursorCodec, CursorKey, IdGenerator};
use uuid::Uuid;

/// Production ids: time-ordered UUIDs and unguessable cart tokens.
///
/// - `uuid` is a UUID v7; the `uuid` crate orders every v7 made by one process by creation,
///   so none repeats within the process (the port's MUST).
/// - `cart_token` is 32 bytes (256 bits) from the operating system's CSPRNG, hex-encoded.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl RandomIds {
    /// The generator.
    pub fn new() -> Self {
        RandomIds
    }
}

impl IdGenerator for RandomIds {
    fn uuid(&self) -> Uuid {
        Uuid::now_v7()
    }

    /// # Panics
    /// When the operating system cannot provide random bytes: a guessable token would be
    /// worse than no token, and the port cannot report an error.
    fn cart_token(&self) -> CartToken {
        hex_cart_token(&os_random::<32>())
    }
}

/// Deterministic ids for tests: the n-th `uuid` is `n` as a 128-bit number (the first is
/// `00000000-0000-0000-0000-000000000001`), the n-th cart token is `n` as 64 hex digits.
///
/// Clones share the counters. **Never use it outside tests**: its cart tokens are trivially
/// guessable.
#[derive(Clone, Debug, Default)]
pub struct SequentialIds {
    uuids: Arc<AtomicU64>,
    tokens: Arc<AtomicU64>,
}

impl SequentialIds {
    /// A generator whose first uuid and first token are number 1.
    pub fn new() -> Self {
        SequentialIds::default()
    }

    /// The uuid this generator hands out `n`-th (1-based), for asserting on ids.
    pub fn nth_uuid(n: u64) -> Uuid {
        Uuid::from_u128(u128::from(n))
    }

    /// How many uuids were handed out so far.
    pub fn uuids_issued(&self) -> u64 {
        self.uuids.load(Ordering::SeqCst)
    }
}

impl IdGenerator for SequentialIds {
    fn uuid(&self) -> Uuid {
        SequentialIds::nth_uuid(self.uuids.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn cart_token(&self) -> CartToken {
        let n = self.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        let mut bytes = [0u8; 32];
        bytes[24..].copy_from_slice(&n.to_be_bytes());
        hex_cart_token(&bytes)
    }
}

fn hex_cart_token(bytes: &[u8; 32]) -> CartToken {
    match CartToken::new(&hex::encode(bytes)) {
        Ok(token) => token,
        // 64 lowercase hex digits is always a valid token (32..=128 hex characters).
        Err(_) => unreachable!("64 hex digits are a valid cart token"),
    }
}

/// `N` bytes from the operating system's CSPRNG (`getrandom`).
///
/// # Panics
/// When the operating system cannot provide randomness. The callers (cart tokens, signing
/// secrets) must not fall back to a guessable value, and their ports cannot report an
/// error, so failing loudly is the only safe answer. On Linux this means the `getrandom`
/// syscall itself failed, which does not happen on a working kernel.
pub(crate) fn os_random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Err(err) = getrandom::fill(&mut bytes) {
        panic!(
            "the operating system's random number generator failed ({err}); refusing to make a guessable secret"
        );
    }
    bytes
}

/// The cursor codec of the listing named `listing`, under a fresh key from the OS CSPRNG.
///
/// Each store instance (and each listing) gets its own key, so a cursor from another
/// instance is refused; clones of a store share the codec, so they accept each other's.
///
/// # Panics
/// When the operating system cannot provide randomness for the key.
pub(crate) fn random_cursor_codec(listing: &'static str) -> CursorCodec {
    CursorKey::new(os_random::<32>()).codec(listing)
}

/// HMAC-SHA-256 (RFC 2104), from RustCrypto's `hmac` crate.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA-256 keyed with `key`: feed it the message, then `finalize` to sign or
/// `verify_slice` to check a signature (in constant time, and only a full-length one).
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes a key of any length (a longer one is hashed first).
        Err(_) => unreachable!("HMAC-SHA-256 accepts a key of any length"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn random_uuids_are_version_7_and_never_repeat() {
        let ids = RandomIds::new();

        let made: Vec<Uuid> = (0..10_000).map(|_| ids.uuid()).collect();

        assert!(made.iter().all(|u| u.get_version_num() == 7));
        assert_eq!(made.iter().collect::<HashSet<_>>().len(), made.len());
        assert!(made.windows(2).all(|w| w[0] < w[1]), "v7 uuids of one process are ordered");
    }

    #[test]
    fn random_cart_tokens_are_64_hex_digits_and_differ() {
        let ids = RandomIds::new();

        let a = ids.cart_token();
        let b = ids.cart_token();

        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn sequential_ids_count_from_one_and_clones_share_the_count() {
        let ids = SequentialIds::new();
        let clone = ids.clone();

        let first = ids.uuid();
        let second = clone.uuid();

        assert_eq!(first.to_string(), "00000000-0000-0000-0000-000000000001");
        assert_eq!(second, SequentialIds::nth_uuid(2));
        assert_eq!(ids.uuids_issued(), 2);
    }

    #[test]
    fn sequential_cart_tokens_are_valid_and_distinct() {
        let ids = SequentialIds::new();

        let first = ids.cart_token();
        let second = ids.cart_token();

        assert_eq!(first.expose(), format!("{:064x}", 1));
        assert_eq!(second.expose(), format!("{:064x}", 2));
    }

    #[test]
    fn an_hmac_signature_verifies_and_a_tampered_one_does_not() {
        let signature = hmac_sha256(b"key").chain_update(b"message").finalize().into_bytes();
        let mut tampered = signature;
        tampered[0] ^= 1;

        let check = |sig: &[u8]| hmac_sha256(b"key").chain_update(b"message").verify_slice(sig);

        assert!(check(&signature).is_ok());
        assert!(check(&tampered).is_err());
        assert!(check(&signature[..16]).is_err(), "a truncated signature does not verify");
    }
}
