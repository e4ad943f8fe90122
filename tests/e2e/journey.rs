//! The whole customer journey through the real shop's HTTP API: browse, search, a guest
//! cart merged at sign-in, a coupon, an idempotent checkout, shipping, a return refunded,
//! and the emails that tell the customer about each step.
//!
//! Run with: `cargo test --all-features --test e2e journey::`

use std::time::Duration;

use crate::support::{MUG, PASSWORD, TEE, TestApp, Who, spawn_app, text};
use reqwest::StatusCode;
use serde_json::json;

/// `sku`'s stock `(on hand, reserved, available)` once the outbox worker has delivered what
/// changes it (a restocking refund goes back from its event): polls every 50 ms until it
/// is `want`, for at most 5 s, and returns what it last saw.
async fn stock_once_delivered(app: &TestApp, sku: &str, want: (i64, i64, i64)) -> (i64, i64, i64) {
    let mut seen = app.stock(sku).await;
    for _ in 0..100 {
        if seen == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = app.stock(sku).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_browses_buys_gets_it_shipped_returns_it_and_is_told_at_every_step() {
    let app = spawn_app().await;

    // Browse: the list, then the product by slug, cacheable with an ETag.
    let list = app.get("/api/v1/products?currency=USD", Who::Anonymous).await;
    let page = list.expect(StatusCode::OK);
    let slugs: Vec<&str> =
        page["items"].as_array().unwrap().iter().filter_map(|p| p["slug"].as_str()).collect();
    assert!(slugs.contains(&TEE.slug) && slugs.contains(&MUG.slug), "{page}");
    let detail_path = format!("/api/v1/products/{}?currency=USD", TEE.slug);
    let detail = app.get(&detail_path, Who::Anonymous).await;
    let product = detail.expect(StatusCode::OK);
    assert_eq!(product["variants"][0]["sku"], TEE.sku);
    assert_eq!(product["variants"][0]["prices"][0], json!({"amount": "25.00", "currency": "USD"}));
    let etag = detail.header("etag").expect("a catalog read has an ETag").to_owned();
    let revalidated = app
        .send(
            app.request(reqwest::Method::GET, &detail_path, Who::Anonymous)
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED, "{}", revalidated.text);
    assert!(revalidated.text.is_empty(), "a 304 has no body");
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));

    // Search finds the tee by a word of its description.
    let found = app
        .get("/api/v1/search?q=organic&currency=USD", Who::Anonymous)
        .await
        .expect(StatusCode::OK);
    let hits: Vec<&str> =
        found["items"].as_array().unwrap().iter().filter_map(|p| p["slug"].as_str()).collect();
    assert_eq!(hits, [TEE.slug], "{found}");
    assert_eq!(found["total"], 1);

    // A guest fills a cart with two tees...
    let guest = app.guest_cart().await;
    app.add_line(&guest.id, guest.who(), TEE.sku, 2).await.expect(StatusCode::OK);

    // ...signs up, and puts a mug in the account's own cart (on another device)...
    let ann = app.sign_up("ann@example.com").await;
    let account_cart = text(&app.customer_cart(&ann.token).await["id"]);
    let other_device = Who::Bearer(&ann.token);
    app.add_line(&account_cart, other_device, MUG.sku, 1).await.expect(StatusCode::OK);

    // ...then signs in with the guest cart's token: the guest cart joins the account's.
    let token = app.sign_in(&ann.email, PASSWORD, Some(&guest.token)).await;
    let me = Who::Bearer(&token);
    let cart = app.customer_cart(&token).await;
    let cart_id = text(&cart["id"]);
    assert_eq!(cart_id, account_cart, "the account's cart is the one that stays open");
    let mut lines: Vec<(String, u64)> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (text(&l["sku"]), l["quantity"].as_u64().unwrap()))
        .collect();
    lines.sort();
    assert_eq!(lines, [(MUG.sku.to_owned(), 1), (TEE.sku.to_owned(), 2)], "{cart}");
    let merged = app.cart(&guest.id, guest.who()).await.expect(StatusCode::OK);
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merged_into"], cart["id"]);
    let closed = app.add_line(&guest.id, guest.who(), TEE.sku, 1).await;
    assert_eq!(closed.code(StatusCode::CONFLICT), "cart_closed", "a merged cart is read-only");

    // A coupon created in the back office takes 10 % off.
    let promotion = json!({
        "name": "Ten percent off", "kind": {"type": "percentage", "percent": "10"}, "coupon": "SAVE10"
    });
    app.post("/api/admin/v1/promotions", app.admin(), &promotion).await.expect(StatusCode::CREATED);
    let with_coupon =
        app.post(&format!("/api/v1/carts/{cart_id}/coupons"), me, &json!({"code": "save10"})).await;
    assert_eq!(with_coupon.expect(StatusCode::OK)["coupons"], json!(["SAVE10"]));
    let quote = app.get(&format!("/api/v1/carts/{cart_id}/quote"), me).await.expect(StatusCode::OK);
    // 2 × 25.00 + 12.50 = 62.50, less 10 % = 56.25.
    assert_eq!(quote["subtotal"]["amount"], "62.50", "{quote}");
    assert_eq!(quote["discount_total"]["amount"], "6.25", "{quote}");
    let grand_total = quote["grand_total"].clone();

    // Tees ship: Ann picks one of the shipping methods for her cart and gives her address.
    let methods = app.get(&format!("/api/v1/carts/{cart_id}/shipping-methods"), me).await;
    let methods = methods.expect(StatusCode::OK);
    assert_eq!(methods["shipping_methods"][0]["id"], "standard", "{methods}");
    assert_eq!(methods["shipping_methods"][0]["total"]["amount"], "0.00", "{methods}");
    app.ship(&cart_id, me).await;

    // Checkout, then the very same request again: one order, one authorization.
    let placed = app.checkout(&cart_id, me, "journey-checkout-1", &ann.email).await;
    let order = placed.expect(StatusCode::CREATED);
    assert_eq!(placed.header("idempotent-replayed"), None, "the first response is no replay");
    let replayed = app.checkout(&cart_id, me, "journey-checkout-1", &ann.email).await;
    assert_eq!(replayed.status, StatusCode::CREATED, "{}", replayed.text);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.json()["id"], order["id"], "the replay names the same order");
    assert_eq!(replayed.text, placed.text, "the replay is the first response");
    assert_eq!(app.memory.payments.authorizations(), 1, "one authorization at the gateway");
    assert_eq!(order["totals"]["grand_total"], grand_total, "the order charges the quote");
    assert_eq!(order["coupons"], json!(["SAVE10"]));
    let order_id = text(&order["id"]);
    let order_path = format!("/api/v1/orders/{order_id}");
    assert_eq!(placed.header("location"), Some(order_path.as_str()));
    assert_eq!(app.stock(TEE.sku).await, (8, 0, 8), "two tees left the stock");

    // The customer sees the order as placed, with its history.
    let seen = app.get(&order_path, me).await.expect(StatusCode::OK);
    assert_eq!(seen["status"], "placed");
    assert_eq!(seen["history"][0]["to"], "placed", "{seen}");
    assert_eq!(seen["payment"]["status"], "authorized");

    // The back office ships everything with tracking (capturing the payment first).
    let shipment = json!({"tracking": {"carrier": "DHL", "number": "JD014600006281", "url": null}});
    let shipped = app
        .post_idempotent(
            &format!("/api/admin/v1/orders/{order_id}/shipments"),
            app.admin(),
            "ship-1",
            &shipment,
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(shipped["status"], "fulfilled", "{shipped}");
    let reference = text(&shipped["payment"]["reference"]);
    let seen = app.get(&order_path, me).await.expect(StatusCode::OK);
    assert_eq!(seen["status"], "fulfilled");
    assert_eq!(seen["payment"]["status"], "captured");
    assert_eq!(seen["shipments"][0]["tracking"]["number"], "JD014600006281");
    let history: Vec<&str> =
        seen["history"].as_array().unwrap().iter().filter_map(|h| h["to"].as_str()).collect();
    assert_eq!(history, ["placed", "paid", "fulfilled"], "{seen}");
    let fulfilled_note = seen["history"][2]["note"].as_str().unwrap_or_default();
    assert!(fulfilled_note.contains("JD014600006281"), "the history keeps the tracking: {seen}");

    // The customer returns one tee; the back office approves and pays it back.
    let tee_line = seen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == TEE.sku)
        .expect("the tee line")
        .clone();
    let return_request =
        json!({"lines": [{"line_id": tee_line["id"], "quantity": 1}], "reason": "too small"});
    let requested = app
        .post_idempotent(&format!("{order_path}/returns"), me, "return-1", &return_request)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(requested["status"], "requested");
    // One tee of a line of two at 25.00 less 10 %: 22.50.
    assert_eq!(requested["amount"], json!({"amount": "22.50", "currency": "USD"}));
    let refund_id = text(&requested["id"]);
    let refund_admin = format!("/api/admin/v1/refunds/{refund_id}");
    let approved = app.post(&format!("{refund_admin}/approve"), app.admin(), &json!({})).await;
    assert_eq!(approved.expect(StatusCode::OK)["status"], "approved");
    let processed = app
        .post_idempotent_empty(&format!("{refund_admin}/process"), app.admin(), "process-1")
        .await
        .expect(StatusCode::OK);
    assert_eq!(processed["status"], "processed", "{processed}");
    let refund = app.get(&format!("/api/v1/refunds/{refund_id}"), me).await.expect(StatusCode::OK);
    assert_eq!(refund["status"], "processed");
    let payment = app.memory.payments.payment(&reference).expect("the gateway knows the payment");
    assert_eq!(payment.refunded.amount().to_string(), "22.50", "the gateway paid back the tee");
    assert_eq!(payment.captured.amount().to_string(), text(&grand_total["amount"]));
    let seen = app.get(&order_path, me).await.expect(StatusCode::OK);
    assert_eq!(seen["payment"]["status"], "partially_refunded");
    assert_eq!(seen["payment"]["refunded"]["amount"], "22.50");
    assert_eq!(
        stock_once_delivered(&app, TEE.sku, (9, 0, 9)).await,
        (9, 0, 9),
        "the returned tee is back in stock"
    );

    // Every step was told by email, delivered by the outbox worker.
    let short = &order_id[..8];
    let confirmed = format!("order {short} confirmed");
    let shipped_subject = format!("order {short} has shipped");
    let sent = app
        .wait_for_emails(
            &ann.email,
            &["Welcome to", &confirmed, &shipped_subject, "your refund of"],
        )
        .await;
    let shipped_mail = sent.iter().find(|m| m.message.subject.contains(&shipped_subject)).unwrap();
    assert!(shipped_mail.message.text.contains("JD014600006281"), "{}", shipped_mail.message.text);
    let refund_mail = sent.iter().find(|m| m.message.subject.contains("your refund of")).unwrap();
    assert!(refund_mail.message.subject.contains("22.50"), "{}", refund_mail.message.subject);
    assert_eq!(
        sent.len(),
        4,
        "one email per step: {:?}",
        sent.iter().map(|m| &m.message.subject).collect::<Vec<_>>()
    );

    app.shutdown().await;
}
