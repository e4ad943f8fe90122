//! The OpenAPI document lists every route, with the problem schema and the auth schemes,
//! and every documented route is really routed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use shopkit_http::HttpConfig;

use crate::common::*;

async fn spec(app: &App) -> Value {
    let reply = app.send(get("/api/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_every_route() {
    let app = App::new();

    let spec = spec(&app).await;

    assert_eq!(spec["openapi"], "3.1.0");
    let listed: Vec<(String, String)> =
        operations(&spec).into_iter().map(|(m, p, _)| (m, p)).collect();
    for expected in [
        ("GET", "/api/v1/products"),
        ("GET", "/api/v1/products/{product}"),
        ("GET", "/api/v1/categories"),
        ("POST", "/api/v1/auth/sign-up"),
        ("POST", "/api/v1/auth/sign-in"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/sign-out"),
        ("POST", "/api/admin/v1/products"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    ] {
        assert!(
            listed.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {listed:?}"
        );
    }
    assert_eq!(spec, serde_json::to_value(shopkit_http::openapi()).unwrap(), "served = generated");
}

#[tokio::test]
async fn every_operation_answers_errors_with_the_problem_schema() {
    let app = App::new();
    let spec = spec(&app).await;

    for (method, path, operation) in operations(&spec) {
        let default = &operation["responses"]["default"]["content"]["application/problem+json"];
        assert_eq!(default["schema"]["$ref"], "#/components/schemas/Problem", "{method} {path}");
        for status in ["429", "500", "503"] {
            assert!(operation["responses"][status].is_object(), "{method} {path} lacks {status}");
        }
        if path.starts_with("/api/admin/") {
            assert!(operation["responses"]["401"].is_object(), "{method} {path} lacks 401");
            assert!(operation["responses"]["403"].is_object(), "{method} {path} lacks 403");
            assert!(operation["security"].to_string().contains("bearer"), "{method} {path}");
        }
    }
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cart_token"]["name"], "X-Cart-Token");
    let problem = &spec["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail", "code"] {
        assert!(problem["properties"][member].is_object(), "Problem.{member}");
    }
    let codes = spec["components"]["schemas"]["ProblemCode"].to_string();
    assert!(codes.contains("out_of_stock") && codes.contains("idempotency_key_reused"));
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    // No rate limit: the document has more operations than the default burst.
    let app = App::with_config(HttpConfig { rate_limit_per_second: 0, ..HttpConfig::default() });
    let spec = spec(&app).await;

    for (method, path, _) in operations(&spec) {
        // Fill every path parameter with a well-formed value so the request reaches its
        // handler (a 400 for a malformed id would prove nothing about routing).
        let uri = fill_path_parameters(&path);
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();

        let reply = app.send(request).await;

        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_ne!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{method} {uri}");
        if reply.status == StatusCode::NOT_FOUND {
            assert_ne!(reply.problem()["code"], "route_not_found", "{method} {uri}");
        }
        if reply.status == StatusCode::BAD_REQUEST {
            assert_ne!(reply.problem()["code"], "invalid_path", "{method} {uri}");
        }
    }
}

/// `{name}` segments replaced by a value of the right shape: a UUID for ids, a slug or
/// code otherwise.
fn fill_path_parameters(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("product") | Some("id") | Some("cart_id") | Some("line_id") | Some("order_id")
            | Some("refund_id") | Some("event_id") | Some("address_id") => {
                "01939a3e-8f1c-7cc0-8000-000000000001".to_owned()
            }
            Some("sku") => "SKU-1".to_owned(),
            Some("code") => "SAVE10".to_owned(),
            Some("key") => "products/p1/front.jpg".to_owned(),
            Some(_) => "some-value".to_owned(),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_docs_page_loads_the_document() {
    let app = App::new();

    let reply = app.send(get("/api/docs")).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    assert!(String::from_utf8_lossy(&reply.body).contains("openapi.json"));
}
