//! Back-office catalog requests: a full product update, a status change, a category.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shopkit_core::catalog::Category;
use shopkit_core::ids::CategoryId;
use shopkit_core::services::ProductDraft;
use utoipa::ToSchema;

use super::{
    AttributeValueDto, CreateProductRequest, MediaRefDto, ProductStatusDto, VariantDraftDto,
};
use crate::error::ApiError;

/// A product's new content (`PUT /api/admin/v1/products/{id}`): the whole product, plus the
/// `version` it was read at. The body of `GET /products/{id}` can be sent back as it is
/// (read-only members such as `id`, `url` and `in_stock` are ignored). Lists left out are
/// emptied; a `slug` left out keeps the current one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateProductRequest {
    /// The `version` of the product as read; a product changed since answers
    /// `409 conflict` (reload it and re-apply the edit).
    pub version: u64,
    /// The URL handle; absent keeps the current one (URLs stay stable).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::SlugSchema>)]
    pub slug: Option<String>,
    /// The title (1 to 512 characters).
    pub title: String,
    /// The description.
    #[serde(default)]
    pub description: String,
    /// Draft, active or archived (required: a full update says it).
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
    /// The variants: 1 to 100. A variant keeps its id when its SKU is unchanged.
    pub variants: Vec<VariantDraftDto>,
}

impl UpdateProductRequest {
    /// The version the editor read and the new content.
    ///
    /// # Errors
    /// `422 validation_failed` naming the field, as for a new product.
    pub fn into_draft(self) -> Result<(u64, ProductDraft), ApiError> {
        let content = CreateProductRequest {
            slug: self.slug,
            title: self.title,
            description: self.description,
            status: self.status,
            categories: self.categories,
            attributes: self.attributes,
            media: self.media,
            variants: self.variants,
        };
        Ok((self.version, ProductDraft::try_from(content)?))
    }
}

/// Publishes, archives or un-publishes a product (`POST /products/{id}/status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductStatusRequest {
    /// The new status.
    pub status: ProductStatusDto,
}

/// A category as the back office writes it (`PUT /categories/{id}`; the id is the path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryRequest {
    /// The display name (not blank).
    pub name: String,
    /// The parent's handle; absent for a top-level category.
    #[serde(default)]
    pub parent: Option<String>,
    /// Sort position among siblings (default 0).
    #[serde(default)]
    pub position: u32,
}

impl CategoryRequest {
    /// The category with handle `id`.
    ///
    /// # Errors
    /// `422 validation_failed` (`field: "parent"`) for a parent that is not a handle.
    pub fn into_category(self, id: CategoryId) -> Result<Category, ApiError> {
        let parent = self
            .parent
            .as_deref()
            .map(CategoryId::new)
            .transpose()
            .map_err(|e| ApiError::validation("parent", e.to_string()))?;
        Ok(Category { id, name: self.name, parent, position: self.position })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_of_a_product_read_can_be_sent_back_as_an_update() {
        let read = serde_json::json!({
            "id": "0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7a", "slug": "tee", "title": "Tee",
            "description": "", "categories": [], "attributes": {}, "price_from": null,
            "media": [{"url": "https://cdn/x.jpg", "kind": "image", "alt": null, "key": "x.jpg"}],
            "variants": [{"id": "0b6c9a4e-2f7e-4d1a-9a57-3c1f9d1e2b7b", "sku": "TEE",
                          "title": "One", "options": {}, "in_stock": true, "weight_grams": 0,
                          "prices": [{"amount": "19.90", "currency": "EUR"}]}],
            "status": "active", "version": 3,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"
        });

        let request: UpdateProductRequest = serde_json::from_value(read).unwrap();
        let (version, draft) = request.into_draft().unwrap();

        assert_eq!(version, 3);
        assert_eq!(draft.media[0].key, "x.jpg");
        assert_eq!(draft.variants[0].sku.as_str(), "TEE");
    }

    #[test]
    fn a_category_parent_must_be_a_handle() {
        let request = CategoryRequest {
            name: "Shirts".into(),
            parent: Some("Not A Handle".into()),
            position: 0,
        };

        let err = request.into_category(CategoryId::new("shirts").unwrap()).unwrap_err();

        assert_eq!(err.extension("field").unwrap(), "parent");
    }
}
