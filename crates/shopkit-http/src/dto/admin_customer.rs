//! Customers as the back office sees them: the profile plus address book, groups and
//! version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shopkit_core::customers::Customer;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AddressDto;

/// A customer account (back office).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminCustomerDto {
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
    /// Group handles (group prices and promotions).
    pub groups: Vec<String>,
    /// The address book.
    pub addresses: Vec<AddressDto>,
    /// The default shipping address (an id in `addresses`).
    pub default_address: Option<Uuid>,
    /// The stored version.
    pub version: u64,
    /// When they registered.
    pub created_at: DateTime<Utc>,
}

impl From<&Customer> for AdminCustomerDto {
    fn from(c: &Customer) -> Self {
        AdminCustomerDto {
            id: c.id.as_uuid(),
            email: c.email.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            phone: c.phone.clone(),
            accepts_marketing: c.accepts_marketing,
            groups: c.groups.iter().map(ToString::to_string).collect(),
            addresses: c.addresses.iter().map(AddressDto::from).collect(),
            default_address: c.default_address.map(|a| a.as_uuid()),
            version: c.version,
            created_at: c.created_at,
        }
    }
}
