//! [`MoneyDto`]: money on the wire.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shopkit_core::money::{Currency, Money};
use utoipa::ToSchema;

use crate::error::ApiError;

/// An amount of money: `{"amount": "12.50", "currency": "EUR"}`. The amount is a decimal
/// string at the currency's minor unit (`"1200"` JPY, `"12.50"` EUR, `"1.250"` KWD), so
/// no JSON reader turns it into a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount": "12.50", "currency": "EUR"}))]
pub struct MoneyDto {
    /// A decimal string, at most the currency's minor-unit digits after the point.
    #[schema(example = "12.50")]
    pub amount: String,
    /// An ISO 4217 code.
    #[schema(value_type = crate::openapi::CurrencyCodeSchema)]
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto { amount: m.amount().to_string(), currency: m.currency().code().to_owned() }
    }
}

impl From<&Money> for MoneyDto {
    fn from(m: &Money) -> Self {
        MoneyDto::from(*m)
    }
}

/// Parses an ISO 4217 code (case-insensitive).
///
/// # Errors
/// `422 validation_failed` naming `field` for a code shopkit does not know.
pub fn parse_currency(raw: &str, field: &str) -> Result<Currency, ApiError> {
    Currency::from_str(raw).map_err(|e| ApiError::validation(field, e.to_string()))
}

impl MoneyDto {
    /// The money this stands for; `field` names it in errors (`variants[0].prices[1]`).
    ///
    /// # Errors
    /// `422 validation_failed` for an unknown currency, an amount that is not a plain
    /// decimal (no exponent, no spaces), or one with more digits than the currency's minor
    /// unit.
    pub fn to_money(&self, field: &str) -> Result<Money, ApiError> {
        let currency = parse_currency(&self.currency, &format!("{field}.currency"))?;
        let amount_field = format!("{field}.amount");
        let plain = !self.amount.is_empty()
            && self.amount.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
        let amount =
            plain.then(|| Decimal::from_str(&self.amount).ok()).flatten().ok_or_else(|| {
                ApiError::validation(
                    amount_field.clone(),
                    format!("{:?} is not a decimal amount such as \"12.50\"", self.amount),
                )
            })?;
        Money::new(amount, currency).map_err(|e| ApiError::validation(amount_field, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_goes_out_at_its_minor_unit() {
        assert_eq!(
            MoneyDto::from(Money::from_minor(1250, Currency::EUR)),
            MoneyDto { amount: "12.50".into(), currency: "EUR".into() }
        );
        assert_eq!(MoneyDto::from(Money::from_minor(1200, Currency::JPY)).amount, "1200");
    }

    #[test]
    fn money_comes_in_only_as_a_plain_decimal_in_a_known_currency() {
        let ok = MoneyDto { amount: "12.5".into(), currency: "eur".into() };
        assert_eq!(ok.to_money("price").unwrap(), Money::from_minor(1250, Currency::EUR));
        for (amount, currency, field) in [
            ("1e3", "EUR", "price.amount"),
            ("12.345", "EUR", "price.amount"),
            ("", "EUR", "price.amount"),
            ("12", "XXX", "price.currency"),
        ] {
            let err = MoneyDto { amount: amount.into(), currency: currency.into() }
                .to_money("price")
                .unwrap_err();
            assert_eq!(err.extension("field").unwrap(), field, "{amount} {currency}");
        }
    }
}
