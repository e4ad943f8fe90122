//! Pricing a cart: the one code path the cart's quote and the checkout share.
//!
//! Unit prices come from the catalog in the cart's currency (never from the cart or the
//! client); the rules are every promotion plus the shop's tax and shipping settings; the
//! arithmetic is [`pricing::quote`](crate::pricing::quote). Checkout charges exactly the
//! quote this produces, so what the shopper saw and what they pay cannot drift apart.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cart::Cart;
use crate::catalog::{Product, Variant};
use crate::ids::{ProductId, Sku};
use crate::money::{Currency, Money};
use crate::ports::{ProductRepository, PromotionRepository};
use crate::pricing::{self, PricingRules, Quote, QuoteLine, QuoteRequest};

use super::error::ShopError;

/// A cart line with its catalog facts: what the quote needs and what an order line keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResolvedLine {
    /// The line as the pricing engine sees it.
    pub(crate) line: QuoteLine,
    /// "Product / Variant", frozen into the order line.
    pub(crate) title: String,
}

/// A cart priced now: the quote, the rules it was priced with and the resolved lines.
#[derive(Clone, Debug)]
pub(crate) struct PricedCart {
    pub(crate) quote: Quote,
    pub(crate) rules: PricingRules,
    pub(crate) lines: Vec<ResolvedLine>,
}

impl PricedCart {
    /// The resolved line for a quoted line's SKU.
    pub(crate) fn line(&self, sku: &Sku) -> Option<&ResolvedLine> {
        self.lines.iter().find(|l| &l.line.sku == sku)
    }
}

/// Resolves cart lines against the catalog and prices them.
#[derive(Clone)]
pub(crate) struct CartPricer {
    products: Arc<dyn ProductRepository>,
    promotions: Arc<dyn PromotionRepository>,
}

impl std::fmt::Debug for CartPricer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CartPricer").finish_non_exhaustive()
    }
}

impl CartPricer {
    pub(crate) fn new(
        products: Arc<dyn ProductRepository>,
        promotions: Arc<dyn PromotionRepository>,
    ) -> Self {
        CartPricer { products, promotions }
    }

    /// Every promotion and the tax and shipping settings, read together.
    pub(crate) async fn rules(&self) -> Result<PricingRules, ShopError> {
        let (promotions, settings) =
            futures::try_join!(self.promotions.all(), self.promotions.settings())?;
        Ok(PricingRules {
            promotions,
            taxes: settings.taxes,
            shipping: settings.shipping,
            rounding: settings.rounding,
        })
    }

    /// The catalog facts of every line of `cart`, in cart order, in one catalog read.
    ///
    /// # Errors
    /// [`ShopError::UnknownSku`], [`ShopError::NotForSale`] or
    /// [`ShopError::NoPriceInCurrency`] naming the first line at fault.
    pub(crate) async fn resolve(&self, cart: &Cart) -> Result<Vec<ResolvedLine>, ShopError> {
        if cart.lines().is_empty() {
            return Ok(Vec::new());
        }
        let skus: Vec<Sku> = cart.lines().iter().map(|l| l.sku.clone()).collect();
        let products = self.products.by_skus(&skus).await?;
        let catalog = SkuIndex::new(&products);
        cart.lines()
            .iter()
            .map(|l| {
                let (product, variant, unit_price) = catalog.sellable(&l.sku, cart.currency())?;
                Ok(ResolvedLine {
                    line: QuoteLine {
                        line_id: l.id,
                        sku: l.sku.clone(),
                        product_id: product.id,
                        categories: product.categories.clone(),
                        quantity: l.quantity,
                        unit_price,
                        weight_grams: variant.weight_grams,
                    },
                    title: line_title(product, variant),
                })
            })
            .collect()
    }

    /// Prices `cart` at `now` with the shop's current rules.
    ///
    /// # Errors
    /// As [`CartPricer::resolve`], plus [`ShopError::Pricing`] when the chosen shipping
    /// method cannot ship the cart, and storage errors.
    pub(crate) async fn price(
        &self,
        cart: &Cart,
        now: DateTime<Utc>,
    ) -> Result<PricedCart, ShopError> {
        let (lines, rules) = futures::try_join!(self.resolve(cart), self.rules())?;
        let quote_lines: Vec<QuoteLine> = lines.iter().map(|l| l.line.clone()).collect();
        let mut request =
            QuoteRequest::new(cart.currency(), &quote_lines, now).coupons(cart.coupons());
        if let Some(address) = cart.shipping_address() {
            request = request.ship_to(&address.region);
        }
        if let Some(method) = cart.shipping_method() {
            request = request.shipping_method(method);
        }
        let quote = pricing::quote(&rules, &request)?;
        Ok(PricedCart { quote, rules, lines })
    }

    /// Checks that `sku` can be put in a cart in `currency` now.
    pub(crate) async fn check_sellable(
        &self,
        sku: &Sku,
        currency: Currency,
    ) -> Result<(), ShopError> {
        let products = self.products.by_skus(std::slice::from_ref(sku)).await?;
        SkuIndex::new(&products).sellable(sku, currency).map(|_| ())
    }
}

/// Products by SKU, for one resolution.
struct SkuIndex<'a> {
    by_sku: HashMap<&'a Sku, (&'a Product, &'a Variant)>,
}

impl<'a> SkuIndex<'a> {
    fn new(products: &'a [Product]) -> Self {
        let by_sku = products
            .iter()
            .flat_map(|p| p.variants.iter().map(move |v| (&v.sku, (p, v))))
            .collect();
        SkuIndex { by_sku }
    }

    fn sellable(
        &self,
        sku: &Sku,
        currency: Currency,
    ) -> Result<(&'a Product, &'a Variant, Money), ShopError> {
        let (product, variant) =
            *self.by_sku.get(sku).ok_or_else(|| ShopError::UnknownSku { sku: sku.clone() })?;
        if !product.is_active() {
            return Err(ShopError::NotForSale { sku: sku.clone() });
        }
        let price = variant
            .price_in(currency)
            .ok_or_else(|| ShopError::NoPriceInCurrency { sku: sku.clone(), currency })?;
        Ok((product, variant, price))
    }
}

/// The title an order line keeps: the product's, plus the variant's when it says more.
fn line_title(product: &Product, variant: &Variant) -> String {
    let v = variant.title.trim();
    if v.is_empty() || v == product.title.trim() {
        product.title.clone()
    } else {
        format!("{} / {v}", product.title)
    }
}

/// The product ids of `skus`, for subscribers that speak products (recommendations).
pub(crate) fn product_ids_of(products: &[Product], skus: &[Sku]) -> Vec<ProductId> {
    let index = SkuIndex::new(products);
    let mut ids: Vec<ProductId> = Vec::new();
    for sku in skus {
        if let Some((p, _)) = index.by_sku.get(sku)
            && !ids.contains(&p.id)
        {
            ids.push(p.id);
        }
    }
    ids
}
