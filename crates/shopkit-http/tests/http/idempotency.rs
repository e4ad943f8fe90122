//! The `Idempotent<T>` extractor, on a test route that creates a product through the
//! catalog service (the storefront's checkout and refund routes use it the same way).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::json;
use shopkit_core::catalog::ProductStatus;
use shopkit_core::services::{ProductDraft, ShopError};
use shopkit_http::dto::{AdminProductDto, CreateProductRequest};
use shopkit_http::{ApiError, AppState, Idempotent};
use tokio::sync::{Notify, Semaphore};

use crate::common::*;

/// How the test route behaves: fails with 503 while `failures` is positive; waits for
/// `release` when `hold` is set (after signalling `entered`).
struct Script {
    runs: AtomicUsize,
    failures: AtomicUsize,
    hold: bool,
    entered: Notify,
    release: Semaphore,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            runs: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
            hold: false,
            entered: Notify::new(),
            release: Semaphore::new(0),
        }
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(script): Extension<Arc<Script>>,
    Idempotent { body, guard }: Idempotent<CreateProductRequest>,
) -> Response {
    script.runs.fetch_add(1, Ordering::SeqCst);
    if script.hold {
        script.entered.notify_one();
        let _permit = script.release.acquire().await;
    }
    let result = async {
        if script.failures.load(Ordering::SeqCst) > 0 {
            script.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::from(ShopError::Unavailable {
                source: Box::new(std::io::Error::other("store down")),
            }));
        }
        let product = state.shop().catalog().create_product(ProductDraft::try_from(body)?).await?;
        Ok((StatusCode::CREATED, Json(AdminProductDto::from(&product))))
    }
    .await;
    guard.finish(result).await
}

fn route(app: &App, script: Arc<Script>) -> Router {
    Router::new()
        .route("/things", post(create))
        .layer(Extension(script))
        .with_state(app.state.clone())
}

async fn post_thing(
    router: &Router,
    key: Option<&str>,
    body: &serde_json::Value,
    token: &str,
) -> Reply {
    let authorization = bearer(token);
    let mut headers = vec![("authorization", authorization.as_str())];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    send(router, json(Method::POST, "/things", body, &headers)).await
}

#[tokio::test]
async fn a_replay_returns_the_first_response_without_running_again() {
    let app = App::new();
    let script = Arc::new(Script::default());
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");

    let first = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;
    let replay = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("content-type"), Some("application/json"));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(script.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn key_order_and_whitespace_do_not_make_another_request() {
    let app = App::new();
    let router = route(&app, Arc::new(Script::default()));
    let body = new_product("Tee", "TEE");
    let reordered: serde_json::Value = serde_json::from_str(
        r#"{ "variants": [{"prices": [{"currency": "EUR", "amount": "19.90"}], "title": "One size", "sku": "TEE"}],
             "status": "active", "title": "Tee" }"#,
    )
    .unwrap();

    post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;
    let replay = post_thing(&router, Some("key-1"), &reordered, CUSTOMER_TOKEN).await;

    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422_and_changes_nothing() {
    let app = App::new();
    let script = Arc::new(Script::default());
    let router = route(&app, script.clone());

    post_thing(&router, Some("key-1"), &new_product("Tee", "TEE"), CUSTOMER_TOKEN).await;
    let other =
        post_thing(&router, Some("key-1"), &new_product("Hat", "HAT"), CUSTOMER_TOKEN).await;

    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.problem()["code"], "idempotency_key_reused");
    assert_eq!(script.runs.load(Ordering::SeqCst), 1);
    let hat = shopkit_core::ids::Slug::new("hat").unwrap();
    let found = app
        .state
        .shop()
        .catalog()
        .product_by_slug(&hat, shopkit_core::services::Visibility::BackOffice)
        .await;
    assert!(found.is_err(), "the second body was not acted on");
}

#[tokio::test]
async fn another_caller_cannot_replay_someone_elses_response() {
    let app = App::new();
    let script = Arc::new(Script::default());
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");

    let first = post_thing(&router, Some("shared-key"), &body, CUSTOMER_TOKEN).await;
    let stranger = post_thing(&router, Some("shared-key"), &body, OTHER_CUSTOMER_TOKEN).await;
    let replay = post_thing(&router, Some("shared-key"), &body, CUSTOMER_TOKEN).await;

    // Keys belong to their caller: the stranger's request is their own, never a replay.
    assert_eq!(stranger.header("idempotent-replayed"), None);
    assert_eq!(script.runs.load(Ordering::SeqCst), 2, "the stranger's request ran");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body, "the first caller still gets their own response");
}

#[tokio::test]
async fn a_missing_or_malformed_key_is_a_400_and_nothing_runs() {
    let app = App::new();
    let script = Arc::new(Script::default());
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");

    let missing = post_thing(&router, None, &body, CUSTOMER_TOKEN).await;
    let malformed = post_thing(&router, Some("has space"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.problem()["code"], "idempotency_key_required");
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.problem()["code"], "invalid_header");
    assert_eq!(script.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_malformed_body_never_claims_the_key() {
    let app = App::new();
    let router = route(&app, Arc::new(Script::default()));
    let authorization = bearer(CUSTOMER_TOKEN);
    let headers = [("authorization", authorization.as_str()), ("idempotency-key", "key-1")];

    let broken =
        send(&router, raw(Method::POST, "/things", "{", "application/json", &headers)).await;
    let fixed =
        post_thing(&router, Some("key-1"), &new_product("Tee", "TEE"), CUSTOMER_TOKEN).await;

    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.problem()["code"], "malformed_json");
    assert_eq!(fixed.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_final_client_error_is_stored_and_replayed_identically() {
    let app = App::new();
    app.product("Tee", &["OLD-TEE"], ProductStatus::Active).await;
    let script = Arc::new(Script::default());
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");

    let first = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;
    let replay = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(first.status, StatusCode::CONFLICT);
    assert_eq!(first.problem()["code"], "already_exists");
    assert_eq!(replay.status, StatusCode::CONFLICT);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(script.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_error_releases_the_key_for_a_retry() {
    let app = App::new();
    let script = Arc::new(Script { failures: AtomicUsize::new(1), ..Script::default() });
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");

    let failed = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;
    let retried = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failed.problem()["code"], "unavailable");
    assert_eq!(retried.status, StatusCode::CREATED);
    assert_eq!(retried.header("idempotent-replayed"), None);
    assert_eq!(script.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_request_still_running_makes_a_retry_wait_with_409() {
    let app = App::new();
    let script = Arc::new(Script { hold: true, ..Script::default() });
    let router = route(&app, script.clone());
    let body = new_product("Tee", "TEE");
    let first = {
        let (router, body) = (router.clone(), body.clone());
        tokio::spawn(async move { post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await })
    };
    script.entered.notified().await;

    let concurrent = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;
    script.release.add_permits(1);
    let first = first.await.unwrap();
    let later = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(concurrent.status, StatusCode::CONFLICT);
    assert_eq!(concurrent.problem()["code"], "idempotency_in_progress");
    assert_eq!(concurrent.header("retry-after"), Some("1"));
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(later.header("idempotent-replayed"), Some("true"));
    assert_eq!(later.body, first.body);
}

#[tokio::test]
async fn the_payload_checks_still_apply() {
    let app = App::new();
    let router = route(&app, Arc::new(Script::default()));
    let mut body = new_product("Tee", "TEE");
    body["variants"][0]["weight_grams"] = json!(-5);

    let reply = post_thing(&router, Some("key-1"), &body, CUSTOMER_TOKEN).await;

    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem()["field"], "variants[0].weight_grams");
}
