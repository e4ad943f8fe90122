//! Contracts of [`IdentityProvider`]: accounts are created once per email (in any letter
//! case) and sign in; their access tokens verify to their customer and roles; wrong
//! passwords and unknown emails are refused alike; refresh tokens are single-use, a
//! replayed one ends its session family, and sign-out and expiry end sessions.
//!
//! Each contract takes a fresh provider (or one shared user pool: every contract makes its
//! own accounts under unique emails). The expiry contract also takes a [`RefreshExpiry`]:
//! the provider's refresh token lifetime and how to let that much time pass (a local issuer
//! moves its injected clock; a Cognito run would let real time pass).

use std::sync::Arc;

use chrono::Duration;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{AccountError, IdentityProvider, Password, Role, TokenPair};

use crate::fixtures::{unique_email, uuid};
use crate::support::{Must, TimeControl, race};

/// How the expiry contract lets a refresh token outlive its lifetime.
#[derive(Clone, Debug)]
pub struct RefreshExpiry {
    /// How long a refresh token lives unused, as the provider under test is configured.
    pub ttl: Duration,
    /// How to let time pass for the provider.
    pub time: TimeControl,
}

const PASSWORD: &str = "correct horse battery staple";

fn password(raw: &str) -> Password {
    Password::new(raw).must("build a password")
}

fn email(raw: &str) -> Email {
    Email::new(raw).must("build an email")
}

/// Creates an account under a unique email and returns its customer id and email.
async fn account(provider: &dyn IdentityProvider, roles: &[Role]) -> (CustomerId, Email) {
    let customer = CustomerId::from_uuid(uuid());
    let email = unique_email();
    provider
        .create_account(customer, &email, &password(PASSWORD), roles)
        .await
        .must("create an account");
    (customer, email)
}

async fn signed_in(provider: &dyn IdentityProvider) -> TokenPair {
    let (_, email) = account(provider, &[Role::Customer]).await;
    provider.sign_in(&email, &password(PASSWORD)).await.must("sign in")
}

fn sorted(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by_key(|r| format!("{r:?}"));
    roles
}

fn is_session_ended<T>(result: &Result<T, AccountError>) -> bool {
    matches!(result, Err(AccountError::SessionEnded))
}

fn describe<T>(result: &Result<T, AccountError>) -> String {
    match result {
        Ok(_) => "Ok(..)".to_owned(),
        Err(e) => format!("Err({e:?})"),
    }
}

/// A created account signs in with its password: a pair for its customer and roles, with
/// an access token that lives a while and a refresh token.
pub async fn a_created_account_signs_in_with_its_password(provider: Arc<dyn IdentityProvider>) {
    // Arrange
    let (customer, email) = account(&*provider, &[Role::Customer]).await;

    // Act
    let pair = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in");

    // Assert
    assert_eq!(pair.customer, customer, "the session is the account's customer's");
    assert_eq!(pair.roles, [Role::Customer], "the session carries the account's roles");
    assert!(pair.expires_in > 0, "the access token must not be born expired");
    assert!(!pair.access_token.trim().is_empty(), "an access token is issued");
    assert!(!pair.refresh_token.trim().is_empty(), "a refresh token is issued");
    assert_ne!(pair.access_token, pair.refresh_token);
}

/// The access token of a sign-in verifies to the account's customer and roles (and its
/// email, when the token carries one).
pub async fn the_access_token_verifies_to_the_accounts_principal(
    provider: Arc<dyn IdentityProvider>,
) {
    // Arrange
    let (customer, email) = account(&*provider, &[Role::Customer, Role::Admin]).await;
    let pair = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in");

    // Act
    let principal = provider.verify(&pair.access_token).await.must("verify the access token");

    // Assert
    assert_eq!(principal.customer, customer, "the principal is the account's customer");
    assert_eq!(
        sorted(principal.roles.clone()),
        sorted(vec![Role::Customer, Role::Admin]),
        "the principal carries the account's roles"
    );
    if let Some(carried) = &principal.email {
        assert!(
            carried.as_str().eq_ignore_ascii_case(email.as_str()),
            "a token that carries an email carries the account's"
        );
    }
}

/// An email that has an account is taken, in any letter case; the refused sign-up leaves
/// the account (and its password) as it was.
pub async fn an_email_with_an_account_is_taken_in_any_letter_case(
    provider: Arc<dyn IdentityProvider>,
) {
    // Arrange
    let (customer, original) = account(&*provider, &[Role::Customer]).await;
    let upper = email(&original.as_str().to_uppercase());
    let other_password = password("another long password");

    // Act
    let same = provider
        .create_account(CustomerId::from_uuid(uuid()), &original, &other_password, &[])
        .await;
    let shouted =
        provider.create_account(CustomerId::from_uuid(uuid()), &upper, &other_password, &[]).await;

    // Assert
    assert!(
        matches!(same, Err(AccountError::EmailTaken)),
        "the same email again must be EmailTaken, got {}",
        describe(&same)
    );
    assert!(
        matches!(shouted, Err(AccountError::EmailTaken)),
        "the email in capitals must be EmailTaken, got {}",
        describe(&shouted)
    );
    let pair = provider.sign_in(&original, &password(PASSWORD)).await.must("sign in as before");
    assert_eq!(pair.customer, customer, "the account still belongs to its customer");
    let refused = provider.sign_in(&original, &other_password).await;
    assert!(
        matches!(refused, Err(AccountError::InvalidCredentials)),
        "a refused sign-up must not change the password"
    );
}

/// Signing in ignores the letter case of the email.
pub async fn sign_in_ignores_the_letter_case_of_the_email(provider: Arc<dyn IdentityProvider>) {
    // Arrange
    let (customer, original) = account(&*provider, &[Role::Customer]).await;
    let upper = email(&original.as_str().to_uppercase());

    // Act
    let pair = provider.sign_in(&upper, &password(PASSWORD)).await.must("sign in in capitals");

    // Assert
    assert_eq!(pair.customer, customer);
}

/// A wrong password and an unknown email are both `InvalidCredentials`: the answer never
/// says whether the email has an account.
pub async fn a_wrong_password_and_an_unknown_email_are_alike_invalid_credentials(
    provider: Arc<dyn IdentityProvider>,
) {
    // Arrange
    let (_, email) = account(&*provider, &[Role::Customer]).await;

    // Act
    let wrong = provider.sign_in(&email, &password("not the right password")).await;
    let unknown = provider.sign_in(&unique_email(), &password(PASSWORD)).await;

    // Assert
    assert!(
        matches!(wrong, Err(AccountError::InvalidCredentials)),
        "a wrong password must be InvalidCredentials, got {}",
        describe(&wrong)
    );
    assert!(
        matches!(unknown, Err(AccountError::InvalidCredentials)),
        "an unknown email must be InvalidCredentials, got {}",
        describe(&unknown)
    );
}

/// A refresh exchanges a refresh token for a new pair of the same customer, once: the
/// spent token is then `SessionEnded`.
pub async fn refresh_rotates_the_refresh_token(provider: Arc<dyn IdentityProvider>) {
    // Arrange
    let first = signed_in(&*provider).await;

    // Act
    let second = provider.refresh(&first.refresh_token).await.must("refresh");
    let again = provider.refresh(&first.refresh_token).await;

    // Assert
    assert_eq!(second.customer, first.customer, "the new pair is the same customer's");
    assert_eq!(sorted(second.roles.clone()), sorted(first.roles.clone()));
    assert_ne!(second.refresh_token, first.refresh_token, "a new refresh token is issued");
    let principal = provider.verify(&second.access_token).await.must("verify the new token");
    assert_eq!(principal.customer, first.customer);
    assert!(
        is_session_ended(&again),
        "a spent refresh token must be SessionEnded, got {}",
        describe(&again)
    );
}

/// Presenting a spent refresh token again ends its whole session family: the token issued
/// in its place dies too (a replay means someone else holds the family's tokens).
pub async fn reusing_a_refresh_token_ends_its_session_family(provider: Arc<dyn IdentityProvider>) {
    // Arrange
    let first = signed_in(&*provider).await;
    let second = provider.refresh(&first.refresh_token).await.must("refresh");

    // Act
    let replay = provider.refresh(&first.refresh_token).await;
    let newer = provider.refresh(&second.refresh_token).await;

    // Assert
    assert!(is_session_ended(&replay), "a replay must be SessionEnded, got {}", describe(&replay));
    assert!(
        is_session_ended(&newer),
        "after a replay the family's newer token must be SessionEnded too, got {}",
        describe(&newer)
    );
}

/// Of concurrent refreshes of one token, exactly one succeeds.
pub async fn concurrent_refreshes_of_one_token_have_one_winner(
    provider: Arc<dyn IdentityProvider>,
) {
    // Arrange
    let pair = signed_in(&*provider).await;

    // Act
    let results = race(8, |_| {
        let provider = Arc::clone(&provider);
        let token = pair.refresh_token.clone();
        async move { provider.refresh(&token).await }
    })
    .await;

    // Assert
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "a refresh token is accepted once, however many race for it");
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(is_session_ended(result), "the losers are SessionEnded, got {}", describe(result));
    }
}

/// Signing out ends that session (its refresh token is `SessionEnded`) and no other of
/// the account; signing out again, or with an unknown token, is not an error.
pub async fn sign_out_ends_the_session(provider: Arc<dyn IdentityProvider>) {
    // Arrange
    let (_, email) = account(&*provider, &[Role::Customer]).await;
    let laptop = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in on a laptop");
    let phone = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in on a phone");

    // Act
    provider.sign_out(&laptop.refresh_token).await.must("sign out");
    let twice = provider.sign_out(&laptop.refresh_token).await;
    let unknown = provider.sign_out("not-a-refresh-token").await;

    // Assert
    let ended = provider.refresh(&laptop.refresh_token).await;
    assert!(
        is_session_ended(&ended),
        "a signed-out session must be SessionEnded, got {}",
        describe(&ended)
    );
    assert!(twice.is_ok(), "signing out twice is not an error");
    assert!(unknown.is_ok(), "signing out with an unknown token is not an error");
    provider.refresh(&phone.refresh_token).await.must("refresh the other session");
}

/// A refresh token past its lifetime is `SessionEnded`; signing in again works.
pub async fn an_expired_refresh_token_ends_the_session(
    provider: Arc<dyn IdentityProvider>,
    expiry: RefreshExpiry,
) {
    // Arrange
    let (_, email) = account(&*provider, &[Role::Customer]).await;
    let old = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in");

    // Act
    expiry.time.advance(expiry.ttl + Duration::seconds(1)).await;
    let result = provider.refresh(&old.refresh_token).await;

    // Assert
    assert!(
        is_session_ended(&result),
        "an expired refresh token must be SessionEnded, got {}",
        describe(&result)
    );
    let fresh = provider.sign_in(&email, &password(PASSWORD)).await.must("sign in again");
    provider.refresh(&fresh.refresh_token).await.must("refresh a fresh session");
}
