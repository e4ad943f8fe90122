//! Promotions: what they take off, to which lines, when, and how they stack.
//!
//! A [`Promotion`] is valid by construction ([`Promotion::builder`]); whether it can be used
//! by a given cart at a given time is [`Promotion::check_availability`], and the reason it
//! cannot is a [`CouponRejection`] the customer can act on.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{PricingRules, QuoteLine};
use crate::ids::{CategoryId, CouponCode, PromotionId, Sku};
use crate::money::{Currency, Money};

/// How a promotion combines with the others that apply to the same cart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    /// Applies together with every other combinable promotion.
    #[default]
    Combinable,
    /// Applies alone, if it comes first (by priority); otherwise it does not apply at all.
    Exclusive,
}

/// What a promotion takes off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionKind {
    /// A percentage off each eligible line: `15` is 15 %. Must be above 0 and at most 100.
    Percentage(Decimal),
    /// An amount off the eligible lines together, spread over them in proportion to what is
    /// left of each (largest remainder), never more than their total. Must be positive.
    FixedAmount(Money),
    /// For every `buy + get` eligible units, the `get` cheapest get `percent_off` % off
    /// (100 = free). The cheapest units of the whole cart are discounted, so a mixed cart
    /// always frees its cheapest items.
    BuyXGetY {
        /// Units to pay for in each group (at least 1).
        buy: u32,
        /// Units discounted in each group (at least 1).
        get: u32,
        /// Percentage off the discounted units, above 0 and at most 100.
        percent_off: Decimal,
    },
    /// The whole shipping price is waived.
    FreeShipping,
}

/// Which lines of a cart a promotion applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionTarget {
    /// Every line.
    #[default]
    AllLines,
    /// Lines whose SKU is in the list.
    Skus(Vec<Sku>),
    /// Lines in at least one of the categories.
    Categories(Vec<CategoryId>),
}

impl PromotionTarget {
    /// Whether `line` is eligible.
    pub fn matches(&self, line: &QuoteLine) -> bool {
        match self {
            PromotionTarget::AllLines => true,
            PromotionTarget::Skus(skus) => skus.contains(&line.sku),
            PromotionTarget::Categories(categories) => {
                line.categories.iter().any(|c| categories.contains(c))
            }
        }
    }
}

/// A promotion definition that cannot be valid. Each variant says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromotionError {
    /// A percentage outside `(0, 100]`.
    #[error("a percentage off must be above 0 and at most 100 (15 means 15 %), got {percent}")]
    PercentageOutOfRange {
        /// The percentage as given.
        percent: Decimal,
    },
    /// Buy-X-get-Y with a zero count.
    #[error("buy {buy} get {get}: both counts must be at least 1")]
    ZeroBuyOrGet {
        /// Units to buy.
        buy: u32,
        /// Units to get.
        get: u32,
    },
    /// A fixed amount of zero or less.
    #[error("a fixed discount must be above zero, got {amount}")]
    NonPositiveAmount {
        /// The amount as given.
        amount: Money,
    },
    /// A negative minimum subtotal.
    #[error("a minimum subtotal cannot be negative, got {amount}")]
    NegativeMinSubtotal {
        /// The amount as given.
        amount: Money,
    },
    /// The end is not after the start.
    #[error(
        "the promotion ends ({ends_at}) before or when it starts ({starts_at}): move the end later"
    )]
    EndsBeforeStart {
        /// The start.
        starts_at: DateTime<Utc>,
        /// The end.
        ends_at: DateTime<Utc>,
    },
    /// A target list with nothing in it would match no line.
    #[error(
        "the promotion targets an empty list of {what}: name at least one, or target all lines"
    )]
    EmptyTarget {
        /// `"skus"` or `"categories"`.
        what: &'static str,
    },
    /// The name is blank; customers see it on their quote.
    #[error("a promotion needs a name: customers see it on their quote")]
    MissingName,
}

/// Why a coupon does not apply to a cart. The message says what the customer can do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CouponRejection {
    /// No promotion has this code.
    #[error("this coupon code does not exist: check the spelling")]
    Unknown,
    /// The promotion has not started yet.
    #[error("this coupon is valid from {starts_at}: apply it again then")]
    NotStarted {
        /// When it becomes valid.
        starts_at: DateTime<Utc>,
    },
    /// The promotion is over.
    #[error("this coupon expired at {ended_at}: remove it from the cart")]
    Expired {
        /// When it stopped being valid.
        ended_at: DateTime<Utc>,
    },
    /// The promotion has been used as many times as it may be.
    #[error(
        "this coupon has already been used the maximum of {limit} times: remove it from the cart"
    )]
    UsageLimitReached {
        /// The usage limit.
        limit: u32,
    },
    /// The promotion is for carts in another currency.
    #[error("this coupon is only valid for carts in {accepted}, and this cart is in {cart}")]
    WrongCurrency {
        /// The currency the promotion is defined in.
        accepted: Currency,
        /// The cart's currency.
        cart: Currency,
    },
    /// The cart is below the promotion's minimum subtotal.
    #[error(
        "this coupon needs a subtotal of at least {required} and the cart has {subtotal}: add items to use it"
    )]
    MinSubtotalNotMet {
        /// The minimum subtotal.
        required: Money,
        /// The cart's subtotal before discounts.
        subtotal: Money,
    },
    /// No line of the cart is targeted by the promotion.
    #[error("no item in the cart qualifies for this coupon: add a qualifying item to use it")]
    NoEligibleLine,
    /// A buy-X-get-Y promotion needs more eligible units.
    #[error(
        "this coupon needs {required} qualifying items and the cart has {found}: add items to use it"
    )]
    NotEnoughItems {
        /// Units needed for one group (`buy + get`).
        required: u64,
        /// Eligible units in the cart.
        found: u64,
    },
    /// Another promotion applies and the two do not stack.
    #[error(
        "this coupon cannot be combined with \"{with}\", which already applies: remove one of them"
    )]
    NotCombinable {
        /// The name of the promotion that won.
        with: String,
    },
}

/// A discount rule: what it takes off ([`PromotionKind`]), from which lines
/// ([`PromotionTarget`]), when, how often, and how it stacks.
///
/// Built and validated by [`Promotion::builder`]; read through its accessors. Deserializing
/// goes through the same validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PromotionRepr")]
pub struct Promotion {
    id: PromotionId,
    name: String,
    kind: PromotionKind,
    coupon: Option<CouponCode>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    usage_limit: Option<u32>,
    times_used: u32,
    priority: i32,
    stacking: Stacking,
    min_subtotal: Option<Money>,
    target: PromotionTarget,
}

impl Promotion {
    /// Starts a promotion: automatic (no coupon), always active, unlimited, priority 0,
    /// combinable, no minimum, on all lines. Finish with [`PromotionBuilder::build`].
    pub fn builder(
        id: PromotionId,
        name: impl Into<String>,
        kind: PromotionKind,
    ) -> PromotionBuilder {
        PromotionBuilder {
            promotion: Promotion {
                id,
                name: name.into(),
                kind,
                coupon: None,
                starts_at: None,
                ends_at: None,
                usage_limit: None,
                times_used: 0,
                priority: 0,
                stacking: Stacking::Combinable,
                min_subtotal: None,
                target: PromotionTarget::AllLines,
            },
        }
    }

    /// The id.
    pub fn id(&self) -> PromotionId {
        self.id
    }
    /// The name customers see.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// What it takes off.
    pub fn kind(&self) -> &PromotionKind {
        &self.kind
    }
    /// The coupon that unlocks it; `None` for an automatic promotion.
    pub fn coupon(&self) -> Option<&CouponCode> {
        self.coupon.as_ref()
    }
    /// The first instant it is valid, if bounded.
    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.starts_at
    }
    /// The first instant it is no longer valid, if bounded.
    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at
    }
    /// How many times it may be used in total, if limited.
    pub fn usage_limit(&self) -> Option<u32> {
        self.usage_limit
    }
    /// How many times it has been used.
    pub fn times_used(&self) -> u32 {
        self.times_used
    }
    /// The same promotion with its use count as a store records it (stores own the count:
    /// see `PromotionRepository::redeem`).
    pub fn with_times_used(mut self, times: u32) -> Self {
        self.times_used = times;
        self
    }
    /// Higher priorities are applied first.
    pub fn priority(&self) -> i32 {
        self.priority
    }
    /// How it combines with others.
    pub fn stacking(&self) -> Stacking {
        self.stacking
    }
    /// The cart subtotal (before discounts) it needs, if any.
    pub fn min_subtotal(&self) -> Option<&Money> {
        self.min_subtotal.as_ref()
    }
    /// Which lines it applies to.
    pub fn target(&self) -> &PromotionTarget {
        &self.target
    }

    /// Whether a cart of `subtotal` (before discounts) may use this promotion at `now`:
    /// within `[starts_at, ends_at)`, under the usage limit, in the promotion's currency and
    /// at or above its minimum subtotal. Which lines it targets is not checked here.
    ///
    /// # Errors
    /// The first reason it cannot, in that order.
    pub fn check_availability(
        &self,
        subtotal: &Money,
        now: DateTime<Utc>,
    ) -> Result<(), CouponRejection> {
        if let Some(starts_at) = self.starts_at
            && now < starts_at
        {
            return Err(CouponRejection::NotStarted { starts_at });
        }
        if let Some(ended_at) = self.ends_at
            && now >= ended_at
        {
            return Err(CouponRejection::Expired { ended_at });
        }
        if let Some(limit) = self.usage_limit
            && self.times_used >= limit
        {
            return Err(CouponRejection::UsageLimitReached { limit });
        }
        let cart = subtotal.currency();
        if let PromotionKind::FixedAmount(amount) = &self.kind
            && amount.currency() != cart
        {
            return Err(CouponRejection::WrongCurrency { accepted: amount.currency(), cart });
        }
        if let Some(required) = &self.min_subtotal {
            if required.currency() != cart {
                return Err(CouponRejection::WrongCurrency { accepted: required.currency(), cart });
            }
            if subtotal.amount() < required.amount() {
                return Err(CouponRejection::MinSubtotalNotMet {
                    required: *required,
                    subtotal: *subtotal,
                });
            }
        }
        Ok(())
    }

    /// The order promotions are applied in: priority descending, then id ascending, so the
    /// result never depends on the order the rules were loaded in.
    pub(super) fn precedence(a: &Promotion, b: &Promotion) -> Ordering {
        b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id))
    }
}

/// The stored form of a [`Promotion`], validated by the builder on the way in.
#[derive(Deserialize)]
struct PromotionRepr {
    id: PromotionId,
    name: String,
    kind: PromotionKind,
    #[serde(default)]
    coupon: Option<CouponCode>,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    usage_limit: Option<u32>,
    #[serde(default)]
    times_used: u32,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    stacking: Stacking,
    #[serde(default)]
    min_subtotal: Option<Money>,
    #[serde(default)]
    target: PromotionTarget,
}

impl TryFrom<PromotionRepr> for Promotion {
    type Error = PromotionError;

    fn try_from(r: PromotionRepr) -> Result<Self, Self::Error> {
        PromotionBuilder {
            promotion: Promotion {
                id: r.id,
                name: r.name,
                kind: r.kind,
                coupon: r.coupon,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                usage_limit: r.usage_limit,
                times_used: r.times_used,
                priority: r.priority,
                stacking: r.stacking,
                min_subtotal: r.min_subtotal,
                target: r.target,
            },
        }
        .build()
    }
}

/// Builds a [`Promotion`]; see [`Promotion::builder`] for the defaults.
#[derive(Clone, Debug)]
#[must_use = "call build() to get the promotion"]
pub struct PromotionBuilder {
    promotion: Promotion,
}

impl PromotionBuilder {
    /// Puts the promotion behind a coupon code.
    pub fn coupon(mut self, code: CouponCode) -> Self {
        self.promotion.coupon = Some(code);
        self
    }
    /// Valid from this instant on.
    pub fn starts_at(mut self, at: DateTime<Utc>) -> Self {
        self.promotion.starts_at = Some(at);
        self
    }
    /// Valid until just before this instant.
    pub fn ends_at(mut self, at: DateTime<Utc>) -> Self {
        self.promotion.ends_at = Some(at);
        self
    }
    /// May be used at most this many times in total.
    pub fn usage_limit(mut self, limit: u32) -> Self {
        self.promotion.usage_limit = Some(limit);
        self
    }
    /// Has already been used this many times.
    pub fn times_used(mut self, times: u32) -> Self {
        self.promotion.times_used = times;
        self
    }
    /// Higher priorities are applied first (default 0).
    pub fn priority(mut self, priority: i32) -> Self {
        self.promotion.priority = priority;
        self
    }
    /// How it combines with others (default combinable).
    pub fn stacking(mut self, stacking: Stacking) -> Self {
        self.promotion.stacking = stacking;
        self
    }
    /// Needs a cart subtotal (before discounts) of at least this much.
    pub fn min_subtotal(mut self, amount: Money) -> Self {
        self.promotion.min_subtotal = Some(amount);
        self
    }
    /// Applies to these lines only (default all).
    pub fn target(mut self, target: PromotionTarget) -> Self {
        self.promotion.target = target;
        self
    }

    /// Validates and returns the promotion.
    ///
    /// # Errors
    /// A [`PromotionError`] for a blank name, a percentage outside `(0, 100]`, a zero buy
    /// or get count, a fixed amount of zero or less, a negative minimum subtotal, an end not
    /// after the start, or an empty target list.
    pub fn build(self) -> Result<Promotion, PromotionError> {
        let p = self.promotion;
        if p.name.trim().is_empty() {
            return Err(PromotionError::MissingName);
        }
        match &p.kind {
            PromotionKind::Percentage(percent) => check_percent(*percent)?,
            PromotionKind::FixedAmount(amount) => {
                if !amount.is_positive() {
                    return Err(PromotionError::NonPositiveAmount { amount: *amount });
                }
            }
            PromotionKind::BuyXGetY { buy, get, percent_off } => {
                if *buy == 0 || *get == 0 {
                    return Err(PromotionError::ZeroBuyOrGet { buy: *buy, get: *get });
                }
                check_percent(*percent_off)?;
            }
            PromotionKind::FreeShipping => {}
        }
        if let Some(amount) = p.min_subtotal
            && amount.is_negative()
        {
            return Err(PromotionError::NegativeMinSubtotal { amount });
        }
        if let (Some(starts_at), Some(ends_at)) = (p.starts_at, p.ends_at)
            && ends_at <= starts_at
        {
            return Err(PromotionError::EndsBeforeStart { starts_at, ends_at });
        }
        match &p.target {
            PromotionTarget::Skus(skus) if skus.is_empty() => {
                return Err(PromotionError::EmptyTarget { what: "skus" });
            }
            PromotionTarget::Categories(c) if c.is_empty() => {
                return Err(PromotionError::EmptyTarget { what: "categories" });
            }
            _ => {}
        }
        Ok(p)
    }
}

fn check_percent(percent: Decimal) -> Result<(), PromotionError> {
    if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
        return Err(PromotionError::PercentageOutOfRange { percent });
    }
    Ok(())
}

/// Checks a coupon before it is put on a cart: returns the promotion it unlocks, or why it
/// cannot be used by a cart of `subtotal` (before discounts) at `now`.
///
/// When several promotions share the code, the first usable one in application order
/// (priority, then id) is returned; when none is usable, the reason of the first one is.
/// Which lines the promotion targets and how it stacks are only known in a full
/// [`quote`](super::quote), which reports them in [`Quote::unapplied_coupons`](super::Quote::unapplied_coupons).
///
/// # Errors
/// [`CouponRejection::Unknown`] when no promotion has the code; otherwise as
/// [`Promotion::check_availability`].
pub fn check_coupon<'r>(
    rules: &'r PricingRules,
    code: &CouponCode,
    subtotal: &Money,
    now: DateTime<Utc>,
) -> Result<&'r Promotion, CouponRejection> {
    let mut usable: Option<&Promotion> = None;
    let mut first_rejected: Option<(&Promotion, CouponRejection)> = None;
    for p in rules.promotions.iter().filter(|p| p.coupon() == Some(code)) {
        match p.check_availability(subtotal, now) {
            Ok(()) => {
                if usable.is_none_or(|u| Promotion::precedence(p, u) == Ordering::Less) {
                    usable = Some(p);
                }
            }
            Err(reason) => {
                if first_rejected
                    .as_ref()
                    .is_none_or(|(r, _)| Promotion::precedence(p, r) == Ordering::Less)
                {
                    first_rejected = Some((p, reason));
                }
            }
        }
    }
    match (usable, first_rejected) {
        (Some(p), _) => Ok(p),
        (None, Some((_, reason))) => Err(reason),
        (None, None) => Err(CouponRejection::Unknown),
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

    #[test]
    fn invalid_promotions_are_rejected_when_built() {
        let build = |kind| Promotion::builder(promo_id(1), "x", kind).build();
        assert_eq!(
            build(PromotionKind::Percentage(dec!(0))),
            Err(PromotionError::PercentageOutOfRange { percent: dec!(0) })
        );
        assert!(build(PromotionKind::Percentage(dec!(100.01))).is_err());
        assert!(build(PromotionKind::Percentage(dec!(100))).is_ok());
        assert!(matches!(
            build(PromotionKind::BuyXGetY { buy: 2, get: 0, percent_off: dec!(100) }),
            Err(PromotionError::ZeroBuyOrGet { .. })
        ));
        assert!(matches!(
            build(PromotionKind::FixedAmount(usd(0))),
            Err(PromotionError::NonPositiveAmount { .. })
        ));
        assert_eq!(
            Promotion::builder(promo_id(1), " ", PromotionKind::FreeShipping).build(),
            Err(PromotionError::MissingName)
        );
        assert!(matches!(
            Promotion::builder(promo_id(1), "x", PromotionKind::FreeShipping)
                .starts_at(at(10))
                .ends_at(at(10))
                .build(),
            Err(PromotionError::EndsBeforeStart { .. })
        ));
        assert_eq!(
            Promotion::builder(promo_id(1), "x", PromotionKind::FreeShipping)
                .target(PromotionTarget::Skus(vec![]))
                .build(),
            Err(PromotionError::EmptyTarget { what: "skus" })
        );
    }

    #[test]
    fn check_coupon_tells_unknown_expired_and_used_up_coupons_apart() {
        let rules = PricingRules {
            promotions: vec![
                Promotion::builder(promo_id(1), "Old", PromotionKind::Percentage(dec!(10)))
                    .coupon(coupon("OLD"))
                    .ends_at(at(100))
                    .build()
                    .unwrap(),
                Promotion::builder(promo_id(2), "Once", PromotionKind::Percentage(dec!(10)))
                    .coupon(coupon("ONCE"))
                    .usage_limit(1)
                    .times_used(1)
                    .build()
                    .unwrap(),
                Promotion::builder(promo_id(3), "Soon", PromotionKind::Percentage(dec!(10)))
                    .coupon(coupon("SOON"))
                    .starts_at(at(1000))
                    .build()
                    .unwrap(),
                Promotion::builder(promo_id(4), "Big", PromotionKind::Percentage(dec!(10)))
                    .coupon(coupon("BIG"))
                    .min_subtotal(usd(100_00))
                    .build()
                    .unwrap(),
            ],
            ..PricingRules::default()
        };
        let check = |code: &str, subtotal| check_coupon(&rules, &coupon(code), &subtotal, at(500));
        assert_eq!(check("NOPE", usd(1)), Err(CouponRejection::Unknown));
        assert_eq!(check("OLD", usd(1)), Err(CouponRejection::Expired { ended_at: at(100) }));
        assert_eq!(check("ONCE", usd(1)), Err(CouponRejection::UsageLimitReached { limit: 1 }));
        assert_eq!(check("SOON", usd(1)), Err(CouponRejection::NotStarted { starts_at: at(1000) }));
        assert_eq!(
            check("big", usd(99_99)),
            Err(CouponRejection::MinSubtotalNotMet { required: usd(100_00), subtotal: usd(99_99) })
        );
        assert_eq!(check("BIG", usd(100_00)).unwrap().id(), promo_id(4));
        assert!(matches!(check("BIG", eur(100_00)), Err(CouponRejection::WrongCurrency { .. })));
    }

    #[test]
    fn a_promotion_ends_exactly_at_its_end_instant() {
        let p = Promotion::builder(promo_id(1), "x", PromotionKind::FreeShipping)
            .starts_at(at(10))
            .ends_at(at(20))
            .build()
            .unwrap();
        assert!(p.check_availability(&usd(0), at(10)).is_ok());
        assert!(p.check_availability(&usd(0), at(19)).is_ok());
        assert!(p.check_availability(&usd(0), at(20)).is_err());
    }

    #[test]
    fn promotions_round_trip_through_serde_and_are_validated_on_read() {
        let p = Promotion::builder(
            promo_id(7),
            "3 for 2",
            PromotionKind::BuyXGetY { buy: 2, get: 1, percent_off: dec!(100) },
        )
        .coupon(coupon("THREE4TWO"))
        .target(PromotionTarget::Categories(vec![category("socks")]))
        .build()
        .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Promotion>(&json).unwrap(), p);
        let invalid = json.replace("\"buy\":2", "\"buy\":0");
        let err = serde_json::from_str::<Promotion>(&invalid).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    #[test]
    fn rejections_serialize_with_a_reason_tag_and_explain_themselves() {
        let r = CouponRejection::UsageLimitReached { limit: 5 };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"reason":"usage_limit_reached","limit":5}"#);
        assert!(r.to_string().contains("remove it"));
    }
}
