//! Products, variants, categories and attributes on the wire.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shopkit_core::catalog::{
    AttributeName, AttributeValue, Attributes, Category, MediaKind, MediaRef, Product,
    ProductStatus, ShippingRequirement, Variant,
};
use shopkit_core::ids::{CategoryId, Sku, Slug};
use shopkit_core::money::Currency;
use shopkit_core::services::{ProductDraft, VariantDraft};
use utoipa::ToSchema;
use uuid::Uuid;

use super::MoneyDto;
use crate::error::ApiError;

/// Whether a product can be seen and bought.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatusDto {
    /// Being prepared: invisible to shoppers.
    #[default]
    Draft,
    /// On sale.
    Active,
    /// Withdrawn: invisible, kept for past orders.
    Archived,
}

impl From<ProductStatus> for ProductStatusDto {
    fn from(s: ProductStatus) -> Self {
        match s {
            ProductStatus::Draft => ProductStatusDto::Draft,
            ProductStatus::Active => ProductStatusDto::Active,
            ProductStatus::Archived => ProductStatusDto::Archived,
        }
    }
}

impl From<ProductStatusDto> for ProductStatus {
    fn from(s: ProductStatusDto) -> Self {
        match s {
            ProductStatusDto::Draft => ProductStatus::Draft,
            ProductStatusDto::Active => ProductStatus::Active,
            ProductStatusDto::Archived => ProductStatus::Archived,
        }
    }
}

/// A typed attribute value: `{"type": "text", "value": "cotton"}`,
/// `{"type": "number", "value": "1.2"}` (a decimal string), `{"type": "bool", "value":
/// true}`, `{"type": "list", "value": ["red", "blue"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AttributeValueDto {
    /// Free text.
    Text(String),
    /// An exact number, as a decimal string.
    Number(String),
    /// Yes or no.
    Bool(bool),
    /// Several text values.
    List(Vec<String>),
}

impl From<&AttributeValue> for AttributeValueDto {
    fn from(v: &AttributeValue) -> Self {
        match v {
            AttributeValue::Text(t) => AttributeValueDto::Text(t.clone()),
            AttributeValue::Number(n) => AttributeValueDto::Number(n.normalize().to_string()),
            AttributeValue::Bool(b) => AttributeValueDto::Bool(*b),
            AttributeValue::List(items) => AttributeValueDto::List(items.clone()),
        }
    }
}

impl AttributeValueDto {
    fn to_domain(&self, field: &str) -> Result<AttributeValue, ApiError> {
        Ok(match self {
            AttributeValueDto::Text(t) => AttributeValue::Text(t.clone()),
            AttributeValueDto::Number(n) => {
                AttributeValue::Number(Decimal::from_str(n).map_err(|_| {
                    ApiError::validation(field, format!("{n:?} is not a decimal number"))
                })?)
            }
            AttributeValueDto::Bool(b) => AttributeValue::Bool(*b),
            AttributeValueDto::List(items) => AttributeValue::List(items.clone()),
        })
    }
}

/// Image or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaKindDto {
    /// A picture.
    Image,
    /// A video.
    Video,
}

impl From<MediaKind> for MediaKindDto {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Image => MediaKindDto::Image,
            MediaKind::Video => MediaKindDto::Video,
        }
    }
}

impl From<MediaKindDto> for MediaKind {
    fn from(k: MediaKindDto) -> Self {
        match k {
            MediaKindDto::Image => MediaKind::Image,
            MediaKindDto::Video => MediaKind::Video,
        }
    }
}

/// A picture or video of a product, with the URL to load it from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaDto {
    /// Where to load it (a CDN URL or a short-lived presigned URL); `null` when the media
    /// store could not make one right now.
    pub url: Option<String>,
    /// Image or video.
    pub kind: MediaKindDto,
    /// Alternative text.
    pub alt: Option<String>,
    /// The media store key (what the back office sends when editing).
    pub key: String,
}

/// A purchasable variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VariantDto {
    /// The variant id.
    pub id: Uuid,
    /// The SKU (what a cart line names).
    pub sku: String,
    /// A short title (`"Red / M"`).
    pub title: String,
    /// Option values (`{"size": "M", "colour": "red"}`).
    pub options: BTreeMap<String, String>,
    /// Its prices: only the requested currency when `currency` was given (empty when the
    /// variant is not sold in it), else every currency.
    pub prices: Vec<MoneyDto>,
    /// Whether it can be ordered now; `null` when stock could not be checked.
    pub in_stock: Option<bool>,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Whether it is shipped (physical goods: checkout needs an address and a shipping
    /// method) or not (digital goods, services).
    pub requires_shipping: bool,
}

/// A product as shoppers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductDto {
    /// The product id.
    pub id: Uuid,
    /// The URL handle.
    pub slug: String,
    /// The title.
    pub title: String,
    /// The description (plain text or Markdown).
    pub description: String,
    /// Category handles.
    pub categories: Vec<String>,
    /// Open attributes by name.
    pub attributes: BTreeMap<String, AttributeValueDto>,
    /// Pictures and videos, in display order.
    pub media: Vec<MediaDto>,
    /// The variants.
    pub variants: Vec<VariantDto>,
    /// The lowest variant price in the requested currency ("from 19.99"); `null` without
    /// `currency` or when no variant is sold in it.
    pub price_from: Option<MoneyDto>,
}

/// What a product response depends on besides the product: the requested currency, the
/// media URLs and the stock (gathered by the handler through the services).
#[derive(Clone, Debug, Default)]
pub struct ProductView {
    /// Show prices in this currency only.
    pub currency: Option<Currency>,
    /// URL by media key.
    pub media_urls: HashMap<String, String>,
    /// Reservable units by SKU; `None` when stock is unknown (not asked, or unavailable).
    pub stock: Option<HashMap<Sku, i64>>,
}

impl ProductDto {
    /// A product as seen through `view`.
    pub fn new(product: &Product, view: &ProductView) -> Self {
        ProductDto {
            id: product.id.as_uuid(),
            slug: product.slug.to_string(),
            title: product.title.clone(),
            description: product.description.clone(),
            categories: product.categories.iter().map(ToString::to_string).collect(),
            attributes: attributes(&product.attributes),
            media: product.media.iter().map(|m| media(m, view)).collect(),
            variants: product.variants.iter().map(|v| variant(v, view)).collect(),
            price_from: view.currency.and_then(|c| product.price_from(c)).map(MoneyDto::from),
        }
    }
}

impl From<&Product> for ProductDto {
    /// Every price, no media URLs, stock unknown.
    fn from(product: &Product) -> Self {
        ProductDto::new(product, &ProductView::default())
    }
}

fn attributes(attributes: &Attributes) -> BTreeMap<String, AttributeValueDto> {
    attributes.iter().map(|(k, v)| (k.to_string(), AttributeValueDto::from(v))).collect()
}

fn media(m: &MediaRef, view: &ProductView) -> MediaDto {
    MediaDto {
        url: view.media_urls.get(&m.key).cloned(),
        kind: m.kind.into(),
        alt: m.alt.clone(),
        key: m.key.clone(),
    }
}

fn variant(v: &Variant, view: &ProductView) -> VariantDto {
    let prices = match view.currency {
        Some(c) => v.price_in(c).into_iter().map(MoneyDto::from).collect(),
        None => v.prices.iter().map(MoneyDto::from).collect(),
    };
    VariantDto {
        id: v.id.as_uuid(),
        sku: v.sku.to_string(),
        title: v.title.clone(),
        options: v.options.clone(),
        prices,
        in_stock: view.stock.as_ref().map(|s| s.get(&v.sku).is_some_and(|n| *n > 0)),
        weight_grams: v.weight_grams,
        requires_shipping: v.shipping.is_required(),
    }
}

/// A product as the back office sees it: the storefront view plus status, version (send
/// it back when updating) and timestamps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminProductDto {
    /// The storefront view (every currency).
    #[serde(flatten)]
    pub product: ProductDto,
    /// Draft, active or archived.
    pub status: ProductStatusDto,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl AdminProductDto {
    /// A product as seen by the back office through `view`.
    pub fn new(product: &Product, view: &ProductView) -> Self {
        AdminProductDto {
            product: ProductDto::new(product, view),
            status: product.status.into(),
            version: product.version,
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

impl From<&Product> for AdminProductDto {
    fn from(product: &Product) -> Self {
        AdminProductDto::new(product, &ProductView::default())
    }
}

/// A category of the catalog tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryDto {
    /// The handle (also its URL segment).
    pub id: String,
    /// The display name.
    pub name: String,
    /// The parent's handle.
    pub parent: Option<String>,
    /// Sort position among siblings.
    pub position: u32,
}

impl From<&Category> for CategoryDto {
    fn from(c: &Category) -> Self {
        CategoryDto {
            id: c.id.to_string(),
            name: c.name.clone(),
            parent: c.parent.as_ref().map(ToString::to_string),
            position: c.position,
        }
    }
}

/// A media reference as the back office sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaRefDto {
    /// The media store key (from an upload).
    pub key: String,
    /// Image or video.
    pub kind: MediaKindDto,
    /// Alternative text.
    #[serde(default)]
    pub alt: Option<String>,
}

/// A variant as the back office writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VariantDraftDto {
    /// 1 to 64 of `A-Z a-z 0-9 - _ .`, unique across the catalog.
    #[schema(value_type = crate::openapi::SkuSchema)]
    pub sku: String,
    /// A short title.
    pub title: String,
    /// Option values.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// One price per currency, none negative.
    pub prices: Vec<MoneyDto>,
    /// Shipping weight in grams.
    #[serde(default)]
    pub weight_grams: u32,
    /// Whether it is shipped: `true` (the default) for physical goods, `false` for digital
    /// goods and services, which check out without an address and pay no shipping.
    #[serde(default = "shipped")]
    #[schema(default = true)]
    pub requires_shipping: bool,
}

fn shipped() -> bool {
    true
}

/// A new product (`POST /api/admin/v1/products`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateProductRequest {
    /// The URL handle; made from the title when absent.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::SlugSchema>)]
    pub slug: Option<String>,
    /// The title (1 to 512 characters).
    pub title: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// Draft (default), active or archived.
    #[serde(default)]
    pub status: ProductStatusDto,
    /// Category handles.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Open attributes by name (lowercase `a-z 0-9 _`).
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValueDto>,
    /// Media references.
    #[serde(default)]
    pub media: Vec<MediaRefDto>,
    /// The variants: 1 to 100.
    pub variants: Vec<VariantDraftDto>,
}

/// The most variants a product may have.
const MAX_VARIANTS: usize = 100;
/// The most media a product may have.
const MAX_MEDIA: usize = 50;

fn invalid(field: impl Into<String>, e: impl std::fmt::Display) -> ApiError {
    ApiError::validation(field, e.to_string())
}

impl TryFrom<VariantDraftDto> for VariantDraft {
    type Error = ApiError;

    fn try_from(v: VariantDraftDto) -> Result<Self, ApiError> {
        variant_draft(v, "variant")
    }
}

fn variant_draft(v: VariantDraftDto, field: &str) -> Result<VariantDraft, ApiError> {
    let sku = Sku::new(&v.sku).map_err(|e| invalid(format!("{field}.sku"), e))?;
    let prices = v
        .prices
        .iter()
        .enumerate()
        .map(|(i, p)| p.to_money(&format!("{field}.prices[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VariantDraft {
        sku,
        title: v.title,
        options: v.options,
        prices,
        weight_grams: v.weight_grams,
        shipping: if v.requires_shipping {
            ShippingRequirement::Required
        } else {
            ShippingRequirement::NotRequired
        },
    })
}

impl TryFrom<CreateProductRequest> for ProductDraft {
    type Error = ApiError;

    /// Parses every id and amount (the catalog rules, such as unique SKUs and one price per
    /// currency, are the service's).
    fn try_from(r: CreateProductRequest) -> Result<Self, ApiError> {
        if r.variants.is_empty() || r.variants.len() > MAX_VARIANTS {
            return Err(ApiError::validation(
                "variants",
                format!("a product needs 1 to {MAX_VARIANTS} variants"),
            ));
        }
        if r.media.len() > MAX_MEDIA {
            return Err(ApiError::validation("media", format!("at most {MAX_MEDIA} media")));
        }
        let slug = r.slug.as_deref().map(Slug::new).transpose().map_err(|e| invalid("slug", e))?;
        let categories = r
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| CategoryId::new(c).map_err(|e| invalid(format!("categories[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut attributes = Attributes::new();
        for (name, value) in &r.attributes {
            let field = format!("attributes.{name}");
            let name = AttributeName::new(name).map_err(|e| invalid(&field, e))?;
            attributes.insert(name, value.to_domain(&field)?);
        }
        let media = r
            .media
            .into_iter()
            .map(|m| MediaRef { key: m.key, kind: m.kind.into(), alt: m.alt })
            .collect();
        let variants = r
            .variants
            .into_iter()
            .enumerate()
            .map(|(i, v)| variant_draft(v, &format!("variants[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProductDraft {
            slug,
            title: r.title,
            description: r.description,
            status: r.status.into(),
            categories,
            attributes,
            media,
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use shopkit_core::ids::{ProductId, VariantId};
    use shopkit_core::money::Money;

    use super::*;

    fn request() -> CreateProductRequest {
        serde_json::from_value(serde_json::json!({
            "title": "Linen shirt",
            "attributes": {"material": {"type": "text", "value": "linen"},
                           "weight_kg": {"type": "number", "value": "0.3"}},
            "variants": [{"sku": "LINEN-M", "title": "M",
                          "prices": [{"amount": "39.90", "currency": "EUR"}]}]
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_request_becomes_a_draft() {
        let draft = ProductDraft::try_from(request()).unwrap();
        assert_eq!(draft.variants[0].prices, [Money::from_minor(3990, Currency::EUR)]);
        assert_eq!(draft.status, ProductStatus::Draft);
        assert_eq!(draft.attributes.len(), 2);
    }

    #[test]
    fn bad_input_names_the_field_at_fault() {
        let mut bad_sku = request();
        bad_sku.variants[0].sku = "has space".into();
        let mut bad_price = request();
        bad_price.variants[0].prices[0].currency = "XXX".into();
        let mut bad_attribute = request();
        bad_attribute.attributes.insert("Bad".into(), AttributeValueDto::Bool(true));
        let mut no_variants = request();
        no_variants.variants.clear();

        for (request, field) in [
            (bad_sku, "variants[0].sku"),
            (bad_price, "variants[0].prices[0].currency"),
            (bad_attribute, "attributes.Bad"),
            (no_variants, "variants"),
        ] {
            let err = ProductDraft::try_from(request).unwrap_err();
            assert_eq!(err.extension("field").unwrap(), field);
        }
    }

    #[test]
    fn a_view_in_one_currency_shows_only_that_price_and_stock_when_known() {
        let sku = Sku::new("LINEN-M").unwrap();
        let product = Product {
            id: ProductId::from_uuid(Uuid::from_u128(1)),
            slug: Slug::new("linen").unwrap(),
            title: "Linen".into(),
            description: String::new(),
            status: ProductStatus::Active,
            categories: vec![],
            attributes: Attributes::new(),
            media: vec![],
            variants: vec![Variant {
                id: VariantId::from_uuid(Uuid::from_u128(2)),
                sku: sku.clone(),
                title: "M".into(),
                options: BTreeMap::new(),
                prices: vec![
                    Money::from_minor(3990, Currency::EUR),
                    Money::from_minor(4290, Currency::USD),
                ],
                weight_grams: 300,
                shipping: ShippingRequirement::Required,
            }],
            version: 1,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let view = ProductView {
            currency: Some(Currency::USD),
            stock: Some(HashMap::from([(sku, 0)])),
            ..ProductView::default()
        };

        let dto = ProductDto::new(&product, &view);

        assert_eq!(
            dto.variants[0].prices,
            [MoneyDto::from(Money::from_minor(4290, Currency::USD))]
        );
        assert_eq!(dto.price_from.unwrap().amount, "42.90");
        assert_eq!(dto.variants[0].in_stock, Some(false));
        assert_eq!(ProductDto::from(&product).variants[0].prices.len(), 2);
    }
}
