//! Builders of valid domain values for tests: products with variants and prices, carts,
//! customers, orders placed through [`Order::place`] with reconciling totals, and event
//! envelopes.
//!
//! Every builder makes values unique by default (fresh UUIDs, slugs, SKUs and emails), so
//! a contract can create as many as it needs in one store without clashes, and a real
//! adapter that shares a database between runs still sees new keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use shopkit_core::cart::{Cart, CartPolicy};
use shopkit_core::catalog::{
    AttributeName, AttributeValue, Attributes, Category, Product, ProductStatus,
    ShippingRequirement, Variant,
};
use shopkit_core::customers::Customer;
use shopkit_core::events::{DomainEvent, EventEnvelope};
use shopkit_core::ids::LocationId;
use shopkit_core::ids::{
    CartId, CartToken, CategoryId, CustomerId, Email, EventId, LineId, OrderId, ProductId,
    ReservationId, Sku, Slug, VariantId,
};
use shopkit_core::inventory::{ReservationLine, ReservationRequest};
use shopkit_core::money::{Currency, Money};
use shopkit_core::orders::{NewOrder, Order, OrderLine, OrderTotals, Payment};
use shopkit_core::quantity::Quantity;
use uuid::Uuid;

use crate::support::Must;

/// The instant every contract calls "now" unless it says otherwise: 2030-01-01 00:00 UTC.
///
/// A fixed instant keeps results reproducible; ports take `now` as a parameter, so no
/// contract depends on the wall clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().must("build the fixed instant t0")
}

/// `t0() + seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(seconds)
}

/// A short random lowercase hex string (8 characters), for unique handles.
pub fn unique() -> String {
    Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// A fresh UUID.
pub fn uuid() -> Uuid {
    Uuid::new_v4()
}

/// A SKU from a literal.
///
/// # Panics
/// When `raw` is not a valid SKU (a bug in the calling test).
pub fn sku(raw: &str) -> Sku {
    Sku::new(raw).must("build a SKU")
}

/// A SKU unique to this call (`SKU-1a2b3c4d`).
pub fn unique_sku() -> Sku {
    sku(&format!("SKU-{}", unique()))
}

/// A quantity from a literal.
///
/// # Panics
/// When `n` is not at least 1.
pub fn qty(n: u32) -> Quantity {
    Quantity::new(i64::from(n)).must("build a quantity")
}

/// An amount in minor units: `usd(1999)` is 19.99 USD.
pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A unique email address on the `example.com` domain.
pub fn unique_email() -> Email {
    Email::new(&format!("shopper-{}@example.com", unique())).must("build an email")
}

/// A category handle from a literal.
///
/// # Panics
/// When `raw` is not slug-shaped.
pub fn category_id(raw: &str) -> CategoryId {
    CategoryId::new(raw).must("build a category id")
}

/// An attribute name from a literal.
///
/// # Panics
/// When `raw` is not snake_case.
pub fn attribute(raw: &str) -> AttributeName {
    AttributeName::new(raw).must("build an attribute name")
}

/// A category.
pub fn category(id: &str, name: &str, position: u32) -> Category {
    Category { id: category_id(id), name: name.to_owned(), parent: None, position }
}

/// Starts a product: active, one variant priced 19.99 USD, unique id, slug and SKUs.
pub fn product() -> ProductBuilder {
    let tag = unique();
    ProductBuilder {
        id: ProductId::from_uuid(uuid()),
        slug: format!("product-{tag}"),
        title: format!("Product {tag}"),
        description: "A fixture product.".to_owned(),
        status: ProductStatus::Active,
        categories: Vec::new(),
        attributes: Attributes::new(),
        sku_prefix: format!("P{tag}"),
        skus: None,
        variants: 1,
        prices: vec![usd(1999)],
        at: t0(),
    }
}

/// Builds a [`Product`] for tests; see [`product`] for the defaults.
#[derive(Clone, Debug)]
#[must_use = "call build() to get the product"]
pub struct ProductBuilder {
    id: ProductId,
    slug: String,
    title: String,
    description: String,
    status: ProductStatus,
    categories: Vec<CategoryId>,
    attributes: Attributes,
    sku_prefix: String,
    skus: Option<Vec<Sku>>,
    variants: usize,
    prices: Vec<Money>,
    at: DateTime<Utc>,
}

impl ProductBuilder {
    /// The product id.
    pub fn id(mut self, id: ProductId) -> Self {
        self.id = id;
        self
    }
    /// The slug (must be slug-shaped).
    pub fn slug(mut self, slug: &str) -> Self {
        self.slug = slug.to_owned();
        self
    }
    /// The title.
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.to_owned();
        self
    }
    /// The description.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }
    /// Draft, active or archived.
    pub fn status(mut self, status: ProductStatus) -> Self {
        self.status = status;
        self
    }
    /// Adds a category.
    pub fn category(mut self, id: &str) -> Self {
        self.categories.push(category_id(id));
        self
    }
    /// Sets an attribute.
    pub fn attribute(mut self, name: &str, value: AttributeValue) -> Self {
        self.attributes.insert(attribute(name), value);
        self
    }
    /// `n` variants with SKUs `<prefix>-1 ..= <prefix>-n` (at least 1).
    pub fn variants(mut self, n: usize) -> Self {
        self.variants = n.max(1);
        self
    }
    /// Exactly these SKUs, one variant each (overrides [`Self::variants`]).
    pub fn skus(mut self, skus: &[Sku]) -> Self {
        self.skus = Some(skus.to_vec());
        self
    }
    /// The prices of the first variant, one per currency; variant `k` (from 0) costs
    /// `k × 1` major unit more in each currency, so variants differ.
    pub fn prices(mut self, prices: &[Money]) -> Self {
        self.prices = prices.to_vec();
        self
    }
    /// The creation and update time.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    /// The product, version 0 (not yet stored).
    ///
    /// # Panics
    /// When a handle given to the builder is malformed or the product breaks a catalog rule.
    pub fn build(self) -> Product {
        let skus = self.skus.unwrap_or_else(|| {
            (1..=self.variants).map(|k| sku(&format!("{}-{k}", self.sku_prefix))).collect()
        });
        let variants = skus
            .into_iter()
            .enumerate()
            .map(|(k, sku)| Variant {
                id: VariantId::from_uuid(uuid()),
                title: format!("Variant {}", k + 1),
                options: BTreeMap::from([("size".to_owned(), format!("S{}", k + 1))]),
                prices: self
                    .prices
                    .iter()
                    .map(|p| {
                        let major = 10_i64.pow(p.currency().minor_units());
                        let step = Money::from_minor(k as i64 * major, p.currency());
                        p.checked_add(&step).must("price a variant")
                    })
                    .collect(),
                sku,
                weight_grams: 250,
                shipping: ShippingRequirement::Required,
            })
            .collect();
        let product = Product {
            id: self.id,
            slug: Slug::new(&self.slug).must("build a slug"),
            title: self.title,
            description: self.description,
            status: self.status,
            categories: self.categories,
            attributes: self.attributes,
            media: Vec::new(),
            variants,
            version: 0,
            created_at: self.at,
            updated_at: self.at,
        };
        product.validate().must("build a valid product");
        product
    }
}

/// A fresh guest cart token (32 random bytes, hex).
pub fn cart_token() -> CartToken {
    let raw = format!("{}{}", uuid().simple(), uuid().simple());
    CartToken::new(&raw).must("build a cart token")
}

/// A new, empty USD cart created at `now` with the default policy (version 0).
pub fn cart(customer: Option<CustomerId>, now: DateTime<Utc>) -> Cart {
    Cart::new(
        CartId::from_uuid(uuid()),
        cart_token(),
        customer,
        Currency::USD,
        now,
        &CartPolicy::default(),
    )
}

/// A new USD cart created at `now` holding `lines` (SKU, units) of goods to ship.
///
/// # Panics
/// When a line breaks the default cart policy.
pub fn cart_with_lines(
    customer: Option<CustomerId>,
    now: DateTime<Utc>,
    lines: &[(Sku, u32)],
) -> Cart {
    let mut c = cart(customer, now);
    for (s, n) in lines {
        let shipped = ShippingRequirement::Required;
        c.add_line(
            LineId::from_uuid(uuid()),
            s.clone(),
            qty(*n),
            shipped,
            now,
            &CartPolicy::default(),
        )
        .must("add a line to a fixture cart");
    }
    c
}

/// A new customer with a unique email, registered at `now` (version 0).
pub fn customer(now: DateTime<Utc>) -> Customer {
    customer_with_email(unique_email(), now)
}

/// A new customer with `email`, registered at `now` (version 0).
pub fn customer_with_email(email: Email, now: DateTime<Utc>) -> Customer {
    Customer {
        id: CustomerId::from_uuid(uuid()),
        email,
        first_name: "Ada".to_owned(),
        last_name: "Shopper".to_owned(),
        phone: None,
        addresses: Vec::new(),
        default_address: None,
        groups: Vec::new(),
        accepts_marketing: false,
        version: 0,
        created_at: now,
    }
}

/// An order line: `quantity` units of `sku` at `unit_price`, no discount or tax.
///
/// # Panics
/// On money overflow.
pub fn order_line(sku: Sku, quantity: u32, unit_price: Money) -> OrderLine {
    let subtotal = unit_price.checked_mul(u64::from(quantity)).must("price an order line");
    OrderLine {
        id: LineId::from_uuid(uuid()),
        product_id: ProductId::from_uuid(uuid()),
        title: format!("Item {sku}"),
        sku,
        quantity: qty(quantity),
        unit_price,
        subtotal,
        discount: Money::zero(unit_price.currency()),
        tax: Money::zero(unit_price.currency()),
        total: subtotal,
        fulfilled: 0,
        refunded: 0,
    }
}

/// An order placed at `placed_at` through [`Order::place`]: two USD lines (2 × 10.00 and
/// 1 × 5.50) plus 4.90 shipping, grand total 30.40, authorized in full. Returns the order
/// (version 0) and its `OrderPlaced` event as an envelope.
///
/// # Panics
/// When the totals do not reconcile (a bug in this fixture).
pub fn placed_order(
    customer: Option<CustomerId>,
    placed_at: DateTime<Utc>,
) -> (Order, EventEnvelope) {
    placed_order_with_lines(
        customer,
        placed_at,
        vec![order_line(unique_sku(), 2, usd(1000)), order_line(unique_sku(), 1, usd(550))],
        usd(490),
    )
}

/// An order of `lines` plus `shipping`, placed at `placed_at` through [`Order::place`] with
/// totals computed once here (and checked by `place`).
///
/// # Panics
/// When the lines mix currencies or there are none.
pub fn placed_order_with_lines(
    customer: Option<CustomerId>,
    placed_at: DateTime<Utc>,
    lines: Vec<OrderLine>,
    shipping: Money,
) -> (Order, EventEnvelope) {
    let currency = shipping.currency();
    let subtotal = Money::sum(currency, lines.iter().map(|l| &l.subtotal)).must("sum subtotals");
    let discount_total =
        Money::sum(currency, lines.iter().map(|l| &l.discount)).must("sum discounts");
    let tax_total = Money::sum(currency, lines.iter().map(|l| &l.tax)).must("sum taxes");
    let line_totals = Money::sum(currency, lines.iter().map(|l| &l.total)).must("sum line totals");
    let grand_total = line_totals.checked_add(&shipping).must("add shipping");
    let new = NewOrder {
        id: OrderId::from_uuid(uuid()),
        cart_id: CartId::from_uuid(uuid()),
        customer,
        email: unique_email(),
        currency,
        lines,
        totals: OrderTotals {
            subtotal,
            discount_total,
            shipping_total: shipping,
            tax_total,
            grand_total,
            shipping_discount: Money::zero(currency),
            shipping_tax: Money::zero(currency),
            prices_include_tax: false,
            applied_promotions: Vec::new(),
        },
        shipping_address: None,
        shipping_method: None,
        coupons: Vec::new(),
        payment: Payment {
            reference: format!("pay_{}", unique()),
            authorized: grand_total,
            captured: Money::zero(currency),
            refunded: Money::zero(currency),
            voided: false,
        },
        placed_at,
    };
    let (order, event) = Order::place(new).must("place a fixture order");
    (order, envelope(event, placed_at))
}

/// Wraps an event in an envelope with a fresh id.
pub fn envelope(event: DomainEvent, occurred_at: DateTime<Utc>) -> EventEnvelope {
    EventEnvelope { id: EventId::from_uuid(uuid()), occurred_at, event }
}

/// A small event (`OrderDelivered` of a fresh order id) that occurred at `occurred_at`.
pub fn event(occurred_at: DateTime<Utc>) -> EventEnvelope {
    envelope(DomainEvent::OrderDelivered { order_id: OrderId::from_uuid(uuid()) }, occurred_at)
}

/// `n` events, the `k`-th occurring at `start + k` seconds (oldest first).
pub fn events(n: usize, start: DateTime<Utc>) -> Vec<EventEnvelope> {
    (0..n).map(|k| event(start + Duration::seconds(k as i64))).collect()
}

/// A reservation request at the `main` location for `lines`, expiring at `expires_at`.
pub fn reservation(lines: &[(&Sku, u32)], expires_at: DateTime<Utc>) -> ReservationRequest {
    ReservationRequest {
        id: ReservationId::from_uuid(uuid()),
        location: LocationId::main(),
        lines: lines
            .iter()
            .map(|(s, n)| ReservationLine { sku: (*s).clone(), quantity: qty(*n) })
            .collect(),
        expires_at,
    }
}
