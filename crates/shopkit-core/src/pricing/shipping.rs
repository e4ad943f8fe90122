//! Shipping methods and what they cost: flat, or by weight band, optionally free over an
//! amount.

use serde::{Deserialize, Serialize};

use crate::ids::{RegionCode, ShippingMethodId};
use crate::money::{Currency, Money};

use super::PricingError;

/// A shipping rate that cannot be valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShippingRateError {
    /// A price (or threshold) below zero.
    #[error("shipping prices and thresholds cannot be negative, got {amount}")]
    Negative {
        /// The amount as given.
        amount: Money,
    },
    /// A weight-band price with no band: no weight could be priced.
    #[error("a weight-band price needs at least one band")]
    NoWeightBands,
    /// Bands or the free-over threshold in different currencies.
    #[error("a shipping rate is in one currency: expected {expected}, found {found}")]
    MixedCurrencies {
        /// The currency of the first price.
        expected: Currency,
        /// The other currency.
        found: Currency,
    },
}

/// One weight band: parcels up to and including `up_to_grams` cost `price`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightBand {
    /// The heaviest parcel, in grams, this band prices.
    pub up_to_grams: u32,
    /// The price.
    pub price: Money,
}

/// How a shipping rate is priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShippingPrice {
    /// One price whatever the weight.
    Flat(Money),
    /// By the total weight of the cart: the lightest band that holds it. Heavier than the
    /// last band is [`PricingError::NoShippingRate`].
    WeightBands(Vec<WeightBand>),
}

/// One way to ship, to some regions, at a price. Deserializing validates as
/// [`ShippingRate::new`] and [`ShippingRate::free_over`] do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShippingRateRepr")]
pub struct ShippingRate {
    method: ShippingMethodId,
    name: String,
    regions: Vec<RegionCode>,
    price: ShippingPrice,
    #[serde(skip_serializing)]
    currency: Currency,
    free_over: Option<Money>,
}

#[derive(Deserialize)]
struct ShippingRateRepr {
    method: ShippingMethodId,
    name: String,
    #[serde(default)]
    regions: Vec<RegionCode>,
    price: ShippingPrice,
    #[serde(default)]
    free_over: Option<Money>,
}

impl TryFrom<ShippingRateRepr> for ShippingRate {
    type Error = ShippingRateError;

    fn try_from(r: ShippingRateRepr) -> Result<Self, Self::Error> {
        let rate = ShippingRate::new(r.method, r.name, r.price)?.serving(r.regions);
        match r.free_over {
            Some(threshold) => rate.free_over(threshold),
            None => Ok(rate),
        }
    }
}

impl ShippingRate {
    /// A rate for `method`, serving everywhere until [`ShippingRate::serving`] says
    /// otherwise. Weight bands are kept sorted by weight.
    ///
    /// # Errors
    /// [`ShippingRateError`] for a negative price, no weight bands, or bands in several
    /// currencies.
    pub fn new(
        method: ShippingMethodId,
        name: impl Into<String>,
        price: ShippingPrice,
    ) -> Result<Self, ShippingRateError> {
        let (price, currency) = match price {
            ShippingPrice::Flat(amount) => {
                check_non_negative(&amount)?;
                (ShippingPrice::Flat(amount), amount.currency())
            }
            ShippingPrice::WeightBands(mut bands) => {
                let first = bands.first().ok_or(ShippingRateError::NoWeightBands)?.price;
                for band in &bands {
                    check_non_negative(&band.price)?;
                    check_currency(first.currency(), &band.price)?;
                }
                bands.sort_by_key(|b| b.up_to_grams);
                (ShippingPrice::WeightBands(bands), first.currency())
            }
        };
        Ok(ShippingRate {
            method,
            name: name.into(),
            regions: Vec::new(),
            price,
            currency,
            free_over: None,
        })
    }

    /// Serves only these regions (and their subdivisions). Empty means everywhere.
    #[must_use]
    pub fn serving(mut self, regions: Vec<RegionCode>) -> Self {
        self.regions = regions;
        self
    }

    /// Ships free when the discounted merchandise total reaches `threshold`.
    ///
    /// # Errors
    /// [`ShippingRateError`] for a negative threshold or one in another currency.
    pub fn free_over(mut self, threshold: Money) -> Result<Self, ShippingRateError> {
        check_non_negative(&threshold)?;
        check_currency(self.currency(), &threshold)?;
        self.free_over = Some(threshold);
        Ok(self)
    }

    /// The method.
    pub fn method(&self) -> &ShippingMethodId {
        &self.method
    }
    /// The name customers see, e.g. `"Standard (3-5 days)"`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The regions served; empty means everywhere.
    pub fn regions(&self) -> &[RegionCode] {
        &self.regions
    }
    /// How it is priced.
    pub fn price(&self) -> &ShippingPrice {
        &self.price
    }
    /// The merchandise total from which it is free, if any.
    pub fn free_over_threshold(&self) -> Option<&Money> {
        self.free_over.as_ref()
    }

    /// The currency its prices are in.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// How well this rate serves `region`: `None` if it does not, otherwise a higher number
    /// for a more specific match (everywhere < country < subdivision).
    fn specificity(&self, region: Option<&RegionCode>) -> Option<usize> {
        if self.regions.is_empty() {
            return Some(0);
        }
        let region = region?;
        self.regions.iter().filter(|r| region.is_within(r)).map(|r| r.as_str().len()).max()
    }

    /// The charge for a cart of `weight_grams` whose discounted merchandise comes to
    /// `merchandise`: zero at or over the free-over threshold, else the flat price or the
    /// lightest band that holds the weight.
    ///
    /// # Errors
    /// [`PricingError::ShippingCurrencyMismatch`] when `merchandise` is in another
    /// currency; [`PricingError::NoShippingRate`] when the weight is over the last band.
    pub fn charge(&self, weight_grams: u64, merchandise: &Money) -> Result<Money, PricingError> {
        let currency = self.currency();
        if merchandise.currency() != currency {
            return Err(PricingError::ShippingCurrencyMismatch {
                method: self.method.clone(),
                expected: merchandise.currency(),
                found: currency,
            });
        }
        if let Some(threshold) = &self.free_over
            && merchandise.amount() >= threshold.amount()
        {
            return Ok(Money::zero(currency));
        }
        match &self.price {
            ShippingPrice::Flat(price) => Ok(*price),
            ShippingPrice::WeightBands(bands) => bands
                .iter()
                .find(|b| weight_grams <= u64::from(b.up_to_grams))
                .map(|b| b.price)
                .ok_or_else(|| PricingError::NoShippingRate {
                    method: self.method.clone(),
                    weight_grams,
                }),
        }
    }
}

fn check_non_negative(amount: &Money) -> Result<(), ShippingRateError> {
    if amount.is_negative() {
        return Err(ShippingRateError::Negative { amount: *amount });
    }
    Ok(())
}

fn check_currency(expected: Currency, amount: &Money) -> Result<(), ShippingRateError> {
    if amount.currency() != expected {
        return Err(ShippingRateError::MixedCurrencies { expected, found: amount.currency() });
    }
    Ok(())
}

/// The shop's shipping methods. A method may have several rates (say, one for `DE`, one for
/// `US`, one for everywhere else); the most specific one serving the destination is used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingTable {
    /// Every rate of every method.
    pub rates: Vec<ShippingRate>,
}

impl ShippingTable {
    /// The rate of `method` for a destination: the one listing the most specific region
    /// that contains it (a rate with no regions serves everywhere, least specifically);
    /// between equally specific rates, the first in the table.
    ///
    /// # Errors
    /// [`PricingError::UnknownShippingMethod`] when no rate has the method;
    /// [`PricingError::ShippingUnavailable`] when none of its rates serves `region` (or
    /// `region` is `None` and every rate is limited to some regions).
    ///
    /// Only rates priced in `currency` are candidates: a shop lists one rate per currency it
    /// sells in (`standard` at 4.99 USD and at 4.49 EUR), and a cart pays in its own.
    pub fn rate_for(
        &self,
        method: &ShippingMethodId,
        region: Option<&RegionCode>,
        currency: Currency,
    ) -> Result<&ShippingRate, PricingError> {
        let mut known = false;
        let mut best: Option<(usize, &ShippingRate)> = None;
        for rate in self.rates.iter().filter(|r| &r.method == method) {
            known = true;
            if rate.currency() != currency {
                continue;
            }
            if let Some(s) = rate.specificity(region)
                && best.is_none_or(|(b, _)| s > b)
            {
                best = Some((s, rate));
            }
        }
        match best {
            Some((_, rate)) => Ok(rate),
            None if known => Err(PricingError::ShippingUnavailable {
                method: method.clone(),
                region: region.cloned(),
            }),
            None => Err(PricingError::UnknownShippingMethod { method: method.clone() }),
        }
    }

    /// The methods that deliver to a destination in `currency`: for each method, in the
    /// order it first appears in the table, the rate [`ShippingTable::rate_for`] picks.
    /// Methods with no rate serving `region` in `currency` are left out (`region` `None`:
    /// only rates serving everywhere). Whether a weight-band rate can carry a parcel is the
    /// caller's to check ([`ShippingRate::charge`]).
    pub fn rates_serving(
        &self,
        region: Option<&RegionCode>,
        currency: Currency,
    ) -> Vec<&ShippingRate> {
        let mut methods: Vec<&ShippingMethodId> = Vec::new();
        for rate in &self.rates {
            if !methods.contains(&&rate.method) {
                methods.push(&rate.method);
            }
        }
        methods.into_iter().filter_map(|m| self.rate_for(m, region, currency).ok()).collect()
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

    fn bands() -> ShippingRate {
        ShippingRate::new(
            method("parcel"),
            "Parcel",
            ShippingPrice::WeightBands(vec![
                WeightBand { up_to_grams: 5000, price: usd(12_00) },
                WeightBand { up_to_grams: 1000, price: usd(5_00) },
            ]),
        )
        .unwrap()
    }

    #[test]
    fn the_lightest_band_that_holds_the_weight_prices_it() {
        let rate = bands();
        assert_eq!(rate.charge(0, &usd(0)).unwrap(), usd(5_00));
        assert_eq!(rate.charge(1000, &usd(0)).unwrap(), usd(5_00));
        assert_eq!(rate.charge(1001, &usd(0)).unwrap(), usd(12_00));
        assert_eq!(rate.charge(5000, &usd(0)).unwrap(), usd(12_00));
    }

    #[test]
    fn weight_band_above_last_band_is_an_error() {
        assert_eq!(
            bands().charge(5001, &usd(0)),
            Err(PricingError::NoShippingRate { method: method("parcel"), weight_grams: 5001 })
        );
    }

    #[test]
    fn shipping_tables_round_trip_through_serde() {
        let table = ShippingTable {
            rates: vec![
                bands().serving(vec![region("US")]).free_over(usd(100_00)).unwrap(),
                ShippingRate::new(method("flat"), "Flat", ShippingPrice::Flat(usd(4_99))).unwrap(),
            ],
        };
        let json = serde_json::to_string(&table).unwrap();
        assert_eq!(serde_json::from_str::<ShippingTable>(&json).unwrap(), table);
        let negative = r#"{"rates":[{"method":"x","name":"x","price":{"flat":{"amount":"-1.00","currency":"USD"}}}]}"#;
        assert!(serde_json::from_str::<ShippingTable>(negative).is_err());
    }

    #[test]
    fn invalid_rates_are_rejected_when_built() {
        assert_eq!(
            ShippingRate::new(method("x"), "x", ShippingPrice::WeightBands(vec![])),
            Err(ShippingRateError::NoWeightBands)
        );
        assert!(ShippingRate::new(method("x"), "x", ShippingPrice::Flat(usd(-1))).is_err());
        let mixed = ShippingPrice::WeightBands(vec![
            WeightBand { up_to_grams: 1, price: usd(1) },
            WeightBand { up_to_grams: 2, price: eur(1) },
        ]);
        assert!(matches!(
            ShippingRate::new(method("x"), "x", mixed),
            Err(ShippingRateError::MixedCurrencies { .. })
        ));
        let flat = ShippingRate::new(method("x"), "x", ShippingPrice::Flat(usd(1))).unwrap();
        assert!(flat.free_over(eur(10)).is_err());
    }

    #[test]
    fn the_most_specific_rate_of_a_method_serves_the_destination() {
        let flat = |price, regions: &[&str]| {
            ShippingRate::new(method("standard"), "Standard", ShippingPrice::Flat(usd(price)))
                .unwrap()
                .serving(regions.iter().map(|r| region(r)).collect())
        };
        let table = ShippingTable {
            rates: vec![flat(30_00, &[]), flat(10_00, &["US"]), flat(15_00, &["US-AK", "US-HI"])],
        };
        let price_to = |r: Option<&str>| {
            let r = r.map(region);
            table
                .rate_for(&method("standard"), r.as_ref(), Currency::USD)
                .and_then(|rate| rate.charge(0, &usd(0)))
        };
        assert_eq!(price_to(Some("US-NY")), Ok(usd(10_00)));
        assert_eq!(price_to(Some("US-HI")), Ok(usd(15_00)));
        assert_eq!(price_to(Some("FR")), Ok(usd(30_00)));
        assert_eq!(price_to(None), Ok(usd(30_00)));
        assert!(matches!(
            table.rate_for(&method("express"), None, Currency::USD),
            Err(PricingError::UnknownShippingMethod { .. })
        ));
    }

    #[test]
    fn a_method_limited_to_some_regions_is_unavailable_elsewhere() {
        let table = ShippingTable {
            rates: vec![
                ShippingRate::new(method("local"), "Local", ShippingPrice::Flat(eur(3_00)))
                    .unwrap()
                    .serving(vec![region("DE")]),
            ],
        };
        assert_eq!(
            table.rate_for(&method("local"), Some(&region("FR")), Currency::EUR),
            Err(PricingError::ShippingUnavailable {
                method: method("local"),
                region: Some(region("FR"))
            })
        );
        assert!(table.rate_for(&method("local"), None, Currency::EUR).is_err());
        let err = table.rate_for(&method("local"), None, Currency::EUR).unwrap_err();
        assert!(err.to_string().contains("an unknown address"), "{err}");
    }

    #[test]
    fn the_methods_serving_a_destination_are_listed_once_with_their_most_specific_rate() {
        let flat = |m: &str, price: Money, regions: &[&str]| {
            ShippingRate::new(method(m), m, ShippingPrice::Flat(price))
                .unwrap()
                .serving(regions.iter().map(|r| region(r)).collect())
        };
        let table = ShippingTable {
            rates: vec![
                flat("standard", usd(30_00), &[]),
                flat("local", eur(3_00), &["DE"]),
                flat("standard", usd(10_00), &["US"]),
                flat("express", usd(25_00), &["US"]),
                flat("standard", eur(4_49), &[]),
            ],
        };
        let listed = |r: Option<&str>, currency| {
            let r = r.map(region);
            table
                .rates_serving(r.as_ref(), currency)
                .into_iter()
                .map(|rate| {
                    (
                        rate.method().as_str().to_owned(),
                        rate.charge(0, &Money::zero(currency)).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };

        assert_eq!(
            listed(Some("US-CA"), Currency::USD),
            [("standard".to_owned(), usd(10_00)), ("express".to_owned(), usd(25_00))]
        );
        assert_eq!(listed(Some("FR"), Currency::USD), [("standard".to_owned(), usd(30_00))]);
        assert_eq!(listed(None, Currency::USD), [("standard".to_owned(), usd(30_00))]);
        assert_eq!(
            listed(Some("DE-BE"), Currency::EUR),
            [("standard".to_owned(), eur(4_49)), ("local".to_owned(), eur(3_00))]
        );
        assert!(listed(Some("US"), Currency::JPY).is_empty());
    }

    #[test]
    fn a_rate_applies_only_to_carts_in_its_currency() {
        let standard = |price| {
            ShippingRate::new(method("standard"), "Standard", ShippingPrice::Flat(price)).unwrap()
        };
        let table = ShippingTable { rates: vec![standard(usd(4_99)), standard(eur(4_49))] };
        let de = region("DE");
        let eur_rate = table.rate_for(&method("standard"), Some(&de), Currency::EUR).unwrap();
        assert_eq!(eur_rate.currency(), Currency::EUR);
        let usd_rate = table.rate_for(&method("standard"), Some(&de), Currency::USD).unwrap();
        assert_eq!(usd_rate.currency(), Currency::USD);
        assert!(matches!(
            table.rate_for(&method("standard"), Some(&de), Currency::JPY),
            Err(PricingError::ShippingUnavailable { .. })
        ));
    }
}
