//! Tax rates by region, inclusive (EU-style) or exclusive (US-style) of tax.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::RegionCode;
use crate::money::{Money, MoneyError, RoundingPolicy};

/// A tax rate that cannot be valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaxRateError {
    /// The rate is negative or above 100 %.
    #[error("a tax rate is a fraction from 0 to 1 (0.19 is 19 %), got {rate}")]
    OutOfRange {
        /// The rate as given.
        rate: Decimal,
    },
}

/// The tax of one region: `rate` is a fraction (`0.19` is 19 %). Deserializing validates
/// as [`TaxRate::new`] does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TaxRateRepr")]
pub struct TaxRate {
    region: RegionCode,
    rate: Decimal,
    name: String,
}

#[derive(Deserialize)]
struct TaxRateRepr {
    region: RegionCode,
    rate: Decimal,
    name: String,
}

impl TryFrom<TaxRateRepr> for TaxRate {
    type Error = TaxRateError;

    fn try_from(r: TaxRateRepr) -> Result<Self, Self::Error> {
        TaxRate::new(r.region, r.rate, r.name)
    }
}

impl TaxRate {
    /// A rate for `region` (a country, or a subdivision such as `US-CA`).
    ///
    /// # Errors
    /// [`TaxRateError::OutOfRange`] unless `0 ≤ rate ≤ 1`: a rate of `19` is 1900 %, which
    /// is almost certainly a typo for `0.19`.
    pub fn new(
        region: RegionCode,
        rate: Decimal,
        name: impl Into<String>,
    ) -> Result<Self, TaxRateError> {
        if rate.is_sign_negative() && !rate.is_zero() || rate > Decimal::ONE {
            return Err(TaxRateError::OutOfRange { rate });
        }
        Ok(TaxRate { region, rate, name: name.into() })
    }

    /// The region it applies to (and to every subdivision of it).
    pub fn region(&self) -> &RegionCode {
        &self.region
    }
    /// The rate as a fraction.
    pub fn rate(&self) -> Decimal {
        self.rate
    }
    /// Its name, e.g. `"VAT"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tax added on top of a net amount: `net × rate`, rounded with `rounding`.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] for amounts beyond the decimal range.
    pub fn tax_on_top_of(
        &self,
        net: &Money,
        rounding: RoundingPolicy,
    ) -> Result<Money, MoneyError> {
        net.mul_decimal(self.rate, rounding)
    }

    /// The tax contained in a gross amount: `gross × rate / (1 + rate)`, rounded with
    /// `rounding`. One division of the exact product, so an exact tie stays a tie.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] for amounts beyond the decimal range.
    pub fn tax_included_in(
        &self,
        gross: &Money,
        rounding: RoundingPolicy,
    ) -> Result<Money, MoneyError> {
        let exact = gross
            .amount()
            .checked_mul(self.rate)
            .and_then(|x| x.checked_div(Decimal::ONE + self.rate))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::round(exact, gross.currency(), rounding))
    }
}

/// The shop's tax rates and how its prices relate to tax.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxTable {
    /// One rate per region; the most specific one for the destination wins.
    pub rates: Vec<TaxRate>,
    /// Whether catalog prices include tax (EU-style): tax is then extracted from the
    /// discounted price and totals do not change. Otherwise (US-style) tax is added.
    pub prices_include_tax: bool,
    /// Whether shipping is taxed at the destination's rate too.
    pub tax_shipping: bool,
}

impl TaxTable {
    /// The rate for a destination: an exact match (`US-CA`) beats its country (`US`);
    /// between equally specific rates, the first in the table. `None` means no tax.
    pub fn rate_for(&self, region: &RegionCode) -> Option<&TaxRate> {
        let mut best: Option<&TaxRate> = None;
        for rate in &self.rates {
            if region.is_within(&rate.region)
                && best.is_none_or(|b| rate.region.as_str().len() > b.region.as_str().len())
            {
                best = Some(rate);
            }
        }
        best
    }

    /// The tax in (inclusive) or on top of (exclusive) `amount`, per this table's mode.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] for amounts beyond the decimal range.
    pub fn tax_for(
        &self,
        rate: &TaxRate,
        amount: &Money,
        rounding: RoundingPolicy,
    ) -> Result<Money, MoneyError> {
        if self.prices_include_tax {
            rate.tax_included_in(amount, rounding)
        } else {
            rate.tax_on_top_of(amount, rounding)
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: usd(19_99) is 19.99"
)]
mod tests {
    use super::*;
    use crate::pricing::test_support::*;
    use rust_decimal_macros::dec;

    fn rate(region_code: &str, r: Decimal) -> TaxRate {
        TaxRate::new(region(region_code), r, "tax").unwrap()
    }

    #[test]
    fn the_most_specific_region_wins() {
        let table = TaxTable {
            rates: vec![
                rate("US-CA", dec!(0.0725)),
                rate("US", dec!(0.05)),
                rate("DE", dec!(0.19)),
            ],
            ..TaxTable::default()
        };
        assert_eq!(table.rate_for(&region("US-CA")).unwrap().rate(), dec!(0.0725));
        assert_eq!(table.rate_for(&region("US-NY")).unwrap().rate(), dec!(0.05));
        assert_eq!(table.rate_for(&region("DE-BY")).unwrap().rate(), dec!(0.19));
        assert!(table.rate_for(&region("FR")).is_none());
    }

    #[test]
    fn inclusive_tax_is_extracted_from_the_gross_amount() {
        let vat = rate("DE", dec!(0.19));
        assert_eq!(
            vat.tax_included_in(&eur(119_00), RoundingPolicy::HalfEven).unwrap(),
            eur(19_00)
        );
        assert_eq!(vat.tax_on_top_of(&eur(100_00), RoundingPolicy::HalfEven).unwrap(), eur(19_00));
    }

    #[test]
    fn tax_rates_are_validated_when_read() {
        let ok = r#"{"region":"DE","rate":"0.19","name":"VAT"}"#;
        assert_eq!(serde_json::from_str::<TaxRate>(ok).unwrap().rate(), dec!(0.19));
        let typo = r#"{"region":"DE","rate":"19","name":"VAT"}"#;
        assert!(serde_json::from_str::<TaxRate>(typo).is_err());
    }

    #[test]
    fn rates_outside_zero_to_one_are_rejected() {
        assert!(TaxRate::new(region("DE"), dec!(19), "VAT").is_err());
        assert!(TaxRate::new(region("DE"), dec!(-0.01), "VAT").is_err());
        assert!(TaxRate::new(region("DE"), dec!(0), "none").is_ok());
        assert!(TaxRate::new(region("DE"), dec!(1), "all").is_ok());
    }
}
