//! Stacking: which candidate promotions apply to a cart, and what each takes off which line.
//!
//! Every discount is taken from what is *left* of a line after the promotions before it,
//! and is capped at that, so a line's discount never exceeds its subtotal.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{CouponRejection, Promotion, PromotionKind, QuoteLine, RejectedCoupon, Stacking};
use crate::ids::CouponCode;
use crate::money::{Currency, Money, MoneyError, RoundingPolicy};

/// The outcome of the promotions on a cart's lines.
#[derive(Debug)]
pub(super) struct Discounts<'r> {
    /// Per line (in request order), the sum of every promotion's discount on it.
    pub(super) per_line: Vec<Money>,
    /// The promotions that apply, in application order, with what each took off the lines.
    pub(super) applied: Vec<(&'r Promotion, Money)>,
    /// Coupons of the request that do not apply, each once, in request order.
    pub(super) rejected: Vec<RejectedCoupon>,
}

impl Discounts<'_> {
    /// The position in `applied` of the first free-shipping promotion, if any applies.
    pub(super) fn free_shipping(&self) -> Option<usize> {
        self.applied.iter().position(|(p, _)| matches!(p.kind(), PromotionKind::FreeShipping))
    }
}

/// What the engine needs to know about the cart.
#[derive(Debug)]
pub(super) struct Cart<'a> {
    pub(super) currency: Currency,
    pub(super) lines: &'a [QuoteLine],
    /// `unit_price × quantity` per line.
    pub(super) subtotals: &'a [Money],
    /// The sum of `subtotals`.
    pub(super) subtotal: Money,
    pub(super) coupons: &'a [CouponCode],
    pub(super) now: DateTime<Utc>,
}

/// Chooses the promotions that apply to `cart` (see the module docs of `pricing` for the
/// rules) and computes their discounts.
pub(super) fn apply<'r>(
    promotions: &'r [Promotion],
    cart: &Cart<'_>,
    rounding: RoundingPolicy,
) -> Result<Discounts<'r>, MoneyError> {
    let mut candidates: Vec<&Promotion> =
        promotions.iter().filter(|p| p.coupon().is_none_or(|c| cart.coupons.contains(c))).collect();
    candidates.sort_by(|a, b| Promotion::precedence(a, b));
    let mut outcomes: Vec<Result<(), CouponRejection>> =
        candidates.iter().map(|p| eligibility(p, cart)).collect();

    // Stacking: the first applicable promotion leads. An exclusive leader applies alone;
    // a combinable leader brings every other combinable one along.
    let leader = candidates.iter().zip(&outcomes).find_map(|(p, o)| o.is_ok().then_some(*p));
    let mut chosen = Vec::with_capacity(candidates.len());
    if let Some(leader) = leader {
        for (p, outcome) in candidates.iter().zip(outcomes.iter_mut()) {
            if outcome.is_err() {
                continue;
            }
            let applies = match leader.stacking() {
                Stacking::Exclusive => std::ptr::eq(*p, leader),
                Stacking::Combinable => p.stacking() == Stacking::Combinable,
            };
            if applies {
                chosen.push(*p);
            } else {
                *outcome = Err(CouponRejection::NotCombinable { with: leader.name().to_owned() });
            }
        }
    }

    let mut per_line = vec![Money::zero(cart.currency); cart.lines.len()];
    let mut applied = Vec::with_capacity(chosen.len());
    for p in chosen {
        let taken = take_off(p, cart, &mut per_line, rounding)?;
        applied.push((p, taken));
    }

    let rejected = rejected_coupons(cart.coupons, &candidates, &outcomes);
    Ok(Discounts { per_line, applied, rejected })
}

/// Whether `p` may apply to `cart`, before stacking.
fn eligibility(p: &Promotion, cart: &Cart<'_>) -> Result<(), CouponRejection> {
    p.check_availability(&cart.subtotal, cart.now)?;
    let target = p.target();
    if let PromotionKind::BuyXGetY { buy, get, .. } = p.kind() {
        let found = cart
            .lines
            .iter()
            .filter(|l| target.matches(l))
            .fold(0u64, |n, l| n.saturating_add(u64::from(l.quantity)));
        let required = u64::from(*buy) + u64::from(*get);
        if found == 0 {
            return Err(CouponRejection::NoEligibleLine);
        }
        if found < required {
            return Err(CouponRejection::NotEnoughItems { required, found });
        }
    } else if !cart.lines.iter().any(|l| target.matches(l)) {
        return Err(CouponRejection::NoEligibleLine);
    }
    Ok(())
}

/// Applies one promotion to what is left of each line; returns the total it took off.
fn take_off(
    p: &Promotion,
    cart: &Cart<'_>,
    per_line: &mut [Money],
    rounding: RoundingPolicy,
) -> Result<Money, MoneyError> {
    let target = p.target();
    let mut taken = Money::zero(cart.currency);
    let remaining = |per_line: &[Money], i: usize| cart.subtotals[i].checked_sub(&per_line[i]);
    // Takes `off` from line `i`, never more than what is left of it.
    let give = |per_line: &mut [Money], i: usize, off: Money, taken: &mut Money| {
        let off = off.min(&remaining(per_line, i)?)?;
        per_line[i] = per_line[i].checked_add(&off)?;
        *taken = taken.checked_add(&off)?;
        Ok::<(), MoneyError>(())
    };
    match p.kind() {
        PromotionKind::Percentage(percent) => {
            let factor = fraction(*percent)?;
            for (i, line) in cart.lines.iter().enumerate() {
                if target.matches(line) {
                    let off = remaining(per_line, i)?.mul_decimal(factor, rounding)?;
                    give(per_line, i, off, &mut taken)?;
                }
            }
        }
        PromotionKind::FixedAmount(amount) => {
            let mut eligible = Vec::new();
            let mut remainings = Vec::new();
            for (i, line) in cart.lines.iter().enumerate() {
                if target.matches(line) {
                    eligible.push(i);
                    remainings.push(remaining(per_line, i)?);
                }
            }
            let pool = Money::sum(cart.currency, &remainings)?;
            if pool.is_positive() {
                // Largest remainder in proportion to what is left: each part is at most its
                // line's remainder, and the parts sum to exactly `min(amount, pool)`.
                let parts = amount.min(&pool)?.allocate_by_amounts(&remainings)?;
                for (i, part) in eligible.into_iter().zip(parts) {
                    give(per_line, i, part, &mut taken)?;
                }
            }
        }
        PromotionKind::BuyXGetY { buy, get, percent_off } => {
            let factor = fraction(*percent_off)?;
            let mut eligible: Vec<usize> =
                (0..cart.lines.len()).filter(|i| target.matches(&cart.lines[*i])).collect();
            // Cheapest first; ties by position, so the result is deterministic.
            eligible.sort_by(|a, b| {
                let (pa, pb) = (cart.lines[*a].unit_price, cart.lines[*b].unit_price);
                pa.amount().cmp(&pb.amount()).then(a.cmp(b))
            });
            let units = eligible
                .iter()
                .fold(0u64, |n, i| n.saturating_add(u64::from(cart.lines[*i].quantity)));
            let group = u64::from(*buy) + u64::from(*get);
            let mut discounted_units = units / group * u64::from(*get);
            for i in eligible {
                if discounted_units == 0 {
                    break;
                }
                let quantity = u64::from(cart.lines[i].quantity);
                let units_here = discounted_units.min(quantity);
                discounted_units -= units_here;
                // remaining × factor × units / quantity, with the one division last so an
                // exact tie stays exact before rounding.
                let mut exact = remaining(per_line, i)?
                    .amount()
                    .checked_mul(factor)
                    .ok_or(MoneyError::Overflow)?;
                if units_here != quantity {
                    exact = exact
                        .checked_mul(Decimal::from(units_here))
                        .and_then(|x| x.checked_div(Decimal::from(quantity)))
                        .ok_or(MoneyError::Overflow)?;
                }
                let off = Money::round(exact, cart.currency, rounding);
                give(per_line, i, off, &mut taken)?;
            }
        }
        PromotionKind::FreeShipping => {}
    }
    Ok(taken)
}

/// A percentage (15) as a fraction (0.15), exactly.
fn fraction(percent: Decimal) -> Result<Decimal, MoneyError> {
    percent.checked_div(Decimal::ONE_HUNDRED).ok_or(MoneyError::Overflow)
}

/// The request's coupons that apply through no promotion, each once, in request order, with
/// the reason of the first (in application order) promotion behind the code.
fn rejected_coupons(
    coupons: &[CouponCode],
    candidates: &[&Promotion],
    outcomes: &[Result<(), CouponRejection>],
) -> Vec<RejectedCoupon> {
    let mut rejected = Vec::new();
    for (n, code) in coupons.iter().enumerate() {
        if coupons[..n].contains(code) {
            continue;
        }
        let mut reason = None;
        let mut applies = false;
        for (p, outcome) in candidates.iter().zip(outcomes) {
            if p.coupon() != Some(code) {
                continue;
            }
            match outcome {
                Ok(()) => applies = true,
                Err(r) => {
                    reason.get_or_insert_with(|| r.clone());
                }
            }
        }
        if !applies {
            rejected.push(RejectedCoupon {
                code: code.clone(),
                reason: reason.unwrap_or(CouponRejection::Unknown),
            });
        }
    }
    rejected
}
