//! Contracts of [`IdentityVerifier`]: a valid token yields its principal, an expired one is
//! `Expired`; a tampered, malformed, foreign-issuer or foreign-audience one is `Invalid`.
//!
//! Each contract takes a verifier and [`TestTokens`] minted for it: a local issuer signs
//! them with its test key; a Cognito run takes them from a test user pool (an expired one
//! captured earlier, a valid one signed in just before the run).

use std::fmt;
use std::sync::Arc;

use shopkit_core::ids::CustomerId;
use shopkit_core::ports::{IdentityError, IdentityVerifier, Role};

use crate::support::Must;

/// Tokens minted for the verifier under test.
#[derive(Clone)]
pub struct TestTokens {
    /// A valid token.
    pub valid: String,
    /// The customer `valid` belongs to.
    pub customer: CustomerId,
    /// The roles `valid` carries.
    pub roles: Vec<Role>,
    /// A token that was valid but whose `exp` has passed (correctly signed).
    pub expired: String,
    /// `valid` with its payload or signature altered (claims edited, a signature byte
    /// flipped, or signed by another key).
    pub tampered: String,
    /// A correctly signed, unexpired token from another issuer (another user pool).
    pub wrong_issuer: String,
    /// A correctly signed, unexpired token of the right issuer for another audience
    /// (another app client).
    pub wrong_audience: String,
}

impl fmt::Debug for TestTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are bearer secrets, even test ones: never in output.
        f.debug_struct("TestTokens")
            .field("customer", &self.customer)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A valid token yields the principal it was issued to, with its roles.
pub async fn a_valid_token_yields_its_principal(
    verifier: Arc<dyn IdentityVerifier>,
    tokens: TestTokens,
) {
    // Act
    let principal = verifier.verify(&tokens.valid).await.must("verify a valid token");

    // Assert
    assert_eq!(principal.customer, tokens.customer, "the principal is the token's customer");
    let mut got = principal.roles.clone();
    let mut want = tokens.roles.clone();
    got.sort_by_key(|r| format!("{r:?}"));
    want.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(got, want, "the principal carries the token's roles");
}

/// A token past its `exp` is `Expired`.
pub async fn an_expired_token_is_expired(verifier: Arc<dyn IdentityVerifier>, tokens: TestTokens) {
    // Act
    let result = verifier.verify(&tokens.expired).await;

    // Assert
    assert!(
        matches!(result, Err(IdentityError::Expired)),
        "expected Expired, got {:?}",
        result.map(|p| p.customer)
    );
}

/// A tampered token is `Invalid`.
pub async fn a_tampered_token_is_invalid(verifier: Arc<dyn IdentityVerifier>, tokens: TestTokens) {
    // Act
    let result = verifier.verify(&tokens.tampered).await;

    // Assert
    assert!(
        matches!(result, Err(IdentityError::Invalid)),
        "expected Invalid, got {:?}",
        result.map(|p| p.customer)
    );
}

/// A token of another issuer or for another audience is `Invalid`.
pub async fn tokens_of_another_issuer_or_audience_are_invalid(
    verifier: Arc<dyn IdentityVerifier>,
    tokens: TestTokens,
) {
    // Act
    let issuer = verifier.verify(&tokens.wrong_issuer).await;
    let audience = verifier.verify(&tokens.wrong_audience).await;

    // Assert
    assert!(
        matches!(issuer, Err(IdentityError::Invalid)),
        "a token of another issuer must be Invalid, got {:?}",
        issuer.map(|p| p.customer)
    );
    assert!(
        matches!(audience, Err(IdentityError::Invalid)),
        "a token for another audience must be Invalid, got {:?}",
        audience.map(|p| p.customer)
    );
}

/// Garbage (empty, not a token, a token with a missing part) is `Invalid`, never a panic
/// nor `Unavailable`.
pub async fn malformed_tokens_are_invalid(verifier: Arc<dyn IdentityVerifier>, tokens: TestTokens) {
    // Arrange
    let truncated = tokens.valid.rsplit_once('.').map_or_else(
        || tokens.valid[..tokens.valid.len() / 2].to_owned(),
        |(head, _)| head.to_owned(),
    );
    let garbage =
        ["", "   ", "not-a-token", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", &truncated];

    // Act / Assert
    for token in garbage {
        let result = verifier.verify(token).await;
        assert!(
            matches!(result, Err(IdentityError::Invalid)),
            "a malformed token must be Invalid, got {:?}",
            result.map(|p| p.customer)
        );
    }
}
