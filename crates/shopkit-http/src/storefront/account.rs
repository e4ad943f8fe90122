//! The signed-in customer's profile and address book: `GET /me`, `PATCH /me`, `POST
//! /me/addresses`, `DELETE /me/addresses/{address_id}`, `PUT
//! /me/addresses/{address_id}/default`, through the
//! [`CustomerService`](shopkit_core::services::CustomerService). Every route answers the
//! whole profile, so a client re-renders the address book from one response.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shopkit_core::ids::AddressId;
use shopkit_core::services::ProfileUpdate;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CustomerAuth;
use crate::dto::{AddressRequest, ProblemDto, ProfileDto, UpdateProfileRequest};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// The profile routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(add_address))
        .routes(routes!(remove_address))
        .routes(routes!(set_default_address))
}

/// The signed-in customer's profile and address book.
#[utoipa::path(
    get,
    path = "/me",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileDto),
        (status = 404, description = "The signed-in user has no customer profile (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(
    State(state): State<AppState>,
    auth: CustomerAuth,
) -> Result<Json<ProfileDto>, ApiError> {
    let customer = state.shop().customers().get(&auth.caller(), auth.customer()).await?;
    Ok(Json(ProfileDto::from(&customer)))
}

/// Changes the profile: members left out stay as they are (`"phone": null` removes the
/// phone). The email cannot be changed here.
#[utoipa::path(
    patch,
    path = "/me",
    tag = "account",
    security(("bearer" = [])),
    request_body(content = UpdateProfileRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed profile", body = ProfileDto),
        (status = 404, description = "The signed-in user has no customer profile (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An over-long name or phone, or an `email` member (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiJson(request): ApiJson<UpdateProfileRequest>,
) -> Result<Json<ProfileDto>, ApiError> {
    let update = ProfileUpdate::try_from(request)?;
    let customer =
        state.shop().customers().update_profile(&auth.caller(), auth.customer(), update).await?;
    Ok(Json(ProfileDto::from(&customer)))
}

/// Adds an address to the book (the first one becomes the default).
#[utoipa::path(
    post,
    path = "/me/addresses",
    tag = "account",
    security(("bearer" = [])),
    request_body = AddressRequest,
    responses(
        (status = 201, description = "The profile; the new address is the last one", body = ProfileDto),
        (status = 404, description = "The signed-in user has no customer profile (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "An incomplete address (`validation_failed` with `field`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn add_address(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiJson(request): ApiJson<AddressRequest>,
) -> Result<(StatusCode, Json<ProfileDto>), ApiError> {
    let address = request.to_address("")?;
    let customer =
        state.shop().customers().add_address(&auth.caller(), auth.customer(), address).await?;
    Ok((StatusCode::CREATED, Json(ProfileDto::from(&customer))))
}

/// Removes an address from the book (if it was the default, there is none any more).
#[utoipa::path(
    delete,
    path = "/me/addresses/{address_id}",
    tag = "account",
    security(("bearer" = [])),
    params(("address_id" = Uuid, Path, description = "The address")),
    responses(
        (status = 200, description = "The profile without the address", body = ProfileDto),
        (status = 404, description = "No such address in the book (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn remove_address(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiPath(address): ApiPath<AddressId>,
) -> Result<Json<ProfileDto>, ApiError> {
    let customer =
        state.shop().customers().remove_address(&auth.caller(), auth.customer(), address).await?;
    Ok(Json(ProfileDto::from(&customer)))
}

/// Makes an address of the book the default shipping address.
#[utoipa::path(
    put,
    path = "/me/addresses/{address_id}/default",
    tag = "account",
    security(("bearer" = [])),
    params(("address_id" = Uuid, Path, description = "The address")),
    responses(
        (status = 200, description = "The profile with its new default", body = ProfileDto),
        (status = 404, description = "No such address in the book (`not_found`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn set_default_address(
    State(state): State<AppState>,
    auth: CustomerAuth,
    ApiPath(address): ApiPath<AddressId>,
) -> Result<Json<ProfileDto>, ApiError> {
    let customer = state
        .shop()
        .customers()
        .set_default_address(&auth.caller(), auth.customer(), address)
        .await?;
    Ok(Json(ProfileDto::from(&customer)))
}
