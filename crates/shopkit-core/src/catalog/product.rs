//! Products and variants.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Attributes;
use crate::ids::{CategoryId, ProductId, Sku, Slug, VariantId};
use crate::money::{Currency, Money};

/// Whether a product can be seen and bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Being prepared: invisible to shoppers, cannot be bought.
    Draft,
    /// On sale.
    Active,
    /// Withdrawn: invisible, cannot be bought; kept for past orders.
    Archived,
}

/// What kind of media a reference points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A picture.
    Image,
    /// A video.
    Video,
}

/// A reference to a media object held by the media store (the bytes live there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    /// The key in the media store (`products/<id>/front.jpg`).
    pub key: String,
    /// Image or video.
    pub kind: MediaKind,
    /// Alternative text for accessibility.
    pub alt: Option<String>,
}

/// Whether a variant travels to the buyer.
///
/// Physical goods do ([`ShippingRequirement::Required`], the default, also for variants
/// stored before the notion existed): a cart holding one needs a shipping address and a
/// shipping method before checkout, and its weight counts towards the parcel. Digital
/// goods, gift cards sent by email and services do not: a cart of only those checks out
/// without an address and pays no shipping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShippingRequirement {
    /// Physical goods, shipped to an address.
    #[default]
    Required,
    /// Delivered without shipping (a download, a code by email, a service).
    NotRequired,
}

impl ShippingRequirement {
    /// Whether the goods are shipped.
    pub fn is_required(self) -> bool {
        self == ShippingRequirement::Required
    }
}

/// A purchasable variant of a product: one SKU, its options and prices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// The variant id.
    pub id: VariantId,
    /// The SKU, unique across the catalog.
    pub sku: Sku,
    /// A short title (`"Red / M"`).
    pub title: String,
    /// Option values (`size: M`, `colour: red`).
    pub options: BTreeMap<String, String>,
    /// The price in each currency the variant is sold in; at most one per currency.
    pub prices: Vec<Money>,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Whether it is shipped (physical goods) or not (digital goods, services).
    #[serde(default)]
    pub shipping: ShippingRequirement,
}

impl Variant {
    /// The price in `currency`, if the variant is sold in it.
    pub fn price_in(&self, currency: Currency) -> Option<Money> {
        self.prices.iter().copied().find(|p| p.currency() == currency)
    }
}

/// A product: what a shopper browses. Variants are what they buy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// The URL handle, unique across the catalog.
    pub slug: Slug,
    /// The title.
    pub title: String,
    /// The description (plain text or Markdown).
    pub description: String,
    /// Draft, active or archived.
    pub status: ProductStatus,
    /// The categories the product is listed in.
    pub categories: Vec<CategoryId>,
    /// Open, typed attributes.
    pub attributes: Attributes,
    /// Images and videos, in display order.
    pub media: Vec<MediaRef>,
    /// The variants; at least one.
    pub variants: Vec<Variant>,
    /// Optimistic-concurrency version, kept by the product repository (0 before insert).
    pub version: u64,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
    /// When the product last changed.
    pub updated_at: DateTime<Utc>,
}

/// A product that breaks a catalog rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Every product needs at least one variant to be sold.
    #[error("product {product} has no variants: add at least one variant with a SKU")]
    NoVariants {
        /// The product.
        product: ProductId,
    },
    /// Two variants share a SKU.
    #[error("SKU {sku} appears on more than one variant")]
    DuplicateSku {
        /// The repeated SKU.
        sku: Sku,
    },
    /// A variant lists two prices in one currency.
    #[error("variant {sku} has two prices in {currency}: keep one")]
    DuplicatePrice {
        /// The variant.
        sku: Sku,
        /// The repeated currency.
        currency: Currency,
    },
    /// A negative price.
    #[error("variant {sku} has a negative price {price}")]
    NegativePrice {
        /// The variant.
        sku: Sku,
        /// The price.
        price: Money,
    },
    /// A title must say what the product is.
    #[error("the product title is empty or longer than 512 characters")]
    BadTitle,
}

impl Product {
    /// Checks the catalog rules: a non-empty title, at least one variant, SKUs unique within
    /// the product, one non-negative price per currency per variant.
    pub fn validate(&self) -> Result<(), CatalogError> {
        if self.title.trim().is_empty() || self.title.chars().count() > 512 {
            return Err(CatalogError::BadTitle);
        }
        if self.variants.is_empty() {
            return Err(CatalogError::NoVariants { product: self.id });
        }
        let mut skus = HashSet::new();
        for v in &self.variants {
            if !skus.insert(&v.sku) {
                return Err(CatalogError::DuplicateSku { sku: v.sku.clone() });
            }
            let mut currencies = HashSet::new();
            for p in &v.prices {
                if !currencies.insert(p.currency()) {
                    return Err(CatalogError::DuplicatePrice {
                        sku: v.sku.clone(),
                        currency: p.currency(),
                    });
                }
                if p.is_negative() {
                    return Err(CatalogError::NegativePrice { sku: v.sku.clone(), price: *p });
                }
            }
        }
        Ok(())
    }

    /// Whether shoppers can see and buy it.
    pub fn is_active(&self) -> bool {
        self.status == ProductStatus::Active
    }

    /// The variant with `sku`.
    pub fn variant_by_sku(&self, sku: &Sku) -> Option<&Variant> {
        self.variants.iter().find(|v| &v.sku == sku)
    }

    /// The lowest variant price in `currency` ("from 19.99").
    pub fn price_from(&self, currency: Currency) -> Option<Money> {
        self.variants
            .iter()
            .filter_map(|v| v.price_in(currency))
            .min_by(|a, b| a.amount().cmp(&b.amount()))
    }
}

/// A category of the catalog tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The handle (also its URL segment).
    pub id: CategoryId,
    /// The display name.
    pub name: String,
    /// The parent category, if any.
    pub parent: Option<CategoryId>,
    /// Sort position among siblings.
    pub position: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn product(variants: Vec<Variant>) -> Product {
        Product {
            id: ProductId::from_uuid(Uuid::nil()),
            slug: Slug::new("tee").unwrap(),
            title: "Tee".into(),
            description: String::new(),
            status: ProductStatus::Active,
            categories: vec![],
            attributes: Attributes::new(),
            media: vec![],
            variants,
            version: 0,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn variant(sku: &str, prices: Vec<Money>) -> Variant {
        Variant {
            id: VariantId::from_uuid(Uuid::new_v4()),
            sku: Sku::new(sku).unwrap(),
            title: sku.into(),
            options: BTreeMap::new(),
            prices,
            weight_grams: 200,
            shipping: ShippingRequirement::Required,
        }
    }

    #[test]
    fn a_product_needs_variants_with_unique_skus_and_one_price_per_currency() {
        assert!(matches!(product(vec![]).validate(), Err(CatalogError::NoVariants { .. })));
        let usd = Money::from_minor(1000, Currency::USD);
        let dup = product(vec![variant("A", vec![usd]), variant("A", vec![usd])]);
        assert!(matches!(dup.validate(), Err(CatalogError::DuplicateSku { .. })));
        let two_prices = product(vec![variant("A", vec![usd, usd])]);
        assert!(matches!(two_prices.validate(), Err(CatalogError::DuplicatePrice { .. })));
        let ok = product(vec![variant("A", vec![usd, Money::from_minor(900, Currency::EUR)])]);
        assert!(ok.validate().is_ok());
        assert_eq!(ok.price_from(Currency::EUR), Some(Money::from_minor(900, Currency::EUR)));
        assert_eq!(ok.price_from(Currency::JPY), None);
    }

    #[test]
    fn a_variant_stored_before_shipping_requirements_is_shipped() {
        let mut stored = serde_json::to_value(variant("A", vec![])).unwrap();
        stored.as_object_mut().unwrap().remove("shipping");

        let read: Variant = serde_json::from_value(stored).unwrap();

        assert_eq!(read.shipping, ShippingRequirement::Required);
        let mut ebook = variant("EBOOK", vec![]);
        ebook.shipping = ShippingRequirement::NotRequired;
        let json = serde_json::to_value(&ebook).unwrap();
        assert_eq!(json["shipping"], "not_required");
        assert_eq!(serde_json::from_value::<Variant>(json).unwrap(), ebook);
    }
}
