//! What `LocalIdentity` guarantees beyond the port's contracts: the brute-force throttle,
//! access token expiry by the injected clock, configuration checks and secrets kept out of
//! `Debug`.
//!
//! Run with: `cargo test -p shopkit-local-identity --test provider`.

mod support;

use std::sync::Arc;

use chrono::Duration;
use futures::FutureExt;
use shopkit_core::ids::CustomerId;
use shopkit_core::ports::{AccountError, IdentityError, IdentityProvider, IdentityVerifier, Role};
use shopkit_local_identity::{
    ConfigError, HashCost, LOCKOUT, LocalIdentity, LocalIdentityConfig, MAX_FAILURES, SigningKey,
};
use shopkit_memory::ManualClock;
use shopkit_testkit::fixtures::{t0, unique_email, uuid};
use support::{AUDIENCE, ISSUER, PASSWORD, account, config, password, provider};

fn arrange() -> (LocalIdentity, ManualClock) {
    let clock = ManualClock::new(t0());
    (provider(config(ISSUER, AUDIENCE), &clock), clock)
}

async fn fail_sign_ins(identity: &LocalIdentity, email: &shopkit_core::ids::Email, n: u32) {
    for _ in 0..n {
        let result = identity.sign_in(email, &password("a wrong password")).await;
        assert!(matches!(result, Err(AccountError::InvalidCredentials)), "{result:?}");
    }
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_email_for_a_minute_even_for_the_right_password() {
    // Arrange
    let (identity, clock) = arrange();
    let email = account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer]).await;
    fail_sign_ins(&identity, &email, MAX_FAILURES).await;

    // Act
    clock.advance(Duration::seconds(15));
    let locked = identity.sign_in(&email, &password(PASSWORD)).await;
    clock.advance(LOCKOUT - Duration::seconds(15));
    let unlocked = identity.sign_in(&email, &password(PASSWORD)).await;

    // Assert
    assert!(
        matches!(locked, Err(AccountError::Throttled { retry_after_seconds: 45 })),
        "{locked:?}"
    );
    assert!(unlocked.is_ok(), "the lock ends after a minute by the clock: {unlocked:?}");
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_failure_count() {
    // Arrange
    let (identity, _clock) = arrange();
    let email = account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer]).await;
    fail_sign_ins(&identity, &email, MAX_FAILURES - 1).await;
    identity.sign_in(&email, &password(PASSWORD)).await.unwrap();

    // Act
    fail_sign_ins(&identity, &email, MAX_FAILURES - 1).await;
    let result = identity.sign_in(&email, &password(PASSWORD)).await;

    // Assert
    assert!(result.is_ok(), "four failures after a success do not lock: {result:?}");
}

#[tokio::test]
async fn unknown_emails_are_throttled_like_known_ones() {
    // Arrange
    let (identity, _clock) = arrange();
    let unknown = unique_email();
    fail_sign_ins(&identity, &unknown, MAX_FAILURES).await;

    // Act
    let result = identity.sign_in(&unknown, &password(PASSWORD)).await;

    // Assert
    assert!(matches!(result, Err(AccountError::Throttled { retry_after_seconds: 60 })));
}

#[tokio::test]
async fn the_throttle_ignores_the_letter_case_of_the_email() {
    // Arrange
    let (identity, _clock) = arrange();
    let email = account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer]).await;
    let upper = shopkit_core::ids::Email::new(&email.as_str().to_uppercase()).unwrap();
    fail_sign_ins(&identity, &upper, MAX_FAILURES).await;

    // Act
    let result = identity.sign_in(&email, &password(PASSWORD)).await;

    // Assert
    assert!(matches!(result, Err(AccountError::Throttled { .. })), "{result:?}");
}

#[tokio::test]
async fn cancelled_sign_ins_do_not_use_up_the_attempts() {
    // Arrange
    let (identity, _clock) = arrange();
    let email = account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer]).await;
    let right = password(PASSWORD);

    // Act: polled once (admitted, hashing started), then dropped.
    for _ in 0..2 * MAX_FAILURES {
        drop(identity.sign_in(&email, &right).now_or_never());
    }
    let result = identity.sign_in(&email, &right).await;

    // Assert
    assert!(result.is_ok(), "cancelled attempts give their slot back: {result:?}");
}

#[tokio::test]
async fn access_tokens_expire_by_the_injected_clock_and_a_refresh_renews_them() {
    // Arrange
    let (identity, clock) = arrange();
    let customer = CustomerId::from_uuid(uuid());
    let email = account(&identity, customer, &[Role::Customer]).await;
    let pair = identity.sign_in(&email, &password(PASSWORD)).await.unwrap();

    // Act
    clock.advance(LocalIdentityConfig::DEFAULT_ACCESS_TTL);
    let expired = identity.verify(&pair.access_token).await;
    let renewed = identity.refresh(&pair.refresh_token).await.unwrap();

    // Assert
    assert_eq!(pair.expires_in, 15 * 60);
    assert!(matches!(expired, Err(IdentityError::Expired)), "{:?}", expired.map(|p| p.customer));
    let principal = identity.verify(&renewed.access_token).await.unwrap();
    assert_eq!(principal.customer, customer);
    assert_eq!(principal.email.map(String::from), Some(email.as_str().to_owned()));
}

#[tokio::test]
async fn a_refresh_keeps_the_roles_of_the_account() {
    // Arrange
    let (identity, _clock) = arrange();
    let email =
        account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer, Role::Admin]).await;
    let pair = identity.sign_in(&email, &password(PASSWORD)).await.unwrap();

    // Act
    let renewed = identity.refresh(&pair.refresh_token).await.unwrap();

    // Assert
    assert_eq!(renewed.roles, [Role::Customer, Role::Admin]);
    let principal = identity.verify(&renewed.access_token).await.unwrap();
    assert!(principal.has(Role::Admin));
}

#[tokio::test]
async fn concurrent_sign_ups_with_one_email_have_one_winner() {
    // Arrange
    let (identity, _clock) = arrange();
    let identity = Arc::new(identity);
    let email = unique_email();

    // Act
    let results = shopkit_testkit::race(6, |_| {
        let identity = Arc::clone(&identity);
        let email = email.clone();
        async move {
            identity
                .create_account(CustomerId::from_uuid(uuid()), &email, &password(PASSWORD), &[])
                .await
        }
    })
    .await;

    // Assert
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(AccountError::EmailTaken)))
    );
}

#[test]
fn the_configuration_refuses_short_keys_blank_names_and_empty_lifetimes() {
    // Arrange
    let clock = Arc::new(ManualClock::new(t0()));
    let blank_issuer = config(" ", AUDIENCE);
    let mut no_ttl = config(ISSUER, AUDIENCE);
    no_ttl.refresh_ttl = Duration::milliseconds(500);

    // Act
    let short_key = SigningKey::new([1u8; 31]);
    let blank = LocalIdentity::new(blank_issuer, clock.clone());
    let ttl = LocalIdentity::new(no_ttl, clock);
    let cost = HashCost::new(1, 1, 1);

    // Assert
    assert!(matches!(short_key, Err(ConfigError::KeyTooShort { len: 31 })));
    assert!(matches!(blank, Err(ConfigError::Missing { field: "issuer" })));
    assert!(matches!(ttl, Err(ConfigError::TtlTooShort { field: "refresh_ttl" })));
    assert!(matches!(cost, Err(ConfigError::HashCost { .. })));
}

#[tokio::test]
async fn debug_output_never_shows_keys_passwords_or_tokens() {
    // Arrange
    let (identity, _clock) = arrange();
    let email = account(&identity, CustomerId::from_uuid(uuid()), &[Role::Customer]).await;
    let pair = identity.sign_in(&email, &password(PASSWORD)).await.unwrap();
    let generated = LocalIdentityConfig::generate(ISSUER, AUDIENCE).unwrap();

    // Act
    let shown = format!("{identity:?} {pair:?} {:?} {generated:?}", config(ISSUER, AUDIENCE));

    // Assert
    assert!(shown.contains("<redacted>"), "{shown}");
    for secret in [pair.access_token.as_str(), pair.refresh_token.as_str(), PASSWORD, "42, 42"] {
        assert!(!shown.contains(secret), "Debug shows a secret: {shown}");
    }
}
