//! Order and quote totals read as a receipt: `subtotal − discount_total + shipping_total +
//! tax_total = grand_total` (prices exclusive of tax), with shipping's price, discount and
//! tax given apart and the promotions named.

use std::str::FromStr;

use axum::http::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shopkit_core::ids::{CouponCode, PromotionId, RegionCode, ShippingMethodId};
use shopkit_core::ports::{PricingSettings, PromotionRepository};
use shopkit_core::pricing::{Promotion, PromotionKind, ShippingPrice, ShippingRate, TaxRate};
use uuid::Uuid;

use crate::common::*;
use crate::storefront_support::*;

fn amount(money: &Value) -> Decimal {
    Decimal::from_str(money["amount"].as_str().unwrap_or_else(|| panic!("no amount: {money}")))
        .unwrap()
}

/// Asserts `subtotal − discount_total + shipping_total + tax_total = grand_total`.
fn assert_receipt(totals: &Value) {
    let sum = amount(&totals["subtotal"]) - amount(&totals["discount_total"])
        + amount(&totals["shipping_total"])
        + amount(&totals["tax_total"]);
    assert_eq!(sum, amount(&totals["grand_total"]), "not a receipt: {totals:#}");
}

/// A 0.99 pin, `standard` shipping at 4.99 to the US, 7.25 % California tax added on top
/// (on shipping too when `tax_shipping`), and a `FREESHIP` free-shipping coupon.
async fn pin_shop(tax_shipping: bool) -> App {
    let app = shop();
    product(&app, "Pin", &[("PIN", 99)], &[], &[]).await;
    app.stock("PIN", 100).await;
    let mut settings = PricingSettings::default();
    settings.shipping.rates.push(
        ShippingRate::new(
            ShippingMethodId::new("standard").unwrap(),
            "Standard",
            ShippingPrice::Flat(usd(4_99)),
        )
        .unwrap()
        .serving(vec![RegionCode::new("US").unwrap()]),
    );
    settings.taxes.rates.push(
        TaxRate::new(RegionCode::new("US-CA").unwrap(), Decimal::new(725, 4), "CA sales tax")
            .unwrap(),
    );
    settings.taxes.prices_include_tax = false;
    settings.taxes.tax_shipping = tax_shipping;
    app.backend.promotions.save_settings(&settings).await.unwrap();
    let free_shipping = Promotion::builder(
        PromotionId::from_uuid(Uuid::new_v4()),
        "Free shipping",
        PromotionKind::FreeShipping,
    )
    .coupon(CouponCode::new("FREESHIP").unwrap())
    .build()
    .unwrap();
    app.backend.promotions.upsert(&free_shipping).await.unwrap();
    app
}

/// A guest cart of `units` pins shipped to California by `standard`, with `coupons`.
async fn pin_cart(app: &App, units: i64, coupons: &[&str]) -> (String, String) {
    let (cart, token) = guest_cart(app).await;
    let guest = Who::Guest(&token);
    assert_eq!(add(app, &cart, &guest, "PIN", units).await.status, StatusCode::OK);
    for code in coupons {
        let uri = format!("/api/v1/carts/{cart}/coupons");
        let applied =
            call(app, Method::POST, &uri, Some(&json!({"code": code})), &guest, &[]).await;
        assert_eq!(applied.status, StatusCode::OK, "{}", String::from_utf8_lossy(&applied.body));
    }
    let delivery = json!({"address": california(), "shipping_method": "standard"});
    let uri = format!("/api/v1/carts/{cart}/delivery");
    assert_eq!(call(app, Method::PUT, &uri, Some(&delivery), &guest, &[]).await.status, 200);
    (cart, token)
}

async fn quote_of(app: &App, cart: &str, who: &Who<'_>) -> Value {
    let reply =
        call(app, Method::GET, &format!("/api/v1/carts/{cart}/quote"), None, who, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

#[tokio::test]
async fn a_free_shipping_order_reads_as_a_receipt() {
    let app = pin_shop(false).await;
    let (cart, token) = pin_cart(&app, 1, &["FREESHIP"]).await;
    let guest = Who::Guest(&token);

    let quote = quote_of(&app, &cart, &guest).await;
    let placed = checkout_as_is(&app, &cart, &guest, "k1", "pm_card_visa").await;

    assert_eq!(placed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&placed.body));
    let totals = &placed.json()["totals"];
    // 0.99 − 4.99 + 4.99 + 0.07 = 1.06: the shipping waived is shown at its price.
    assert_eq!(totals["subtotal"]["amount"], "0.99");
    assert_eq!(totals["discount_total"]["amount"], "4.99");
    assert_eq!(totals["shipping_total"]["amount"], "4.99");
    assert_eq!(totals["tax_total"]["amount"], "0.07");
    assert_eq!(totals["grand_total"]["amount"], "1.06");
    assert_eq!(totals["shipping"]["price"]["amount"], "4.99");
    assert_eq!(totals["shipping"]["discount"]["amount"], "4.99");
    assert_eq!(totals["shipping"]["tax"]["amount"], "0.00");
    assert_eq!(totals["shipping"]["total"]["amount"], "0.00");
    assert_eq!(totals["applied_promotions"][0]["name"], "Free shipping");
    assert_eq!(totals["applied_promotions"][0]["coupon"], "FREESHIP");
    assert_eq!(totals["applied_promotions"][0]["amount"]["amount"], "4.99");
    assert_eq!(totals["prices_include_tax"], false);
    assert_receipt(totals);
    assert_eq!(quote["shipping_total"]["amount"], "4.99");
    assert_receipt(&quote);
}

#[tokio::test]
async fn taxed_shipping_counts_its_tax_once() {
    let app = pin_shop(true).await;
    let (cart, token) = pin_cart(&app, 20, &[]).await;
    let guest = Who::Guest(&token);

    let quote = quote_of(&app, &cart, &guest).await;
    let placed = checkout_as_is(&app, &cart, &guest, "k1", "pm_card_visa").await;

    assert_eq!(placed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&placed.body));
    let totals = &placed.json()["totals"];
    // Lines 19.80, tax 1.44; shipping 4.99, tax 0.36 (7.25 % of 4.99 = 0.3618).
    assert_eq!(totals["subtotal"]["amount"], "19.80");
    assert_eq!(totals["shipping_total"]["amount"], "4.99", "shipping before its tax");
    assert_eq!(totals["shipping"]["tax"]["amount"], "0.36");
    assert_eq!(totals["shipping"]["total"]["amount"], "5.35");
    assert_eq!(totals["tax_total"]["amount"], "1.80");
    assert_eq!(totals["grand_total"]["amount"], "26.59");
    assert_eq!(totals["applied_promotions"], json!([]));
    assert_receipt(totals);
    assert_receipt(&quote);
}
