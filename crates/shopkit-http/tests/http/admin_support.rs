//! Helpers of the back-office tests: admin requests, and orders placed through the
//! checkout service (the storefront's routes are not needed to test the back office).

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use shopkit_core::catalog::ProductStatus;
use shopkit_core::customers::Address;
use shopkit_core::ids::{Email, IdempotencyKey, RegionCode, ShippingMethodId, Sku};
use shopkit_core::money::{Currency, Money};
use shopkit_core::orders::Order;
use shopkit_core::ports::{PaymentMethodToken, PromotionRepository};
use shopkit_core::pricing::{ShippingPrice, ShippingRate};
use shopkit_core::quantity::Quantity;
use shopkit_core::services::{CartAccess, CheckoutRequest, Delivery};

use crate::common::*;

pub(crate) const ADMIN: &str = "/api/admin/v1";

/// A back-office request: bearer `token`, a JSON body when given, an `Idempotency-Key`
/// when given.
pub(crate) fn request_as(
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Request<Body> {
    let authorization = bearer(token);
    let mut headers = vec![("authorization", authorization.as_str())];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let uri = format!("{ADMIN}{path}");
    match body {
        Some(body) => json(method, &uri, body, &headers),
        None => {
            let mut builder = Request::builder().method(method).uri(uri);
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder.body(Body::empty()).unwrap()
        }
    }
}

impl App {
    /// Sends a back-office request as the admin.
    pub(crate) async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Reply {
        self.send(request_as(ADMIN_TOKEN, method, path, body, key)).await
    }

    /// `GET` as the admin.
    pub(crate) async fn admin_get(&self, path: &str) -> Reply {
        self.admin(Method::GET, path, None, None).await
    }

    /// An order placed by the test customer (`customer_id()`), paid by card (authorized,
    /// not captured), for `units` of each SKU: an active product with those SKUs priced
    /// 19.90 EUR, 10 units of each in stock; shipped to Berlin by free `standard` shipping.
    pub(crate) async fn placed_order(&self, units: &[(&str, i64)]) -> Order {
        let skus: Vec<&str> = units.iter().map(|(sku, _)| *sku).collect();
        self.product(&format!("Product {}", skus.join(" ")), &skus, ProductStatus::Active).await;
        for sku in &skus {
            self.stock(sku, 10).await;
        }
        let shop = self.state.shop();
        let cart = shop.carts().cart_for_customer(customer_id(), Currency::EUR).await.unwrap();
        let access = CartAccess::Customer(customer_id());
        for (sku, n) in units {
            let quantity = Quantity::new(*n).unwrap();
            shop.carts()
                .add_line(cart.id(), &access, Sku::new(sku).unwrap(), quantity)
                .await
                .unwrap();
        }
        let standard = ShippingMethodId::new("standard").unwrap();
        let mut settings = self.backend.promotions.settings().await.unwrap();
        if !settings.shipping.rates.iter().any(|r| r.method() == &standard) {
            let free = ShippingPrice::Flat(Money::zero(Currency::EUR));
            settings
                .shipping
                .rates
                .push(ShippingRate::new(standard.clone(), "Standard", free).unwrap());
            self.backend.promotions.save_settings(&settings).await.unwrap();
        }
        let delivery = Delivery { address: Some(berlin()), method: Some(standard) };
        shop.carts().set_delivery(cart.id(), &access, delivery).await.unwrap();
        let request = CheckoutRequest {
            cart_id: cart.id(),
            access,
            email: Email::new("ann@example.com").unwrap(),
            payment_method: PaymentMethodToken("pm_card_visa".into()),
            expected_total: None,
            idempotency_key: IdempotencyKey::new(&format!("checkout-{}", cart.id())).unwrap(),
        };
        shop.checkout().checkout(request).await.unwrap()
    }

    /// Units of `sku` on hand at the main location.
    pub(crate) async fn on_hand(&self, sku: &str) -> i64 {
        let levels = self.state.shop().inventory().levels(&[Sku::new(sku).unwrap()]).await.unwrap();
        levels.iter().map(|l| l.on_hand).sum()
    }
}

/// A complete address in Berlin.
pub(crate) fn berlin() -> Address {
    Address {
        id: None,
        name: "Anna Schmidt".into(),
        line1: "Unter den Linden 1".into(),
        line2: None,
        city: "Berlin".into(),
        postal_code: "10117".into(),
        region: RegionCode::new("DE-BE").unwrap(),
        phone: None,
    }
}

/// The `id` member of a JSON document, as a string.
pub(crate) fn id_of(document: &Value) -> String {
    document["id"].as_str().unwrap_or_else(|| panic!("no id in {document}")).to_owned()
}
