//! # shopkit-dynamodb
//!
//! DynamoDB adapters for shopkit (the DynamoDB role of the AWS profile): the product
//! repository, the cart store, the inventory (stock levels and all-or-nothing
//! reservations) and the idempotency store, on one table.
//!
//! ```text
//! let client = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);
//! let config = DynamoConfig::new("shopkit")?.with_cursor_secret(&secret)?;
//! shopkit_dynamodb::create_tables(&client, &config).await?;   // idempotent
//! let products = Arc::new(DynamoProducts::new(client.clone(), &config));
//! let carts = Arc::new(DynamoCarts::new(client.clone(), &config));
//! let inventory = Arc::new(DynamoInventory::new(client.clone(), &config));
//! let idempotency = Arc::new(DynamoIdempotency::new(client, &config));
//! ```
//!
//! The adapters take a built `aws_sdk_dynamodb::Client` (region, credentials, retry and
//! timeout settings are the application's) and a [`DynamoConfig`]; they never read the
//! environment. No SDK type crosses a port: errors are mapped by code to `StoreError` /
//! `InventoryError` (see `error.rs`), the SDK error kept as a source only.
//!
//! # Layout
//! - [`DynamoConfig`]: the table name and the secret that signs cursors;
//! - [`table_definition`] / [`create_tables`]: the table (keys `pk`/`sk`, indexes `gsi1`
//!   and `gsi2`, TTL on `ttl_epoch`, on-demand), created idempotently;
//! - [`DynamoProducts`], [`DynamoCarts`], [`DynamoInventory`], [`DynamoIdempotency`]: the
//!   ports, each module documenting its items and why they are shaped so;
//! - inside: `db` (batch reads chunked at 100 with unprocessed keys retried, transactions
//!   with the 100-write limit checked and cancellation reasons read back), `write`
//!   (conditional writes that return the old item on failure), `item` (typed reading,
//!   size rule), `error` (SDK error → port error); cursors are the core's signed
//!   `CursorCodec`, keyed by [`DynamoConfig`].
//!
//! # The table (single-table design)
//! | item | `pk` | `sk` | gsi1 (`gsi1pk` / `gsi1sk`) | gsi2 (`gsi2pk` / `gsi2sk`) |
//! |---|---|---|---|---|
//! | product (variants embedded) | `PRODUCT#<id>` | `PRODUCT` | `PRODUCTS` / `<id>` | `SLUG#<slug>` / `PRODUCT` |
//! | product copy per category | `PRODUCT#<id>` | `CATEGORY#<cat>` | `CATEGORY#<cat>` / `<id>` | |
//! | slug claim | `SLUG#<slug>` | `SLUG` | | |
//! | SKU claim | `SKU#<sku>` | `SKU` | | |
//! | category | `CATEGORIES` | `<cat>` | | |
//! | cart | `CART#<id>` | `CART` | open customer carts: `CUSTOMER#<c>` / `<updated>#<id>` | open carts: `CARTS-OPEN#<0-7>` / `<updated>#<id>` |
//! | cart token mirror | `CART-TOKEN#<sha256>` | `CART` | | |
//! | stock level | `STOCK#<sku>` | `LOCATION#<loc>` | | |
//! | reservation | `RESERVATION#<id>` | `RESERVATION` | active: `RESERVATIONS-ACTIVE#<0-7>` / `<expires>#<id>` | |
//! | idempotency record | `IDEMPOTENCY#<sha256>` | `IDEMPOTENCY` | | |
//!
//! Both indexes are overloaded (each item kind uses its own partition values) and sparse
//! (an item without the index keys is not in the index). Shops that prefer one table per
//! aggregate give each adapter a `DynamoConfig` of its own: the key design does not
//! change.
//!
//! # Round trips (what the hot paths cost)
//! - product detail: 1 `GetItem` (by id) or 1 `Query` (by slug);
//! - a listing page: 1 `Query` when no attribute filter drops products;
//! - a reservation of a cart of up to 99 lines: 1 `TransactWriteItems`;
//! - `by_skus` (cart pricing): 2 `BatchGetItem`s for up to 100 SKUs;
//! - a cart save: 1 `TransactWriteItems`; a cart read by id or token: 1 `GetItem`.
//!
//! # Consistency
//! Reads of items by key are strongly consistent; index reads (listings, by slug, the
//! sweeps) are eventually consistent, as DynamoDB's global secondary indexes are.
//! Uniqueness (slugs, SKUs, cart ids, reservation ids, idempotency keys) never depends on
//! an index: it is enforced by conditional writes on items.
//!
//! # Testing
//! `tests/conformance.rs` runs the testkit suites against moto (`SHOPKIT_TEST_AWS_ENDPOINT`),
//! one fresh table per test; `tests/errors.rs` drives the error paths moto cannot produce
//! (throttling, 5xx, partial batches, conflicting transactions) through `aws-smithy-mocks`.

mod carts;
mod config;
mod db;
mod error;
mod idempotency;
mod inventory;
mod item;
mod products;
mod table;
mod write;

pub use carts::DynamoCarts;
pub use config::DynamoConfig;
pub use idempotency::DynamoIdempotency;
pub use inventory::DynamoInventory;
pub use products::DynamoProducts;
pub use table::{IndexDefinition, TableDefinition, create_tables, table_definition};
