//! Pricing settings: `GET/PUT /settings/pricing` (tax rates inclusive or exclusive of
//! tax, shipping rates, rounding). A `PUT` replaces them all; rates the domain refuses are
//! a `422` naming the field (`taxes.rates[0].rate`).

use axum::Json;
use axum::extract::State;
use shopkit_core::ports::PricingSettings;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAuth;
use crate::dto::{PricingSettingsDto, ProblemDto};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// The settings routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_pricing_settings, put_pricing_settings))
}

/// The tax, shipping and rounding settings.
#[utoipa::path(
    get,
    path = "/settings/pricing",
    operation_id = "admin_get_pricing_settings",
    tag = "admin-settings",
    security(("bearer" = [])),
    responses((status = 200, description = "The settings", body = PricingSettingsDto))
)]
pub async fn get_pricing_settings(
    State(state): State<AppState>,
    admin: AdminAuth,
) -> Result<Json<PricingSettingsDto>, ApiError> {
    let settings = state.promotions().settings(&admin.caller()).await?;
    Ok(Json(PricingSettingsDto::from(&settings)))
}

/// Replaces the tax, shipping and rounding settings (quotes use them at once).
#[utoipa::path(
    put,
    path = "/settings/pricing",
    operation_id = "admin_put_pricing_settings",
    tag = "admin-settings",
    security(("bearer" = [])),
    request_body = PricingSettingsDto,
    responses(
        (status = 200, description = "The settings as stored", body = PricingSettingsDto),
        (status = 422, description = "A rate is invalid (`validation_failed`; `field` names it, e.g. `taxes.rates[0].rate`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn put_pricing_settings(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(request): ApiJson<PricingSettingsDto>,
) -> Result<Json<PricingSettingsDto>, ApiError> {
    let settings = PricingSettings::try_from(&request)?;
    let saved = state.promotions().save_settings(&admin.caller(), &settings).await?;
    Ok(Json(PricingSettingsDto::from(&saved)))
}
