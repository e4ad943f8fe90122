//! Admin-initiated refunds and refund decisions: approve and process (idempotent
//! replays, one payment back), reject, approve-and-process.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shopkit_core::orders::Order;
use shopkit_memory::GatewayOperation;

use crate::admin_support::*;
use crate::common::*;

/// Delivers the outbox once, as the shop's outbox worker would: a restocking refund's units
/// go back from its `RefundProcessed` event.
/// An order of two tees, shipped (so captured).
async fn shipped(app: &App) -> Order {
    let order = app.placed_order(&[("TEE", 2)]).await;
    let reply = app
        .admin(Method::POST, &format!("/orders/{}/shipments", order.id()), None, Some("ship"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    order
}

/// Opens a refund of one tee on `order` through the back office.
async fn refund_one(app: &App, order: &Order, key: &str) -> Value {
    let body = json!({"lines": [{"line_id": order.lines()[0].id.to_string(), "quantity": 1}],
                      "reason": "arrived torn"});
    let reply = app
        .admin(Method::POST, &format!("/orders/{}/refunds", order.id()), Some(&body), Some(key))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&reply.body));
    let refund = reply.json();
    assert_eq!(
        reply.header("location"),
        Some(format!("{ADMIN}/refunds/{}", id_of(&refund)).as_str())
    );
    refund
}

fn refunds_paid(app: &App, order: &Order) -> usize {
    app.backend.payments.payment(&order.payment().reference).unwrap().refunds.len()
}

#[tokio::test]
async fn an_admin_refund_is_approved_and_processed_once_and_a_replay_returns_the_same() {
    let app = App::new();
    let order = shipped(&app).await;
    assert_eq!(app.on_hand("TEE").await, 8);

    let refund = refund_one(&app, &order, "refund-1").await;
    let reopened = refund_one(&app, &order, "refund-1").await;
    let id = id_of(&refund);
    assert_eq!(refund["status"], "requested");
    assert_eq!(refund["restock"], true);
    assert_eq!(reopened, refund, "the same key does not open a second refund");

    let approved = app.admin(Method::POST, &format!("/refunds/{id}/approve"), None, None).await;
    assert_eq!(approved.status, StatusCode::OK);
    assert_eq!(approved.json()["status"], "approved");

    let process = format!("/refunds/{id}/process");
    let processed = app.admin(Method::POST, &process, None, Some("pay-1")).await;
    let replay = app.admin(Method::POST, &process, None, Some("pay-1")).await;
    let new_key = app.admin(Method::POST, &process, None, Some("pay-2")).await;

    assert_eq!(processed.status, StatusCode::OK, "{}", String::from_utf8_lossy(&processed.body));
    let body = processed.json();
    assert_eq!(body["status"], "processed");
    assert!(body["gateway_reference"].is_string());
    assert_eq!(body["amount"], refund["amount"]);
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, processed.body);
    assert_eq!(new_key.json()["status"], "processed", "a processed refund is returned as it is");
    assert_eq!(refunds_paid(&app, &order), 1, "paid back exactly once");
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 9, "the returned tee is back on hand, once");
    let order_view = app.admin_get(&format!("/orders/{}", order.id())).await.json();
    assert_eq!(order_view["payment"]["refunded"], refund["amount"]);
    assert_eq!(order_view["refunds"][0]["status"], "processed");
    assert_eq!(app.admin_get(&format!("/refunds/{id}")).await.json(), body);
}

#[tokio::test]
async fn a_refund_cannot_be_processed_before_it_is_approved() {
    let app = App::new();
    let order = shipped(&app).await;
    let id = id_of(&refund_one(&app, &order, "r").await);

    let early = app.admin(Method::POST, &format!("/refunds/{id}/process"), None, Some("p")).await;

    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.problem()["code"], "illegal_transition");
    assert_eq!(refunds_paid(&app, &order), 0);
}

#[tokio::test]
async fn a_rejected_refund_keeps_its_reason_and_can_no_longer_be_paid() {
    let app = App::new();
    let order = shipped(&app).await;
    let id = id_of(&refund_one(&app, &order, "r").await);

    let rejected = app
        .admin(
            Method::POST,
            &format!("/refunds/{id}/reject"),
            Some(&json!({"reason": "outside the return window"})),
            None,
        )
        .await;
    let approve = app.admin(Method::POST, &format!("/refunds/{id}/approve"), None, None).await;
    let pay = app
        .admin(Method::POST, &format!("/refunds/{id}/approve-and-process"), None, Some("p"))
        .await;

    assert_eq!(rejected.status, StatusCode::OK);
    let rejected = rejected.json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["outcome_note"], "outside the return window");
    assert_eq!(approve.status, StatusCode::CONFLICT);
    assert_eq!(pay.status, StatusCode::CONFLICT);
    assert_eq!(refunds_paid(&app, &order), 0);
}

#[tokio::test]
async fn approve_and_process_pays_an_amount_back_in_one_step() {
    let app = App::new();
    let order = shipped(&app).await;
    let body = json!({"amount": {"amount": "5.00", "currency": "EUR"}, "reason": "late delivery"});
    let refund = app
        .admin(Method::POST, &format!("/orders/{}/refunds", order.id()), Some(&body), Some("r"))
        .await
        .json();
    let id = id_of(&refund);

    let reply = app
        .admin(
            Method::POST,
            &format!("/refunds/{id}/approve-and-process"),
            Some(&json!({})),
            Some("p"),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let paid = reply.json();
    assert_eq!(paid["status"], "processed");
    assert_eq!(paid["amount"], json!({"amount": "5.00", "currency": "EUR"}));
    assert_eq!(paid["restock"], false);
    app.deliver_events().await;
    assert_eq!(app.on_hand("TEE").await, 8, "an amount refund restocks nothing");
    let calls = app.backend.payments.calls();
    assert_eq!(calls.iter().filter(|c| c.operation == GatewayOperation::Refund).count(), 1);
}

#[tokio::test]
async fn refunds_beyond_what_was_paid_or_on_unpaid_orders_are_refused() {
    let app = App::new();
    let unpaid = app.placed_order(&[("MUG", 1)]).await;
    let order = shipped(&app).await;
    let too_much = json!({"amount": {"amount": "1000.00", "currency": "EUR"}, "reason": "x"});
    let too_many = json!({"lines": [{"line_id": order.lines()[0].id.to_string(), "quantity": 3}],
                          "reason": "x"});
    let empty = json!({"reason": "x"});

    let on_unpaid = app
        .admin(Method::POST, &format!("/orders/{}/refunds", unpaid.id()), Some(&empty), Some("a"))
        .await;
    let over = app
        .admin(Method::POST, &format!("/orders/{}/refunds", order.id()), Some(&too_much), Some("b"))
        .await;
    let units = app
        .admin(Method::POST, &format!("/orders/{}/refunds", order.id()), Some(&too_many), Some("c"))
        .await;
    let nothing = app
        .admin(Method::POST, &format!("/orders/{}/refunds", order.id()), Some(&empty), Some("d"))
        .await;

    assert_eq!(on_unpaid.status, StatusCode::CONFLICT);
    assert_eq!(on_unpaid.problem()["code"], "not_refundable");
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.problem()["code"], "refund_exceeds_captured");
    assert_eq!(units.problem()["code"], "too_many_units");
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let order_view = app.admin_get(&format!("/orders/{}", order.id())).await.json();
    assert_eq!(order_view["refunds"], json!([]));
}

#[tokio::test]
async fn an_unknown_refund_is_404() {
    let app = App::new();

    let reply = app.admin_get("/refunds/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a").await;

    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.problem()["entity"], "refund");
}
