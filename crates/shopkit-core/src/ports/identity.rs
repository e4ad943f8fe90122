//! Verifying who is calling.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, Email};

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A shopper: their own carts, orders and refunds.
    Customer,
    /// Back-office staff.
    Admin,
}

/// A verified caller.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The customer the token belongs to.
    pub customer: CustomerId,
    /// Their email, if the token carries it.
    pub email: Option<Email>,
    /// Their roles.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the caller has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("customer", &self.customer)
            .field("roles", &self.roles)
            .finish()
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Malformed, badly signed, wrong issuer or audience: sign in again.
    #[error("invalid token: sign in again")]
    Invalid,
    /// Past its expiry: refresh it.
    #[error("token expired: refresh it or sign in again")]
    Expired,
    /// The key set could not be fetched. Retryable.
    #[error("identity provider unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
}

/// Verifies bearer tokens (Cognito JWTs in the AWS profile; a local issuer embedded).
///
/// # Contract
/// - A token with a bad signature, issuer or audience MUST be `Invalid`; a past `exp`
///   MUST be `Expired`. Never log the token.
#[async_trait]
pub trait IdentityVerifier: Send + Sync + 'static {
    /// Verifies a bearer token.
    async fn verify(&self, bearer_token: &str) -> Result<Principal, IdentityError>;
}
