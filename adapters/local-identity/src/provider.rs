//! [`LocalIdentity`]: accounts, sign-in and sessions, in memory.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::Duration;
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{
    AccountError, Clock, IdentityError, IdentityProvider, IdentityVerifier, Password, Principal,
    Role, TokenPair,
};

use crate::access::AccessTokens;
use crate::config::{ConfigError, LocalIdentityConfig};
use crate::passwords::{HashFailure, Passwords};
use crate::sessions::{Refused, Sessions};
use crate::throttle::Throttle;

/// An account's credentials.
#[derive(Clone)]
struct Account {
    customer: CustomerId,
    email: Email,
    /// The argon2id PHC string.
    password_hash: String,
    roles: Vec<Role>,
}

/// Everything behind the lock.
#[derive(Default)]
struct State {
    /// By lookup key (the whole address, lowercased).
    accounts: HashMap<String, Account>,
    sessions: Sessions,
    throttle: Throttle,
}

/// The embedded profile's [`IdentityProvider`] (and so [`IdentityVerifier`]): accounts and
/// sessions held in memory, lost when the process ends.
///
/// - Passwords: argon2id, a random salt each, stored as PHC strings and checked by the
///   argon2 crate in constant time. Hashing runs on tokio's blocking pool (it takes tens of
///   milliseconds of CPU), so `LocalIdentity` needs a tokio runtime. An unknown email is
///   checked against a decoy hash, so it takes as long as a wrong password.
/// - Emails: one account per address compared case-insensitively (the whole address,
///   though [`Email`] lowercases only the domain).
/// - Access tokens: HS256 JWTs (`sub`, `email`, `roles`, `iss`, `aud`, `iat`, `exp`,
///   `jti`), expiry judged by the injected clock with no leeway.
/// - Refresh tokens: single use; a reused one ends its whole session family; they expire
///   [`refresh_ttl`](LocalIdentityConfig::refresh_ttl) after they were issued.
/// - Throttle: after 5 consecutive failed sign-ins for an email, `Throttled` for 60 s.
///
/// Tokens and passwords are never logged nor shown by `Debug`.
pub struct LocalIdentity {
    issuer: String,
    refresh_ttl: Duration,
    access: AccessTokens,
    passwords: Arc<Passwords>,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for LocalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalIdentity")
            .field("issuer", &self.issuer)
            .field("accounts", &lock(&self.state).accounts.len())
            .finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key an email is looked up by: the whole address, lowercased.
fn lookup_key(email: &Email) -> String {
    email.as_str().to_lowercase()
}

fn unavailable(what: &str) -> impl FnOnce(tokio::task::JoinError) -> AccountError + '_ {
    move |e| AccountError::Unavailable { message: format!("{what} did not finish: {e}") }
}

impl From<HashFailure> for AccountError {
    fn from(failure: HashFailure) -> Self {
        let message = match failure {
            HashFailure::Randomness(e) => {
                format!("no salt: the OS random number generator failed: {e}")
            }
            HashFailure::Argon2(e) => format!("password hashing failed: {e}"),
        };
        AccountError::Unavailable { message }
    }
}

impl LocalIdentity {
    /// A provider with no account yet, reading time from `clock`. Computes one password
    /// hash (the decoy) before returning.
    ///
    /// # Errors
    /// [`ConfigError`] saying which setting to fix: a blank issuer or audience, a lifetime
    /// under a second, a hashing cost argon2 refuses; or a failed random number generator.
    pub fn new(config: LocalIdentityConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.check()?;
        // Pin the RustCrypto backend, in case another crate in the build enables a second
        // jsonwebtoken backend (the library then cannot pick one). An error means a
        // provider is installed already, which is as good.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER,
        );
        Ok(LocalIdentity {
            access: AccessTokens::new(&config)?,
            passwords: Arc::new(Passwords::new(config.password_hashing.clone())?),
            issuer: config.issuer,
            refresh_ttl: config.refresh_ttl,
            clock,
            state: Arc::new(Mutex::new(State::default())),
        })
    }

    fn pair(
        &self,
        account: &Account,
        refresh_token: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<TokenPair, AccountError> {
        Ok(TokenPair {
            access_token: self.access.issue(
                account.customer,
                &account.email,
                &account.roles,
                now,
            )?,
            refresh_token,
            expires_in: self.access.expires_in(),
            customer: account.customer,
            roles: account.roles.clone(),
        })
    }
}

/// A sign-in attempt admitted by the throttle. Dropped unsettled (the caller's future was
/// cancelled, the hasher failed), it gives its slot back.
struct Attempt {
    state: Arc<Mutex<State>>,
    key: String,
    settled: bool,
}

impl Attempt {
    fn settle(mut self) -> String {
        self.settled = true;
        std::mem::take(&mut self.key)
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.state).throttle.abandoned(&self.key);
        }
    }
}

#[async_trait]
impl IdentityVerifier for LocalIdentity {
    async fn verify(&self, bearer_token: &str) -> Result<Principal, IdentityError> {
        self.access.verify(bearer_token, self.clock.now())
    }
}

#[async_trait]
impl IdentityProvider for LocalIdentity {
    async fn create_account(
        &self,
        customer: CustomerId,
        email: &Email,
        password: &Password,
        roles: &[Role],
    ) -> Result<(), AccountError> {
        let key = lookup_key(email);
        if lock(&self.state).accounts.contains_key(&key) {
            return Err(AccountError::EmailTaken);
        }
        let passwords = Arc::clone(&self.passwords);
        let password = password.clone();
        let password_hash = tokio::task::spawn_blocking(move || passwords.hash(password.expose()))
            .await
            .map_err(unavailable("password hashing"))??;
        let mut state = lock(&self.state);
        match state.accounts.entry(key) {
            // Another sign-up for this email finished while this one was hashing.
            Entry::Occupied(_) => Err(AccountError::EmailTaken),
            Entry::Vacant(slot) => {
                slot.insert(Account {
                    customer,
                    email: email.clone(),
                    password_hash,
                    roles: roles.to_vec(),
                });
                Ok(())
            }
        }
    }

    async fn sign_in(&self, email: &Email, password: &Password) -> Result<TokenPair, AccountError> {
        let key = lookup_key(email);
        let stored_hash = {
            let mut state = lock(&self.state);
            state.throttle.admit(&key, self.clock.now())?;
            state.accounts.get(&key).map(|a| a.password_hash.clone())
        };
        let attempt = Attempt { state: Arc::clone(&self.state), key, settled: false };

        let passwords = Arc::clone(&self.passwords);
        let password = password.clone();
        let matches = tokio::task::spawn_blocking(move || {
            passwords.matches(password.expose(), stored_hash.as_deref())
        })
        .await
        .map_err(unavailable("password verification"))?;

        let now = self.clock.now();
        let mut state = lock(&self.state);
        let key = attempt.settle();
        let account = match state.accounts.get(&key) {
            Some(account) if matches => account.clone(),
            _ => {
                state.throttle.failed(&key, now);
                return Err(AccountError::InvalidCredentials);
            }
        };
        state.throttle.succeeded(&key);
        let refresh_token = state.sessions.open(&key, now, self.refresh_ttl)?;
        drop(state);
        self.pair(&account, refresh_token, now)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        let (key, next) = match state.sessions.rotate(refresh_token, now, self.refresh_ttl)? {
            Ok(rotated) => rotated,
            Err(Refused::Reused { account }) => {
                let customer = state.accounts.get(&account).map(|a| a.customer);
                tracing::warn!(
                    customer = ?customer,
                    "a spent refresh token was presented again: its session family is ended"
                );
                return Err(AccountError::SessionEnded);
            }
            Err(Refused::Unknown | Refused::Expired) => return Err(AccountError::SessionEnded),
        };
        let account = state.accounts.get(&key).cloned().ok_or(AccountError::SessionEnded)?;
        drop(state);
        self.pair(&account, next, now)
    }

    async fn sign_out(&self, refresh_token: &str) -> Result<(), AccountError> {
        lock(&self.state).sessions.end(refresh_token);
        Ok(())
    }
}
