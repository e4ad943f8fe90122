//! The customer's orders and returns over HTTP: lists, details, cancellation, returns,
//! and nobody else's.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_core::ids::OrderId;
use shopkit_core::services::Caller;

use crate::common::*;
use crate::storefront_support::*;

fn id_of(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

async fn pay(app: &App, order: &str) {
    let id: OrderId = order.parse().unwrap();
    app.state.shop().orders().capture(&Caller::Admin, id).await.unwrap();
}

async fn return_one(app: &App, order: &Value, who: &Who<'_>, key: &str) -> Reply {
    let body = json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "too small"});
    let uri = format!("/api/v1/orders/{}/returns", id_of(order));
    call(app, Method::POST, &uri, Some(&body), who, &[("idempotency-key", key)]).await
}

#[tokio::test]
async fn a_customer_lists_their_orders_newest_first_page_by_page() {
    let app = shop();
    tee(&app, 10).await;
    let older = placed_order(&app, CUSTOMER_TOKEN, 1).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let newer = placed_order(&app, CUSTOMER_TOKEN, 2).await;
    placed_order(&app, OTHER_CUSTOMER_TOKEN, 1).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);

    let first = call(&app, Method::GET, "/api/v1/orders?limit=1", None, &me, &[]).await.json();
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second =
        call(&app, Method::GET, &format!("/api/v1/orders?limit=1&cursor={cursor}"), None, &me, &[])
            .await
            .json();

    assert_eq!(first["items"][0]["id"], newer["id"]);
    assert_eq!(first["items"][0]["item_count"], 2);
    assert_eq!(first["items"][0]["grand_total"]["amount"], "50.00");
    assert_eq!(second["items"][0]["id"], older["id"]);
    assert_eq!(second["next_cursor"], Value::Null, "the other customer's order is not listed");
}

#[tokio::test]
async fn the_order_detail_shows_lines_totals_payment_and_history_without_gateway_secrets() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 2).await;

    let reply = call(
        &app,
        Method::GET,
        &format!("/api/v1/orders/{}", id_of(&order)),
        None,
        &Who::Bearer(CUSTOMER_TOKEN),
        &[],
    )
    .await;

    assert_eq!(reply.status, StatusCode::OK);
    let detail = reply.json();
    assert_eq!(detail["lines"][0]["sku"], "TEE");
    assert_eq!(detail["lines"][0]["quantity"], 2);
    assert_eq!(detail["totals"]["grand_total"]["amount"], "50.00");
    assert_eq!(detail["payment"]["status"], "authorized");
    assert_eq!(detail["payment"]["authorized"]["amount"], "50.00");
    assert_eq!(detail["history"][0]["to"], "placed");
    assert_eq!(detail["shipments"], json!([]));
    let reference = app.backend.payments.payments()[0].reference.clone();
    let text = String::from_utf8_lossy(&reply.body);
    assert!(!text.contains(&reference), "the gateway reference {reference} leaked: {text}");
    assert!(!text.contains("pm_card_visa"));
}

#[tokio::test]
async fn another_customers_order_and_refund_are_404() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 2).await;
    pay(&app, &id_of(&order)).await;
    let refund = return_one(&app, &order, &Who::Bearer(CUSTOMER_TOKEN), "r1").await.json();
    let stranger = Who::Bearer(OTHER_CUSTOMER_TOKEN);
    let order_uri = format!("/api/v1/orders/{}", id_of(&order));

    let read = call(&app, Method::GET, &order_uri, None, &stranger, &[]).await;
    let cancel =
        call(&app, Method::POST, &format!("{order_uri}/cancel"), None, &stranger, &[]).await;
    let returned = return_one(&app, &order, &stranger, "r2").await;
    let refund_read = call(
        &app,
        Method::GET,
        &format!("/api/v1/refunds/{}", refund["id"].as_str().unwrap()),
        None,
        &stranger,
        &[],
    )
    .await;
    let anonymous = call(&app, Method::GET, &order_uri, None, &Who::Anonymous, &[]).await;

    for reply in [read, cancel, returned, refund_read] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.problem()["code"], "not_found");
    }
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let mine = call(&app, Method::GET, &order_uri, None, &Who::Bearer(CUSTOMER_TOKEN), &[]).await;
    assert_eq!(mine.json()["status"], "paid", "the stranger's cancel changed nothing");
    assert_eq!(mine.json()["refunds"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_placed_order_can_be_cancelled_and_its_stock_comes_back() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 3).await;
    let uri = format!("/api/v1/orders/{}/cancel", id_of(&order));
    let me = Who::Bearer(CUSTOMER_TOKEN);
    assert_eq!(available(&app, "TEE").await, 7);

    let cancelled =
        call(&app, Method::POST, &uri, Some(&json!({"reason": "changed my mind"})), &me, &[]).await;
    let again = call(&app, Method::POST, &uri, None, &me, &[]).await;

    assert_eq!(cancelled.status, StatusCode::OK, "{}", String::from_utf8_lossy(&cancelled.body));
    let body = cancelled.json();
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["payment"]["status"], "voided");
    assert_eq!(body["history"][1]["note"], "changed my mind");
    assert_eq!(again.status, StatusCode::OK, "cancelling twice answers the cancelled order");
    app.deliver_events().await;
    assert_eq!(
        available(&app, "TEE").await,
        10,
        "the stock comes back once its event is delivered"
    );
}

#[tokio::test]
async fn a_paid_order_cannot_be_cancelled_by_the_customer() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 1).await;
    pay(&app, &id_of(&order)).await;

    let reply = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{}/cancel", id_of(&order)),
        None,
        &Who::Bearer(CUSTOMER_TOKEN),
        &[],
    )
    .await;

    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.problem()["code"], "illegal_transition");
}

#[tokio::test]
async fn a_return_of_a_paid_order_is_a_requested_refund_the_customer_can_read() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 2).await;
    pay(&app, &id_of(&order)).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);

    let first = return_one(&app, &order, &me, "return-1").await;
    let replay = return_one(&app, &order, &me, "return-1").await;
    let refund = first.json();
    let read = call(&app, Method::GET, first.header("location").unwrap(), None, &me, &[]).await;

    assert_eq!(first.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.body));
    assert_eq!(refund["status"], "requested");
    assert_eq!(refund["amount"], json!({"amount": "25.00", "currency": "USD"}));
    assert_eq!(refund["lines"][0]["quantity"], 1);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["id"], refund["id"]);
    let detail =
        call(&app, Method::GET, &format!("/api/v1/orders/{}", id_of(&order)), None, &me, &[]).await;
    assert_eq!(detail.json()["refunds"].as_array().unwrap().len(), 1, "one refund for two calls");
}

#[tokio::test]
async fn a_return_is_refused_before_payment_or_beyond_what_was_bought() {
    let app = shop();
    tee(&app, 10).await;
    let order = placed_order(&app, CUSTOMER_TOKEN, 1).await;
    let me = Who::Bearer(CUSTOMER_TOKEN);

    let unpaid = return_one(&app, &order, &me, "r1").await;
    pay(&app, &id_of(&order)).await;
    let body =
        json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": 2}], "reason": "x"});
    let too_many = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{}/returns", id_of(&order)),
        Some(&body),
        &me,
        &[("idempotency-key", "r2")],
    )
    .await;
    let no_key = call(
        &app,
        Method::POST,
        &format!("/api/v1/orders/{}/returns", id_of(&order)),
        Some(&body),
        &me,
        &[],
    )
    .await;
    let after_fix = return_one(&app, &order, &me, "r1").await;

    assert_eq!(unpaid.status, StatusCode::CONFLICT);
    assert_eq!(unpaid.problem()["code"], "not_refundable");
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.problem()["code"], "too_many_units");
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(after_fix.status, StatusCode::CREATED, "a refusal frees its key");
}

#[tokio::test]
async fn a_guest_reads_their_order_and_returns_from_it_with_the_carts_token_and_nobody_else_can() {
    let app = shop();
    tee(&app, 10).await;
    let (cart, token) = guest_cart(&app).await;
    let guest = Who::Guest(&token);
    add(&app, &cart, &guest, "TEE", 2).await;
    let placed = checkout(&app, &cart, &guest, "guest-order-1", "pm_card_visa").await;
    let order = placed.json();
    let location = placed.header("location").expect("the order's URL").to_owned();
    let id: OrderId = id_of(&order).parse().unwrap();
    app.state.shop().orders().capture(&Caller::Admin, id).await.unwrap();
    let (_, other_token) = guest_cart(&app).await;
    let stranger = Who::Guest(&other_token);
    let forged = "ab".repeat(32);

    let mine = call(&app, Method::GET, &location, None, &guest, &[]).await;
    let strangers = call(&app, Method::GET, &location, None, &stranger, &[]).await;
    let customers =
        call(&app, Method::GET, &location, None, &Who::Bearer(CUSTOMER_TOKEN), &[]).await;
    let forgers = call(&app, Method::GET, &location, None, &Who::Guest(&forged), &[]).await;
    let stranger_return = return_one(&app, &order, &stranger, "steal-1").await;
    let my_return = return_one(&app, &order, &guest, "return-1").await;
    let refund_url = my_return.header("location").unwrap_or_default().to_owned();
    let my_refund = call(&app, Method::GET, &refund_url, None, &guest, &[]).await;
    let strangers_refund = call(&app, Method::GET, &refund_url, None, &stranger, &[]).await;
    let list = call(&app, Method::GET, "/api/v1/orders", None, &guest, &[]).await;

    assert_eq!(location, format!("/api/v1/orders/{}", id_of(&order)));
    assert_eq!(mine.status, StatusCode::OK, "{}", String::from_utf8_lossy(&mine.body));
    assert_eq!(mine.json()["id"], order["id"]);
    for (who, reply) in
        [("another guest", &strangers), ("a customer", &customers), ("a forged token", &forgers)]
    {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{who} must not see the guest's order");
    }
    assert_eq!(stranger_return.status, StatusCode::NOT_FOUND);
    assert_eq!(
        my_return.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&my_return.body)
    );
    assert_eq!(my_refund.status, StatusCode::OK);
    assert_eq!(strangers_refund.status, StatusCode::NOT_FOUND);
    assert_eq!(list.status, StatusCode::UNAUTHORIZED, "listing orders needs an account");
}
