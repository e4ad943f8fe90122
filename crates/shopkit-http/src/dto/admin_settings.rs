//! Pricing settings on the wire (back office): tax rates (prices inclusive or exclusive of
//! tax), shipping rates and rounding. One shape for `GET` and `PUT /settings/pricing`;
//! requests are validated by the domain constructors ([`TaxRate::new`],
//! [`ShippingRate::new`]) and refused with a `422` naming the field.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shopkit_core::ids::{RegionCode, ShippingMethodId};
use shopkit_core::money::RoundingPolicy;
use shopkit_core::ports::PricingSettings;
use shopkit_core::pricing::{
    ShippingPrice, ShippingRate, ShippingRateError, ShippingTable, TaxRate, TaxTable, WeightBand,
};
use utoipa::ToSchema;

use super::MoneyDto;
use crate::error::ApiError;

/// The shop's tax, shipping and rounding settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricingSettingsDto {
    /// Tax rates and whether prices include tax.
    #[serde(default)]
    pub taxes: TaxTableDto,
    /// Shipping rates.
    #[serde(default)]
    pub shipping: ShippingTableDto,
    /// How computed amounts (percentages, tax) round to the minor unit.
    #[serde(default)]
    pub rounding: RoundingDto,
}

/// Tax rates by region.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxTableDto {
    /// `true`: catalog prices include tax (EU-style, tax is extracted); `false`: tax is
    /// added on top (US-style).
    #[serde(default)]
    pub prices_include_tax: bool,
    /// Whether shipping is taxed at the destination's rate.
    #[serde(default)]
    pub tax_shipping: bool,
    /// One rate per region; the most specific one for the destination wins.
    #[serde(default)]
    pub rates: Vec<TaxRateDto>,
}

/// The tax of one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRateDto {
    /// An ISO 3166 country (`DE`), optionally with a subdivision (`US-CA`).
    #[schema(value_type = crate::openapi::RegionCodeSchema)]
    pub region: String,
    /// A fraction from 0 to 1 as a decimal string (`"0.19"` is 19 %).
    #[schema(example = "0.19")]
    pub rate: String,
    /// Its name (`"VAT"`).
    pub name: String,
}

/// Shipping rates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingTableDto {
    /// Every rate of every method (one per method, currency and set of regions).
    #[serde(default)]
    pub rates: Vec<ShippingRateDto>,
}

/// One way to ship, to some regions, at a price in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingRateDto {
    /// The method handle (`standard`).
    #[schema(example = "standard")]
    pub method: String,
    /// The name customers see.
    pub name: String,
    /// Regions served (and their subdivisions); empty: everywhere.
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::RegionCodeSchema>)]
    pub regions: Vec<String>,
    /// How it is priced.
    pub price: ShippingPriceDto,
    /// Free when the discounted merchandise total reaches this (same currency).
    #[serde(default)]
    pub free_over: Option<MoneyDto>,
}

/// How a shipping rate is priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShippingPriceDto {
    /// One price whatever the weight (not negative).
    Flat {
        /// The price.
        amount: MoneyDto,
    },
    /// By total weight: the lightest band that holds it; heavier than the last band
    /// cannot ship by this method.
    WeightBands {
        /// At least one band, all in one currency.
        bands: Vec<WeightBandDto>,
    },
}

/// Parcels up to and including `up_to_grams` cost `price`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeightBandDto {
    /// The heaviest parcel of the band, in grams.
    pub up_to_grams: u32,
    /// The price (not negative).
    pub price: MoneyDto,
}

/// How a computed decimal rounds to the minor unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundingDto {
    /// Ties to the even digit (banker's rounding).
    #[default]
    HalfEven,
    /// Ties away from zero.
    HalfUp,
    /// Toward zero.
    Down,
    /// Away from zero.
    Up,
}

impl From<RoundingPolicy> for RoundingDto {
    fn from(r: RoundingPolicy) -> Self {
        match r {
            RoundingPolicy::HalfEven => RoundingDto::HalfEven,
            RoundingPolicy::HalfUp => RoundingDto::HalfUp,
            RoundingPolicy::Down => RoundingDto::Down,
            RoundingPolicy::Up => RoundingDto::Up,
        }
    }
}

impl From<RoundingDto> for RoundingPolicy {
    fn from(r: RoundingDto) -> Self {
        match r {
            RoundingDto::HalfEven => RoundingPolicy::HalfEven,
            RoundingDto::HalfUp => RoundingPolicy::HalfUp,
            RoundingDto::Down => RoundingPolicy::Down,
            RoundingDto::Up => RoundingPolicy::Up,
        }
    }
}

impl From<&PricingSettings> for PricingSettingsDto {
    fn from(s: &PricingSettings) -> Self {
        PricingSettingsDto {
            taxes: TaxTableDto {
                prices_include_tax: s.taxes.prices_include_tax,
                tax_shipping: s.taxes.tax_shipping,
                rates: s
                    .taxes
                    .rates
                    .iter()
                    .map(|r| TaxRateDto {
                        region: r.region().to_string(),
                        rate: r.rate().normalize().to_string(),
                        name: r.name().to_owned(),
                    })
                    .collect(),
            },
            shipping: ShippingTableDto {
                rates: s.shipping.rates.iter().map(shipping_rate).collect(),
            },
            rounding: s.rounding.into(),
        }
    }
}

fn shipping_rate(r: &ShippingRate) -> ShippingRateDto {
    let price = match r.price() {
        ShippingPrice::Flat(amount) => ShippingPriceDto::Flat { amount: amount.into() },
        ShippingPrice::WeightBands(bands) => ShippingPriceDto::WeightBands {
            bands: bands
                .iter()
                .map(|b| WeightBandDto { up_to_grams: b.up_to_grams, price: b.price.into() })
                .collect(),
        },
    };
    ShippingRateDto {
        method: r.method().to_string(),
        name: r.name().to_owned(),
        regions: r.regions().iter().map(ToString::to_string).collect(),
        price,
        free_over: r.free_over_threshold().map(MoneyDto::from),
    }
}

fn region(raw: &str, field: String) -> Result<RegionCode, ApiError> {
    RegionCode::new(raw).map_err(|e| ApiError::validation(field, e.to_string()))
}

fn tax_rate(r: &TaxRateDto, field: &str) -> Result<TaxRate, ApiError> {
    let region = region(&r.region, format!("{field}.region"))?;
    let rate = Decimal::from_str(r.rate.trim()).map_err(|_| {
        ApiError::validation(
            format!("{field}.rate"),
            format!("{:?} is not a decimal fraction such as \"0.19\"", r.rate),
        )
    })?;
    TaxRate::new(region, rate, r.name.clone())
        .map_err(|e| ApiError::validation(format!("{field}.rate"), e.to_string()))
}

fn shipping(r: &ShippingRateDto, field: &str) -> Result<ShippingRate, ApiError> {
    let method = ShippingMethodId::new(&r.method)
        .map_err(|e| ApiError::validation(format!("{field}.method"), e.to_string()))?;
    let regions = r
        .regions
        .iter()
        .enumerate()
        .map(|(i, raw)| region(raw, format!("{field}.regions[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let price_field = format!("{field}.price");
    let price = match &r.price {
        ShippingPriceDto::Flat { amount } => {
            ShippingPrice::Flat(amount.to_money(&format!("{price_field}.amount"))?)
        }
        ShippingPriceDto::WeightBands { bands } => ShippingPrice::WeightBands(
            bands
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    Ok(WeightBand {
                        up_to_grams: b.up_to_grams,
                        price: b.price.to_money(&format!("{price_field}.bands[{i}].price"))?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?,
        ),
    };
    let refused = |e: ShippingRateError, at: &str| {
        let at = match e {
            ShippingRateError::NoWeightBands => format!("{price_field}.bands"),
            _ => at.to_owned(),
        };
        ApiError::validation(at, e.to_string())
    };
    let rate = ShippingRate::new(method, r.name.clone(), price)
        .map_err(|e| refused(e, &price_field))?
        .serving(regions);
    match &r.free_over {
        Some(threshold) => {
            let free_field = format!("{field}.free_over");
            let threshold = threshold.to_money(&free_field)?;
            rate.free_over(threshold).map_err(|e| refused(e, &free_field))
        }
        None => Ok(rate),
    }
}

impl TryFrom<&PricingSettingsDto> for PricingSettings {
    type Error = ApiError;

    /// Parses and validates every rate.
    ///
    /// # Errors
    /// `422 validation_failed` naming the field (`taxes.rates[0].rate`,
    /// `shipping.rates[1].price.bands`...).
    fn try_from(dto: &PricingSettingsDto) -> Result<Self, ApiError> {
        let rates = dto
            .taxes
            .rates
            .iter()
            .enumerate()
            .map(|(i, r)| tax_rate(r, &format!("taxes.rates[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let shipping_rates = dto
            .shipping
            .rates
            .iter()
            .enumerate()
            .map(|(i, r)| shipping(r, &format!("shipping.rates[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PricingSettings {
            taxes: TaxTable {
                rates,
                prices_include_tax: dto.taxes.prices_include_tax,
                tax_shipping: dto.taxes.tax_shipping,
            },
            shipping: ShippingTable { rates: shipping_rates },
            rounding: dto.rounding.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PricingSettingsDto {
        serde_json::from_value(serde_json::json!({
            "taxes": {"prices_include_tax": true, "tax_shipping": true,
                      "rates": [{"region": "DE", "rate": "0.19", "name": "VAT"}]},
            "shipping": {"rates": [
                {"method": "standard", "name": "Standard", "regions": ["DE"],
                 "price": {"type": "flat", "amount": {"amount": "4.90", "currency": "EUR"}},
                 "free_over": {"amount": "50.00", "currency": "EUR"}},
                {"method": "parcel", "name": "Parcel",
                 "price": {"type": "weight_bands", "bands": [
                     {"up_to_grams": 1000, "price": {"amount": "5.00", "currency": "EUR"}}]}}
            ]},
            "rounding": "half_up"
        }))
        .unwrap()
    }

    #[test]
    fn valid_settings_round_trip_through_the_domain() {
        let dto = settings();

        let domain = PricingSettings::try_from(&dto).unwrap();

        assert_eq!(PricingSettingsDto::from(&domain), dto);
        assert!(domain.taxes.prices_include_tax);
        assert_eq!(domain.rounding, RoundingPolicy::HalfUp);
    }

    #[test]
    fn refusals_name_the_field_at_fault() {
        let mut too_high = settings();
        too_high.taxes.rates[0].rate = "19".into();
        let mut bad_region = settings();
        bad_region.shipping.rates[0].regions = vec!["Germany".into()];
        let mut no_bands = settings();
        no_bands.shipping.rates[1].price = ShippingPriceDto::WeightBands { bands: vec![] };
        let mut negative = settings();
        negative.shipping.rates[0].price = ShippingPriceDto::Flat {
            amount: MoneyDto { amount: "-1".into(), currency: "EUR".into() },
        };
        let mut mixed = settings();
        mixed.shipping.rates[0].free_over =
            Some(MoneyDto { amount: "50".into(), currency: "USD".into() });

        for (dto, field) in [
            (too_high, "taxes.rates[0].rate"),
            (bad_region, "shipping.rates[0].regions[0]"),
            (no_bands, "shipping.rates[1].price.bands"),
            (negative, "shipping.rates[0].price"),
            (mixed, "shipping.rates[0].free_over"),
        ] {
            let err = PricingSettings::try_from(&dto).unwrap_err();
            assert_eq!(err.extension("field").unwrap(), field);
        }
    }
}
