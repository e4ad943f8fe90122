//! Media uploads: raw bytes with their content type, keys with slashes, size limits.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use shopkit_core::ports::{Clock, IdentityProvider, MediaStore};
use shopkit_core::services::{
    EventLogService, MediaService, PromotionService, RecommendationService,
};
use shopkit_http::{AppState, HttpConfig};
use shopkit_memory::MemoryMediaStore;

use crate::admin_support::*;
use crate::common::*;

fn upload(
    token: &str,
    key: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    let authorization = bearer(token);
    raw(
        Method::PUT,
        &format!("{ADMIN}/media/{key}"),
        bytes,
        content_type,
        &[("authorization", &authorization)],
    )
}

/// The app's router over a media store that takes at most `max_bytes`.
fn with_media_limit(app: &App, max_bytes: u64) -> axum::Router {
    let clock: Arc<dyn Clock> = Arc::new(app.clock.clone());
    let store = Arc::new(MemoryMediaStore::new(clock.clone()).with_max_bytes(max_bytes));
    let backend = &app.backend;
    let identity: Arc<dyn IdentityProvider> = app.identity.clone();
    let state = AppState::builder()
        .shop(backend.shop().unwrap())
        .identity(identity)
        .promotions(PromotionService::new(backend.promotions.clone()))
        .events(EventLogService::new(backend.outbox.clone(), clock.clone()))
        .recommendations(RecommendationService::new(
            backend.recommender.clone(),
            backend.products.clone(),
            clock.clone(),
        ))
        .media(MediaService::new(store, Duration::minutes(15)))
        .idempotency(backend.idempotency.clone())
        .clock(clock)
        .config(HttpConfig::default())
        .build()
        .unwrap();
    shopkit_http::router(state)
}

#[tokio::test]
async fn an_upload_is_stored_under_a_key_with_slashes_and_gets_a_url() {
    let app = App::new();
    let bytes = b"\xFF\xD8\xFF\xE0 not really a jpeg".to_vec();

    let reply =
        app.send(upload(ADMIN_TOKEN, "products/tee/front.jpg", "image/jpeg", bytes.clone())).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    let body = reply.json();
    assert_eq!(body["key"], "products/tee/front.jpg");
    assert_eq!(body["content_type"], "image/jpeg");
    assert_eq!(body["size"], bytes.len());
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    assert!(body["url"].as_str().unwrap().contains("front.jpg"));
    let (stored, content) = app.backend.media.get("products/tee/front.jpg").await.unwrap();
    assert_eq!(content, bytes);
    assert_eq!(stored.content_type, "image/jpeg");
}

#[tokio::test]
async fn an_upload_above_the_body_limit_is_a_413_and_stores_nothing() {
    let app = App::new();
    let too_big = vec![0u8; HttpConfig::default().body_limit_bytes + 1];

    let reply = app.send(upload(ADMIN_TOKEN, "products/tee/huge.jpg", "image/jpeg", too_big)).await;

    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.problem()["code"], "payload_too_large");
    assert!(app.backend.media.get("products/tee/huge.jpg").await.is_err());
}

#[tokio::test]
async fn an_upload_above_the_media_store_limit_is_a_422_naming_the_media() {
    let app = App::new();
    let router = with_media_limit(&app, 8);

    let reply =
        send(&router, upload(ADMIN_TOKEN, "products/tee/front.jpg", "image/jpeg", vec![0u8; 9]))
            .await;
    let fits =
        send(&router, upload(ADMIN_TOKEN, "products/tee/front.jpg", "image/jpeg", vec![0u8; 8]))
            .await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = reply.problem();
    assert_eq!(problem["field"], "media");
    assert!(problem["detail"].as_str().unwrap().contains("8 byte limit"));
    assert_eq!(fits.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_keys_and_missing_content_types_are_refused() {
    let app = App::new();

    let traversal =
        app.send(upload(ADMIN_TOKEN, "products/../secret.jpg", "image/jpeg", vec![1])).await;
    let odd_type = app.send(upload(ADMIN_TOKEN, "a.jpg", "not a type", vec![1])).await;
    let untyped = {
        let authorization = bearer(ADMIN_TOKEN);
        let request = axum::http::Request::put(format!("{ADMIN}/media/a.jpg"))
            .header("authorization", authorization)
            .body(axum::body::Body::from(vec![1u8]))
            .unwrap();
        app.send(request).await
    };
    let customer = app.send(upload(CUSTOMER_TOKEN, "a.jpg", "image/jpeg", vec![1])).await;

    assert_ne!(traversal.status, StatusCode::OK);
    assert!(traversal.status.is_client_error());
    assert_eq!(odd_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(odd_type.problem()["field"], "media");
    assert_eq!(untyped.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(customer.status, StatusCode::FORBIDDEN);
    assert!(app.backend.media.get("a.jpg").await.is_err(), "nothing was stored");
}
