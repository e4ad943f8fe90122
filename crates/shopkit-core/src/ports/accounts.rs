//! Accounts: signing up, signing in and refreshing sessions.

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;

use super::{IdentityVerifier, Role};
use crate::ids::{CustomerId, Email};

/// A password as typed: 8 to 128 characters. Never in `Debug`, logs or events; adapters
/// store only a slow salted hash (argon2) or hand it to the identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the length rules (NIST 800-63B: length, not composition).
    ///
    /// # Errors
    /// [`AccountError::WeakPassword`] saying what is wrong.
    pub fn new(raw: &str) -> Result<Self, AccountError> {
        let n = raw.chars().count();
        if n < 8 {
            return Err(AccountError::WeakPassword { reason: "use at least 8 characters" });
        }
        if n > 128 {
            return Err(AccountError::WeakPassword { reason: "use at most 128 characters" });
        }
        Ok(Password(raw.to_owned()))
    }

    /// The password, for the hasher or the provider only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A signed-in session: a short-lived access token (a bearer JWT the
/// [`IdentityVerifier`] accepts) and a long-lived, single-use refresh token.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// The bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Exchanged once for a new pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The customer the session belongs to.
    pub customer: CustomerId,
    /// Their roles.
    pub roles: Vec<Role>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("customer", &self.customer)
            .field("roles", &self.roles)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What account operations can fail with. Each says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Wrong email or password (never says which).
    #[error("wrong email or password")]
    InvalidCredentials,
    /// An account with this email exists: sign in instead.
    #[error("an account with this email already exists: sign in instead")]
    EmailTaken,
    /// The password breaks the length rules.
    #[error("password too weak: {reason}")]
    WeakPassword {
        /// What to change.
        reason: &'static str,
    },
    /// The refresh token is unknown, used, revoked or expired: sign in again.
    #[error("the session has ended: sign in again")]
    SessionEnded,
    /// Too many failed attempts for this account: wait and try again.
    #[error("too many attempts: try again in {retry_after_seconds} seconds")]
    Throttled {
        /// When to try again.
        retry_after_seconds: u64,
    },
    /// The provider is unreachable. Retryable.
    #[error("identity provider unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// An identity provider that also manages credentials (a local issuer in the embedded
/// profile; Cognito user pools on AWS).
///
/// # Contract
/// - `create_account` MUST refuse an email that has an account (`EmailTaken`), compared
///   case-insensitively, and store only a slow salted hash of the password.
/// - `sign_in` MUST answer `InvalidCredentials` alike for an unknown email and a wrong
///   password; the access token it returns MUST verify (`verify`) to a principal with the
///   account's customer id and roles.
/// - `refresh` MUST accept a refresh token once (rotation): a second use is `SessionEnded`
///   and MUST end the whole session family (a replay signals a stolen token).
/// - `sign_out` ends the session of a refresh token; unknown tokens are not an error.
#[async_trait]
pub trait IdentityProvider: IdentityVerifier {
    /// Creates credentials for a customer.
    async fn create_account(
        &self,
        customer: CustomerId,
        email: &Email,
        password: &Password,
        roles: &[Role],
    ) -> Result<(), AccountError>;
    /// Checks credentials and opens a session.
    async fn sign_in(&self, email: &Email, password: &Password) -> Result<TokenPair, AccountError>;
    /// Exchanges a refresh token for a new pair.
    async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError>;
    /// Ends a session.
    async fn sign_out(&self, refresh_token: &str) -> Result<(), AccountError>;
}
