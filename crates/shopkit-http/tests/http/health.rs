//! Liveness and readiness probes.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;
use shopkit_http::HttpConfig;

use crate::common::*;

#[tokio::test]
async fn liveness_is_always_ok() {
    let app = App::new();

    let reply = app.send(get("/healthz")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn readiness_is_ok_when_every_check_passes() {
    let app = App::with(
        HttpConfig::default(),
        vec![Arc::new(Check::Ok("memory")), Arc::new(Check::Ok("search"))],
    );

    let reply = app.send(get("/readyz")).await;

    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"][1]["name"], "search");
    assert_eq!(body["checks"][1]["status"], "ok");
}

#[tokio::test]
async fn readiness_is_503_when_a_check_fails_and_names_it_without_the_error() {
    let app = App::with(
        HttpConfig::default(),
        vec![Arc::new(Check::Ok("memory")), Arc::new(Check::Failing("postgres"))],
    );

    let reply = app.send(get("/readyz")).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(
        body["checks"][1],
        json!({"name": "postgres", "status": "failed", "latency_ms": body["checks"][1]["latency_ms"]})
    );
    assert!(!reply.json().to_string().contains("10.0.0.7"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test(start_paused = true)]
async fn a_check_that_hangs_times_out_and_the_others_still_report() {
    let app = App::with(
        HttpConfig::default(),
        vec![Arc::new(Check::Hanging("redis")), Arc::new(Check::Ok("memory"))],
    );

    let reply = app.send(get("/readyz")).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["checks"][0]["status"], "timed_out");
    assert_eq!(body["checks"][1]["status"], "ok");
}
