//! What the PostgreSQL tests share: a fresh, migrated schema per test, so tests run in
//! parallel against one database without seeing each other's rows.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shopkit_postgres::{PgConfig, PgStore};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

/// The prefix of every test schema: `t_<unix seconds>_<random>`.
const PREFIX: &str = "t_";

/// Test schemas older than this are dropped by the next test run (a test cannot drop its
/// own schema when a testkit macro owns its body). Far longer than a run of the suites.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

static SWEPT: OnceCell<()> = OnceCell::const_new();

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Drops the test schemas left behind by earlier runs. Once per test binary.
async fn sweep_stale_schemas(url: &str) {
    SWEPT
        .get_or_init(|| async {
            let Ok(mut conn) = PgConnection::connect(url).await else { return };
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%\\_%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
            let cutoff = unix_now().saturating_sub(STALE_AFTER.as_secs());
            for name in names {
                let born = name
                    .strip_prefix(PREFIX)
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|secs| secs.parse::<u64>().ok());
                let plain =
                    name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if plain && born.is_some_and(|b| b < cutoff) {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            }
            let _ = conn.close().await;
        })
        .await;
}

/// A new schema name for one test.
pub(crate) fn schema_name() -> String {
    format!("{PREFIX}{}_{}", unix_now(), &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The settings of a test store in `schema`.
pub(crate) fn config(schema: &str) -> PgConfig {
    PgConfig {
        schema: Some(schema.to_owned()),
        max_connections: 8,
        // Contention tests queue 64 tasks on 8 connections on a 2-core machine.
        acquire_timeout: Duration::from_secs(60),
        ..PgConfig::default()
    }
}

/// A store in a fresh, migrated schema, and the schema's name.
///
/// # Panics
/// When the server cannot be reached or the migrations fail.
pub(crate) async fn fresh_schema(url: &str) -> (PgStore, String) {
    sweep_stale_schemas(url).await;
    let schema = schema_name();
    let store = PgStore::connect(url, config(&schema)).await.expect("connect to PostgreSQL");
    store.migrate().await.expect("migrate a fresh schema");
    (store, schema)
}

/// A store in a fresh, migrated schema.
///
/// # Panics
/// When the server cannot be reached or the migrations fail.
#[allow(dead_code, reason = "each test binary uses its own subset of the helpers")]
pub(crate) async fn fresh_store(url: &str) -> PgStore {
    fresh_schema(url).await.0
}

/// Drops a test's schema (tests that own their body call it at the end; a failed test
/// leaves its schema for the next run's sweep).
#[allow(dead_code, reason = "each test binary uses its own subset of the helpers")]
pub(crate) async fn drop_schema(url: &str, schema: &str) {
    assert!(schema.starts_with(PREFIX), "only test schemas are dropped");
    let mut conn = PgConnection::connect(url).await.expect("connect to drop a test schema");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .expect("drop the test schema");
    let _ = conn.close().await;
}
