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
use crate::catalog::{Product, ShippingRequirement, Variant};
use crate::ids::{ProductId, ShippingMethodId, Sku};
use crate::money::{Currency, Money};
use crate::ports::{ProductRepository, PromotionRepository};
use crate::pricing::{self, PricingError, PricingRules, Quote, QuoteLine, QuoteRequest};

use super::cart::ShippingOption;
use super::error::ShopError;

/// A cart line with its catalog facts: what the quote needs and what an order line keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResolvedLine {
    /// The line as the pricing engine sees it.
    pub(crate) line: QuoteLine,
    /// "Product / Variant", frozen into the order line.
    pub(crate) title: String,
    /// Whether the variant is shipped.
    pub(crate) shipping: ShippingRequirement,
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
        self.resolve_in(cart, cart.currency()).await
    }

    /// The catalog facts of every line of `cart` as if it were in `currency`.
    ///
    /// # Errors
    /// As [`CartPricer::resolve`], [`ShopError::NoPriceInCurrency`] naming `currency`.
    pub(crate) async fn resolve_in(
        &self,
        cart: &Cart,
        currency: Currency,
    ) -> Result<Vec<ResolvedLine>, ShopError> {
        if cart.lines().is_empty() {
            return Ok(Vec::new());
        }
        let skus: Vec<Sku> = cart.lines().iter().map(|l| l.sku.clone()).collect();
        let products = self.products.by_skus(&skus).await?;
        let catalog = SkuIndex::new(&products);
        cart.lines()
            .iter()
            .map(|l| {
                let (product, variant, unit_price) = catalog.sellable(&l.sku, currency)?;
                Ok(ResolvedLine {
                    line: QuoteLine {
                        line_id: l.id,
                        sku: l.sku.clone(),
                        product_id: product.id,
                        categories: product.categories.clone(),
                        quantity: l.quantity,
                        unit_price,
                        // What is not shipped weighs nothing in the parcel.
                        weight_grams: if variant.shipping.is_required() {
                            variant.weight_grams
                        } else {
                            0
                        },
                    },
                    title: line_title(product, variant),
                    shipping: variant.shipping,
                })
            })
            .collect()
    }

    /// Prices `cart` at `now` with the shop's current rules. A cart with nothing to ship
    /// (only digital goods) pays no shipping, whatever method it names.
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
        let method = cart.shipping_method().filter(|_| ships(&lines));
        let quote = quote_with(cart, &lines, &rules, method, now)?;
        Ok(PricedCart { quote, rules, lines })
    }

    /// The shipping methods that can ship `cart` now, in the table's order: those with a
    /// rate in the cart's currency serving its address (without an address, only rates
    /// serving everywhere) that can carry its weight. Each is priced exactly as the cart's
    /// quote would price it with that method chosen (free-over threshold, free-shipping
    /// promotions and tax included). A cart with nothing to ship (empty, or only digital
    /// goods) has none.
    ///
    /// # Errors
    /// As [`CartPricer::resolve`]; [`ShopError::Pricing`] when the cart cannot be priced
    /// at all; storage errors.
    pub(crate) async fn shipping_options(
        &self,
        cart: &Cart,
        now: DateTime<Utc>,
    ) -> Result<Vec<ShippingOption>, ShopError> {
        let (lines, rules) = futures::try_join!(self.resolve(cart), self.rules())?;
        if !ships(&lines) {
            return Ok(Vec::new());
        }
        let region = cart.shipping_address().map(|a| &a.region);
        let mut options = Vec::new();
        for rate in rules.shipping.rates_serving(region, cart.currency()) {
            let quote = match quote_with(cart, &lines, &rules, Some(rate.method()), now) {
                Ok(quote) => quote,
                // Too heavy for its last weight band: not an option for this cart.
                Err(ShopError::Pricing(
                    PricingError::NoShippingRate { .. }
                    | PricingError::ShippingUnavailable { .. }
                    | PricingError::UnknownShippingMethod { .. },
                )) => continue,
                Err(e) => return Err(e),
            };
            if let Some(shipping) = quote.shipping() {
                options.push(ShippingOption {
                    shipping: shipping.clone(),
                    free_over: rate.free_over_threshold().copied(),
                });
            }
        }
        Ok(options)
    }

    /// Checks that `sku` can be put in a cart in `currency` now, and tells whether it is
    /// shipped.
    pub(crate) async fn check_sellable(
        &self,
        sku: &Sku,
        currency: Currency,
    ) -> Result<ShippingRequirement, ShopError> {
        let products = self.products.by_skus(std::slice::from_ref(sku)).await?;
        SkuIndex::new(&products).sellable(sku, currency).map(|(_, variant, _)| variant.shipping)
    }
}

/// Whether any of the resolved lines is shipped.
fn ships(lines: &[ResolvedLine]) -> bool {
    lines.iter().any(|l| l.shipping.is_required())
}

/// The quote of `cart`'s resolved `lines` with `method` (the one pricing path of the
/// cart's quote, checkout and the shipping options).
fn quote_with(
    cart: &Cart,
    lines: &[ResolvedLine],
    rules: &PricingRules,
    method: Option<&ShippingMethodId>,
    now: DateTime<Utc>,
) -> Result<Quote, ShopError> {
    let quote_lines: Vec<QuoteLine> = lines.iter().map(|l| l.line.clone()).collect();
    let mut request = QuoteRequest::new(cart.currency(), &quote_lines, now).coupons(cart.coupons());
    if let Some(address) = cart.shipping_address() {
        request = request.ship_to(&address.region);
    }
    if let Some(method) = method {
        request = request.shipping_method(method);
    }
    Ok(pricing::quote(rules, &request)?)
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
