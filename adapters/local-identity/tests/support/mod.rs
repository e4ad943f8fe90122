//! What the adapter's integration tests share: a configuration with one test key, a
//! provider on a manual clock, and ways to mint and edit tokens.

#![allow(dead_code)] // Each test crate uses part of it.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{IdentityProvider, Password, Role};
use shopkit_local_identity::{HashCost, LocalIdentity, LocalIdentityConfig, SigningKey};
use shopkit_memory::ManualClock;
use shopkit_testkit::fixtures::unique_email;

pub(crate) const ISSUER: &str = "https://shop.test";
pub(crate) const AUDIENCE: &str = "shop-web";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The test configuration: one fixed key (so several providers accept each other's
/// tokens), and argon2id at its minimum cost. The suites check behaviour, not cost: at the
/// default cost every sign-in of a debug build would take about a second.
pub(crate) fn config(issuer: &str, audience: &str) -> LocalIdentityConfig {
    let mut config =
        LocalIdentityConfig::new(issuer, audience, SigningKey::new([42u8; 32]).unwrap());
    config.password_hashing = HashCost::new(64, 1, 1).unwrap();
    config
}

/// A provider reading time from `clock`.
pub(crate) fn provider(config: LocalIdentityConfig, clock: &ManualClock) -> LocalIdentity {
    LocalIdentity::new(config, Arc::new(clock.clone())).unwrap()
}

pub(crate) fn password(raw: &str) -> Password {
    Password::new(raw).unwrap()
}

/// Creates an account with `roles` under a unique email.
pub(crate) async fn account(
    provider: &LocalIdentity,
    customer: CustomerId,
    roles: &[Role],
) -> Email {
    let email = unique_email();
    provider.create_account(customer, &email, &password(PASSWORD), roles).await.unwrap();
    email
}

/// An access token `provider` issued to a new account of `customer`.
pub(crate) async fn access_token_for(
    provider: &LocalIdentity,
    customer: CustomerId,
    roles: &[Role],
) -> String {
    let email = account(provider, customer, roles).await;
    provider.sign_in(&email, &password(PASSWORD)).await.unwrap().access_token
}

/// `token` with one claim of its payload replaced, its signature kept.
pub(crate) fn with_claim(token: &str, claim: &str, value: serde_json::Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload[claim] = value;
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}
