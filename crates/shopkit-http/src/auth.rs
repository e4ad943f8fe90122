//! Who is calling: extractors over the identity port.
//!
//! | extractor | no token | bad/expired token | wrong role |
//! |---|---|---|---|
//! | [`CustomerAuth`] | 401 | 401 | — (any signed-in user) |
//! | [`AdminAuth`] | 401 | 401 | 403 |
//! | [`OptionalAuth`] | `None` | 401 (never silently anonymous) | — |
//! | [`CartAuth`] | `X-Cart-Token`, else 401 | 401 | — |
//!
//! 401 responses carry `WWW-Authenticate: Bearer`. An identity provider outage is `503`.
//! The verified principal is cached in the request's extensions, so several extractors
//! (auth plus [`Idempotent`](crate::idempotency::Idempotent)) verify a token once.
//!
//! Storefront routes act for the signed-in person even when they are staff:
//! [`CustomerAuth::caller`] is always `Caller::Customer`, so "my orders" means mine and
//! other customers' ids answer 404. Back-office powers come only from [`AdminAuth`].

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use shopkit_core::ids::{CartToken, CustomerId};
use shopkit_core::ports::{IdentityError, Principal, Role};
use shopkit_core::services::{Caller, CartAccess, ShopError};

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying a guest cart's token.
pub const X_CART_TOKEN: &str = "x-cart-token";

/// The principal verified for this request (`None`: no `Authorization` header).
#[derive(Clone)]
struct Verified(Option<Principal>);

/// The bearer token of an `Authorization` header.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthenticated(
            "send Authorization: Bearer <access_token> (from /api/v1/auth/sign-in)",
            true,
        )),
    }
}

fn refused(e: IdentityError) -> ApiError {
    match e {
        IdentityError::Invalid => {
            ApiError::unauthenticated("the bearer token is invalid: sign in again", true)
        }
        IdentityError::Expired => ApiError::unauthenticated(
            "the bearer token has expired: refresh it or sign in again",
            true,
        ),
        e @ IdentityError::Unavailable { .. } => ApiError::unavailable(e),
        // `IdentityError` is #[non_exhaustive]: an unknown refusal still refuses.
        other => ApiError::unauthenticated("the bearer token was refused: sign in again", true)
            .with_source(other),
    }
}

/// The verified principal of the request, if it sent a bearer token.
///
/// # Errors
/// `401` for a malformed, invalid or expired token; `503` when the provider is down.
pub async fn principal(parts: &mut Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if let Some(Verified(cached)) = parts.extensions.get::<Verified>() {
        return Ok(cached.clone());
    }
    let verified = match bearer(parts)? {
        None => None,
        Some(token) => Some(state.verifier().verify(token).await.map_err(refused)?),
    };
    parts.extensions.insert(Verified(verified.clone()));
    Ok(verified)
}

fn missing() -> ApiError {
    ApiError::unauthenticated(
        "this route needs a signed-in user: send Authorization: Bearer <access_token>",
        false,
    )
}

/// A signed-in user (customer or staff), acting as a customer.
#[derive(Clone, Debug)]
pub struct CustomerAuth(pub Principal);

impl CustomerAuth {
    /// The customer.
    pub fn customer(&self) -> CustomerId {
        self.0.customer
    }
    /// For order, refund and profile services: always the customer themself.
    pub fn caller(&self) -> Caller {
        Caller::Customer(self.0.customer)
    }
    /// For cart services: the customer's carts.
    pub fn cart_access(&self) -> CartAccess {
        CartAccess::Customer(self.0.customer)
    }
}

impl<S> FromRequestParts<S> for CustomerAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        principal(parts, &AppState::from_ref(state)).await?.map(CustomerAuth).ok_or_else(missing)
    }
}

/// Back-office staff (a principal with the admin role).
#[derive(Clone, Debug)]
pub struct AdminAuth(pub Principal);

impl AdminAuth {
    /// For services: `Caller::Admin`.
    pub fn caller(&self) -> Caller {
        Caller::Admin
    }
    /// For cart services: every cart.
    pub fn cart_access(&self) -> CartAccess {
        CartAccess::Admin
    }
    /// The staff member (for audit logs).
    pub fn staff(&self) -> CustomerId {
        self.0.customer
    }
}

impl<S> FromRequestParts<S> for AdminAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let principal = principal(parts, &AppState::from_ref(state)).await?.ok_or_else(missing)?;
        if !principal.has(Role::Admin) {
            return Err(ApiError::forbidden("this route needs the admin role"));
        }
        Ok(AdminAuth(principal))
    }
}

/// A signed-in user if a bearer token was sent, `None` otherwise. A token that was sent
/// but fails verification is `401`, never treated as anonymous.
#[derive(Clone, Debug)]
pub struct OptionalAuth(pub Option<Principal>);

impl OptionalAuth {
    /// `Caller::Customer` of the signed-in user, if any.
    pub fn caller(&self) -> Option<Caller> {
        self.0.as_ref().map(|p| Caller::Customer(p.customer))
    }
}

impl<S> FromRequestParts<S> for OptionalAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(OptionalAuth(principal(parts, &AppState::from_ref(state)).await?))
    }
}

/// The `X-Cart-Token` header of a guest, if sent.
///
/// # Errors
/// `400 invalid_header` when present but not a cart token (32 to 128 hex characters).
pub fn cart_token(parts: &Parts) -> Result<Option<CartToken>, ApiError> {
    let Some(value) = parts.headers.get(X_CART_TOKEN) else {
        return Ok(None);
    };
    let token =
        value.to_str().ok().and_then(|v| CartToken::new(v.trim()).ok()).ok_or_else(|| {
            ApiError::invalid_header(
                "X-Cart-Token",
                "X-Cart-Token must be the cart's token as returned when the cart was created",
            )
        })?;
    Ok(Some(token))
}

/// The guest cart token of the request, if any (sign-in merges that cart).
#[derive(Clone, Debug, Default)]
pub struct GuestCartToken(pub Option<CartToken>);

impl<S: Send + Sync> FromRequestParts<S> for GuestCartToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        cart_token(parts).map(GuestCartToken)
    }
}

/// Who may use a cart: a signed-in customer (bearer token, preferred when both are sent)
/// or the holder of a guest cart's `X-Cart-Token`.
#[derive(Clone, Debug)]
pub struct CartAuth(pub CartAccess);

impl<S> FromRequestParts<S> for CartAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(p) = principal(parts, &AppState::from_ref(state)).await? {
            return Ok(CartAuth(CartAccess::Customer(p.customer)));
        }
        match cart_token(parts)? {
            Some(token) => Ok(CartAuth(CartAccess::Token(token))),
            None => Err(ApiError::unauthenticated(
                "send Authorization: Bearer <access_token>, or the guest cart's X-Cart-Token",
                false,
            )),
        }
    }
}

/// Who may see an order and its refunds: a signed-in customer (bearer token, preferred when
/// both are sent: their own orders), or a guest with the `X-Cart-Token` of the cart their
/// order was placed from (that guest order only). A token that opens no cart sees nothing
/// (`404`, as for an order that is not the caller's).
#[derive(Clone, Debug)]
pub struct OrderAuth(pub Caller);

impl OrderAuth {
    /// For the order and refund services.
    pub fn caller(&self) -> Caller {
        self.0
    }
}

impl<S> FromRequestParts<S> for OrderAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        if let Some(p) = principal(parts, &state).await? {
            return Ok(OrderAuth(Caller::Customer(p.customer)));
        }
        let Some(token) = cart_token(parts)? else {
            return Err(ApiError::unauthenticated(
                "send Authorization: Bearer <access_token>, or, for a guest order, the X-Cart-Token of the cart it was placed from",
                false,
            ));
        };
        match state.shop().carts().by_token(&token).await {
            Ok(cart) => Ok(OrderAuth(Caller::Guest(cart.id()))),
            Err(ShopError::NotFound { .. }) => {
                Err(ApiError::from(ShopError::not_found("order", "for this cart token")))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Who made an idempotent request, for its fingerprint: the customer, a digest of the
/// guest cart token (the token itself is a secret), or `anonymous`.
pub(crate) async fn subject(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    if let Some(p) = principal(parts, state).await? {
        return Ok(format!("customer:{}", p.customer));
    }
    Ok(match cart_token(parts)? {
        Some(token) => format!("guest:{}", hex::encode(Sha256::digest(token.expose().as_bytes()))),
        None => "anonymous".to_owned(),
    })
}
