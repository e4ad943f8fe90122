//! What a shopper may know of stock, and products as the storefront shows them (the
//! product plus that availability per SKU).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use shopkit_core::catalog::Product;
use shopkit_core::ids::Sku;
use shopkit_core::services::Availability;
use utoipa::ToSchema;

use super::{ProductDto, ProductView};

/// Whether a SKU can be bought now. Stock counts are never shown, except a few left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailabilityDto {
    /// Whether it can be added to a cart and bought now.
    pub in_stock: bool,
    /// Whether it sells on backorder (ships later).
    pub backorder: bool,
    /// Units left when few (5 or fewer): "only 3 left".
    pub low_stock: Option<u32>,
}

impl From<&Availability> for AvailabilityDto {
    fn from(a: &Availability) -> Self {
        AvailabilityDto { in_stock: a.in_stock, backorder: a.backorder, low_stock: a.low_stock }
    }
}

/// A product as the storefront shows it: [`ProductDto`] plus the availability of each
/// variant by SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StorefrontProductDto {
    /// The product.
    #[serde(flatten)]
    pub product: ProductDto,
    /// Availability by SKU, for every variant; `null` when stock could not be checked
    /// right now (the product can still be added to a cart; checkout checks stock).
    pub availability: Option<BTreeMap<String, AvailabilityDto>>,
}

impl StorefrontProductDto {
    /// A product seen through `view`, with the availability of its SKUs.
    pub fn new(
        product: &Product,
        view: &ProductView,
        availability: Option<&HashMap<Sku, Availability>>,
    ) -> Self {
        let availability = availability.map(|known| {
            product
                .variants
                .iter()
                .filter_map(|v| known.get(&v.sku).map(|a| (v.sku.to_string(), a.into())))
                .collect()
        });
        StorefrontProductDto { product: ProductDto::new(product, view), availability }
    }
}
