//! How a [`LocalIdentity`](crate::LocalIdentity) is configured: who it is (issuer and
//! audience), the key it signs with, how long tokens live and how slow password hashing is.

use std::fmt;

use chrono::Duration;

/// The HMAC key access tokens are signed with (HS256): at least [`SigningKey::MIN_LEN`]
/// random bytes. A secret: its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// The shortest key accepted, in bytes (HS256's hash size, as RFC 7518 §3.2 asks).
    pub const MIN_LEN: usize = 32;

    /// Wraps key material (from a secret store, decoded by the binary).
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`] under [`SigningKey::MIN_LEN`] bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(ConfigError::KeyTooShort { len: bytes.len() });
        }
        Ok(SigningKey(bytes))
    }

    /// A fresh key of 32 bytes from the OS CSPRNG. Tokens signed with it die with the
    /// process: fine for the embedded profile and tests, not for several instances.
    ///
    /// # Errors
    /// [`ConfigError::Randomness`] when the OS random number generator fails.
    pub fn generate() -> Result<Self, ConfigError> {
        let mut bytes = vec![0u8; Self::MIN_LEN];
        getrandom::fill(&mut bytes)
            .map_err(|e| ConfigError::Randomness { message: e.to_string() })?;
        Ok(SigningKey(bytes))
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// How slow argon2id password hashing is: memory, passes and lanes. Hashes record their
/// own cost, so changing it affects new passwords only; verification stays correct.
#[derive(Clone, PartialEq, Eq)]
pub struct HashCost(argon2::Params);

impl HashCost {
    /// A cost of `memory_kib` KiB, `iterations` passes and `parallelism` lanes.
    ///
    /// # Errors
    /// [`ConfigError::HashCost`] when argon2 refuses the combination (e.g. less than 8 KiB
    /// per lane, no pass, no lane).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, ConfigError> {
        argon2::Params::new(memory_kib, iterations, parallelism, None)
            .map(HashCost)
            .map_err(|e| ConfigError::HashCost { reason: e.to_string() })
    }

    /// The memory cost, in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.0.m_cost()
    }

    /// The number of passes.
    pub fn iterations(&self) -> u32 {
        self.0.t_cost()
    }

    /// The number of lanes.
    pub fn parallelism(&self) -> u32 {
        self.0.p_cost()
    }

    pub(crate) fn params(&self) -> &argon2::Params {
        &self.0
    }
}

impl Default for HashCost {
    /// OWASP's recommended minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashCost(argon2::Params::DEFAULT)
    }
}

impl fmt::Debug for HashCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashCost")
            .field("memory_kib", &self.memory_kib())
            .field("iterations", &self.iterations())
            .field("parallelism", &self.parallelism())
            .finish()
    }
}

/// Everything a [`LocalIdentity`](crate::LocalIdentity) needs besides its clock. Build it
/// with [`LocalIdentityConfig::new`] (or [`generate`](LocalIdentityConfig::generate)) and
/// adjust the public fields; [`LocalIdentity::new`](crate::LocalIdentity::new) checks them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LocalIdentityConfig {
    /// The `iss` of every token issued and the only one accepted.
    pub issuer: String,
    /// The `aud` of every token issued and the only one accepted.
    pub audience: String,
    /// The HS256 key.
    pub signing_key: SigningKey,
    /// How long an access token lives (at least a second; default 15 minutes).
    pub access_ttl: Duration,
    /// How long a refresh token lives unused (at least a second; default 30 days). Each
    /// refresh issues a new one, so an active session lasts; an idle one ends.
    pub refresh_ttl: Duration,
    /// The argon2id cost of new password hashes.
    pub password_hashing: HashCost,
}

impl LocalIdentityConfig {
    /// The default access token lifetime: 15 minutes.
    pub const DEFAULT_ACCESS_TTL: Duration = Duration::minutes(15);
    /// The default refresh token lifetime: 30 days.
    pub const DEFAULT_REFRESH_TTL: Duration = Duration::days(30);

    /// A configuration with the default lifetimes and hashing cost.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        signing_key: SigningKey,
    ) -> Self {
        LocalIdentityConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            signing_key,
            access_ttl: Self::DEFAULT_ACCESS_TTL,
            refresh_ttl: Self::DEFAULT_REFRESH_TTL,
            password_hashing: HashCost::default(),
        }
    }

    /// [`LocalIdentityConfig::new`] with a fresh random key ([`SigningKey::generate`]).
    ///
    /// # Errors
    /// [`ConfigError::Randomness`] when the OS random number generator fails.
    pub fn generate(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(issuer, audience, SigningKey::generate()?))
    }

    /// Checks what the types cannot: names set, lifetimes of at least a second.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.issuer.trim().is_empty() {
            return Err(ConfigError::Missing { field: "issuer" });
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::Missing { field: "audience" });
        }
        if self.access_ttl < Duration::seconds(1) {
            return Err(ConfigError::TtlTooShort { field: "access_ttl" });
        }
        if self.refresh_ttl < Duration::seconds(1) {
            return Err(ConfigError::TtlTooShort { field: "refresh_ttl" });
        }
        Ok(())
    }
}

/// Why a configuration was refused. Each says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The signing key is too short.
    #[error(
        "signing key too short ({len} bytes): use at least 32 random bytes \
         (SigningKey::generate makes one)"
    )]
    KeyTooShort {
        /// Its length, in bytes.
        len: usize,
    },
    /// A required name is blank.
    #[error("{field} is empty: set it (tokens carry it and are checked against it)")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A lifetime is under a second.
    #[error("{field} is under a second: give it a positive lifetime")]
    TtlTooShort {
        /// The field.
        field: &'static str,
    },
    /// argon2 refused the hashing cost.
    #[error("invalid password hashing cost: {reason}")]
    HashCost {
        /// What argon2 said.
        reason: String,
    },
    /// The OS random number generator failed.
    #[error("the OS random number generator failed: {message}")]
    Randomness {
        /// What failed.
        message: String,
    },
}
