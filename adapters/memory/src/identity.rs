//! A table of known bearer tokens, for tests and the embedded profile's fixtures.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shopkit_core::ports::{Clock, IdentityError, IdentityVerifier, Principal};

/// Known tokens by SHA-256 digest: who they belong to and when they expire.
type TokenTable = HashMap<[u8; 32], (Principal, DateTime<Utc>)>;

/// An [`IdentityVerifier`] backed by a table of token → (principal, expiry).
///
/// - An unknown (or revoked) token is `Invalid`; a token whose expiry is not after the
///   clock's now is `Expired` (like a JWT's `exp`).
/// - Tokens are kept only as SHA-256 digests and never appear in `Debug` or errors.
/// - [`set_down`](Self::set_down) makes `verify` `Unavailable`, as when a key set cannot be
///   fetched.
pub struct StaticIdentityVerifier {
    clock: Arc<dyn Clock>,
    tokens: Mutex<TokenTable>,
    down: AtomicBool,
}

impl fmt::Debug for StaticIdentityVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticIdentityVerifier")
            .field("tokens", &self.lock().len())
            .finish_non_exhaustive()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl StaticIdentityVerifier {
    /// A verifier that knows no token yet; expiry is judged by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        StaticIdentityVerifier {
            clock,
            tokens: Mutex::new(HashMap::new()),
            down: AtomicBool::new(false),
        }
    }

    /// Accepts `token` for `principal` until `expires_at` (replacing an earlier entry).
    pub fn insert(&self, token: &str, principal: Principal, expires_at: DateTime<Utc>) {
        self.lock().insert(digest(token), (principal, expires_at));
    }

    /// Same as [`insert`](Self::insert), for building a verifier in one expression.
    pub fn with_token(self, token: &str, principal: Principal, expires_at: DateTime<Utc>) -> Self {
        self.insert(token, principal, expires_at);
        self
    }

    /// Forgets `token`: it is `Invalid` from now on.
    pub fn revoke(&self, token: &str) {
        self.lock().remove(&digest(token));
    }

    /// Takes the identity provider down (`true`): every `verify` is `Unavailable` until
    /// `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, TokenTable> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl IdentityVerifier for StaticIdentityVerifier {
    async fn verify(&self, bearer_token: &str) -> Result<Principal, IdentityError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(IdentityError::Unavailable {
                message: "the identity provider is down (set_down(true))".into(),
            });
        }
        let (principal, expires_at) =
            self.lock().get(&digest(bearer_token)).cloned().ok_or(IdentityError::Invalid)?;
        if self.clock.now() >= expires_at {
            return Err(IdentityError::Expired);
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use shopkit_core::ids::CustomerId;
    use shopkit_core::ports::Role;
    use uuid::Uuid;

    use super::*;
    use crate::clock::ManualClock;

    fn principal() -> Principal {
        Principal {
            customer: CustomerId::from_uuid(Uuid::from_u128(1)),
            email: None,
            roles: vec![Role::Customer],
        }
    }

    fn verifier() -> (StaticIdentityVerifier, ManualClock) {
        let clock = ManualClock::default();
        let verifier = StaticIdentityVerifier::new(Arc::new(clock.clone())).with_token(
            "good-token",
            principal(),
            clock.now() + Duration::hours(1),
        );
        (verifier, clock)
    }

    #[tokio::test]
    async fn a_known_token_yields_its_principal() {
        let (verifier, _) = verifier();

        let who = verifier.verify("good-token").await.unwrap();

        assert_eq!(who, principal());
    }

    #[tokio::test]
    async fn an_unknown_token_is_invalid() {
        let (verifier, _) = verifier();

        assert!(matches!(verifier.verify("forged").await, Err(IdentityError::Invalid)));
        assert!(matches!(verifier.verify("").await, Err(IdentityError::Invalid)));
    }

    #[tokio::test]
    async fn a_token_is_expired_from_its_expiry_on() {
        let (verifier, clock) = verifier();

        clock.advance(Duration::hours(1) - Duration::seconds(1));
        let before = verifier.verify("good-token").await;
        clock.advance(Duration::seconds(1));
        let at = verifier.verify("good-token").await;

        assert!(before.is_ok());
        assert!(matches!(at, Err(IdentityError::Expired)));
    }

    #[tokio::test]
    async fn a_revoked_token_is_invalid() {
        let (verifier, _) = verifier();

        verifier.revoke("good-token");

        assert!(matches!(verifier.verify("good-token").await, Err(IdentityError::Invalid)));
    }

    #[tokio::test]
    async fn a_down_provider_is_unavailable() {
        let (verifier, _) = verifier();
        verifier.set_down(true);

        assert!(matches!(
            verifier.verify("good-token").await,
            Err(IdentityError::Unavailable { .. })
        ));
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let (verifier, _) = verifier();

        assert!(!format!("{verifier:?}").contains("good-token"));
    }
}
