//! How many of a thing: a positive count.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A quantity of units: at least 1. Zero or negative quantities never reach the domain.
///
/// The upper bound per cart line is a cart rule ([`crate::cart::CartPolicy`]), not a
/// property of the number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Quantity(u32);

/// A quantity that is zero, negative or too large to count.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {value}: a quantity is a whole number from 1 to {max}", max = u32::MAX)]
pub struct InvalidQuantity {
    /// The value as given.
    pub value: i64,
}

impl Quantity {
    /// One unit.
    pub const ONE: Quantity = Quantity(1);

    /// Validates a quantity (1 ..= `u32::MAX`).
    pub fn new(value: i64) -> Result<Self, InvalidQuantity> {
        u32::try_from(value).ok().filter(|v| *v > 0).map(Quantity).ok_or(InvalidQuantity { value })
    }

    /// The count.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        self.0.checked_add(other.0).map(Quantity)
    }

    /// `self - other`, or `None` when the result would be below 1.
    pub fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        self.0.checked_sub(other.0).filter(|v| *v > 0).map(Quantity)
    }
}

impl TryFrom<i64> for Quantity {
    type Error = InvalidQuantity;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Quantity::new(v)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

impl From<Quantity> for u64 {
    fn from(q: Quantity) -> u64 {
        u64::from(q.0)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_negative_and_huge_quantities_are_rejected() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-3).is_err());
        assert!(Quantity::new(i64::from(u32::MAX) + 1).is_err());
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("2").unwrap().get(), 2);
    }
}
