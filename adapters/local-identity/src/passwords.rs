//! Password hashes: argon2id with a random salt per password, stored as a PHC string
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`, which records its own cost).

use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::config::{ConfigError, HashCost};

/// Salt length in bytes (the PHC recommendation).
const SALT_LEN: usize = 16;

/// Hashes and checks passwords at one cost.
pub(crate) struct Passwords {
    cost: HashCost,
    /// A hash of a password nobody knows, at the same cost: checking an unknown email
    /// against it takes as long as checking a real account, so timing does not tell which
    /// emails have accounts.
    decoy: String,
}

/// Why a password could not be hashed.
#[derive(Debug)]
pub(crate) enum HashFailure {
    /// No salt: the OS random number generator failed.
    Randomness(String),
    /// argon2 failed (out of memory, a refused parameter).
    Argon2(String),
}

impl Passwords {
    /// A hasher at `cost`, with its decoy hash computed now (one hash at startup).
    pub(crate) fn new(cost: HashCost) -> Result<Self, ConfigError> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt)
            .map_err(|e| ConfigError::Randomness { message: e.to_string() })?;
        let decoy = hash_with_salt(&cost, "decoy: no account has this password", &salt)
            .map_err(|reason| ConfigError::HashCost { reason })?;
        Ok(Passwords { cost, decoy })
    }

    /// A PHC string of `password` under a fresh random salt.
    pub(crate) fn hash(&self, password: &str) -> Result<String, HashFailure> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| HashFailure::Randomness(e.to_string()))?;
        hash_with_salt(&self.cost, password, &salt).map_err(HashFailure::Argon2)
    }

    /// Whether `password` matches `stored` (a PHC string); with no stored hash, checks the
    /// decoy instead (same work) and answers `false`. The comparison is the argon2 crate's
    /// constant-time one; an unreadable hash is a mismatch.
    pub(crate) fn matches(&self, password: &str, stored: Option<&str>) -> bool {
        let (hash, known) = match stored {
            Some(hash) => (hash, true),
            None => (self.decoy.as_str(), false),
        };
        let verified = PasswordHash::new(hash).is_ok_and(|parsed| {
            hasher(&self.cost).verify_password(password.as_bytes(), &parsed).is_ok()
        });
        verified && known
    }
}

fn hasher(cost: &HashCost) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, cost.params().clone())
}

fn hash_with_salt(cost: &HashCost, password: &str, salt: &[u8]) -> Result<String, String> {
    hasher(cost)
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(HashCost::new(64, 1, 1).unwrap()).unwrap()
    }

    #[test]
    fn hashes_are_salted_argon2id_phc_strings() {
        let passwords = cheap();

        let first = passwords.hash("correct horse battery").unwrap();
        let second = passwords.hash("correct horse battery").unwrap();

        assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!first.contains("correct horse"), "the password is not in the hash");
    }

    #[test]
    fn the_right_password_matches_and_others_do_not() {
        let passwords = cheap();
        let stored = passwords.hash("correct horse battery").unwrap();

        assert!(passwords.matches("correct horse battery", Some(&stored)));
        assert!(!passwords.matches("correct horse batterY", Some(&stored)));
        assert!(!passwords.matches("correct horse battery", Some("not a phc string")));
    }

    #[test]
    fn an_unknown_account_never_matches_not_even_the_decoy_password() {
        let passwords = cheap();

        assert!(!passwords.matches("decoy: no account has this password", None));
    }

    #[test]
    fn hashes_keep_verifying_after_the_cost_changes() {
        let old = cheap().hash("correct horse battery").unwrap();

        let stronger = Passwords::new(HashCost::new(128, 2, 1).unwrap()).unwrap();

        assert!(stronger.matches("correct horse battery", Some(&old)));
    }
}
