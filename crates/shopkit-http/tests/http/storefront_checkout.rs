//! Checkout over HTTP: idempotency, declines, stock.

use axum::http::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::json;
use shopkit_core::ids::{RegionCode, Sku};
use shopkit_core::ports::PromotionRepository;
use shopkit_core::pricing::TaxRate;
use shopkit_http::HttpConfig;

use crate::common::*;
use crate::storefront_support::*;

#[tokio::test]
async fn a_checkout_places_the_order_once_and_a_retry_replays_it() {
    let app = shop();
    tee(&app, 10).await;
    let cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);
    add(&app, &cart, &me, "TEE", 2).await;

    let first = checkout(&app, &cart, &me, "checkout-1", "pm_card_visa").await;
    let replay = checkout(&app, &cart, &me, "checkout-1", "pm_card_visa").await;

    assert_eq!(first.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.body));
    let order = first.json();
    assert_eq!(order["status"], "placed");
    assert_eq!(order["totals"]["grand_total"], json!({"amount": "50.00", "currency": "USD"}));
    assert_eq!(order["payment"]["status"], "authorized");
    assert_eq!(order["lines"][0]["title"], "Tee / TEE", "product / variant title");
    let location = format!("/api/v1/orders/{}", order["id"].as_str().unwrap());
    assert_eq!(first.header("location"), Some(location.as_str()));
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body, "the same body");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.backend.payments.authorizations(), 1, "one charge");
    assert_eq!(available(&app, "TEE").await, 8);
    let cart_after =
        call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, &me, &[]).await;
    assert_eq!(cart_after.json()["status"], "checked_out");
    assert_eq!(cart_after.json()["order_id"], order["id"]);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422_and_a_missing_key_a_400() {
    let app = shop();
    tee(&app, 10).await;
    let cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);
    add(&app, &cart, &me, "TEE", 1).await;
    checkout(&app, &cart, &me, "checkout-1", "pm_card_visa").await;

    let other_body = checkout(&app, &cart, &me, "checkout-1", "pm_card_mastercard").await;
    let body =
        json!({"cart_id": cart, "email": "ann@example.com", "payment_method": "pm_card_visa"});
    let no_key = call(&app, Method::POST, "/api/v1/checkout", Some(&body), &me, &[]).await;

    assert_eq!(other_body.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other_body.problem()["code"], "idempotency_key_reused");
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_key.problem()["code"], "idempotency_key_required");
    assert_eq!(app.backend.payments.authorizations(), 1);
}

#[tokio::test]
async fn a_declined_card_is_a_402_that_holds_no_stock_and_another_card_can_follow() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 3).await;

    let declined = checkout(&app, &cart, &guest, "checkout-1", "pm_card_chargeDeclined").await;
    let stock_after_decline = available(&app, "TEE").await;
    let retried = checkout(&app, &cart, &guest, "checkout-1", "pm_card_visa").await;

    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    let problem = declined.problem();
    assert_eq!(problem["code"], "payment_declined");
    assert_eq!(problem["decline_code"], "card_declined");
    assert_eq!(stock_after_decline, 10, "stock unchanged");
    assert_eq!(retried.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&retried.body));
    let url = format!("/api/v1/orders/{}", retried.json()["id"].as_str().unwrap());
    assert_eq!(retried.header("location"), Some(url.as_str()), "the guest opens it with the token");
    assert_eq!(available(&app, "TEE").await, 7);
}

#[tokio::test]
async fn not_enough_stock_is_a_409_naming_the_sku_and_what_is_left() {
    let app = shop();
    tee(&app, 2).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 3).await;

    let reply = checkout(&app, &cart, &guest, "checkout-1", "pm_card_visa").await;

    assert_eq!(reply.status, StatusCode::CONFLICT);
    let problem = reply.problem();
    assert_eq!(problem["code"], "out_of_stock");
    assert_eq!(problem["sku"], "TEE");
    assert_eq!(problem["available"], 2);
    assert_eq!(problem["requested"], 3);
    assert_eq!(available(&app, "TEE").await, 2);
    assert_eq!(app.backend.payments.authorizations(), 0, "nothing charged");
}

#[tokio::test]
async fn checkout_needs_access_to_the_cart() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    add(&app, &cart, &Who::Guest(&token), "TEE", 1).await;
    let (_, stranger) = guest_cart(&app).await;

    let other_guest = checkout(&app, &cart, &Who::Guest(&stranger), "k1", "pm_card_visa").await;
    let customer = checkout(&app, &cart, &Who::Bearer(CUSTOMER_TOKEN), "k2", "pm_card_visa").await;
    let anonymous = checkout(&app, &cart, &Who::Anonymous, "k3", "pm_card_visa").await;

    assert_eq!(other_guest.status, StatusCode::NOT_FOUND);
    assert_eq!(customer.status, StatusCode::NOT_FOUND);
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.backend.payments.authorizations(), 0);
}

#[tokio::test]
async fn an_empty_cart_or_a_bad_email_is_a_422() {
    let app = shop();
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);

    let empty = checkout(&app, &cart, &guest, "k1", "pm_card_visa").await;
    let body = json!({"cart_id": cart, "email": "not an email", "payment_method": "pm_card_visa"});
    let bad_email = call(
        &app,
        Method::POST,
        "/api/v1/checkout",
        Some(&body),
        &guest,
        &[("idempotency-key", "k2")],
    )
    .await;

    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.problem()["code"], "cart_empty");
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_email.problem()["field"], "email");
}

/// Retries a checkout with the same key, as a client does after `202` or `409
/// idempotency_in_progress`, until it gets a final answer.
async fn until_settled(app: &App, cart: &str, who: &Who<'_>, key: &str) -> Reply {
    // Bounded: a checkout that never settles is the defect this reports.
    for _ in 0..500 {
        let reply = checkout(app, cart, who, key, "pm_card_visa").await;
        let running = reply.status == StatusCode::ACCEPTED
            || (reply.status == StatusCode::CONFLICT
                && reply.problem()["code"] == "idempotency_in_progress");
        if !running {
            return reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the checkout under key {key} never settled: it was cut off mid-way");
}

/// (on hand, reserved) of `sku`.
async fn stock_of(app: &App, sku: &str) -> (i64, i64) {
    let level = &app.state.shop().inventory().levels(&[Sku::new(sku).unwrap()]).await.unwrap()[0];
    (level.on_hand, level.reserved)
}

#[tokio::test]
async fn a_checkout_slower_than_the_request_answers_202_and_finishes_by_itself() {
    let config = HttpConfig {
        request_timeout: std::time::Duration::from_millis(400),
        rate_limit_per_second: 0,
        ..HttpConfig::default()
    };
    let app = App::with_config(config);
    tee(&app, 10).await;
    let cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);
    add(&app, &cart, &me, "TEE", 2).await;
    app.backend.payments.hold_authorizations();

    let first = checkout(&app, &cart, &me, "slow-1", "pm_card_visa").await;
    let while_running = checkout(&app, &cart, &me, "slow-1", "pm_card_visa").await;
    app.backend.payments.release_authorizations();
    let settled = until_settled(&app, &cart, &me, "slow-1").await;

    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&first.body));
    assert_eq!(first.header("retry-after"), Some("1"));
    assert_eq!(first.json()["status"], "processing");
    assert_eq!(while_running.status, StatusCode::CONFLICT);
    assert_eq!(while_running.problem()["code"], "idempotency_in_progress");
    assert_eq!(settled.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&settled.body));
    assert_eq!(settled.header("idempotent-replayed"), Some("true"), "the detached result");
    assert_eq!(app.backend.payments.authorizations(), 1, "one charge");
    assert_eq!(stock_of(&app, "TEE").await, (8, 0), "two units sold, none left held");
}

#[tokio::test]
async fn a_client_that_disconnects_mid_checkout_gets_its_order_on_retry_and_nothing_is_left_held() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 2).await;
    app.backend.payments.hold_authorizations();

    // The client goes away while the checkout waits on the gateway: its request is dropped.
    let request = checkout(&app, &cart, &guest, "gone-1", "pm_card_visa");
    tokio::select! {
        reply = request => panic!("the gateway is held, yet the checkout answered {}", reply.status),
        () = async {
            while app.backend.payments.parked() == 0 {
                tokio::task::yield_now().await;
            }
        } => {}
    }
    app.backend.payments.release_authorizations();
    let retried = until_settled(&app, &cart, &guest, "gone-1").await;

    assert_eq!(retried.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&retried.body));
    assert_eq!(app.backend.payments.authorizations(), 1, "one charge");
    assert_eq!(stock_of(&app, "TEE").await, (8, 0), "two units sold, none left held");
    let order = retried.json()["id"].clone();
    let paid_for: Vec<String> =
        app.backend.payments.payments().iter().map(|p| p.order_id.to_string()).collect();
    assert_eq!(paid_for, vec![order.as_str().unwrap().to_owned()], "the charge is this order's");
    let cart_after =
        call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, &guest, &[]).await;
    assert_eq!(cart_after.json()["order_id"], order, "the cart was checked out into it");
}

#[tokio::test]
async fn a_refusal_after_a_202_is_kept_for_the_retry_instead_of_running_the_checkout_again() {
    let config = HttpConfig {
        request_timeout: std::time::Duration::from_millis(400),
        rate_limit_per_second: 0,
        ..HttpConfig::default()
    };
    let app = App::with_config(config);
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    app.backend.payments.hold_authorizations();
    app.backend.payments.decline_next(1);

    let first = checkout(&app, &cart, &guest, "declined-1", "pm_card_visa").await;
    app.backend.payments.release_authorizations();
    let settled = until_settled(&app, &cart, &guest, "declined-1").await;
    let again = checkout(&app, &cart, &guest, "declined-1", "pm_card_visa").await;

    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(settled.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(settled.problem()["code"], "payment_declined");
    assert_eq!(again.status, StatusCode::PAYMENT_REQUIRED, "replayed, not run again");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let authorize_calls = app.backend.payments.calls().len();
    assert_eq!(authorize_calls, 1, "the gateway was asked once");
    assert_eq!(stock_of(&app, "TEE").await, (10, 0), "nothing sold, nothing held");
}

/// Standard shipping at 5.00 to the US, and 7.25 % California sales tax added on top.
async fn us_shipping_and_california_tax(app: &App) {
    us_shipping(app).await;
    let mut settings = app.backend.promotions.settings().await.unwrap();
    settings.taxes.rates.push(
        TaxRate::new(RegionCode::new("US-CA").unwrap(), Decimal::new(725, 4), "CA sales tax")
            .unwrap(),
    );
    settings.taxes.prices_include_tax = false;
    app.backend.promotions.save_settings(&settings).await.unwrap();
}

#[tokio::test]
async fn goods_to_ship_need_an_address_and_a_shipping_method_before_checkout() {
    let app = shop();
    tee(&app, 10).await;
    us_shipping_and_california_tax(&app).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    let delivery = format!("/api/v1/carts/{cart}/delivery");

    let no_address = checkout_as_is(&app, &cart, &guest, "k1", "pm_card_visa").await;
    let address_only = json!({"address": california()});
    call(&app, Method::PUT, &delivery, Some(&address_only), &guest, &[]).await;
    let no_method = checkout_as_is(&app, &cart, &guest, "k2", "pm_card_visa").await;
    let both = json!({"address": california(), "shipping_method": "standard"});
    call(&app, Method::PUT, &delivery, Some(&both), &guest, &[]).await;
    let placed = checkout_as_is(&app, &cart, &guest, "k3", "pm_card_visa").await;

    assert_eq!(no_address.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_address.problem()["code"], "shipping_address_required");
    assert_eq!(no_method.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_method.problem()["code"], "shipping_method_required");
    assert_eq!(placed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&placed.body));
    let order = placed.json();
    assert_eq!(order["shipping_address"]["region"], "US-CA");
    assert_eq!(order["totals"]["shipping_total"]["amount"], "5.00");
    // 7.25 % of 25.00, added on top.
    assert_eq!(order["totals"]["tax_total"]["amount"], "1.81");
    assert_eq!(app.backend.payments.authorizations(), 1, "only the ready cart was charged");
    assert_eq!(available(&app, "TEE").await, 9);
}

#[tokio::test]
async fn two_customers_who_pick_the_same_key_each_get_their_own_order() {
    let app = shop();
    tee(&app, 10).await;
    let ann = Who::Bearer(CUSTOMER_TOKEN);
    let bob = Who::Bearer(OTHER_CUSTOMER_TOKEN);
    let ann_cart = customer_cart(&app, CUSTOMER_TOKEN).await;
    let bob_cart = customer_cart(&app, OTHER_CUSTOMER_TOKEN).await;
    add(&app, &ann_cart, &ann, "TEE", 1).await;
    add(&app, &bob_cart, &bob, "TEE", 2).await;

    let ann_order = checkout(&app, &ann_cart, &ann, "order-1", "pm_card_visa").await;
    let bob_order = checkout(&app, &bob_cart, &bob, "order-1", "pm_card_visa").await;

    assert_eq!(ann_order.status, StatusCode::CREATED);
    assert_eq!(
        bob_order.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bob_order.body)
    );
    assert_eq!(bob_order.header("idempotent-replayed"), None, "not Ann's response");
    assert_ne!(ann_order.json()["id"], bob_order.json()["id"]);
    assert_eq!(bob_order.json()["lines"][0]["quantity"], 2, "Bob's own cart");
    assert_eq!(app.backend.payments.authorizations(), 2);
}

#[tokio::test]
async fn digital_goods_check_out_without_an_address_and_pay_no_shipping() {
    let app = shop();
    us_shipping_and_california_tax(&app).await;
    let ebook = json!({"title": "E-book", "status": "active", "variants": [{
        "sku": "EBOOK", "title": "PDF", "prices": [{"amount": "9.00", "currency": "USD"}],
        "requires_shipping": false
    }]});
    let created = app.admin(Method::POST, "/products", Some(&ebook), None).await;
    app.stock("EBOOK", 100).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    let added = add(&app, &cart, &guest, "EBOOK", 1).await;

    let placed = checkout_as_is(&app, &cart, &guest, "k1", "pm_card_visa").await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.body));
    assert_eq!(created.json()["variants"][0]["requires_shipping"], false);
    assert_eq!(added.json()["requires_shipping"], false);
    assert_eq!(added.json()["lines"][0]["requires_shipping"], false);
    assert_eq!(placed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&placed.body));
    let order = placed.json();
    assert_eq!(order["shipping_address"], serde_json::Value::Null);
    assert_eq!(order["totals"]["shipping_total"]["amount"], "0.00");
    assert_eq!(order["totals"]["grand_total"]["amount"], "9.00");
}

#[tokio::test]
async fn a_total_other_than_the_one_shown_is_a_409_with_the_new_quote_and_takes_nothing() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 1).await;
    choose_delivery(&app, &cart, &guest).await;
    let quote = call(&app, Method::GET, &format!("/api/v1/carts/{cart}/quote"), None, &guest, &[])
        .await
        .json();
    let grand_total = quote["grand_total"].clone();
    let pay = |expected: serde_json::Value| {
        json!({"cart_id": cart, "email": "ann@example.com", "payment_method": "pm_card_visa",
               "expected_total": expected})
    };
    let key = [("idempotency-key", "drift-1")];

    let stale = call(
        &app,
        Method::POST,
        "/api/v1/checkout",
        Some(&pay(json!({"amount": "1.00", "currency": "USD"}))),
        &guest,
        &key,
    )
    .await;
    let stock_after_refusal = available(&app, "TEE").await;
    let current =
        call(&app, Method::POST, "/api/v1/checkout", Some(&pay(grand_total.clone())), &guest, &key)
            .await;

    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&stale.body));
    let problem = stale.problem();
    assert_eq!(problem["code"], "price_changed");
    assert_eq!(problem["expected"], json!({"amount": "1.00", "currency": "USD"}));
    assert_eq!(problem["quote"]["grand_total"], grand_total, "the new quote comes along");
    assert_eq!(stock_after_refusal, 10, "nothing taken");
    assert_eq!(current.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&current.body));
    assert_eq!(current.json()["totals"]["grand_total"], grand_total);
    assert_eq!(app.backend.payments.authorizations(), 1, "charged once, at the total shown");
}
