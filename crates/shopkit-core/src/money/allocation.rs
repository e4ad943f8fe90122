//! Largest-remainder allocation: split an amount into parts that always sum to the whole.
//!
//! Each part first gets the floor of its exact share in minor units; the minor units left
//! over go one each to the parts with the largest remainders (ties to the earlier part, so
//! the result is deterministic). The arithmetic is on integers, so nothing is lost.

use rust_decimal::Decimal;

use super::{Money, MoneyError};

impl Money {
    /// Splits `self` in proportion to `ratios` (non-negative decimals, not all zero).
    ///
    /// `10.00 USD` over `[1, 1, 1]` is `[3.34, 3.33, 3.33]`. A negative amount is split as
    /// its magnitude and negated, so refunds and discounts allocate the same way.
    ///
    /// # Errors
    /// [`MoneyError::InvalidAllocation`] for no ratios, a negative ratio or a zero sum;
    /// [`MoneyError::Overflow`] for ratios too precise to scale exactly.
    pub fn allocate(&self, ratios: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        let scale = ratios.iter().map(Decimal::scale).max().unwrap_or(0);
        let weights = ratios
            .iter()
            .map(|r| {
                if r.is_sign_negative() && !r.is_zero() {
                    return Err(MoneyError::InvalidAllocation { reason: "a negative ratio" });
                }
                let mut scaled = *r;
                scaled.rescale(scale);
                Ok(scaled.mantissa().unsigned_abs())
            })
            .collect::<Result<Vec<u128>, _>>()?;
        self.allocate_integers(&weights)
    }

    /// Splits `self` in proportion to integer weights (quantities, grams, minor units).
    ///
    /// # Errors
    /// [`MoneyError::InvalidAllocation`] for no weights or weights that sum to zero.
    pub fn allocate_by_weights(&self, weights: &[u64]) -> Result<Vec<Money>, MoneyError> {
        let weights: Vec<u128> = weights.iter().map(|w| u128::from(*w)).collect();
        self.allocate_integers(&weights)
    }

    /// Splits `self` in proportion to other amounts of money (e.g. an order discount over
    /// line subtotals). The amounts' currencies do not need to match `self`'s.
    ///
    /// # Errors
    /// As [`Money::allocate`]; negative amounts are invalid ratios.
    pub fn allocate_by_amounts(&self, amounts: &[Money]) -> Result<Vec<Money>, MoneyError> {
        let ratios: Vec<Decimal> = amounts.iter().map(Money::amount).collect();
        self.allocate(&ratios)
    }

    fn allocate_integers(&self, weights: &[u128]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(MoneyError::InvalidAllocation { reason: "no parts" });
        }
        let total_weight = weights
            .iter()
            .try_fold(0u128, |acc, w| acc.checked_add(*w))
            .ok_or(MoneyError::Overflow)?;
        if total_weight == 0 {
            return Err(MoneyError::InvalidAllocation { reason: "ratios that sum to zero" });
        }
        let negative = self.is_negative();
        let whole: u128 = self.amount.mantissa().unsigned_abs();

        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        let mut given: u128 = 0;
        for (i, w) in weights.iter().enumerate() {
            let exact = whole.checked_mul(*w).ok_or(MoneyError::Overflow)?;
            let floor = exact / total_weight;
            given += floor;
            parts.push(floor);
            remainders.push((exact % total_weight, i));
        }
        // Largest remainder first; ties to the earlier part.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let left = whole - given; // < number of parts, since each floor loses < 1
        for (_, i) in remainders.iter().take(left as usize) {
            parts[*i] += 1;
        }

        let scale = self.currency.minor_units();
        parts
            .into_iter()
            .map(|minor| {
                let minor = i128::try_from(minor).map_err(|_| MoneyError::Overflow)?;
                let minor = if negative { -minor } else { minor };
                let amount = Decimal::try_from_i128_with_scale(minor, scale)
                    .map_err(|_| MoneyError::Overflow)?;
                Ok(Money { amount, currency: self.currency })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn ten_dollars_in_three_gives_the_extra_cent_to_the_first() {
        let parts = usd(1000).allocate(&[dec!(1), dec!(1), dec!(1)]).unwrap();
        assert_eq!(parts, vec![usd(334), usd(333), usd(333)]);
    }

    #[test]
    fn the_largest_remainder_wins_the_leftover_unit() {
        // 0.05 over 30% / 70%: exact 1.5 and 3.5 cents; both remainders tie, first wins.
        let parts = usd(5).allocate(&[dec!(0.3), dec!(0.7)]).unwrap();
        assert_eq!(parts, vec![usd(2), usd(3)]);
        // 1.00 over 1/6: exact shares 16.67 / 83.33 → 17 / 83.
        let parts = usd(100).allocate_by_weights(&[1, 5]).unwrap();
        assert_eq!(parts, vec![usd(17), usd(83)]);
    }

    #[test]
    fn zero_yen_and_negative_amounts_allocate_too() {
        let yen = Money::from_minor(100, Currency::JPY);
        let parts = yen.allocate_by_weights(&[1, 2]).unwrap();
        assert_eq!(
            parts.iter().map(|m| m.to_minor().unwrap()).collect::<Vec<_>>(),
            [33, 67],
            "66.67 has the larger remainder"
        );
        let parts = usd(-1000).allocate_by_weights(&[1, 1, 1]).unwrap();
        assert_eq!(parts, vec![usd(-334), usd(-333), usd(-333)]);
    }

    #[test]
    fn unusable_ratios_are_errors() {
        assert!(matches!(usd(1).allocate(&[]), Err(MoneyError::InvalidAllocation { .. })));
        assert!(matches!(
            usd(1).allocate(&[dec!(0), dec!(0)]),
            Err(MoneyError::InvalidAllocation { .. })
        ));
        assert!(matches!(
            usd(1).allocate(&[dec!(1), dec!(-1)]),
            Err(MoneyError::InvalidAllocation { .. })
        ));
    }

    #[test]
    fn a_zero_weight_part_gets_nothing() {
        let parts = usd(1001).allocate_by_weights(&[0, 3, 1]).unwrap();
        assert_eq!(parts[0], usd(0));
        assert_eq!(Money::sum(Currency::USD, &parts).unwrap(), usd(1001));
    }

    proptest! {
        #[test]
        fn allocation_always_sums_to_the_whole(
            minor in -10_000_000_000i64..10_000_000_000i64,
            weights in proptest::collection::vec(0u64..1_000_000, 1..40),
            cur in prop::sample::select(Currency::ALL.to_vec()),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let total = Money::from_minor(minor, cur);
            let parts = total.allocate_by_weights(&weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(Money::sum(cur, &parts).unwrap(), total);
            // No part is further than one minor unit from its exact share.
            let sum_w: u64 = weights.iter().sum();
            for (p, w) in parts.iter().zip(&weights) {
                let exact = Decimal::from(minor) * Decimal::from(*w) / Decimal::from(sum_w);
                let got = Decimal::from(p.to_minor().unwrap());
                prop_assert!((got - exact).abs() < Decimal::ONE);
            }
        }

        #[test]
        fn decimal_ratios_sum_to_the_whole(
            minor in 0i64..1_000_000_000,
            ratios in proptest::collection::vec(0u32..100_000, 1..20),
        ) {
            prop_assume!(ratios.iter().any(|r| *r > 0));
            let ratios: Vec<Decimal> = ratios.iter().map(|r| Decimal::new(i64::from(*r), 3)).collect();
            let total = usd(minor);
            let parts = total.allocate(&ratios).unwrap();
            prop_assert_eq!(Money::sum(Currency::USD, &parts).unwrap(), total);
        }
    }
}
