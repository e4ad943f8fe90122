//! [`Shared`]: what every port handle of one [`PgStore`](crate::PgStore) shares (the pool,
//! the schema, the cursor key). Its own module, so the port modules depend on it and
//! `store.rs` depends on them, without a circle.

use std::fmt;

use shopkit_core::ports::{CursorKey, StoreError};
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::error::store_error;

/// What every handle of one store shares.
pub(crate) struct Shared {
    pub(crate) pool: PgPool,
    pub(crate) schema: Option<String>,
    cursor_key: OnceCell<CursorKey>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(pool: PgPool, schema: Option<String>) -> Self {
        Shared { pool, schema, cursor_key: OnceCell::new() }
    }

    /// The key that signs pagination cursors, read from `store_keys` on first use (one query
    /// per process). PostgreSQL's CSPRNG draws it at migration, so every instance of a shop
    /// shares it: a cursor handed out by one replica works on another and after a restart,
    /// while one from another database is refused.
    pub(crate) async fn cursor_key(&self) -> Result<&CursorKey, StoreError> {
        self.cursor_key
            .get_or_try_init(|| async {
                let secret: Vec<u8> =
                    sqlx::query_scalar("SELECT secret FROM store_keys WHERE name = 'cursor'")
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?
                        .ok_or_else(|| StoreError::Unavailable {
                            message: "the cursor key is missing: run PgStore::migrate".into(),
                            source: None,
                        })?;
                Ok(CursorKey::new(secret))
            })
            .await
    }
}
