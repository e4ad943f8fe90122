//! The DynamoDB adapters against the `shopkit-testkit` conformance suites, on moto.
//!
//! Run with: `SHOPKIT_TEST_AWS_ENDPOINT=http://127.0.0.1:5000 cargo test -p shopkit-dynamodb --test conformance`
//! (`eval "$(scripts/services)"` starts moto and exports the variable). Without the
//! variable every test prints why it skips; with `CI=true` it fails instead.
//!
//! Each test creates its own table (`shopkit-test-<uuid>`), so the tests run in parallel
//! on one emulator and nothing ever resets it. The contention contracts run as they are:
//! 64 tasks racing for the last units go through DynamoDB's conditional transactions.
//!
//! moto must answer one request at a time: start it with
//! `scripts/moto_serialized.py` (a drop-in for `moto_server`, started by `scripts/services`). Plain `moto_server`
//! answers on threads, and its `TransactWriteItems` is not safe under that: a cancelled
//! transaction restores a snapshot of the table taken when it started, undoing what other
//! threads committed meanwhile, so `inventory::concurrent_*` fail against it (lost
//! reservations, or 12 winners for 10 units), whatever the adapter does.

mod support;

use std::sync::Arc;

use shopkit_core::ports::{CartStore, IdempotencyStore, InventoryStore, ProductRepository};
use shopkit_dynamodb::{DynamoCarts, DynamoIdempotency, DynamoInventory, DynamoProducts};
use support::{client, fresh_table};

shopkit_testkit::products_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    Arc::new(DynamoProducts::new(client, &config)) as Arc<dyn ProductRepository>
});

shopkit_testkit::carts_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    Arc::new(DynamoCarts::new(client, &config)) as Arc<dyn CartStore>
});

shopkit_testkit::inventory_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    Arc::new(DynamoInventory::new(client, &config)) as Arc<dyn InventoryStore>
});

shopkit_testkit::idempotency_contracts!(requires "SHOPKIT_TEST_AWS_ENDPOINT", async |endpoint: String| {
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    Arc::new(DynamoIdempotency::new(client, &config)) as Arc<dyn IdempotencyStore>
});

// ---------------------------------------------------------------------------------------
// Beyond the suites: what this adapter promises on its own.

use std::collections::HashSet;
use std::io::Write as _;

use chrono::Duration;
use shopkit_core::ids::{LocationId, Slug};
use shopkit_core::inventory::{BackorderPolicy, ReservationStatus};
use shopkit_core::ports::{ProductQuery, StoreError};
use shopkit_dynamodb::{DynamoConfig, create_tables};
use shopkit_testkit::fixtures::{
    cart_with_lines, category_id, product, reservation, t0, unique_sku,
};
use shopkit_testkit::{Must, require_service};

const ENDPOINT: &str = "SHOPKIT_TEST_AWS_ENDPOINT";

/// The requests of one step, counted by the client's interceptor.
fn step(trips: &support::RoundTrips) -> Vec<String> {
    let sent = trips.operations();
    trips.reset();
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_paths_take_the_round_trips_the_design_promises() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange: 25 products in one category (3 variants each), stock for 10 SKUs, a cart.
    let (client, trips) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let products = DynamoProducts::new(client.clone(), &config);
    let inventory = DynamoInventory::new(client.clone(), &config);
    let carts = DynamoCarts::new(client.clone(), &config);
    let mut catalog = Vec::new();
    for _ in 0..25 {
        let p = product().variants(3).category("shirts").build();
        products.insert(&p).await.must("insert a product");
        catalog.push(p);
    }
    let skus: Vec<_> = (0..10).map(|_| unique_sku()).collect();
    for s in &skus {
        inventory.set_stock(s, &LocationId::main(), 100, BackorderPolicy::Deny).await.must("stock");
    }
    let cart_lines: Vec<_> = skus.iter().map(|s| (s.clone(), 1)).collect();
    let cart = cart_with_lines(None, t0(), &cart_lines);
    let detail = &catalog[7];
    let cart_skus: Vec<_> = catalog.iter().take(10).map(|p| p.variants[1].sku.clone()).collect();
    let lines: Vec<_> = skus.iter().map(|s| (s, 2)).collect();
    let request = reservation(&lines, t0() + Duration::minutes(15));
    trips.reset();

    // Act
    let mut report: Vec<(&str, Vec<String>, usize)> = Vec::new();
    products.get(detail.id).await.must("get").must("find the product");
    report.push(("product detail by id", step(&trips), 1));
    products.by_slug(&detail.slug).await.must("by_slug").must("find the product");
    report.push(("product detail by slug", step(&trips), 1));
    let page = products
        .list(&ProductQuery {
            category: Some(category_id("shirts")),
            limit: 20,
            ..ProductQuery::default()
        })
        .await
        .must("list a category");
    assert_eq!(page.items.len(), 20);
    report.push(("category listing page (20 of 25)", step(&trips), 1));
    products.list(&ProductQuery { limit: 20, ..ProductQuery::default() }).await.must("list all");
    report.push(("all-products listing page (20)", step(&trips), 1));
    let priced = products.by_skus(&cart_skus).await.must("by_skus");
    assert_eq!(priced.len(), 10);
    report.push(("by_skus, 10 SKUs (cart pricing)", step(&trips), 2));
    let held = inventory.reserve(&request).await.must("reserve 10 lines");
    report.push(("reserve a 10-line cart", step(&trips), 1));
    inventory.commit(held.id).await.must("commit");
    report.push(("commit the reservation", step(&trips), 2));
    carts.save(&cart).await.must("save a cart");
    report.push(("cart save", step(&trips), 1));
    carts.by_token(cart.token(), t0()).await.must("by_token").must("find the cart");
    report.push(("cart by token", step(&trips), 1));

    // Assert (and report)
    let mut out = String::from("\nDynamoDB round trips (requests sent, against moto):\n");
    for (what, sent, _) in &report {
        out.push_str(&format!("  {what:<34} {:>2}  {}\n", sent.len(), sent.join(", ")));
    }
    // Straight to stderr: the report shows in a plain `cargo test` run.
    let _ = std::io::stderr().write_all(out.as_bytes());
    for (what, sent, promised) in &report {
        assert_eq!(
            sent.len(),
            *promised,
            "{what} must take {promised} round trip(s), took {sent:?}"
        );
    }
    assert_eq!(report[5].1, vec!["TransactWriteItems"], "a 10-line reservation is one transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_tables_is_idempotent_and_refuses_a_foreign_table() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let foreign =
        DynamoConfig::new(format!("foreign-{}", uuid::Uuid::new_v4().simple())).must("config");
    client
        .create_table()
        .table_name(foreign.table())
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .must("attribute"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .must("key"),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .must("create a table of another shape");

    // Act
    let again = create_tables(&client, &config).await;
    let other = create_tables(&client, &foreign).await;

    // Assert
    again.must("creating an existing table again is fine");
    assert!(
        matches!(&other, Err(StoreError::Invalid { reason }) if reason.contains("other keys")),
        "a table of another shape is refused, got {other:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_follow_category_changes_and_cursors_stay_in_their_category() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let products = DynamoProducts::new(client, &config);
    let mut both = product().category("shirts").category("sale").build();
    both.version = products.insert(&both).await.must("insert");
    for _ in 0..3 {
        products.insert(&product().category("shirts").build()).await.must("insert");
    }
    let in_category = |c: &str| ProductQuery {
        category: Some(category_id(c)),
        limit: 2,
        ..ProductQuery::default()
    };

    // Act
    let sale_before = products.list(&in_category("sale")).await.must("list sale");
    let shirts_page = products.list(&in_category("shirts")).await.must("list shirts");
    let foreign = products
        .list(&ProductQuery { cursor: shirts_page.next_cursor.clone(), ..in_category("sale") })
        .await;
    both.categories = vec![category_id("shirts")];
    both.slug = Slug::new(&format!("renamed-{}", uuid::Uuid::new_v4().simple())).must("slug");
    products.update(&both).await.must("drop the sale category and rename");
    let sale_after = products.list(&in_category("sale")).await.must("list sale");
    let renamed = products.by_slug(&both.slug).await.must("by_slug");

    // Assert
    assert_eq!(sale_before.items.iter().map(|p| p.id).collect::<Vec<_>>(), vec![both.id]);
    assert!(shirts_page.next_cursor.is_some(), "4 shirts, pages of 2");
    assert!(
        matches!(foreign, Err(StoreError::InvalidCursor)),
        "a shirts cursor is no sale cursor: {foreign:?}"
    );
    assert!(sale_after.items.is_empty(), "the dropped category no longer lists the product");
    assert_eq!(renamed.map(|p| p.id), Some(both.id), "the new slug finds the product");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_cursor_secret_accept_each_others_cursors() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await.with_cursor_secret(&[42; 32]).must("secret");
    let first = DynamoProducts::new(client.clone(), &config);
    let second = DynamoProducts::new(client, &config);
    let mut ids = HashSet::new();
    for _ in 0..3 {
        let p = product().build();
        first.insert(&p).await.must("insert");
        ids.insert(p.id);
    }

    // Act
    let page1 =
        first.list(&ProductQuery { limit: 2, ..ProductQuery::default() }).await.must("page 1");
    let page2 = second
        .list(&ProductQuery {
            limit: 2,
            cursor: page1.next_cursor.clone(),
            ..ProductQuery::default()
        })
        .await
        .must("page 2 on another instance");

    // Assert
    let listed: HashSet<_> = page1.items.iter().chain(&page2.items).map(|p| p.id).collect();
    assert_eq!(listed, ids);
    assert_eq!(page2.next_cursor, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlimited_backorders_never_run_out_and_expiry_gives_stock_back() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let inventory = DynamoInventory::new(client, &config);
    let sku = unique_sku();
    inventory
        .set_stock(&sku, &LocationId::main(), 1, BackorderPolicy::Allow { limit: None })
        .await
        .must("stock with unlimited backorders");

    // Act
    let big = inventory.reserve(&reservation(&[(&sku, 500)], t0())).await.must("reserve 500 of 1");
    let expired = inventory.release_expired(t0()).await.must("release expired");

    // Assert
    assert_eq!(expired, 1);
    let stored = inventory.reservation(big.id).await.must("read").must("find the reservation");
    assert_eq!(stored.status, ReservationStatus::Expired);
    let level = inventory.levels(std::slice::from_ref(&sku)).await.must("levels").remove(0);
    assert_eq!((level.on_hand, level.reserved), (1, 0), "expiry gave the 500 units back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_cart_that_was_never_stored_at_a_version_is_not_found() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange
    let (client, _) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let carts = DynamoCarts::new(client, &config);
    let mut ghost = cart_with_lines(None, t0(), &[(unique_sku(), 1)]);
    ghost.set_version(3);

    // Act
    let result = carts.save(&ghost).await;

    // Assert
    assert!(matches!(result, Err(StoreError::NotFound { .. })), "got {result:?}");
    assert_eq!(
        carts.by_token(ghost.token(), t0()).await.must("by_token"),
        None,
        "nothing is written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_skus_reads_more_than_100_skus_in_chunks() {
    let Some(endpoint) = require_service(ENDPOINT) else {
        return;
    };
    // Arrange: 3 products of 60 variants: 180 SKUs.
    let (client, trips) = client(&endpoint).await;
    let config = fresh_table(&client).await;
    let products = DynamoProducts::new(client, &config);
    let mut skus = Vec::new();
    let mut ids = HashSet::new();
    for _ in 0..3 {
        let p = product().variants(60).build();
        products.insert(&p).await.must("insert a product of 60 variants");
        skus.extend(p.variants.iter().map(|v| v.sku.clone()));
        ids.insert(p.id);
    }
    trips.reset();

    // Act
    let found = products.by_skus(&skus).await.must("by_skus of 180 SKUs");

    // Assert
    assert_eq!(found.iter().map(|p| p.id).collect::<HashSet<_>>(), ids);
    assert_eq!(found.len(), 3, "each product once");
    assert_eq!(
        trips.operations(),
        vec!["BatchGetItem"; 3],
        "two chunks of SKU claims (100 + 80), then the 3 products"
    );
}
