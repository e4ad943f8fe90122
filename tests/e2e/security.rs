//! Security through the real shop's HTTP API: nobody reads or changes another customer's
//! orders, carts or refunds; customers never reach the back office; missing, tampered,
//! foreign and expired tokens are refused; prices and totals sent by a client are ignored.
//!
//! Run with: `cargo test --all-features --test e2e security::`

use crate::support::{Customer, JWT_SIGNING_KEY, MUG, TEE, TestApp, Who, spawn_app, text};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A customer with a paid order (captured by the back office) and a requested return:
/// `(order id, refund id)`.
async fn paid_order_with_a_return(app: &TestApp, customer: &Customer) -> (String, String) {
    let me = Who::Bearer(&customer.token);
    let cart = text(&app.customer_cart(&customer.token).await["id"]);
    app.add_line(&cart, me, TEE.sku, 2).await.expect(StatusCode::OK);
    app.ship(&cart, me).await;
    let order = app.checkout(&cart, me, &format!("buy-{cart}"), &customer.email).await;
    let order = order.expect(StatusCode::CREATED);
    let order_id = text(&order["id"]);
    let capture = format!("/api/admin/v1/orders/{order_id}/capture");
    app.post_idempotent_empty(&capture, app.admin(), &format!("capture-{order_id}"))
        .await
        .expect(StatusCode::OK);
    let body = json!({"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}], "reason": "too big"});
    let returns = format!("/api/v1/orders/{order_id}/returns");
    let refund = app.post_idempotent(&returns, me, &format!("return-{order_id}"), &body).await;
    (order_id, text(&refund.expect(StatusCode::CREATED)["id"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_orders_refunds_and_carts_answer_404_and_stay_untouched() {
    let app = spawn_app().await;
    let ann = app.sign_up("ann@example.com").await;
    let (order, refund) = paid_order_with_a_return(&app, &ann).await;
    let ann_cart = text(&app.customer_cart(&ann.token).await["id"]);
    let line =
        app.add_line(&ann_cart, Who::Bearer(&ann.token), MUG.sku, 1).await.expect(StatusCode::OK);
    let ann_line = text(&line["lines"][0]["id"]);
    let bob = app.sign_up("bob@example.com").await;
    let as_bob = Who::Bearer(&bob.token);
    let before = app.snapshot().await;
    let ann_order_before =
        app.get(&format!("/api/v1/orders/{order}"), Who::Bearer(&ann.token)).await.text;
    let ann_cart_before = app.cart(&ann_cart, Who::Bearer(&ann.token)).await.text;

    let attempts = [
        app.get(&format!("/api/v1/orders/{order}"), as_bob).await,
        app.post(&format!("/api/v1/orders/{order}/cancel"), as_bob, &json!({})).await,
        app.post_idempotent(
            &format!("/api/v1/orders/{order}/returns"),
            as_bob,
            "bob-return",
            &json!({"lines": [{"line_id": ann_line, "quantity": 1}], "reason": "mine now"}),
        )
        .await,
        app.get(&format!("/api/v1/refunds/{refund}"), as_bob).await,
        app.cart(&ann_cart, as_bob).await,
        app.add_line(&ann_cart, as_bob, TEE.sku, 1).await,
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/carts/{ann_cart}/lines/{ann_line}"),
            as_bob,
            &json!({"quantity": 5}),
        )
        .await,
        app.send(app.request(
            Method::DELETE,
            &format!("/api/v1/carts/{ann_cart}/lines/{ann_line}"),
            as_bob,
        ))
        .await,
        app.post(&format!("/api/v1/carts/{ann_cart}/coupons"), as_bob, &json!({"code": "ANY"}))
            .await,
        app.get(&format!("/api/v1/carts/{ann_cart}/quote"), as_bob).await,
        app.checkout(&ann_cart, as_bob, "bob-checkout", &bob.email).await,
    ];

    for reply in &attempts {
        assert_eq!(
            reply.code(StatusCode::NOT_FOUND),
            "not_found",
            "never 403 or 200: {}",
            reply.text
        );
    }
    let bobs_orders = app.get("/api/v1/orders", as_bob).await.expect(StatusCode::OK);
    assert_eq!(bobs_orders["items"], json!([]), "Bob lists no order of Ann's");
    assert_eq!(app.snapshot().await, before, "nothing changed");
    let ann_order_after =
        app.get(&format!("/api/v1/orders/{order}"), Who::Bearer(&ann.token)).await.text;
    assert_eq!(ann_order_after, ann_order_before, "Ann's order is as it was");
    assert_eq!(app.cart(&ann_cart, Who::Bearer(&ann.token)).await.text, ann_cart_before);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_token_of_another_cart_answers_404_and_changes_nothing() {
    let app = spawn_app().await;
    let victim = app.guest_cart().await;
    app.add_line(&victim.id, victim.who(), TEE.sku, 1).await.expect(StatusCode::OK);
    let victim_before = app.cart(&victim.id, victim.who()).await.text;
    let before = app.snapshot().await;
    let intruder = app.guest_cart().await;
    let other = intruder.who();

    let attempts = [
        app.cart(&victim.id, other).await,
        app.add_line(&victim.id, other, MUG.sku, 1).await,
        app.get(&format!("/api/v1/carts/{}/quote", victim.id), other).await,
        app.checkout(&victim.id, other, "intruder-checkout", "eve@example.com").await,
    ];

    for reply in &attempts {
        assert_eq!(reply.code(StatusCode::NOT_FOUND), "not_found", "{}", reply.text);
    }
    assert_eq!(app.cart(&victim.id, victim.who()).await.text, victim_before);
    assert_eq!(app.snapshot().await, before, "no order, no hold, no stock moved");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_on_back_office_routes_is_forbidden_and_changes_nothing() {
    let app = spawn_app().await;
    let order = app.guest_order(TEE.sku, 1, "gus@example.com").await;
    let order_id = text(&order["id"]);
    let ann = app.sign_up("ann@example.com").await;
    let as_ann = Who::Bearer(&ann.token);
    let before = app.snapshot().await;

    let attempts = [
        app.get("/api/admin/v1/orders", as_ann).await,
        app.get(&format!("/api/admin/v1/orders/{order_id}"), as_ann).await,
        app.post_idempotent(
            &format!("/api/admin/v1/orders/{order_id}/shipments"),
            as_ann,
            "ann-ships",
            &json!({}),
        )
        .await,
        app.post_idempotent(
            &format!("/api/admin/v1/orders/{order_id}/cancel"),
            as_ann,
            "ann-cancels",
            &json!({"reason": "because"}),
        )
        .await,
        app.send_json(Method::PUT, &format!("/api/admin/v1/inventory/{}", TEE.sku), as_ann, &json!({"on_hand": 1000}))
            .await,
        app.post(
            "/api/admin/v1/promotions",
            as_ann,
            &json!({"name": "All free", "kind": {"type": "percentage", "percent": "100"}, "coupon": "FREE"}),
        )
        .await,
        app.get("/api/admin/v1/customers", as_ann).await,
        app.get("/api/admin/v1/events", as_ann).await,
    ];

    for reply in &attempts {
        assert_eq!(reply.code(StatusCode::FORBIDDEN), "forbidden", "{}", reply.text);
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");
    let promotions = app.get("/api/admin/v1/promotions", app.admin()).await.expect(StatusCode::OK);
    assert_eq!(promotions["items"], json!([]), "no promotion was created");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_a_401_that_asks_for_a_bearer_token() {
    let app = spawn_app().await;
    let cart = app.guest_cart().await;

    let attempts = [
        app.get("/api/v1/orders", Who::Anonymous).await,
        app.get("/api/v1/me", Who::Anonymous).await,
        app.get("/api/admin/v1/orders", Who::Anonymous).await,
        app.post("/api/admin/v1/products", Who::Anonymous, &json!({})).await,
        app.cart(&cart.id, Who::Anonymous).await,
        app.checkout(&cart.id, Who::Anonymous, "anonymous-checkout", "eve@example.com").await,
    ];

    for reply in &attempts {
        assert_eq!(reply.code(StatusCode::UNAUTHORIZED), "unauthenticated", "{}", reply.text);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "WWW-Authenticate is {challenge:?}");
    }
    app.shutdown().await;
}

/// `token` with one character of its signature changed (not the last one, whose low bits
/// base64url may ignore).
fn with_signature_flipped(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() - 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// The claims of a JWT (not verified).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("the payload is base64url");
    serde_json::from_slice(&bytes).expect("the payload is JSON")
}

/// `token` with its claims replaced and its header and signature kept.
fn with_claims(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// A token over `claims`, signed (HS256) with `key`.
fn signed(claims: &Value, key: &str) -> String {
    let key = EncodingKey::from_secret(key.as_bytes()).expect("an HS256 key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("the claims sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_foreign_and_expired_tokens_are_refused_with_401() {
    let app = spawn_app().await;
    let ann = app.sign_up("ann@example.com").await;
    let real = claims(&ann.token);
    let now = chrono::Utc::now().timestamp();
    let mut as_admin = real.clone();
    as_admin["roles"] = json!(["customer", "admin"]);
    let mut expired = real.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 60);
    let mut fresh = real.clone();
    fresh["iat"] = json!(now);
    fresh["exp"] = json!(now + 600);
    // Control: a token the harness signs with the shop's key is accepted, so the refusals
    // below are about what was changed, not about how the harness signs.
    let minted = signed(&fresh, JWT_SIGNING_KEY);
    let control = app.get("/api/v1/me", Who::Bearer(&minted)).await.expect(StatusCode::OK);
    assert_eq!(control["email"], "ann@example.com");

    let refused = [
        ("a flipped signature character", with_signature_flipped(&ann.token)),
        ("roles raised to admin without re-signing", with_claims(&ann.token, &as_admin)),
        ("expired a minute ago, signed with the shop's key", signed(&expired, JWT_SIGNING_KEY)),
        (
            "valid claims signed with another key",
            signed(&fresh, "an-entirely-different-signing-key-0001"),
        ),
        (
            "admin claims signed with another key",
            signed(&as_admin, "an-entirely-different-signing-key-0001"),
        ),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];

    for (what, token) in &refused {
        for path in ["/api/v1/me", "/api/v1/orders", "/api/admin/v1/orders"] {
            let reply = app.get(path, Who::Bearer(token)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what} on {path}: {}", reply.text);
            assert_eq!(reply.code(StatusCode::UNAUTHORIZED), "unauthenticated", "{what}");
            let challenge = reply.header("www-authenticate").unwrap_or_default();
            assert!(challenge.starts_with("Bearer"), "{what}: WWW-Authenticate is {challenge:?}");
        }
    }
    let real_token = app.get("/api/v1/orders", Who::Bearer(&ann.token)).await;
    assert_eq!(real_token.status, StatusCode::OK, "the untouched token still works");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_and_totals_sent_by_a_client_are_ignored() {
    let app = spawn_app().await;
    let cart = app.guest_cart().await;
    let line = json!({
        "sku": TEE.sku, "quantity": 2, "price": "0.01",
        "unit_price": {"amount": "0.01", "currency": "USD"}, "total": "0.01"
    });

    let added = app.post(&format!("/api/v1/carts/{}/lines", cart.id), cart.who(), &line).await;
    app.ship(&cart.id, cart.who()).await;
    let quote = app.get(&format!("/api/v1/carts/{}/quote", cart.id), cart.who()).await;
    let checkout = json!({
        "cart_id": cart.id, "email": "gus@example.com", "payment_method": "pm_card_visa",
        "total": "0.01", "amount": "0.01", "grand_total": {"amount": "0.01", "currency": "USD"}
    });
    let placed =
        app.post_idempotent("/api/v1/checkout", cart.who(), "cheap-checkout", &checkout).await;

    added.expect(StatusCode::OK);
    let quote = quote.expect(StatusCode::OK);
    assert_eq!(quote["lines"][0]["unit_price"], json!({"amount": "25.00", "currency": "USD"}));
    assert_eq!(quote["grand_total"], json!({"amount": "50.00", "currency": "USD"}), "{quote}");
    let order = placed.expect(StatusCode::CREATED);
    assert_eq!(order["totals"]["grand_total"], json!({"amount": "50.00", "currency": "USD"}));
    assert_eq!(order["lines"][0]["unit_price"]["amount"], "25.00");
    let payments = app.memory.payments.payments();
    assert_eq!(payments.len(), 1);
    assert_eq!(
        payments[0].authorized.amount().to_string(),
        "50.00",
        "the gateway holds the server's total"
    );
    app.shutdown().await;
}
