//! The event log: the outbox with attempts and the last error, and redelivery by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use shopkit_core::events::EventEnvelope;
use shopkit_core::ids::Email;
use shopkit_core::ports::{EventSubscriber, SubscriberError};
use shopkit_core::services::Registration;

use crate::admin_support::*;
use crate::common::*;

/// A subscriber that refuses every event for good while `broken`, and counts deliveries.
#[derive(Default)]
struct Crm {
    broken: AtomicBool,
    handled: AtomicUsize,
}

#[async_trait]
impl EventSubscriber for Crm {
    fn name(&self) -> &str {
        "crm"
    }
    async fn handle(&self, _event: &EventEnvelope) -> Result<(), SubscriberError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(SubscriberError::Permanent("no such account in the CRM".into()));
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn register(app: &App, email: &str) {
    let registration = Registration {
        email: Email::new(email).unwrap(),
        first_name: "Cy".into(),
        last_name: "Oh".into(),
        phone: None,
        accepts_marketing: false,
    };
    app.state.shop().customers().register(registration).await.unwrap();
}

async fn deliver(app: &App, crm: &Arc<Crm>) {
    let subscriber: Arc<dyn EventSubscriber> = crm.clone();
    app.state.shop().dispatcher(vec![subscriber]).run_once().await.unwrap();
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

#[tokio::test]
async fn a_dead_event_shows_its_attempts_and_error_and_is_redelivered() {
    let app = App::new();
    register(&app, "cy@example.com").await;
    let crm = Arc::new(Crm { broken: AtomicBool::new(true), ..Crm::default() });

    let pending = app.admin_get("/events?status=pending").await.json();
    deliver(&app, &crm).await;
    let dead = app.admin_get("/events?status=dead").await.json();

    assert_eq!(items(&pending).len(), 1);
    assert_eq!(items(&pending)[0]["type"], "customer_registered");
    assert_eq!(items(&pending)[0]["attempts"], 0);
    assert_eq!(items(&pending)[0]["payload"]["type"], "customer_registered");
    assert_eq!(items(&dead).len(), 1);
    let entry = &items(&dead)[0];
    assert_eq!(entry["status"], "dead");
    assert_eq!(entry["attempts"], 1);
    assert!(entry["last_error"].as_str().unwrap().contains("no such account"));
    let id = id_of(entry);

    crm.broken.store(false, Ordering::SeqCst);
    let redeliver = app.admin(Method::POST, &format!("/events/{id}/redeliver"), None, None).await;
    let queued = app.admin_get("/events?status=pending").await.json();
    deliver(&app, &crm).await;
    let delivered = app.admin_get("/events?status=delivered").await.json();

    assert_eq!(redeliver.status, StatusCode::ACCEPTED);
    assert_eq!(items(&queued).len(), 1);
    assert_eq!(id_of(&items(&queued)[0]), id);
    assert_eq!(items(&delivered).len(), 1);
    assert_eq!(items(&delivered)[0]["delivered_to"], serde_json::json!(["crm"]));
    assert_eq!(crm.handled.load(Ordering::SeqCst), 1);
    assert_eq!(app.admin_get("/events?status=dead").await.json()["items"], serde_json::json!([]));
}

#[tokio::test]
async fn the_log_pages_newest_first() {
    let app = App::new();
    register(&app, "a@example.com").await;
    app.clock.advance(chrono::Duration::seconds(1));
    register(&app, "b@example.com").await;

    let first = app.admin_get("/events?limit=1").await.json();
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = app.admin_get(&format!("/events?limit=1&cursor={cursor}")).await.json();

    assert_eq!(items(&first).len(), 1);
    assert_eq!(items(&second).len(), 1);
    assert!(items(&first)[0]["occurred_at"].as_str() > items(&second)[0]["occurred_at"].as_str());
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn redelivering_an_unknown_event_is_404_and_a_bad_status_filter_is_400() {
    let app = App::new();

    let unknown = app
        .admin(Method::POST, "/events/0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a/redeliver", None, None)
        .await;
    let bad = app.admin_get("/events?status=lost").await;

    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem()["field"], "status");
}
