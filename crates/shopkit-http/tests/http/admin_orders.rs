//! Order management: the fulfilment flow (placed -> capture -> partial shipment with
//! tracking -> the rest -> delivered), cancellation (void and restock), listing.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_memory::GatewayOperation;

use crate::admin_support::*;
use crate::common::*;

fn gateway_calls(app: &App, operation: GatewayOperation) -> usize {
    app.backend
        .payments
        .calls()
        .iter()
        .filter(|c| c.operation == operation && c.error.is_none())
        .count()
}

/// Delivers the outbox once, as the shop's outbox worker would: a cancelled order's stock
/// goes back from its `OrderCancelled` event.
fn statuses(order: &Value) -> Vec<String> {
    order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_order_is_captured_shipped_in_two_parts_with_tracking_and_delivered() {
    let app = App::new();
    let order = app.placed_order(&[("TEE-S", 2), ("TEE-M", 1)]).await;
    let path = format!("/orders/{}", order.id());
    let small = order.lines()[0].id.to_string();

    // Placed: authorized, nothing captured; the admin sees the gateway reference.
    let placed = app.admin_get(&path).await.json();
    assert_eq!(placed["status"], "placed");
    assert_eq!(placed["payment"]["reference"], order.payment().reference.as_str());
    assert_eq!(placed["payment"]["captured"]["amount"], "0.00");
    assert_eq!(placed["customer_id"], customer_id().to_string());

    // Capture, retried with the same key: one capture at the gateway.
    let capture = app.admin(Method::POST, &format!("{path}/capture"), None, Some("cap-1")).await;
    let retry = app.admin(Method::POST, &format!("{path}/capture"), None, Some("cap-1")).await;
    assert_eq!(capture.status, StatusCode::OK, "{}", String::from_utf8_lossy(&capture.body));
    let paid = capture.json();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment"]["captured"], paid["totals"]["grand_total"]);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, capture.body);
    assert_eq!(gateway_calls(&app, GatewayOperation::Capture), 1);

    // One small tee leaves with tracking.
    let partial = json!({
        "lines": [{"line_id": small, "quantity": 1}],
        "tracking": {"carrier": "DHL", "number": "JD0001", "url": "https://dhl.example/JD0001"}
    });
    let first =
        app.admin(Method::POST, &format!("{path}/shipments"), Some(&partial), Some("ship-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&first.body));
    let first = first.json();
    assert_eq!(first["status"], "partially_fulfilled");
    assert_eq!(first["shipments"][0]["tracking"]["number"], "JD0001");
    assert_eq!(first["shipments"][0]["lines"], json!([{"line_id": small, "quantity": 1}]));
    assert_eq!(first["lines"][0]["fulfilled"], 1);

    // Not delivered before everything shipped; more than remains is refused.
    let early = app.admin(Method::POST, &format!("{path}/deliver"), None, None).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.problem()["code"], "illegal_transition");
    let too_many = json!({"lines": [{"line_id": small, "quantity": 5}]});
    let over = app
        .admin(Method::POST, &format!("{path}/shipments"), Some(&too_many), Some("ship-x"))
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.problem()["code"], "over_fulfilment");

    // The rest: no lines means everything remaining.
    let rest = app
        .admin(Method::POST, &format!("{path}/shipments"), Some(&json!({})), Some("ship-2"))
        .await;
    assert_eq!(rest.status, StatusCode::CREATED);
    let fulfilled = rest.json();
    assert_eq!(fulfilled["status"], "fulfilled");
    assert_eq!(fulfilled["shipments"].as_array().unwrap().len(), 2);
    assert_eq!(fulfilled["shipments"][1]["tracking"], Value::Null);
    assert_eq!(fulfilled["shipments"][1]["lines"].as_array().unwrap().len(), 2);

    let delivered = app.admin(Method::POST, &format!("{path}/deliver"), None, None).await;
    assert_eq!(delivered.status, StatusCode::OK);
    let delivered = delivered.json();
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(
        statuses(&delivered),
        ["placed", "paid", "partially_fulfilled", "fulfilled", "delivered"]
    );
}

#[tokio::test]
async fn shipping_a_placed_order_captures_it_first() {
    let app = App::new();
    let order = app.placed_order(&[("TEE", 1)]).await;

    let reply = app
        .admin(Method::POST, &format!("/orders/{}/shipments", order.id()), None, Some("ship-1"))
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    let shipped = reply.json();
    assert_eq!(shipped["status"], "fulfilled");
    assert_eq!(shipped["payment"]["captured"], shipped["totals"]["grand_total"]);
    assert_eq!(gateway_calls(&app, GatewayOperation::Capture), 1);
}

#[tokio::test]
async fn cancelling_a_placed_order_voids_the_payment_and_returns_the_stock_once() {
    let app = App::new();
    let order = app.placed_order(&[("TEE", 2)]).await;
    assert_eq!(app.on_hand("TEE").await, 8);
    let path = format!("/orders/{}/cancel", order.id());
    let body = json!({"reason": "customer called"});

    let cancelled = app.admin(Method::POST, &path, Some(&body), Some("cancel-1")).await;
    let replay = app.admin(Method::POST, &path, Some(&body), Some("cancel-1")).await;
    let again = app.admin(Method::POST, &path, Some(&body), Some("cancel-2")).await;

    assert_eq!(cancelled.status, StatusCode::OK, "{}", String::from_utf8_lossy(&cancelled.body));
    let cancelled_body = cancelled.json();
    assert_eq!(cancelled_body["status"], "cancelled");
    assert_eq!(cancelled_body["payment"]["voided"], true);
    assert_eq!(cancelled_body["history"][1]["note"], "customer called");
    let payment = app.backend.payments.payment(&order.payment().reference).unwrap();
    assert!(payment.voided, "the fake gateway released the hold");
    assert!(payment.captured.is_zero());
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 10, "the stock is back");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.status, StatusCode::OK, "cancelling a cancelled order returns it");
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 10, "and gives nothing back twice");
    assert_eq!(gateway_calls(&app, GatewayOperation::Void), 1);
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_the_capture_and_returns_the_stock() {
    let app = App::new();
    let order = app.placed_order(&[("TEE", 2)]).await;
    app.admin(Method::POST, &format!("/orders/{}/capture", order.id()), None, Some("c")).await;

    let reply = app
        .admin(
            Method::POST,
            &format!("/orders/{}/cancel", order.id()),
            Some(&json!({"reason": "out of stock in the warehouse"})),
            Some("cancel-1"),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let cancelled = reply.json();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["payment"]["refunded"], cancelled["totals"]["grand_total"]);
    let payment = app.backend.payments.payment(&order.payment().reference).unwrap();
    assert_eq!(payment.refunded, order.totals().grand_total);
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 10);
}

#[tokio::test]
async fn a_shipped_order_cannot_be_cancelled() {
    let app = App::new();
    let order = app.placed_order(&[("TEE", 1)]).await;
    app.admin(Method::POST, &format!("/orders/{}/shipments", order.id()), None, Some("s")).await;

    let reply = app
        .admin(
            Method::POST,
            &format!("/orders/{}/cancel", order.id()),
            Some(&json!({"reason": "too late"})),
            Some("c"),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.problem()["code"], "illegal_transition");
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 9);
}

#[tokio::test]
async fn money_moving_calls_need_an_idempotency_key() {
    let app = App::new();
    let order = app.placed_order(&[("TEE", 1)]).await;

    for (path, body) in [
        (format!("/orders/{}/capture", order.id()), None),
        (format!("/orders/{}/shipments", order.id()), Some(json!({}))),
        (format!("/orders/{}/cancel", order.id()), Some(json!({"reason": "x"}))),
        (format!("/orders/{}/refunds", order.id()), Some(json!({"reason": "x"}))),
        ("/refunds/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a/process".to_owned(), None),
        ("/refunds/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a/approve-and-process".to_owned(), None),
    ] {
        let reply = app.admin(Method::POST, &path, body.as_ref(), None).await;

        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.problem()["code"], "idempotency_key_required");
    }
    assert_eq!(app.admin_get(&format!("/orders/{}", order.id())).await.json()["status"], "placed");
}

#[tokio::test]
async fn orders_are_listed_and_filtered_by_status_and_customer() {
    let app = App::new();
    let first = app.placed_order(&[("TEE", 1)]).await;
    let second = app.placed_order(&[("MUG", 1)]).await;
    app.admin(Method::POST, &format!("/orders/{}/capture", second.id()), None, Some("c")).await;

    let all = app.admin_get("/orders").await.json();
    let placed = app.admin_get("/orders?status=placed").await.json();
    let mine = app.admin_get(&format!("/orders?customer={}&limit=1", customer_id())).await.json();
    let nobody =
        app.admin_get("/orders?customer=0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a").await.json();
    let bad = app.admin_get("/orders?status=lost").await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(id_of).collect()
    };
    assert_eq!(ids(&all).len(), 2);
    assert_eq!(ids(&placed), [first.id().to_string()]);
    assert_eq!(ids(&mine).len(), 1);
    assert!(mine["next_cursor"].is_string());
    assert_eq!(ids(&nobody).len(), 0);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem()["field"], "status");
}

#[tokio::test]
async fn an_unknown_order_is_404_and_a_malformed_id_is_400() {
    let app = App::new();

    let unknown = app.admin_get("/orders/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a").await;
    let malformed = app.admin_get("/orders/42").await;

    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.problem()["entity"], "order");
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}
