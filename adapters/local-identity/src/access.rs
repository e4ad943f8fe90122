//! Access tokens: HS256 JWTs carrying who the caller is (`sub`, `email`, `roles`), checked
//! for signature, issuer, audience and expiry. Expiry is judged by the injected clock, not
//! by the system time the JWT library would read.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shopkit_core::ids::{CustomerId, Email};
use shopkit_core::ports::{AccountError, IdentityError, Principal, Role};
use uuid::Uuid;

use crate::config::{ConfigError, LocalIdentityConfig};

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The customer id.
    sub: String,
    roles: Vec<Role>,
    email: String,
    iss: String,
    aud: String,
    /// Issued at, seconds since the epoch.
    iat: i64,
    /// Expires at, seconds since the epoch: valid while `now < exp`.
    exp: i64,
    /// A unique id, so two tokens issued in the same second differ.
    jti: String,
}

/// Issues and verifies access tokens.
pub(crate) struct AccessTokens {
    issuer: String,
    audience: String,
    ttl: Duration,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl AccessTokens {
    pub(crate) fn new(config: &LocalIdentityConfig) -> Result<Self, ConfigError> {
        let key = config.signing_key.expose();
        let too_short = |_| ConfigError::KeyTooShort { len: key.len() };
        let mut validation = Validation::new(Algorithm::HS256);
        // The library would read the system clock: expiry is checked against ours instead.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(AccessTokens {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.access_ttl,
            encoding: EncodingKey::from_secret(key).map_err(too_short)?,
            decoding: DecodingKey::from_secret(key).map_err(too_short)?,
            validation,
        })
    }

    /// Seconds an access token lives.
    pub(crate) fn expires_in(&self) -> u64 {
        u64::try_from(self.ttl.num_seconds()).unwrap_or_default()
    }

    /// A token for `customer` issued at `now`.
    pub(crate) fn issue(
        &self,
        customer: CustomerId,
        email: &Email,
        roles: &[Role],
        now: DateTime<Utc>,
    ) -> Result<String, AccountError> {
        let claims = Claims {
            sub: customer.to_string(),
            roles: roles.to_vec(),
            email: email.as_str().to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: Uuid::new_v4().simple().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            AccountError::Unavailable { message: format!("could not sign an access token: {e}") }
        })
    }

    /// The principal of `token` at `now`.
    ///
    /// A bad signature, issuer, audience or shape is `Invalid`; a well-signed token with
    /// `exp <= now` is `Expired` (no leeway).
    pub(crate) fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, IdentityError> {
        // The library's errors are not told apart: anything it refuses is `Invalid`.
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| IdentityError::Invalid)?
            .claims;
        if now.timestamp() >= claims.exp {
            return Err(IdentityError::Expired);
        }
        let customer = claims.sub.parse::<CustomerId>().map_err(|_| IdentityError::Invalid)?;
        let email = Email::new(&claims.email).map_err(|_| IdentityError::Invalid)?;
        Ok(Principal { customer, email: Some(email), roles: claims.roles })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::SigningKey;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    }

    fn tokens() -> AccessTokens {
        let key = SigningKey::new([7u8; 32]).unwrap();
        AccessTokens::new(&LocalIdentityConfig::new("https://shop.test", "shop-web", key)).unwrap()
    }

    fn ann() -> (CustomerId, Email) {
        (CustomerId::from_uuid(Uuid::from_u128(0xa77)), Email::new("Ann@example.com").unwrap())
    }

    #[test]
    fn a_token_carries_its_customer_email_and_roles() {
        let tokens = tokens();
        let (customer, email) = ann();
        let token = tokens.issue(customer, &email, &[Role::Customer, Role::Admin], t0()).unwrap();

        let principal = tokens.verify(&token, t0()).unwrap();

        assert_eq!(principal.customer, customer);
        assert_eq!(principal.email, Some(email));
        assert_eq!(principal.roles, [Role::Customer, Role::Admin]);
    }

    #[test]
    fn a_token_expires_exactly_at_its_exp_by_the_injected_clock() {
        let tokens = tokens();
        let (customer, email) = ann();
        let token = tokens.issue(customer, &email, &[Role::Customer], t0()).unwrap();
        let ttl = LocalIdentityConfig::DEFAULT_ACCESS_TTL;

        let last_second = tokens.verify(&token, t0() + ttl - Duration::seconds(1));
        let at_exp = tokens.verify(&token, t0() + ttl);

        assert!(last_second.is_ok(), "valid while now < exp");
        assert!(matches!(at_exp, Err(IdentityError::Expired)), "no leeway at exp");
    }

    #[test]
    fn a_token_of_the_past_is_expired_even_though_the_system_clock_is_later() {
        // The token expired in 2030 by the clock; the library alone would judge it by
        // today's system time. Issued "in 2000" it is expired for a clock in 2030.
        let tokens = tokens();
        let (customer, email) = ann();
        let old = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        let token = tokens.issue(customer, &email, &[Role::Customer], old).unwrap();

        let result = tokens.verify(&token, t0());

        assert!(matches!(result, Err(IdentityError::Expired)));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let (customer, email) = ann();
        let other = AccessTokens::new(&LocalIdentityConfig::new(
            "https://shop.test",
            "shop-web",
            SigningKey::new([8u8; 32]).unwrap(),
        ))
        .unwrap();
        let token = other.issue(customer, &email, &[Role::Admin], t0()).unwrap();

        let result = tokens().verify(&token, t0());

        assert!(matches!(result, Err(IdentityError::Invalid)));
    }

    #[test]
    fn an_unsigned_token_is_invalid() {
        // `alg: none` with the right claims.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (customer, _) = ann();
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64.encode(format!(
            r#"{{"sub":"{customer}","roles":["admin"],"email":"a@b.co","iss":"https://shop.test","aud":"shop-web","iat":0,"exp":99999999999,"jti":"x"}}"#
        ));

        let result = tokens().verify(&format!("{header}.{payload}."), t0());

        assert!(matches!(result, Err(IdentityError::Invalid)));
    }
}
