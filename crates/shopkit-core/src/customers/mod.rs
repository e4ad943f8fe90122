//! Customers: profile, addresses and groups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AddressId, CustomerGroupId, CustomerId, Email, RegionCode};

/// A postal address. `region` (country and subdivision) drives tax and shipping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The address id within the customer's book (absent on a one-off cart address).
    pub id: Option<AddressId>,
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
    /// Country and subdivision (`US-CA`, `DE`).
    pub region: RegionCode,
    /// Phone number for the carrier.
    pub phone: Option<String>,
}

/// An address that cannot be shipped to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("address field {field} is {problem}")]
pub struct InvalidAddress {
    /// The field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl Address {
    /// Checks that the fields a carrier needs are present and of sane length.
    pub fn validate(&self) -> Result<(), InvalidAddress> {
        for (field, value, max) in [
            ("name", &self.name, 200),
            ("line1", &self.line1, 200),
            ("city", &self.city, 100),
            ("postal_code", &self.postal_code, 20),
        ] {
            if value.trim().is_empty() {
                return Err(InvalidAddress { field, problem: "empty" });
            }
            if value.chars().count() > max {
                return Err(InvalidAddress { field, problem: "too long" });
            }
        }
        Ok(())
    }
}

/// A registered customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// Sign-in and contact address; unique across customers.
    pub email: Email,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Phone number for SMS, if given.
    pub phone: Option<String>,
    /// The address book.
    pub addresses: Vec<Address>,
    /// The default shipping address, one of `addresses`.
    pub default_address: Option<AddressId>,
    /// Groups for group prices and promotions (`wholesale`, `vip`).
    pub groups: Vec<CustomerGroupId>,
    /// Whether the customer agreed to marketing messages.
    pub accepts_marketing: bool,
    /// Optimistic-concurrency version, kept by the repository (0 before insert).
    pub version: u64,
    /// When the customer registered.
    pub created_at: DateTime<Utc>,
}

impl Customer {
    /// The display name.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_owned()
    }

    /// The default address, if set.
    pub fn default_address(&self) -> Option<&Address> {
        let id = self.default_address?;
        self.addresses.iter().find(|a| a.id == Some(id))
    }
}
