//! Run with: `cargo run --example quickstart`
//!
//! A whole shop in memory: browse -> cart -> coupon -> delivery -> checkout -> ship -> refund.
use rust_decimal::Decimal;
use shopkit::core::catalog::ProductStatus::Active;
use shopkit::core::customers::Address;
use shopkit::core::ids::{CouponCode, Email, IdempotencyKey, LocationId, PromotionId};
use shopkit::core::ids::{RegionCode, ShippingMethodId, Sku};
use shopkit::core::inventory::BackorderPolicy::Deny;
use shopkit::core::money::{Currency::USD, Money};
use shopkit::core::orders::{RefundRequest, Tracking};
use shopkit::core::ports::{PaymentMethodToken, PricingSettings, PromotionRepository};
use shopkit::core::pricing::{Promotion, PromotionKind::Percentage, ShippingPrice, ShippingRate};
use shopkit::core::quantity::Quantity;
use shopkit::core::services::Visibility;
use shopkit::core::services::{Caller::Admin, CartAccess, CheckoutRequest, Delivery};
use shopkit::core::services::{ProductDraft, ProductListing, ShipmentRequest, VariantDraft};
use shopkit::memory::InMemory;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = InMemory::new();
    let shop = backend.shop()?;

    // Back office: a product, its stock and a 10% coupon.
    let sku = Sku::new("TEE-BLACK-M")?;
    let price = vec![Money::from_minor(2500, USD)];
    let variant = VariantDraft::new(sku.clone(), "Black / M", price);
    let tee = ProductDraft::new("Organic Tee", vec![variant]).with_status(Active);
    shop.catalog().create_product(tee).await?;
    shop.inventory().set_stock(&sku, &LocationId::main(), 10, Deny).await?;
    let id = PromotionId::from_uuid(backend.ids.uuid());
    let welcome = Promotion::builder(id, "Welcome", Percentage(Decimal::TEN));
    let welcome = welcome.coupon(CouponCode::new("WELCOME10")?).build()?;
    backend.promotions.upsert(&welcome).await?;
    // Standard shipping, 4.99 anywhere in the US.
    let standard = ShippingMethodId::new("standard")?;
    let flat = ShippingPrice::Flat(Money::from_minor(499, USD));
    let rate = ShippingRate::new(standard, "Standard", flat)?.serving(vec![RegionCode::new("US")?]);
    let mut settings = PricingSettings::default();
    settings.shipping.rates.push(rate);
    backend.promotions.save_settings(&settings).await?;

    // Browse.
    let listing = ProductListing { limit: 10, ..Default::default() };
    for p in shop.catalog().list(listing, Visibility::Storefront).await?.items {
        println!("browse: {} (/{}) from {:?}", p.title, p.slug, p.price_from(USD));
    }

    // A guest cart with two tees and the coupon; the server prices it.
    let cart = shop.carts().create_guest_cart(USD).await?;
    let (cart_id, access) = (cart.id(), CartAccess::Token(cart.token().clone()));
    shop.carts().add_line(cart_id, &access, sku.clone(), Quantity::new(2)?).await?;
    let coupon = CouponCode::new("welcome10")?;
    shop.carts().apply_coupon(cart_id, &access, coupon).await?;

    // Tees ship: an address, then one of the shipping methods that serve it.
    let address = Address {
        id: None,
        name: "Ann Lee".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Springfield".into(),
        postal_code: "62701".into(),
        region: RegionCode::new("US-IL")?,
        phone: None,
    };
    let to = Delivery { address: Some(address), method: None };
    shop.carts().set_delivery(cart_id, &access, to.clone()).await?;
    let options = shop.carts().shipping_options(cart_id, &access).await?;
    for o in &options {
        println!("shipping: {} ({}) {}", o.shipping.name, o.shipping.method, o.shipping.total);
    }
    let method = options.first().map(|o| o.shipping.method.clone());
    shop.carts().set_delivery(cart_id, &access, Delivery { method, ..to }).await?;
    let q = shop.carts().quote(cart_id, &access).await?;
    let (sub, off, total) = (q.subtotal(), q.discount_total(), q.grand_total());
    println!("cart: subtotal {sub}, discount {off}, total {total}");

    // Checkout, retried with the same key: one order, one charge.
    let request = CheckoutRequest {
        cart_id,
        access,
        email: Email::new("ann@example.com")?,
        payment_method: PaymentMethodToken("pm_card_visa".into()),
        expected_total: None,
        idempotency_key: IdempotencyKey::new("checkout-1")?,
    };
    let order = shop.checkout().checkout(request.clone()).await?;
    let again = shop.checkout().checkout(request).await?;
    let (id, total) = (order.id(), order.totals().grand_total);
    println!("checkout: order {id} for {total}; retry, same order: {}", again.id() == id);

    // Back office ships it; the customer returns one tee; the refund is paid back.
    let tracking = Tracking { carrier: "DHL".into(), number: "JD0001".into(), url: None };
    let shipment = ShipmentRequest::remaining(Some(tracking));
    let order = shop.orders().fulfil(&Admin, id, shipment).await?;
    println!("ship: order is {}", order.status().as_str());
    let units = vec![(order.lines()[0].id, Quantity::ONE)];
    let refund = shop.refunds().request(&Admin, id, RefundRequest::returning(units, "too small"));
    let refund = shop.refunds().approve_and_process(&Admin, refund.await?.id).await?;
    println!("refund: {} {}", refund.amount, refund.status.as_str());

    // The outbox delivers the events: emails, ledger, CRM, analytics.
    let report = shop.dispatcher(backend.subscribers("Quickstart Shop")).run_once().await?;
    println!("events delivered: {}", report.delivered);
    for sent in backend.notifier.sent() {
        println!("email to {}: {}", sent.message.to, sent.message.subject);
    }
    let stock = shop.inventory().levels(&[sku]).await?;
    println!("stock: {} on hand (10 - 2 sold + 1 restocked)", stock[0].on_hand);
    Ok(())
}
