//! Wire types: what clients send and receive. Separate from the domain types, with
//! explicit conversions: `From<&Domain> for Dto` for responses, `TryFrom<Request>` into
//! domain types for requests (bad input becomes a 4xx [`ApiError`](crate::ApiError) with
//! the `field` at fault, never a panic or a 500).
//!
//! Conventions: snake_case fields; money as [`MoneyDto`] (`amount` is a decimal string,
//! never a JSON number); ids as strings; lists as [`PageDto`].

mod auth;
mod money;
mod page;
mod problem;
mod product;

pub use auth::{
    CustomerDto, RefreshRequest, RoleDto, SignInRequest, SignOutRequest, SignUpRequest,
    SignUpResponse, TokenPairDto,
};
pub use money::{MoneyDto, parse_currency};
pub(crate) use page::cursor;
pub use page::{PageDto, PageLimit};
pub use problem::ProblemDto;
pub use product::{
    AdminProductDto, AttributeValueDto, CategoryDto, CreateProductRequest, MediaDto, MediaKindDto,
    MediaRefDto, ProductDto, ProductStatusDto, ProductView, VariantDraftDto, VariantDto,
};
