//! Accounts: `POST /auth/sign-up`, `/auth/sign-in`, `/auth/refresh`, `/auth/sign-out`,
//! through the [`AccountService`](shopkit_core::services::AccountService). Responses
//! carrying tokens are `Cache-Control: no-store`.

use axum::Json;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::GuestCartToken;
use crate::dto::{
    CustomerDto, ProblemDto, RefreshRequest, SignInRequest, SignOutRequest, SignUpRequest,
    SignUpResponse, TokenPairDto,
};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// The account routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(sign_in))
        .routes(routes!(refresh))
        .routes(routes!(sign_out))
}

fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    (status, [(CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(body)).into_response()
}

/// Creates a customer account and signs it in.
#[utoipa::path(
    post,
    path = "/auth/sign-up",
    tag = "auth",
    request_body = SignUpRequest,
    responses(
        (status = 201, description = "The account and its first session", body = SignUpResponse),
        (status = 409, description = "An account with this email exists (`email_taken`): sign in instead", body = ProblemDto, content_type = "application/problem+json"),
        (status = 422, description = "A malformed email or a password outside 8 to 128 characters (`validation_failed`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn sign_up(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SignUpRequest>,
) -> Result<Response, ApiError> {
    let (registration, password) = request.try_into()?;
    let (customer, tokens) = state.accounts().sign_up(registration, &password).await?;
    let body = SignUpResponse { customer: CustomerDto::from(&customer), tokens: tokens.into() };
    Ok(no_store(StatusCode::CREATED, body))
}

/// Signs in with email and password; a guest cart named by `X-Cart-Token` is merged into
/// the customer's cart (a cart that cannot be merged does not fail the sign-in).
#[utoipa::path(
    post,
    path = "/auth/sign-in",
    tag = "auth",
    request_body = SignInRequest,
    params(("X-Cart-Token" = Option<String>, Header, description = "A guest cart to merge into the customer's cart")),
    responses(
        (status = 200, description = "A new session", body = TokenPairDto),
        (status = 401, description = "Wrong email or password (`invalid_credentials`)", body = ProblemDto, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this account (`too_many_attempts`; see `Retry-After`)", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    GuestCartToken(guest_cart): GuestCartToken,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let (email, password) = request.try_into()?;
    let tokens = state.accounts().sign_in(&email, &password, guest_cart.as_ref()).await?;
    Ok(no_store(StatusCode::OK, TokenPairDto::from(tokens)))
}

/// Exchanges a refresh token for a new session (the old refresh token is spent).
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session", body = TokenPairDto),
        (status = 401, description = "The session has ended (`session_ended`): sign in again", body = ProblemDto, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    let tokens = state.accounts().refresh(&request.refresh_token).await?;
    Ok(no_store(StatusCode::OK, TokenPairDto::from(tokens)))
}

/// Ends the session of a refresh token (unknown tokens are fine).
#[utoipa::path(
    post,
    path = "/auth/sign-out",
    tag = "auth",
    request_body = SignOutRequest,
    responses((status = 204, description = "The session has ended"))
)]
pub async fn sign_out(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SignOutRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts().sign_out(&request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
