//! The catalog: products, their variants (the things with a SKU), categories, open
//! attributes and media references.
//!
//! Attributes are an open, typed map: a new category or attribute needs no migration in
//! any adapter (the reason the reference architecture keeps products in DynamoDB).

mod attribute;
mod product;

pub use attribute::{AttributeName, AttributeValue, Attributes};
pub use product::{
    CatalogError, Category, MediaKind, MediaRef, Product, ProductStatus, ShippingRequirement,
    Variant,
};
