//! Checkout over HTTP: idempotency, declines, stock.

use axum::http::{Method, StatusCode};
use serde_json::json;

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
    assert_eq!(retried.header("location"), None, "a guest order has no URL the guest can open");
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
