//! # shopkit-local-identity
//!
//! The embedded profile's identity provider: [`LocalIdentity`] implements
//! `shopkit_core::ports::IdentityProvider` (and so `IdentityVerifier`) with accounts held in
//! memory, the role Cognito user pools play in the AWS profile. It passes the same
//! `identity` and `accounts` conformance suites of `shopkit-testkit`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use shopkit_local_identity::{LocalIdentity, LocalIdentityConfig};
//! # use shopkit_core::ports::Clock;
//! # struct SystemClock;
//! # impl Clock for SystemClock { fn now(&self) -> chrono::DateTime<chrono::Utc> { chrono::Utc::now() } }
//!
//! let config = LocalIdentityConfig::generate("https://shop.example", "shop-web")?;
//! let identity = LocalIdentity::new(config, Arc::new(SystemClock))?;
//! # let _ = identity;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! - [`config`](LocalIdentityConfig): issuer, audience, [`SigningKey`] (a secret, redacted
//!   in `Debug`), token lifetimes, the argon2id [`HashCost`]; [`ConfigError`];
//! - `passwords`: argon2id PHC hashes, the decoy hash that makes unknown emails as slow as
//!   wrong passwords;
//! - `access`: HS256 access tokens, expiry judged by the injected clock;
//! - `sessions`: single-use refresh tokens (SHA-256 digests only) in families that end
//!   when a spent token is replayed;
//! - `throttle`: [`MAX_FAILURES`] consecutive failures lock an email for [`LOCKOUT`];
//! - `provider`: [`LocalIdentity`], the port implementation over all of the above, its
//!   state behind one `std::sync::Mutex` never held across an `.await`.

mod access;
mod config;
mod passwords;
mod provider;
mod sessions;
mod throttle;

pub use config::{ConfigError, HashCost, LocalIdentityConfig, SigningKey};
pub use provider::LocalIdentity;
pub use throttle::{LOCKOUT, MAX_FAILURES};
