//! Exact money: a decimal amount in a currency, always at the currency's minor unit.
//!
//! `Money` never holds more precision than its currency's minor unit (USD cents, JPY yen,
//! KWD fils). Computations that produce sub-unit values (a percentage, a tax rate) work on
//! [`Decimal`] and come back through [`Money::round`] with an explicit [`RoundingPolicy`].
//! Splitting an amount uses largest-remainder allocation ([`Money::allocate`]), so the parts
//! always sum to the whole, to the minor unit.

mod allocation;
mod currency;
mod rounding;

use std::cmp::Ordering;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use currency::Currency;
pub use rounding::RoundingPolicy;

/// What can go wrong with money. Each variant says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined; convert one first.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency of the left-hand amount.
        expected: Currency,
        /// The currency of the right-hand amount.
        found: Currency,
    },
    /// The code is not an ISO 4217 currency shopkit knows.
    #[error("unknown currency code {code:?}: use an ISO 4217 code such as USD or EUR")]
    UnknownCurrency {
        /// The code as given.
        code: String,
    },
    /// The amount has more decimal places than the currency's minor unit.
    #[error("{amount} has more than {minor_units} decimal places, the minor unit of {currency}")]
    TooPrecise {
        /// The amount as given.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
        /// The digits the currency allows.
        minor_units: u32,
    },
    /// The result does not fit in the decimal range.
    #[error("arithmetic overflow in a money computation")]
    Overflow,
    /// An allocation was asked for with no parts, or with ratios that sum to zero or less.
    #[error("cannot allocate over {reason}")]
    InvalidAllocation {
        /// Why the ratios are unusable.
        reason: &'static str,
    },
}

/// An exact amount of a currency.
///
/// Invariant: `amount` has exactly `currency.minor_units()` decimal places.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// The wire form of [`Money`]: `{ "amount": "12.50", "currency": "EUR" }` (amount as a
/// string so no JSON reader turns it into a float).
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;
    fn try_from(r: MoneyRepr) -> Result<Self, Self::Error> {
        Money::new(r.amount, r.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(m: Money) -> Self {
        MoneyRepr { amount: m.amount, currency: m.currency }
    }
}

impl Money {
    /// An exact amount. Fails with [`MoneyError::TooPrecise`] when `amount` has more decimal
    /// places than the currency's minor unit (`12.345 USD`); use [`Money::round`] to round.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let minor_units = currency.minor_units();
        let normalized = amount.normalize();
        if normalized.scale() > minor_units {
            return Err(MoneyError::TooPrecise { amount, currency, minor_units });
        }
        let mut amount = normalized;
        amount.rescale(minor_units);
        Ok(Money { amount, currency })
    }

    /// Rounds an exact decimal to the currency's minor unit with an explicit policy.
    pub fn round(value: Decimal, currency: Currency, policy: RoundingPolicy) -> Self {
        Money { amount: policy.round(value, currency), currency }
    }

    /// An amount given in minor units: `from_minor(1250, EUR)` is 12.50 EUR.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { amount: Decimal::new(minor, currency.minor_units()), currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money::from_minor(0, currency)
    }

    /// The decimal amount, at the currency's scale.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units (cents), if it fits in an `i64`.
    pub fn to_minor(&self) -> Result<i64, MoneyError> {
        self.amount.mantissa().try_into().map_err(|_| MoneyError::Overflow)
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// Whether the amount is above zero.
    pub fn is_positive(&self) -> bool {
        self.amount.is_sign_positive() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { expected: self.currency, found: other.currency })
        }
    }

    /// `self + other`; an error across currencies or on overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    /// `self - other`; an error across currencies or on overflow.
    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    /// `self * n`, exact (an integer factor keeps the minor unit).
    pub fn checked_mul(&self, n: u64) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(Decimal::from(n)).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    /// `self * factor`, rounded with `policy` (a rate, a percentage).
    pub fn mul_decimal(
        &self,
        factor: Decimal,
        policy: RoundingPolicy,
    ) -> Result<Money, MoneyError> {
        let exact = self.amount.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::round(exact, self.currency, policy))
    }

    /// The negated amount.
    pub fn negate(&self) -> Money {
        Money { amount: -self.amount, currency: self.currency }
    }

    /// The smaller of two amounts of the same currency.
    pub fn min(&self, other: &Money) -> Result<Money, MoneyError> {
        Ok(if self.try_cmp(other)? == Ordering::Greater { *other } else { *self })
    }

    /// The larger of two amounts of the same currency.
    pub fn max(&self, other: &Money) -> Result<Money, MoneyError> {
        Ok(if self.try_cmp(other)? == Ordering::Less { *other } else { *self })
    }

    /// Compares two amounts of the same currency.
    pub fn try_cmp(&self, other: &Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// The sum of `items`, all in `currency` (zero for none).
    pub fn sum<'a>(
        currency: Currency,
        items: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_are_kept_at_the_minor_unit() {
        let m = Money::new(dec!(12.5), Currency::EUR).unwrap();
        assert_eq!(m.amount().to_string(), "12.50");
        assert_eq!(m.to_minor().unwrap(), 1250);
        assert_eq!(Money::from_minor(1250, Currency::JPY).amount(), dec!(1250));
        assert_eq!(Money::from_minor(1250, Currency::KWD).amount().to_string(), "1.250");
    }

    #[test]
    fn more_precision_than_the_minor_unit_is_rejected() {
        assert!(matches!(
            Money::new(dec!(12.345), Currency::USD),
            Err(MoneyError::TooPrecise { minor_units: 2, .. })
        ));
        assert!(Money::new(dec!(1.5), Currency::JPY).is_err());
        assert!(Money::new(dec!(1.500), Currency::USD).is_ok(), "trailing zeros are not precision");
    }

    #[test]
    fn arithmetic_across_currencies_is_an_error() {
        let usd = Money::from_minor(100, Currency::USD);
        let eur = Money::from_minor(100, Currency::EUR);
        assert_eq!(
            usd.checked_add(&eur),
            Err(MoneyError::CurrencyMismatch { expected: Currency::USD, found: Currency::EUR })
        );
        assert!(usd.checked_sub(&eur).is_err());
        assert!(usd.try_cmp(&eur).is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let huge = Money::new(Decimal::MAX.trunc(), Currency::JPY).unwrap();
        assert_eq!(huge.checked_add(&huge), Err(MoneyError::Overflow));
        assert_eq!(huge.checked_mul(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn multiplying_by_a_rate_rounds_with_the_given_policy() {
        let m = Money::from_minor(1005, Currency::USD); // 10.05
        let half = m.mul_decimal(dec!(0.5), RoundingPolicy::HalfEven).unwrap(); // 5.025
        assert_eq!(half.amount(), dec!(5.02));
        let half_up = m.mul_decimal(dec!(0.5), RoundingPolicy::HalfUp).unwrap();
        assert_eq!(half_up.amount(), dec!(5.03));
    }

    #[test]
    fn money_serializes_with_a_string_amount_and_validates_on_read() {
        let m = Money::from_minor(1999, Currency::USD);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"19.99","currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.999","currency":"USD"}"#).is_err());
    }

    #[test]
    fn sums_of_nothing_are_zero() {
        assert!(Money::sum(Currency::GBP, []).unwrap().is_zero());
    }
}
