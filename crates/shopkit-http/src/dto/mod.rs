//! Wire types: what clients send and receive. Separate from the domain types, with
//! explicit conversions: `From<&Domain> for Dto` for responses, `TryFrom<Request>` into
//! domain types for requests (bad input becomes a 4xx [`ApiError`](crate::ApiError) with
//! the `field` at fault, never a panic or a 500).
//!
//! Conventions: snake_case fields; money as [`MoneyDto`] (`amount` is a decimal string,
//! never a JSON number); ids as strings; lists as [`PageDto`].

mod admin_catalog;
mod admin_customer;
mod admin_event;
mod admin_inventory;
mod admin_media;
mod admin_order;
mod admin_promotion;
mod admin_settings;
mod auth;
mod availability;
mod cart;
mod customer;
mod money;
mod order;
mod page;
mod problem;
mod product;
mod refund;
mod search;

pub use admin_catalog::{CategoryRequest, ProductStatusRequest, UpdateProductRequest};
pub use admin_customer::AdminCustomerDto;
pub use admin_event::{AdminEventDto, AdminEventStatusDto};
pub use admin_inventory::{
    BackorderDto, InventoryDto, ReservationDto, ReservationLineDto, ReservationStatusDto,
    SetStockRequest, StockAdjustmentRequest, StockLevelDto, location_or_main,
};
pub use admin_media::UploadedMediaDto;
pub use admin_order::{
    AdminCancelOrderRequest, AdminLineQuantityDto, AdminOrderDto, AdminPaymentDto, AdminRefundDto,
    AdminRefundRequest, AdminRejectRefundRequest, AdminShipmentRequest,
};
pub use admin_promotion::{
    PromotionDto, PromotionKindDto, PromotionRequest, PromotionTargetDto, StackingDto,
};
pub use admin_settings::{
    PricingSettingsDto, RoundingDto, ShippingPriceDto, ShippingRateDto, ShippingTableDto,
    TaxRateDto, TaxTableDto, WeightBandDto,
};
pub use auth::{
    CustomerDto, RefreshRequest, RoleDto, SignInRequest, SignOutRequest, SignUpRequest,
    SignUpResponse, TokenPairDto,
};
pub use availability::{AvailabilityDto, StorefrontProductDto};
pub use cart::{
    AddLineRequest, AppliedPromotionDto, ApplyCouponRequest, CartDto, CartLineDto,
    CartShippingMethodDto, CartShippingMethodsDto, CartStatusDto, CreateCartRequest,
    CreatedCartDto, DeliveryRequest, QuantityInput, QuoteDto, QuotedLineDto, QuotedShippingDto,
    RejectedCouponDto, UpdateCartRequest, UpdateLineRequest,
};
pub use customer::{AddressDto, AddressRequest, ProfileDto, UpdateProfileRequest};
pub use money::{MoneyDto, parse_currency};
pub use order::{
    CancelOrderRequest, CheckoutPendingDto, OrderDto, OrderLineDto, OrderShippingDto,
    OrderStatusDto, OrderSummaryDto, OrderTotalsDto, PaymentStatusDto, PaymentSummaryDto,
    PlaceOrderRequest, ShipmentDto, ShipmentLineDto, StatusChangeDto, TrackingDto,
};
pub(crate) use page::cursor;
pub use page::{PageDto, PageLimit};
pub use problem::ProblemDto;
pub use product::{
    AdminProductDto, AttributeValueDto, CategoryDto, CreateProductRequest, MediaDto, MediaKindDto,
    MediaRefDto, ProductDto, ProductStatusDto, ProductView, VariantDraftDto, VariantDto,
};
pub use refund::{RefundDto, RefundLineDto, RefundStatusDto, ReturnLineRequest, ReturnRequest};
pub use search::{FacetCountDto, FacetDto, ProductSummaryDto, SearchResultsDto};
