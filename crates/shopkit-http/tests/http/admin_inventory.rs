//! Stock: set after a stock take, adjust, and the view of levels and reservations.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;
use shopkit_core::ids::{LocationId, ReservationId, Sku};
use shopkit_core::inventory::{ReservationLine, ReservationRequest};
use shopkit_core::ports::{Clock, InventoryStore};
use shopkit_core::quantity::Quantity;
use uuid::Uuid;

use crate::common::*;

#[tokio::test]
async fn stock_is_set_per_location_with_its_backorder_rule() {
    let app = App::new();

    let main = app.admin(Method::PUT, "/inventory/TEE", Some(&json!({"on_hand": 10})), None).await;
    let berlin = app
        .admin(
            Method::PUT,
            "/inventory/TEE",
            Some(&json!({"location": "berlin-1", "on_hand": 2,
                         "backorder": {"policy": "allow", "limit": 5}})),
            None,
        )
        .await;

    assert_eq!(main.status, StatusCode::OK);
    assert_eq!(
        main.json(),
        json!({"sku": "TEE", "location": "main", "on_hand": 10, "reserved": 0, "available": 10,
               "backorder": {"policy": "deny"}})
    );
    assert_eq!(berlin.json()["backorder"], json!({"policy": "allow", "limit": 5}));
    let view = app.admin_get("/inventory/TEE").await.json();
    assert_eq!(view["levels"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn adjustments_add_and_remove_units() {
    let app = App::new();
    app.stock("TEE", 10).await;

    let delivery = app
        .admin(Method::POST, "/inventory/TEE/adjustments", Some(&json!({"delta": 5})), None)
        .await;
    let damage = app
        .admin(Method::POST, "/inventory/TEE/adjustments", Some(&json!({"delta": -3})), None)
        .await;

    assert_eq!(delivery.json()["on_hand"], 15);
    assert_eq!(damage.status, StatusCode::OK);
    assert_eq!(damage.json()["on_hand"], 12);
    assert_eq!(app.on_hand("TEE").await, 12);
}

#[tokio::test]
async fn bad_stock_requests_are_refused_with_what_to_do() {
    let app = App::new();
    app.stock("TEE", 1).await;

    let negative =
        app.admin(Method::PUT, "/inventory/TEE", Some(&json!({"on_hand": -1})), None).await;
    let unknown = app
        .admin(Method::POST, "/inventory/HAT/adjustments", Some(&json!({"delta": 1})), None)
        .await;
    let bad_location = app
        .admin(
            Method::PUT,
            "/inventory/TEE",
            Some(&json!({"on_hand": 1, "location": "Main St"})),
            None,
        )
        .await;
    let bad_sku = app.admin_get("/inventory/has%20space").await;

    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = unknown.problem();
    assert_eq!(problem["code"], "no_stock_record");
    assert!(problem["detail"].as_str().unwrap().contains("set its stock first"));
    assert_eq!(bad_location.problem()["field"], "location");
    assert_eq!(bad_sku.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.on_hand("TEE").await, 1, "nothing changed");
}

#[tokio::test]
async fn the_inventory_view_shows_levels_and_active_reservations() {
    let app = App::new();
    app.stock("TEE", 10).await;
    app.stock("MUG", 4).await;
    let reservation = ReservationId::from_uuid(Uuid::from_u128(0xBEEF));
    let expires_at = app.clock.now() + Duration::minutes(15);
    let line = |sku: &str, n: i64| ReservationLine {
        sku: Sku::new(sku).unwrap(),
        quantity: Quantity::new(n).unwrap(),
    };
    app.backend
        .inventory
        .reserve(&ReservationRequest {
            id: reservation,
            location: LocationId::main(),
            lines: vec![line("TEE", 3), line("MUG", 1)],
            expires_at,
        })
        .await
        .unwrap();

    let held = app.admin_get("/inventory/TEE").await.json();
    let shrink = app
        .admin(Method::POST, "/inventory/TEE/adjustments", Some(&json!({"delta": -8})), None)
        .await;
    app.backend.inventory.release(reservation).await.unwrap();
    let released = app.admin_get("/inventory/TEE").await.json();

    assert_eq!(held["levels"][0]["on_hand"], 10);
    assert_eq!(held["levels"][0]["reserved"], 3);
    assert_eq!(held["levels"][0]["available"], 7);
    let reservations = held["reservations"].as_array().unwrap();
    assert_eq!(reservations.len(), 1);
    assert_eq!(reservations[0]["id"], reservation.to_string());
    assert_eq!(reservations[0]["status"], "active");
    assert_eq!(reservations[0]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        shrink.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "units held by a reservation cannot be written off"
    );
    assert_eq!(released["reservations"], json!([]));
    assert_eq!(released["levels"][0]["reserved"], 0);
}

#[tokio::test]
async fn a_sku_without_stock_records_has_an_empty_view() {
    let app = App::new();

    let reply = app.admin_get("/inventory/NEW-SKU").await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"sku": "NEW-SKU", "levels": [], "reservations": []}));
}
