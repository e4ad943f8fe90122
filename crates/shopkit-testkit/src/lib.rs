//! # shopkit-testkit
//!
//! The port conformance kit: the executable contract of every shopkit port. Each MUST
//! clause in `shopkit_core::ports` is a `pub async fn` here, named after the guarantee
//! (`inventory::concurrent_reservations_never_oversell`,
//! `carts::stale_version_save_is_a_conflict`). The in-memory adapters and every real
//! adapter (PostgreSQL, DynamoDB, Redis, S3, OpenSearch, Stripe, Cognito...) run the same
//! contracts, so a fake can never be laxer than the real thing without a test failing.
//!
//! # Layout
//! - one module per port, each a list of contracts taking the port as `Arc<dyn Port>`
//!   (a FRESH, empty store per call) plus the capability parameters it needs:
//!   - storage: [`products`], [`carts`], [`orders`] (with the outbox it writes to),
//!     [`outbox`], [`customers`] (with its outbox), [`inventory`], [`idempotency`],
//!     [`promotions`], [`cache`] (with a [`TimeControl`]);
//!   - the world: [`payments`] ([`payments::PaymentMethods`] that succeed and decline),
//!     [`notifier`] ([`notifier::NotifierCases`]), [`media`] ([`media::MediaLimits`]),
//!     [`search`], [`recommender`], [`identity`] ([`identity::TestTokens`]),
//!     [`accounts`] (an `IdentityProvider`, with [`accounts::RefreshExpiry`]);
//!   - the system: [`ids`] (the `IdGenerator`);
//!   - flows across ports: [`checkout`] (the saga over a [`checkout::CheckoutWorld`]);
//! - [`fixtures`]: builders of valid domain values (products with variants and prices,
//!   carts, customers, orders placed through `Order::place` with reconciling totals, event
//!   envelopes, reservation requests) and the fixed instant [`fixtures::t0`];
//! - one macro per port (`inventory_contracts!`, `orders_contracts!`, ...) expanding to one
//!   `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per contract;
//! - [`require_service`] gates real adapters on their service; [`race`] runs racing tasks;
//!   [`Must`] turns a failed step into a panic that names it.
//!
//! Contracts pass `now` explicitly (ports take it), starting at [`fixtures::t0`]; none
//! reads the wall clock or sleeps to synchronise. Concurrency contracts spawn tasks on the
//! multi-thread runtime and release them together on a barrier: they need the
//! `multi_thread` flavour the macros use.
//!
//! # Using the kit in a new adapter
//! Add `shopkit-testkit` and `tokio` as dev-dependencies and write one test file (the
//! memory adapter's is `adapters/memory/tests/conformance.rs`):
//!
//! ```text
//! use std::sync::Arc;
//! use shopkit_core::ports::{InventoryStore, OrderRepository, OutboxStore};
//!
//! // Every contract of the port, one test each, a fresh store per test.
//! shopkit_testkit::inventory_contracts!(async || Arc::new(MyInventory::new()) as Arc<dyn InventoryStore>);
//!
//! // Ports that write the outbox hand back both halves of one database.
//! shopkit_testkit::orders_contracts!(async || {
//!     let db = MyDb::new();
//!     (Arc::new(db.orders()) as Arc<dyn OrderRepository>, Arc::new(db.outbox()) as Arc<dyn OutboxStore>)
//! });
//! ```
//!
//! The macros list every contract of the port, so an adapter cannot leave one out
//! silently (a unit test of this crate checks that each list names every contract). A
//! contract can also be called directly, for a one-off run or a debugging session:
//! `shopkit_testkit::inventory::reserve_is_all_or_nothing(store).await`.
//!
//! Capability differences are parameters, never silent skips: a Redis cache passes
//! [`TimeControl::wall`] where the memory cache passes a manual clock; Stripe passes
//! [`payments::PaymentMethods::stripe_test`]; a media store that cannot enforce presigned
//! URL expiry says so with [`media::PresignedUrls::NotEnforced`].
//!
//! # Real services: env vars, skips and CI
//! Adapters of real services read where the service is from an env var
//! (`SHOPKIT_TEST_POSTGRES_URL`, `SHOPKIT_TEST_REDIS_URL`, ...). Use the `requires` form of
//! a macro; the factory receives the variable's value and must give each call its own
//! schema, table or key prefix:
//!
//! ```text
//! shopkit_testkit::carts_contracts!(requires "SHOPKIT_TEST_DYNAMODB_URL", async |url: String| {
//!     Arc::new(DynamoCarts::fresh_table(&url).await.expect("create a table")) as Arc<dyn CartStore>
//! });
//! ```
//!
//! Without the variable, each test prints why it skipped (to stderr, past the harness's
//! capture) and passes; with `CI=true` it fails instead, so CI never goes green without
//! having talked to the service. [`require_service`] does the check for hand-written tests.

pub mod accounts;
pub mod cache;
pub mod carts;
pub mod checkout;
pub mod checkout_journal;
pub mod customers;
pub mod fixtures;
pub mod idempotency;
pub mod identity;
pub mod ids;
pub mod inventory;
pub mod media;
pub mod notifier;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod products;
pub mod promotions;
pub mod recommender;
pub mod search;

mod macros;
mod support;

pub use support::{Must, TimeControl, race, require_service};

#[cfg(test)]
mod tests {
    /// Each port module and the macro that must name every one of its contracts.
    const SUITES: &[(&str, &str, &str)] = &[
        ("products", include_str!("products.rs"), "products_contracts"),
        ("accounts", include_str!("accounts.rs"), "accounts_contracts"),
        ("carts", include_str!("carts.rs"), "carts_contracts"),
        ("orders", include_str!("orders.rs"), "orders_contracts"),
        ("outbox", include_str!("outbox.rs"), "outbox_contracts"),
        ("customers", include_str!("customers.rs"), "customers_contracts"),
        ("inventory", include_str!("inventory.rs"), "inventory_contracts"),
        ("idempotency", include_str!("idempotency.rs"), "idempotency_contracts"),
        ("promotions", include_str!("promotions.rs"), "promotions_contracts"),
        ("cache", include_str!("cache.rs"), "cache_contracts"),
        ("payments", include_str!("payments.rs"), "payments_contracts"),
        ("notifier", include_str!("notifier.rs"), "notifier_contracts"),
        ("media", include_str!("media.rs"), "media_contracts"),
        ("search", include_str!("search.rs"), "search_contracts"),
        ("recommender", include_str!("recommender.rs"), "recommender_contracts"),
        ("identity", include_str!("identity.rs"), "identity_contracts"),
        ("ids", include_str!("ids.rs"), "ids_contracts"),
        ("checkout", include_str!("checkout.rs"), "checkout_contracts"),
        ("checkout_journal", include_str!("checkout_journal.rs"), "checkout_journal_contracts"),
    ];

    fn contracts(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .filter_map(|rest| rest.split('(').next())
            .collect()
    }

    fn macro_body(name: &str) -> &'static str {
        let macros = include_str!("macros.rs");
        let start = macros
            .find(&format!("macro_rules! {name} {{"))
            .unwrap_or_else(|| panic!("no macro {name}"));
        let rest = &macros[start..];
        let end = rest.find("\n}\n").unwrap_or(rest.len());
        &rest[..end]
    }

    #[test]
    fn every_contract_is_run_by_its_port_macro() {
        for (module, source, mac) in SUITES {
            let body = macro_body(mac);
            let listed: Vec<&str> = body
                .lines()
                .map(str::trim)
                .filter_map(|l| l.split_once('(').map(|(n, _)| n))
                .filter(|n| {
                    n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
                .filter(|n| !n.is_empty())
                .collect();
            let defined = contracts(source);
            assert!(!defined.is_empty(), "{module} defines no contract");
            for c in &defined {
                assert!(listed.contains(c), "{mac}! does not run {module}::{c}");
            }
            for l in &listed {
                assert!(defined.contains(l), "{mac}! names {l}, which {module} does not define");
            }
        }
    }

    #[test]
    fn every_port_module_has_a_suite_entry() {
        let lib = include_str!("lib.rs");
        let modules: Vec<&str> = lib
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod "))
            .map(|m| m.trim_end_matches(';'))
            .filter(|m| *m != "fixtures")
            .collect();
        for m in modules {
            assert!(SUITES.iter().any(|(s, _, _)| *s == m), "module {m} has no entry in SUITES");
        }
    }
}
