//! Accounts on the wire: sign-up, sign-in, refresh, sign-out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::customers::Customer;
use shopkit_core::ids::Email;
use shopkit_core::ports::{AccountError, Password, Role, TokenPair};
use shopkit_core::services::Registration;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    /// A shopper.
    Customer,
    /// Back-office staff.
    Admin,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Customer => RoleDto::Customer,
            Role::Admin => RoleDto::Admin,
        }
    }
}

/// A new account.
#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct SignUpRequest {
    /// Sign-in and contact address.
    #[schema(value_type = crate::openapi::EmailSchema)]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number for SMS.
    #[serde(default)]
    pub phone: Option<String>,
    /// Agrees to marketing messages.
    #[serde(default)]
    pub accepts_marketing: bool,
}

impl std::fmt::Debug for SignUpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpRequest").finish_non_exhaustive()
    }
}

impl TryFrom<SignUpRequest> for (Registration, Password) {
    type Error = ApiError;

    fn try_from(r: SignUpRequest) -> Result<Self, ApiError> {
        let email =
            Email::new(&r.email).map_err(|e| ApiError::validation("email", e.to_string()))?;
        let password = Password::new(&r.password)
            .map_err(|e| ApiError::validation("password", e.to_string()))?;
        let registration = Registration {
            email,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            accepts_marketing: r.accepts_marketing,
        };
        Ok((registration, password))
    }
}

/// Email and password.
#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct SignInRequest {
    /// The account's email.
    #[schema(value_type = crate::openapi::EmailSchema)]
    pub email: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest").finish_non_exhaustive()
    }
}

impl TryFrom<SignInRequest> for (Email, Password) {
    type Error = ApiError;

    /// A malformed email or a password outside the length rules cannot belong to an
    /// account: both answer `401 invalid_credentials`, like a wrong password (no hint about
    /// which accounts exist).
    fn try_from(r: SignInRequest) -> Result<Self, ApiError> {
        let wrong = || {
            ApiError::from(shopkit_core::services::ShopError::Account(
                AccountError::InvalidCredentials,
            ))
        };
        let email = Email::new(&r.email).map_err(|_| wrong())?;
        let password = Password::new(&r.password).map_err(|_| wrong())?;
        Ok((email, password))
    }
}

/// A refresh token to exchange.
#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the current session (single use).
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest").finish_non_exhaustive()
    }
}

/// The session to end.
#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct SignOutRequest {
    /// The refresh token of the session.
    pub refresh_token: String,
}

impl std::fmt::Debug for SignOutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOutRequest").finish_non_exhaustive()
    }
}

/// A signed-in session.
#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct TokenPairDto {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Exchange once at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The signed-in customer.
    pub customer_id: Uuid,
    /// Their roles.
    pub roles: Vec<RoleDto>,
}

impl std::fmt::Debug for TokenPairDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPairDto")
            .field("customer_id", &self.customer_id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl From<TokenPair> for TokenPairDto {
    fn from(t: TokenPair) -> Self {
        TokenPairDto {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer".to_owned(),
            expires_in: t.expires_in,
            customer_id: t.customer.as_uuid(),
            roles: t.roles.into_iter().map(RoleDto::from).collect(),
        }
    }
}

/// A customer's own profile.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct CustomerDto {
    /// The customer id.
    pub id: Uuid,
    /// Sign-in and contact address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Agreed to marketing messages.
    pub accepts_marketing: bool,
    /// When they registered.
    pub created_at: DateTime<Utc>,
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        CustomerDto {
            id: c.id.as_uuid(),
            email: c.email.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            phone: c.phone.clone(),
            accepts_marketing: c.accepts_marketing,
            created_at: c.created_at,
        }
    }
}

/// A new account and its first session.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct SignUpResponse {
    /// The account.
    pub customer: CustomerDto,
    /// The session.
    pub tokens: TokenPairDto,
}
