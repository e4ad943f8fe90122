//! # shopkit-postgres
//!
//! PostgreSQL adapters of every persistent shopkit port, over sqlx: a shop can run on
//! PostgreSQL alone (the RDS role of the AWS profile).
//!
//! ```text
//! let store = PgStore::connect(&url, PgConfig { schema: Some("shop".into()), ..PgConfig::default() }).await?;
//! store.migrate().await?;                         // when the shop's config asks for it
//! let orders = Arc::new(store.orders()) as Arc<dyn OrderRepository>;
//! let outbox = Arc::new(store.outbox()) as Arc<dyn OutboxStore>;
//! ```
//!
//! # Layout
//! - [`store`]: [`PgStore`] (pool, per-connection settings, embedded migrations, a handle
//!   per port), [`PgConfig`], [`PgReadiness`];
//! - one module per port: [`catalog`] (products, variants, categories), [`carts`],
//!   [`customers`], [`orders`] (refunds and payment inside the order, with relational
//!   projections), [`outbox`], [`inventory`], [`idempotency`], [`promotions`] (and pricing
//!   settings), [`search`] (full-text product search);
//! - `error` maps sqlx errors to the ports' enums and retries transient conflicts;
//!   pagination cursors are the core's `CursorCodec`, keyed from `store_keys`;
//! - `migrations/`: the schema, one file per area, each explaining its decisions.
//!
//! # Storage model
//! Aggregates (product, cart, customer, order, promotion) are stored as their serde JSON
//! in a `body` column, the truth read back, next to the columns that queries, unique rules
//! and indexes need, derived on every write in the same statement or transaction. This
//! keeps the port mapping honest (an aggregate comes back exactly as written, nanosecond
//! timestamps included) while constraints and indexes stay relational. The price: a
//! change to an aggregate's serde shape that old rows cannot deserialize needs a data
//! migration (serde defaults usually avoid it). Bookkeeping the store owns (outbox
//! delivery, stock levels, reservations, idempotency records, redemptions, the search
//! index) is plain columns.
//!
//! # Concurrency
//! - Optimistic versions: `UPDATE ... WHERE id = $1 AND version = $2`; no row means
//!   `VersionConflict` (with the stored version, read by a fresh statement) or `NotFound`.
//! - Stock never oversells: a reservation locks its SKUs' rows in SKU order (no
//!   deadlocks), checks every line, then holds them all in one transaction; a trigger
//!   refuses any raise of `reserved` past `on_hand` plus the backorder allowance.
//! - A state change and its events are one transaction (orders, customers).
//! - Outbox dispatch by several workers: `FOR UPDATE SKIP LOCKED`.
//! - Serialization failures and deadlocks (SQLSTATE 40001, 40P01) rerun the whole
//!   transaction a few times before the call fails with `Unavailable`.
//! - Unique violations become `AlreadyExists` by constraint name; nothing of sqlx crosses
//!   a port (its error is only ever a boxed `source`).
//!
//! # Round trips
//! Counted on the wire by `tests/faults.rs` (`a_product_page_is_one_statement`): a product
//! page with all its variants is ONE statement, one round trip (`get`, `by_slug`), and so
//! are a `list` page (20 products, 100 variants), `by_skus`, and a search with its total
//! and facets. An order insert is five (begin, order row, projections, outbox, commit), a
//! reservation five (begin, claim, lock, hold, commit), a claim of due outbox entries one.
//! On top of that: the first run of a statement on a connection prepares it (one more
//! round trip, then cached), and sqlx's pool pings a connection when it is returned (in
//! the background) and, with [`PgConfig::ping_before_use`] (the default), before handing
//! it out.
//!
//! # Settings and errors
//! [`PgConfig`] sets the pool size, how long a call waits for a connection
//! (`acquire_timeout`), the server-side `statement_timeout`, and
//! `idle_in_transaction_session_timeout` (so a stuck caller cannot hold locks). A
//! timeout, a lost connection or an exhausted pool is `StoreError::Unavailable`
//! (retryable).
//!
//! # TLS
//! Tests talk to PostgreSQL on loopback without TLS, so no TLS stack is compiled by
//! default. Production databases (RDS) require TLS: enable this crate's `tls` feature
//! (rustls with the webpki root store; never OpenSSL / native-tls) and ask for it in the
//! URL, `?sslmode=verify-full` (RDS certificates chain to Amazon's roots: add the RDS CA
//! bundle with `sslrootcert=` if the webpki roots do not cover your region).
//!
//! # Tests
//! `SHOPKIT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p
//! shopkit-postgres` runs every conformance suite of `shopkit-testkit` against the
//! server (`tests/conformance.rs`), each test in its own schema, and the fault cases
//! (`tests/faults.rs`: a connection killed mid-checkout, a crash between reserve and
//! order, statement timeouts, an unreachable server). Without the variable the tests
//! skip with a printed reason; with `CI=true` they fail.

pub mod carts;
pub mod catalog;
pub mod checkout_journal;
pub mod customers;
mod error;
pub mod idempotency;
pub mod inventory;
pub mod orders;
pub mod outbox;
pub mod promotions;
pub mod search;
mod shared;
pub mod store;

pub use carts::PgCarts;
pub use catalog::PgProducts;
pub use checkout_journal::PgCheckoutJournal;
pub use customers::PgCustomers;
pub use idempotency::PgIdempotency;
pub use inventory::PgInventory;
pub use orders::PgOrders;
pub use outbox::PgOutbox;
pub use promotions::PgPromotions;
pub use search::PgSearch;
pub use store::{PgConfig, PgReadiness, PgSetupError, PgStore};
