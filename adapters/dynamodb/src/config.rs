//! [`DynamoConfig`]: which table the adapters use, and the secret that signs cursors.

use std::fmt;
use std::sync::Arc;

use shopkit_core::ports::{CursorCodec, CursorKey, StoreError};

/// The shortest cursor secret accepted, in bytes (the HMAC-SHA-256 block of security).
const MIN_SECRET: usize = 32;

/// The typed configuration of every DynamoDB adapter: the table name and the secret that
/// signs listing cursors.
///
/// One table holds everything (see the crate docs for the key design); shops that want
/// one table per aggregate give each adapter its own `DynamoConfig`. The adapters never
/// read the environment: the binary builds this from its own configuration.
///
/// `Debug` never shows the secret.
#[derive(Clone)]
pub struct DynamoConfig {
    table: String,
    cursor_secret: Arc<[u8]>,
}

impl DynamoConfig {
    /// A configuration for `table`, with a cursor secret drawn from the OS CSPRNG.
    ///
    /// A random secret is right for one process (and for tests); several instances of a
    /// shop behind one load balancer must share a secret
    /// ([`with_cursor_secret`](Self::with_cursor_secret)), or a cursor handed out by one is
    /// refused by another as `InvalidCursor`.
    ///
    /// # Errors
    /// `StoreError::Invalid` when `table` is not a valid DynamoDB table name (3 to 255 of
    /// `a-z A-Z 0-9 _ - .`), or when the OS has no randomness to offer.
    pub fn new(table: impl Into<String>) -> Result<Self, StoreError> {
        let table = table.into();
        let valid_name = (3..=255).contains(&table.len())
            && table.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(StoreError::Invalid {
                reason: format!(
                    "{:?} is not a DynamoDB table name: use 3 to 255 of a-z A-Z 0-9 _ - .",
                    table.chars().take(80).collect::<String>()
                ),
            });
        }
        let mut secret = [0u8; MIN_SECRET];
        getrandom::fill(&mut secret).map_err(|e| StoreError::Invalid {
            reason: format!(
                "the OS random number generator failed ({e}): pass a cursor secret with with_cursor_secret"
            ),
        })?;
        Ok(DynamoConfig { table, cursor_secret: Arc::from(secret.as_slice()) })
    }

    /// Signs cursors with `secret` (at least 32 bytes), shared by every instance of the
    /// shop so that a cursor from one is accepted by all.
    ///
    /// # Errors
    /// `StoreError::Invalid` when the secret is shorter than 32 bytes.
    pub fn with_cursor_secret(mut self, secret: &[u8]) -> Result<Self, StoreError> {
        if secret.len() < MIN_SECRET {
            return Err(StoreError::Invalid {
                reason: format!(
                    "a cursor secret needs at least {MIN_SECRET} bytes, got {}: generate 32 random bytes",
                    secret.len()
                ),
            });
        }
        self.cursor_secret = Arc::from(secret);
        Ok(self)
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The codec of this table's listing cursors: the core's [`CursorCodec`] named after the
    /// table and keyed with the cursor secret, so a cursor of another table or secret is
    /// refused. Each listing (a category's partition, all products) is a scope.
    pub(crate) fn cursor_codec(&self) -> CursorCodec {
        CursorKey::new(&self.cursor_secret).codec(self.table.clone())
    }
}

impl fmt::Debug for DynamoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoConfig")
            .field("table", &self.table)
            .field("cursor_secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_follow_dynamodb_rules() {
        assert!(DynamoConfig::new("shopkit").is_ok());
        assert!(DynamoConfig::new("shop.kit-prod_1").is_ok());
        assert!(DynamoConfig::new("ab").is_err());
        assert!(DynamoConfig::new("has space").is_err());
    }

    #[test]
    fn short_cursor_secrets_are_refused_and_debug_hides_the_secret() {
        let config = DynamoConfig::new("shopkit").unwrap();
        assert!(config.clone().with_cursor_secret(b"short").is_err());
        let config = config.with_cursor_secret(&[7u8; 32]).unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("shopkit") && shown.contains("<redacted>"));
        assert!(!shown.contains("7, 7"));
    }

    #[test]
    fn cursors_are_bound_to_the_table_and_the_secret() {
        let config = |table: &str, secret: u8| {
            DynamoConfig::new(table).unwrap().with_cursor_secret(&[secret; 32]).unwrap()
        };
        let ours = config("shop", 1).cursor_codec();
        let cursor = ours.encode_scoped("PRODUCTS", "0190-abc");

        assert_eq!(ours.decode_scoped("PRODUCTS", &cursor).as_deref(), Ok("0190-abc"));
        assert!(ours.decode_scoped("CATEGORY#shirts", &cursor).is_err());
        for theirs in [config("other-table", 1), config("shop", 2)] {
            let foreign = theirs.cursor_codec().encode_scoped("PRODUCTS", "0190-abc");
            assert!(ours.decode_scoped("PRODUCTS", &foreign).is_err());
        }
    }
}
