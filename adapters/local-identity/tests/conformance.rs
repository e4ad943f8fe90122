//! The local identity provider against the `identity` (verifier) and `accounts` (provider)
//! conformance suites of `shopkit-testkit`.
//!
//! Run with: `cargo test -p shopkit-local-identity --test conformance`.

mod support;

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use shopkit_core::ids::CustomerId;
use shopkit_core::ports::{IdentityProvider, IdentityVerifier, Role};
use shopkit_memory::ManualClock;
use shopkit_testkit::TimeControl;
use shopkit_testkit::accounts::RefreshExpiry;
use shopkit_testkit::fixtures::{t0, uuid};
use shopkit_testkit::identity::TestTokens;
use support::{AUDIENCE, ISSUER, access_token_for, config, provider, with_claim};

shopkit_testkit::identity_contracts!(async || {
    let now = ManualClock::new(t0());
    let verifier = provider(config(ISSUER, AUDIENCE), &now);
    let customer = CustomerId::from_uuid(uuid());
    let roles = [Role::Customer];
    let valid = access_token_for(&verifier, customer, &roles).await;
    // Same key, issuer and audience, signed in an hour earlier by its own clock.
    let an_hour_ago = ManualClock::new(t0() - Duration::hours(1));
    let expired =
        access_token_for(&provider(config(ISSUER, AUDIENCE), &an_hour_ago), customer, &roles).await;
    // Same key: only the issuer, or only the audience, differs.
    let wrong_issuer = access_token_for(
        &provider(config("https://another-shop.test", AUDIENCE), &now),
        customer,
        &roles,
    )
    .await;
    let wrong_audience =
        access_token_for(&provider(config(ISSUER, "another-client"), &now), customer, &roles).await;
    let tampered = with_claim(&valid, "roles", json!(["customer", "admin"]));
    let tokens = TestTokens {
        valid,
        customer,
        roles: roles.to_vec(),
        expired,
        tampered,
        wrong_issuer,
        wrong_audience,
    };
    (Arc::new(verifier) as Arc<dyn IdentityVerifier>, tokens)
});

shopkit_testkit::accounts_contracts!(async || {
    let clock = ManualClock::new(t0());
    let config = config(ISSUER, AUDIENCE);
    let ttl = config.refresh_ttl;
    let provider = provider(config, &clock);
    let time = TimeControl::manual(move |by| {
        clock.advance(by);
    });
    (Arc::new(provider) as Arc<dyn IdentityProvider>, RefreshExpiry { ttl, time })
});
