//! How an exact decimal becomes an amount in a currency's minor unit.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::Currency;

/// The rule that turns a computed decimal (a percentage of a price, a tax) into money.
///
/// Rounding is never implicit in shopkit: every place that rounds names its policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingPolicy {
    /// Banker's rounding: ties go to the even digit. The default: unbiased over many sums.
    #[default]
    HalfEven,
    /// Ties go away from zero, as many tax authorities require.
    HalfUp,
    /// Toward zero (truncate). Useful for discounts that must never exceed a cap.
    Down,
    /// Away from zero.
    Up,
}

impl RoundingPolicy {
    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingPolicy::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingPolicy::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingPolicy::Down => RoundingStrategy::ToZero,
            RoundingPolicy::Up => RoundingStrategy::AwayFromZero,
        }
    }

    /// Rounds `value` to the minor unit of `currency`.
    pub fn round(self, value: Decimal, currency: Currency) -> Decimal {
        let mut rounded = value.round_dp_with_strategy(currency.minor_units(), self.strategy());
        rounded.rescale(currency.minor_units());
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn half_even_sends_ties_to_the_even_digit() {
        let p = RoundingPolicy::HalfEven;
        assert_eq!(p.round(dec!(0.125), Currency::USD), dec!(0.12));
        assert_eq!(p.round(dec!(0.135), Currency::USD), dec!(0.14));
        assert_eq!(p.round(dec!(2.5), Currency::JPY), dec!(2));
    }

    #[test]
    fn half_up_sends_ties_away_from_zero() {
        let p = RoundingPolicy::HalfUp;
        assert_eq!(p.round(dec!(0.125), Currency::USD), dec!(0.13));
        assert_eq!(p.round(dec!(-0.125), Currency::USD), dec!(-0.13));
        assert_eq!(p.round(dec!(1.0005), Currency::KWD), dec!(1.001));
    }

    #[test]
    fn rounding_always_yields_the_currency_scale() {
        assert_eq!(RoundingPolicy::HalfEven.round(dec!(3), Currency::EUR).scale(), 2);
        assert_eq!(RoundingPolicy::Down.round(dec!(3.999), Currency::JPY), dec!(3));
    }
}
