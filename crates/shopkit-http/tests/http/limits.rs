//! Rate limiting and CORS.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use shopkit_http::HttpConfig;

use crate::common::*;

fn strict() -> HttpConfig {
    HttpConfig { rate_limit_per_second: 1, rate_limit_burst: 2, ..HttpConfig::default() }
}

/// A request from `peer`, as `shopkit_http::serve` hands it to the router.
fn from_peer(peer: &str) -> Request<Body> {
    let mut request = get("/api/v1/categories");
    let addr: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

#[tokio::test]
async fn a_client_over_its_burst_gets_429_with_retry_after() {
    let app = App::with_config(strict());

    let first = app.send(from_peer("192.0.2.1:40000")).await;
    let second = app.send(from_peer("192.0.2.1:40001")).await;
    let third = app.send(from_peer("192.0.2.1:40002")).await;
    let other_client = app.send(from_peer("192.0.2.9:40000")).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.problem()["code"], "rate_limited");
    assert_eq!(third.header("retry-after"), Some("1"));
    assert_eq!(other_client.status, StatusCode::OK, "another client has its own bucket");
}

#[tokio::test]
async fn without_a_client_address_requests_are_not_lumped_into_one_bucket() {
    // Served by plain `axum::serve` (no ConnectInfo) and no trusted proxy: the limiter
    // cannot tell clients apart, so it does not refuse them all together (it logs why).
    let app = App::with_config(strict());

    for _ in 0..5 {
        assert_eq!(app.send(get("/api/v1/categories")).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_limited_separately() {
    let app = App::with_config(HttpConfig { trusted_proxy_hops: 1, ..strict() });
    let from = |ip: &str| get_with("/api/v1/categories", &[("x-forwarded-for", ip)]);

    app.send(from("192.0.2.1")).await;
    app.send(from("192.0.2.1")).await;
    let ann = app.send(from("192.0.2.1")).await;
    let bob = app.send(from("192.0.2.2")).await;

    assert_eq!(ann.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(bob.status, StatusCode::OK);
}

#[tokio::test]
async fn health_probes_are_not_rate_limited() {
    let app = App::with_config(strict());

    for _ in 0..5 {
        assert_eq!(app.send(get("/healthz")).await.status, StatusCode::OK);
    }
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v1/products")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, idempotency-key")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_allowed_origin_passes_the_preflight_and_others_do_not() {
    let app = App::with_config(HttpConfig {
        cors_allowed_origins: vec!["https://shop.example.com".into(), "tauri://localhost".into()],
        ..HttpConfig::default()
    });

    let web = app.send(preflight("https://shop.example.com")).await;
    let desktop = app.send(preflight("tauri://localhost")).await;
    let evil = app.send(preflight("https://evil.example")).await;

    assert_eq!(web.header("access-control-allow-origin"), Some("https://shop.example.com"));
    assert!(web.header("access-control-allow-headers").unwrap().contains("idempotency-key"));
    assert_eq!(desktop.header("access-control-allow-origin"), Some("tauri://localhost"));
    assert_eq!(evil.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn cors_headers_expose_what_clients_need_to_read() {
    let app = App::with_config(HttpConfig {
        cors_allowed_origins: vec!["*".into()],
        ..HttpConfig::default()
    });

    let reply =
        app.send(get_with("/api/v1/categories", &[("origin", "https://any.example")])).await;

    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let exposed = reply.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    for header in ["etag", "retry-after", "x-request-id", "idempotent-replayed"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}

#[tokio::test]
async fn without_configured_origins_there_are_no_cors_headers() {
    let app = App::new();

    let reply = app.send(preflight("https://shop.example.com")).await;

    assert_eq!(reply.header("access-control-allow-origin"), None);
}
