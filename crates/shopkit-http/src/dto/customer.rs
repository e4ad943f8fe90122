//! The signed-in customer's own profile and address book, and postal addresses on the
//! wire (carts, orders and the address book share them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use shopkit_core::customers::{Address, Customer};
use shopkit_core::ids::RegionCode;
use shopkit_core::services::ProfileUpdate;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;

/// The longest second address line accepted.
const LINE2_MAX: usize = 200;
/// The longest phone number accepted.
const PHONE_MAX: usize = 40;

/// A postal address as the server returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressDto {
    /// Its id in the address book; `null` for a one-off cart or order address.
    pub id: Option<Uuid>,
    /// Recipient name.
    pub name: String,
    /// First address line.
    pub line1: String,
    /// Second address line.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166 country, optionally with a subdivision (`DE`, `US-CA`): selects tax and
    /// shipping rates.
    #[schema(example = "US-CA")]
    pub region: String,
    /// Phone number for the carrier.
    pub phone: Option<String>,
}

impl From<&Address> for AddressDto {
    fn from(a: &Address) -> Self {
        AddressDto {
            id: a.id.map(|id| id.as_uuid()),
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            region: a.region.as_str().to_owned(),
            phone: a.phone.clone(),
        }
    }
}

/// A postal address as a client sends it (a cart's delivery address, or a new entry of
/// the address book).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressRequest {
    /// Recipient name, 1 to 200 characters.
    pub name: String,
    /// First address line, 1 to 200 characters.
    pub line1: String,
    /// Second address line, at most 200 characters.
    #[serde(default)]
    pub line2: Option<String>,
    /// City, 1 to 100 characters.
    pub city: String,
    /// Postal code, 1 to 20 characters.
    pub postal_code: String,
    /// ISO 3166 country, optionally with a subdivision (`DE`, `US-CA`).
    #[schema(value_type = crate::openapi::RegionCodeSchema)]
    pub region: String,
    /// Phone number for the carrier, at most 40 characters.
    #[serde(default)]
    pub phone: Option<String>,
}

fn too_long(field: String, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(ApiError::validation(field, format!("at most {max} characters")))
        }
        _ => Ok(()),
    }
}

impl AddressRequest {
    /// The address this stands for; `field` prefixes the field named in errors
    /// (`address` gives `address.region`).
    ///
    /// # Errors
    /// `422 validation_failed` naming the field: an unknown region shape, an empty or
    /// over-long name, line, city or postal code.
    pub fn to_address(&self, field: &str) -> Result<Address, ApiError> {
        let at = |name: &str| {
            if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") }
        };
        let region = RegionCode::new(&self.region)
            .map_err(|e| ApiError::validation(at("region"), e.to_string()))?;
        too_long(at("line2"), self.line2.as_deref(), LINE2_MAX)?;
        too_long(at("phone"), self.phone.as_deref(), PHONE_MAX)?;
        let blank_to_none =
            |v: &Option<String>| v.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let address = Address {
            id: None,
            name: self.name.trim().to_owned(),
            line1: self.line1.trim().to_owned(),
            line2: blank_to_none(&self.line2),
            city: self.city.trim().to_owned(),
            postal_code: self.postal_code.trim().to_owned(),
            region,
            phone: blank_to_none(&self.phone),
        };
        address.validate().map_err(|e| {
            ApiError::validation(at(e.field), format!("{} is {}", e.field, e.problem))
        })?;
        Ok(address)
    }
}

/// The signed-in customer's profile and address book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProfileDto {
    /// The customer id.
    pub id: Uuid,
    /// Sign-in and contact address.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number for SMS.
    pub phone: Option<String>,
    /// Agreed to marketing messages.
    pub accepts_marketing: bool,
    /// The address book, oldest first.
    pub addresses: Vec<AddressDto>,
    /// The id of the default shipping address, one of `addresses`.
    pub default_address_id: Option<Uuid>,
    /// When they registered.
    pub created_at: DateTime<Utc>,
}

impl From<&Customer> for ProfileDto {
    fn from(c: &Customer) -> Self {
        ProfileDto {
            id: c.id.as_uuid(),
            email: c.email.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            phone: c.phone.clone(),
            accepts_marketing: c.accepts_marketing,
            addresses: c.addresses.iter().map(AddressDto::from).collect(),
            default_address_id: c.default_address.map(|id| id.as_uuid()),
            created_at: c.created_at,
        }
    }
}

/// `Some(value)` for a member that is present (even `null`), so `{"phone": null}` (remove
/// it) differs from no `phone` member (keep it).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A profile change (`PATCH /me`, merge-patch style): absent members stay as they are.
/// The email is the sign-in identity and cannot be changed here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    /// A new given name (at most 200 characters).
    #[serde(default)]
    pub first_name: Option<String>,
    /// A new family name (at most 200 characters).
    #[serde(default)]
    pub last_name: Option<String>,
    /// A new phone number; `null` removes it.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// A new marketing consent.
    #[serde(default)]
    pub accepts_marketing: Option<bool>,
    /// Refused when present: the email is the sign-in identity.
    #[serde(default, skip_serializing)]
    #[schema(ignore)]
    pub email: Option<serde_json::Value>,
}

impl TryFrom<UpdateProfileRequest> for ProfileUpdate {
    type Error = ApiError;

    fn try_from(r: UpdateProfileRequest) -> Result<Self, ApiError> {
        if r.email.is_some() {
            return Err(ApiError::validation(
                "email",
                "the email is the sign-in identity and cannot be changed here: leave it out",
            ));
        }
        let phone = match r.phone {
            Some(Some(p)) => {
                too_long("phone".to_owned(), Some(&p), PHONE_MAX)?;
                let p = p.trim().to_owned();
                Some((!p.is_empty()).then_some(p))
            }
            Some(None) => Some(None),
            None => None,
        };
        Ok(ProfileUpdate {
            email: None,
            first_name: r.first_name,
            last_name: r.last_name,
            phone,
            accepts_marketing: r.accepts_marketing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AddressRequest {
        AddressRequest {
            name: "Ann Lee".into(),
            line1: "1 Main St".into(),
            line2: Some("  ".into()),
            city: "Springfield".into(),
            postal_code: "12345".into(),
            region: "us-ca".into(),
            phone: None,
        }
    }

    #[test]
    fn an_address_request_becomes_a_validated_address() {
        let address = request().to_address("address").unwrap();

        assert_eq!(address.region.as_str(), "US-CA");
        assert_eq!(address.line2, None, "a blank second line is no second line");
    }

    #[test]
    fn a_bad_address_names_the_field_at_fault() {
        let mut bad_region = request();
        bad_region.region = "California".into();
        let mut no_city = request();
        no_city.city = " ".into();

        let region = bad_region.to_address("address").unwrap_err();
        let city = no_city.to_address("").unwrap_err();

        assert_eq!(region.extension("field").unwrap(), "address.region");
        assert_eq!(city.extension("field").unwrap(), "city");
    }

    #[test]
    fn a_profile_patch_tells_a_removed_phone_from_an_absent_one() {
        let remove: UpdateProfileRequest = serde_json::from_str(r#"{"phone": null}"#).unwrap();
        let keep: UpdateProfileRequest = serde_json::from_str(r#"{"first_name": "Ann"}"#).unwrap();
        let email: UpdateProfileRequest =
            serde_json::from_str(r#"{"email": "new@example.com"}"#).unwrap();

        assert_eq!(ProfileUpdate::try_from(remove).unwrap().phone, Some(None));
        assert_eq!(ProfileUpdate::try_from(keep).unwrap().phone, None);
        assert_eq!(
            ProfileUpdate::try_from(email).unwrap_err().extension("field").unwrap(),
            "email"
        );
    }
}
