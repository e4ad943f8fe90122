//! [`PgStore`]: the connection pool, its settings, the embedded migrations, and the typed
//! handles of every port.

use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shopkit_core::ports::{Readiness, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};

use crate::carts::PgCarts;
use crate::catalog::PgProducts;
use crate::checkout_journal::PgCheckoutJournal;
use crate::customers::PgCustomers;
use crate::error::store_error;
use crate::idempotency::PgIdempotency;
use crate::inventory::PgInventory;
use crate::orders::PgOrders;
use crate::outbox::PgOutbox;
use crate::promotions::PgPromotions;
use crate::search::PgSearch;
use crate::shared::Shared;

/// How the pool connects and what each connection is allowed to do.
///
/// Build it with struct update syntax: `PgConfig { schema: Some("shop".into()),
/// ..PgConfig::default() }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgConfig {
    /// The most connections the pool opens (default 10). Keep the sum over all replicas
    /// under the server's `max_connections`.
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing with `Unavailable`
    /// (default 5 s).
    pub acquire_timeout: Duration,
    /// The server cancels any statement running longer (`statement_timeout`, default
    /// 10 s); the call fails with `Unavailable`.
    pub statement_timeout: Duration,
    /// The server ends a session that sits idle inside a transaction this long
    /// (`idle_in_transaction_session_timeout`, default 60 s), so a crashed or stuck caller
    /// cannot hold row locks for ever.
    pub idle_in_transaction_timeout: Duration,
    /// The schema holding shopkit's tables (`search_path`); `None` uses the server's
    /// default (usually `public`). Lowercase `a-z`, `0-9` and `_`, starting with a letter
    /// or `_`, at most 63 characters. [`PgStore::migrate`] creates it.
    pub schema: Option<String>,
    /// Shown in `pg_stat_activity` (default `shopkit`).
    pub application_name: String,
    /// Whether the pool pings a connection (one round trip) each time it hands an idle one
    /// out (default `true`). The ping hides connections the server or a failover dropped;
    /// without it such a connection fails one call with `Unavailable` (retryable) and is
    /// discarded, and every call saves a round trip.
    pub ping_before_use: bool,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            idle_in_transaction_timeout: Duration::from_secs(60),
            schema: None,
            application_name: "shopkit".into(),
            ping_before_use: true,
        }
    }
}

/// Why the store could not be set up. The backend error is kept as the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgSetupError {
    /// A setting is unusable.
    #[error("invalid PostgreSQL settings: {reason}")]
    InvalidConfig {
        /// What to fix.
        reason: String,
    },
    /// The server could not be reached or refused the connection.
    #[error(
        "cannot connect to PostgreSQL: check the URL, the credentials and that the server is up ({message})"
    )]
    Connect {
        /// What failed, without the URL (it may hold a password).
        message: String,
        /// The backend error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A migration failed; the schema is left at the last migration that succeeded.
    #[error("the PostgreSQL migrations failed: {message}")]
    Migrate {
        /// What failed.
        message: String,
        /// The backend error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

fn connect_error(e: sqlx::Error) -> PgSetupError {
    PgSetupError::Connect { message: e.to_string(), source: Box::new(e) }
}

fn migrate_error(e: impl StdError + Send + Sync + 'static) -> PgSetupError {
    PgSetupError::Migrate { message: e.to_string(), source: Box::new(e) }
}

/// Whether `name` is a schema name the store accepts (a plain lowercase identifier, so it
/// needs no quoting anywhere).
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// shopkit's PostgreSQL store: one pool, one schema, a handle per port.
///
/// Handles are cheap (they share the pool) and each implements its port, so
/// `Arc::new(store.orders()) as Arc<dyn OrderRepository>` is what a shop wires in.
/// Clones share the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    shared: Arc<Shared>,
}

impl PgStore {
    /// Opens a pool to `url` (`postgres://user:password@host:5432/db`) with `config`, and
    /// one connection to check that the server answers.
    ///
    /// Each connection is set up at startup (no extra round trip) with
    /// `statement_timeout`, `idle_in_transaction_session_timeout`, `application_name` and,
    /// when `config.schema` is set, `search_path`.
    ///
    /// # Errors
    /// - [`PgSetupError::InvalidConfig`] for a malformed URL or schema name;
    /// - [`PgSetupError::Connect`] when the server cannot be reached or refuses us.
    pub async fn connect(url: &str, config: PgConfig) -> Result<PgStore, PgSetupError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| PgSetupError::InvalidConfig {
            reason:
                "the database URL is malformed: use postgres://user:password@host:port/database"
                    .into(),
        })?;
        let mut startup = vec![
            ("statement_timeout", millis(config.statement_timeout).to_string()),
            (
                "idle_in_transaction_session_timeout",
                millis(config.idle_in_transaction_timeout).to_string(),
            ),
        ];
        if let Some(schema) = &config.schema {
            if !valid_schema(schema) {
                return Err(PgSetupError::InvalidConfig {
                    reason: format!(
                        "schema {schema:?} is not a plain lowercase identifier (a-z 0-9 _, at most 63)"
                    ),
                });
            }
            startup.push(("search_path", schema.clone()));
        }
        let options = options.application_name(&config.application_name).options(startup);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .test_before_acquire(config.ping_before_use)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        Ok(PgStore::with_schema(pool, config.schema))
    }

    /// A store over a pool the caller built. Its connections must already resolve
    /// shopkit's tables (set `search_path` in the pool's connect options when they live in
    /// another schema than the server's default), and should carry a statement timeout.
    pub fn new(pool: PgPool) -> PgStore {
        PgStore::with_schema(pool, None)
    }

    fn with_schema(pool: PgPool, schema: Option<String>) -> PgStore {
        PgStore { shared: Arc::new(Shared::new(pool, schema)) }
    }

    /// Applies the embedded migrations (`adapters/postgres/migrations`) that the schema
    /// lacks, creating the configured schema first if needed. Safe to call from several
    /// processes at once: one migrates, the others wait for it and then find nothing to do
    /// (an advisory lock per schema, so stores in other schemas of the same database
    /// migrate in parallel).
    ///
    /// # Errors
    /// [`PgSetupError::Connect`] when no connection can be had; [`PgSetupError::Migrate`]
    /// when a migration fails or the applied ones differ from the embedded ones.
    pub async fn migrate(&self) -> Result<(), PgSetupError> {
        let mut conn = self.shared.pool.acquire().await.map_err(connect_error)?;
        let schema: String = match &self.shared.schema {
            Some(schema) => schema.clone(),
            None => sqlx::query_scalar::<_, Option<String>>("SELECT current_schema()")
                .fetch_one(&mut *conn)
                .await
                .map_err(migrate_error)?
                .ok_or_else(|| PgSetupError::InvalidConfig {
                    reason: "the connection's search_path names no existing schema: set PgConfig::schema".into(),
                })?,
        };
        let lock = format!("shopkit-migrate:{schema}");
        sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
            .bind(&lock)
            .execute(&mut *conn)
            .await
            .map_err(migrate_error)?;
        let migrated = async {
            if let Some(name) = &self.shared.schema {
                // `name` passed `valid_schema`: a plain identifier, nothing to escape.
                sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {name}")))
                    .execute(&mut *conn)
                    .await
                    .map_err(migrate_error)?;
            }
            // A migration may rightly take longer than a request may.
            sqlx::query("SET statement_timeout = 0")
                .execute(&mut *conn)
                .await
                .map_err(migrate_error)?;
            let mut migrator = sqlx::migrate!("./migrations");
            // sqlx's own lock is per database; ours (above) is per schema.
            migrator.set_locking(false);
            migrator.run(&mut *conn).await.map_err(migrate_error)
        }
        .await;
        // Back to the connection's own timeout (its startup value), and unlock.
        let reset = sqlx::query("RESET statement_timeout").execute(&mut *conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(&lock)
            .execute(&mut *conn)
            .await;
        if reset.is_err() || unlocked.is_err() {
            // Never hand a connection that may still hold the lock, or run without a
            // timeout, back to the pool.
            let _ = conn.close().await;
        }
        migrated
    }

    /// The product repository (catalog).
    pub fn products(&self) -> PgProducts {
        PgProducts::new(Arc::clone(&self.shared))
    }

    /// The cart store.
    pub fn carts(&self) -> PgCarts {
        PgCarts::new(Arc::clone(&self.shared))
    }

    /// The customer repository (writes its events to [`outbox`](Self::outbox)).
    pub fn customers(&self) -> PgCustomers {
        PgCustomers::new(Arc::clone(&self.shared))
    }

    /// The order repository (orders with refunds and payment; writes its events to
    /// [`outbox`](Self::outbox)).
    pub fn orders(&self) -> PgOrders {
        PgOrders::new(Arc::clone(&self.shared))
    }

    /// The outbox.
    pub fn outbox(&self) -> PgOutbox {
        PgOutbox::new(Arc::clone(&self.shared))
    }

    /// Stock levels and reservations.
    pub fn inventory(&self) -> PgInventory {
        PgInventory::new(Arc::clone(&self.shared))
    }

    /// Idempotency records.
    pub fn idempotency(&self) -> PgIdempotency {
        PgIdempotency::new(Arc::clone(&self.shared))
    }

    /// Where running checkouts got to, for recovery.
    pub fn checkout_journal(&self) -> PgCheckoutJournal {
        PgCheckoutJournal::new(Arc::clone(&self.shared))
    }

    /// Promotions and pricing settings.
    pub fn promotions(&self) -> PgPromotions {
        PgPromotions::new(Arc::clone(&self.shared))
    }

    /// Full-text product search.
    pub fn search(&self) -> PgSearch {
        PgSearch::new(Arc::clone(&self.shared))
    }

    /// The `/readyz` check.
    pub fn readiness(&self) -> PgReadiness {
        PgReadiness { shared: Arc::clone(&self.shared) }
    }

    /// Closes every connection of the pool and waits for them to close (graceful
    /// shutdown). Calls made afterwards fail with `Unavailable`.
    pub async fn close(&self) {
        self.shared.pool.close().await;
    }
}

/// How long [`PgReadiness::check`] waits for the server.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// [`Readiness`] of the PostgreSQL store: `SELECT 1` within a second.
#[derive(Clone, Debug)]
pub struct PgReadiness {
    shared: Arc<Shared>,
}

#[async_trait]
impl Readiness for PgReadiness {
    fn name(&self) -> &str {
        "postgres"
    }

    async fn check(&self) -> Result<(), StoreError> {
        let ping = sqlx::query("SELECT 1").execute(&self.shared.pool);
        match tokio::time::timeout(READINESS_TIMEOUT, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(store_error(e)),
            Err(_) => Err(StoreError::Unavailable {
                message: "PostgreSQL did not answer SELECT 1 within a second".into(),
                source: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_lowercase_identifiers() {
        assert!(valid_schema("shop"));
        assert!(valid_schema("test_1700000000_ab12"));
        assert!(valid_schema("_private"));
        for bad in ["", "Shop", "1shop", "shop-eu", "shop;drop", "a\"b", &"a".repeat(64)] {
            assert!(!valid_schema(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_malformed_url_is_invalid_config() {
        let result = PgStore::connect("not a url", PgConfig::default()).await;

        assert!(matches!(result, Err(PgSetupError::InvalidConfig { .. })));
    }

    #[tokio::test]
    async fn a_schema_name_that_needs_quoting_is_refused() {
        let config = PgConfig { schema: Some("shop; drop".into()), ..PgConfig::default() };

        let result = PgStore::connect("postgres://u@127.0.0.1:1/db", config).await;

        assert!(matches!(result, Err(PgSetupError::InvalidConfig { .. })));
    }
}
