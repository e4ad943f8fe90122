//! Contention through the real shop's HTTP API: many shoppers check out the last units of
//! one SKU at the same moment. Exactly as many orders as there are units; everyone else
//! gets a clear `409 out_of_stock` naming the SKU; no unit is sold twice or left held.
//!
//! The shop runs with a short checkout wait, so on a slow backend (the serialized
//! DynamoDB emulator of the aws profile) many checkouts outlive their request: they answer
//! `202` and finish detached, and the shoppers retry with their key as clients do. The
//! counts must come out the same as on a fast machine.
//!
//! Run with: `cargo test --all-features --test e2e contention::`

use std::sync::Arc;

use crate::support::{
    FixtureProduct, GuestCart, Reply, spawn_empty_app_with, test_config_with, text,
};
use reqwest::StatusCode;
use tokio::sync::Barrier;

/// The SKU everyone wants: 50 units.
const LAST_UNITS: FixtureProduct = FixtureProduct {
    sku: "SNEAKER-LTD-42",
    title: "Limited Sneaker",
    slug: "limited-sneaker",
    description: "A numbered limited edition",
    price_usd: "180.00",
    stock: 50,
};

/// Shoppers, each with their own cart of one unit and their own idempotency key.
const SHOPPERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_checkouts_for_fifty_units_place_exactly_fifty_orders() {
    // Checkouts answer 202 after 1 s and run on detached (other requests keep the test
    // shop's 30 s timeout).
    let app = Arc::new(spawn_empty_app_with(test_config_with(&["--checkout-wait", "1"])).await);
    app.create_product(LAST_UNITS).await;
    // Arrange every cart first, so the checkouts are all that runs concurrently.
    let mut carts: Vec<GuestCart> = Vec::with_capacity(SHOPPERS);
    for _ in 0..SHOPPERS {
        let cart = app.guest_cart().await;
        app.add_line(&cart.id, cart.who(), LAST_UNITS.sku, 1).await.expect(StatusCode::OK);
        app.ship(&cart.id, cart.who()).await;
        carts.push(cart);
    }
    let start = Arc::new(Barrier::new(SHOPPERS));

    let tasks: Vec<_> = carts
        .into_iter()
        .enumerate()
        .map(|(i, cart)| {
            let app = Arc::clone(&app);
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let key = format!("rush-{i}");
                app.checkout(&cart.id, cart.who(), &key, &format!("shopper{i}@example.com")).await
            })
        })
        .collect();
    let mut replies: Vec<Reply> = Vec::with_capacity(SHOPPERS);
    for task in tasks {
        replies.push(task.await.expect("a checkout task finished"));
    }

    let placed: Vec<&Reply> = replies.iter().filter(|r| r.status == StatusCode::CREATED).collect();
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status != StatusCode::CREATED).collect();
    assert_eq!(placed.len(), 50, "one order per unit");
    assert_eq!(refused.len(), 150);
    for reply in &refused {
        let problem = reply.problem(StatusCode::CONFLICT);
        assert_eq!(problem["code"], "out_of_stock", "{problem}");
        assert_eq!(problem["sku"], LAST_UNITS.sku, "the problem names the SKU: {problem}");
        assert_eq!(problem["requested"], 1, "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(LAST_UNITS.sku), "a clear error names the SKU: {detail}");
    }
    let mut order_ids: Vec<String> = placed.iter().map(|r| text(&r.json()["id"])).collect();
    order_ids.sort();
    order_ids.dedup();
    assert_eq!(order_ids.len(), 50, "fifty different orders");

    assert_eq!(app.stock(LAST_UNITS.sku).await, (0, 0, 0), "(on hand, reserved, available)");
    let inventory = app.inventory(LAST_UNITS.sku).await;
    assert_eq!(inventory["reservations"], serde_json::json!([]), "no unit left held: {inventory}");
    let orders = app.admin_orders().await;
    assert_eq!(orders.len(), 50, "exactly fifty orders exist");
    let mut listed: Vec<String> = orders.iter().map(|o| text(&o["id"])).collect();
    listed.sort();
    assert_eq!(listed, order_ids, "the orders listed are the ones placed");
    for order in &orders {
        assert_eq!(order["lines"][0]["sku"], LAST_UNITS.sku);
        assert_eq!(order["lines"][0]["quantity"], 1);
    }
    assert_eq!(app.memory.payments.authorizations(), 50, "only the winners were charged");

    match Arc::try_unwrap(app) {
        Ok(app) => app.shutdown().await,
        Err(_) => panic!("every checkout task has finished and dropped its handle"),
    }
}
