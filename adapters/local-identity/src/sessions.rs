//! Refresh tokens: 32 random bytes (hex), kept only as SHA-256 digests, each usable once.
//!
//! A sign-in opens a session *family*; each refresh spends the presented token and issues
//! the next one of the family. Presenting a spent token again means two parties hold the
//! family's tokens (one of them stole it), so the whole family ends: the thief's and the
//! owner's tokens alike (OAuth 2.0 Security BCP, refresh token rotation).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use shopkit_core::ports::AccountError;
use uuid::Uuid;

/// How many tokens are issued between sweeps of expired ones.
const SWEEP_EVERY: usize = 1024;

type TokenDigest = [u8; 32];

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// A refresh token as stored: never the token itself.
#[derive(Debug)]
struct Stored {
    /// The account (its lookup key) the session belongs to.
    account: String,
    family: Uuid,
    expires_at: DateTime<Utc>,
    used: bool,
}

/// Why a refresh token was refused. All are `SessionEnded` to the caller; the provider
/// logs [`Refused::Reused`] as a theft signal.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Never issued, signed out, or its family ended.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Spent already: its family has now ended.
    Reused {
        /// The account whose session family ended.
        account: String,
    },
}

/// Every live refresh token, by digest, grouped in families.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    tokens: HashMap<TokenDigest, Stored>,
    families: HashMap<Uuid, Vec<TokenDigest>>,
    issued_since_sweep: usize,
}

impl Sessions {
    /// Opens a session family for `account`: its first refresh token.
    pub(crate) fn open(
        &mut self,
        account: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<String, AccountError> {
        self.issue(account.to_owned(), Uuid::new_v4(), now, ttl)
    }

    /// Spends `token` and issues the next one of its family. Returns the account and the
    /// new token.
    pub(crate) fn rotate(
        &mut self,
        token: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Result<(String, String), Refused>, AccountError> {
        let Some(stored) = self.tokens.get_mut(&digest(token)) else {
            return Ok(Err(Refused::Unknown));
        };
        if stored.used {
            let (account, family) = (stored.account.clone(), stored.family);
            self.end_family(family);
            return Ok(Err(Refused::Reused { account }));
        }
        if stored.expires_at <= now {
            let family = stored.family;
            self.end_family(family);
            return Ok(Err(Refused::Expired));
        }
        stored.used = true;
        let (account, family) = (stored.account.clone(), stored.family);
        let next = self.issue(account.clone(), family, now, ttl)?;
        Ok(Ok((account, next)))
    }

    /// Ends the family of `token`, if it is known.
    pub(crate) fn end(&mut self, token: &str) {
        if let Some(family) = self.tokens.get(&digest(token)).map(|s| s.family) {
            self.end_family(family);
        }
    }

    fn issue(
        &mut self,
        account: String,
        family: Uuid,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<String, AccountError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AccountError::Unavailable {
            message: format!("the OS random number generator failed: {e}"),
        })?;
        let token = hex::encode(bytes);
        let key = digest(&token);
        self.tokens.insert(key, Stored { account, family, expires_at: now + ttl, used: false });
        self.families.entry(family).or_default().push(key);
        self.issued_since_sweep += 1;
        if self.issued_since_sweep >= SWEEP_EVERY {
            self.sweep(now);
        }
        Ok(token)
    }

    fn end_family(&mut self, family: Uuid) {
        for key in self.families.remove(&family).unwrap_or_default() {
            self.tokens.remove(&key);
        }
    }

    /// Forgets expired tokens (spent ones are kept until then, to detect their reuse).
    fn sweep(&mut self, now: DateTime<Utc>) {
        self.issued_since_sweep = 0;
        self.tokens.retain(|_, s| s.expires_at > now);
        let tokens = &self.tokens;
        self.families.retain(|_, keys| {
            keys.retain(|k| tokens.contains_key(k));
            !keys.is_empty()
        });
    }

    #[cfg(test)]
    fn stored(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    }

    const TTL: Duration = Duration::days(30);

    #[test]
    fn tokens_are_64_hex_chars_and_stored_only_as_digests() {
        let mut sessions = Sessions::default();

        let token = sessions.open("ann@example.com", t0(), TTL).unwrap();

        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!format!("{sessions:?}").contains(&token), "the token itself is not kept");
    }

    #[test]
    fn rotation_spends_the_token_and_issues_the_next() {
        let mut sessions = Sessions::default();
        let first = sessions.open("ann", t0(), TTL).unwrap();

        let (account, second) = sessions.rotate(&first, t0(), TTL).unwrap().unwrap();

        assert_eq!(account, "ann");
        assert_ne!(first, second);
        assert!(sessions.rotate(&second, t0(), TTL).unwrap().is_ok());
    }

    #[test]
    fn reuse_ends_every_token_of_the_family_but_not_other_families() {
        let mut sessions = Sessions::default();
        let first = sessions.open("ann", t0(), TTL).unwrap();
        let other_device = sessions.open("ann", t0(), TTL).unwrap();
        let (_, second) = sessions.rotate(&first, t0(), TTL).unwrap().unwrap();

        let replay = sessions.rotate(&first, t0(), TTL).unwrap();

        assert_eq!(replay, Err(Refused::Reused { account: "ann".into() }));
        assert_eq!(sessions.rotate(&second, t0(), TTL).unwrap(), Err(Refused::Unknown));
        assert!(sessions.rotate(&other_device, t0(), TTL).unwrap().is_ok());
    }

    #[test]
    fn a_token_expires_at_its_ttl() {
        let mut sessions = Sessions::default();
        let token = sessions.open("ann", t0(), TTL).unwrap();

        let result = sessions.rotate(&token, t0() + TTL, TTL).unwrap();

        assert_eq!(result, Err(Refused::Expired));
    }

    #[test]
    fn each_refresh_starts_a_new_ttl() {
        let mut sessions = Sessions::default();
        let first = sessions.open("ann", t0(), TTL).unwrap();
        let later = t0() + TTL - Duration::seconds(1);
        let (_, second) = sessions.rotate(&first, later, TTL).unwrap().unwrap();

        let result = sessions.rotate(&second, later + TTL - Duration::seconds(1), TTL).unwrap();

        assert!(result.is_ok(), "an active session lasts");
    }

    #[test]
    fn ending_a_family_by_any_of_its_tokens_ends_it() {
        let mut sessions = Sessions::default();
        let first = sessions.open("ann", t0(), TTL).unwrap();
        let (_, second) = sessions.rotate(&first, t0(), TTL).unwrap().unwrap();

        sessions.end(&first);
        sessions.end("never issued");

        assert_eq!(sessions.rotate(&second, t0(), TTL).unwrap(), Err(Refused::Unknown));
        assert_eq!(sessions.stored(), 0);
    }

    #[test]
    fn expired_tokens_are_swept_as_new_ones_are_issued() {
        let mut sessions = Sessions::default();
        for _ in 0..10 {
            sessions.open("ann", t0(), Duration::seconds(1)).unwrap();
        }

        for _ in 0..SWEEP_EVERY {
            sessions.open("bob", t0() + Duration::seconds(5), TTL).unwrap();
        }

        assert_eq!(sessions.stored(), SWEEP_EVERY, "the 10 expired tokens are gone");
    }
}
