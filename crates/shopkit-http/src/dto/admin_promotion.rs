//! Promotions and coupons on the wire (back office). Requests go through
//! [`Promotion::builder`], so a promotion the domain would refuse is a `422` naming the
//! field at fault, never a stored bad rule.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shopkit_core::ids::{CategoryId, CouponCode, PromotionId, Sku};
use shopkit_core::pricing::{Promotion, PromotionError, PromotionKind, PromotionTarget, Stacking};
use utoipa::ToSchema;
use uuid::Uuid;

use super::MoneyDto;
use crate::error::ApiError;

/// What a promotion takes off. Percentages are decimal strings (`"15"` is 15 %).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PromotionKindDto {
    /// A percentage off each eligible line: above 0, at most 100.
    Percentage {
        /// `"15"` is 15 %.
        #[schema(example = "15")]
        percent: String,
    },
    /// An amount off the eligible lines together (carts in its currency only).
    FixedAmount {
        /// Above zero.
        amount: MoneyDto,
    },
    /// For every `buy + get` eligible units, the `get` cheapest get `percent_off` % off.
    BuyXGetY {
        /// Units paid for in each group (at least 1).
        buy: u32,
        /// Units discounted in each group (at least 1).
        get: u32,
        /// Above 0, at most 100 (`"100"`: free).
        #[schema(example = "100")]
        percent_off: String,
    },
    /// Shipping is free.
    FreeShipping,
}

/// Which lines a promotion applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PromotionTargetDto {
    /// Every line.
    #[default]
    AllLines,
    /// Lines with one of these SKUs (at least one).
    Skus {
        /// The SKUs.
        #[schema(value_type = Vec<crate::openapi::SkuSchema>)]
        skus: Vec<String>,
    },
    /// Lines in one of these categories (at least one).
    Categories {
        /// Category handles.
        categories: Vec<String>,
    },
}

/// How a promotion combines with others on the same cart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StackingDto {
    /// Applies with every other combinable promotion.
    #[default]
    Combinable,
    /// Applies alone when it comes first by priority, else not at all.
    Exclusive,
}

impl From<Stacking> for StackingDto {
    fn from(s: Stacking) -> Self {
        match s {
            Stacking::Combinable => StackingDto::Combinable,
            Stacking::Exclusive => StackingDto::Exclusive,
        }
    }
}

impl From<StackingDto> for Stacking {
    fn from(s: StackingDto) -> Self {
        match s {
            StackingDto::Combinable => Stacking::Combinable,
            StackingDto::Exclusive => Stacking::Exclusive,
        }
    }
}

/// A promotion as the back office sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromotionDto {
    /// The promotion id.
    pub id: Uuid,
    /// The name customers see on their quote.
    pub name: String,
    /// What it takes off.
    pub kind: PromotionKindDto,
    /// The coupon that unlocks it (upper-case); `null` for an automatic promotion.
    pub coupon: Option<String>,
    /// First instant it is valid, if bounded.
    pub starts_at: Option<DateTime<Utc>>,
    /// First instant it is no longer valid, if bounded.
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses allowed in total, if limited.
    pub usage_limit: Option<u32>,
    /// Uses so far (kept by the store).
    pub times_used: u32,
    /// Higher priorities apply first.
    pub priority: i32,
    /// How it combines with others.
    pub stacking: StackingDto,
    /// The cart subtotal (before discounts) it needs, if any.
    pub min_subtotal: Option<MoneyDto>,
    /// Which lines it applies to.
    pub target: PromotionTargetDto,
}

fn decimal_text(d: Decimal) -> String {
    d.normalize().to_string()
}

impl From<&Promotion> for PromotionDto {
    fn from(p: &Promotion) -> Self {
        let kind = match p.kind() {
            PromotionKind::Percentage(percent) => {
                PromotionKindDto::Percentage { percent: decimal_text(*percent) }
            }
            PromotionKind::FixedAmount(amount) => {
                PromotionKindDto::FixedAmount { amount: MoneyDto::from(amount) }
            }
            PromotionKind::BuyXGetY { buy, get, percent_off } => PromotionKindDto::BuyXGetY {
                buy: *buy,
                get: *get,
                percent_off: decimal_text(*percent_off),
            },
            PromotionKind::FreeShipping => PromotionKindDto::FreeShipping,
        };
        let target = match p.target() {
            PromotionTarget::AllLines => PromotionTargetDto::AllLines,
            PromotionTarget::Skus(skus) => {
                PromotionTargetDto::Skus { skus: skus.iter().map(ToString::to_string).collect() }
            }
            PromotionTarget::Categories(categories) => PromotionTargetDto::Categories {
                categories: categories.iter().map(ToString::to_string).collect(),
            },
        };
        PromotionDto {
            id: p.id().as_uuid(),
            name: p.name().to_owned(),
            kind,
            coupon: p.coupon().map(ToString::to_string),
            starts_at: p.starts_at(),
            ends_at: p.ends_at(),
            usage_limit: p.usage_limit(),
            times_used: p.times_used(),
            priority: p.priority(),
            stacking: p.stacking().into(),
            min_subtotal: p.min_subtotal().map(MoneyDto::from),
            target,
        }
    }
}

/// A promotion as the back office writes it (`POST /promotions`, `PUT /promotions/{id}`).
/// Its use count is the store's and cannot be set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromotionRequest {
    /// The name customers see (not blank).
    pub name: String,
    /// What it takes off.
    pub kind: PromotionKindDto,
    /// A coupon code that unlocks it (1 to 64 of `A-Z 0-9 - _`, case-insensitive, unique
    /// among promotions); absent for an automatic promotion.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::CouponCodeSchema>)]
    pub coupon: Option<String>,
    /// Valid from this instant.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Valid until just before this instant (after `starts_at`).
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses allowed in total.
    #[serde(default)]
    pub usage_limit: Option<u32>,
    /// Higher priorities apply first (default 0).
    #[serde(default)]
    pub priority: i32,
    /// Default combinable.
    #[serde(default)]
    pub stacking: StackingDto,
    /// The cart subtotal (before discounts) it needs; not negative.
    #[serde(default)]
    pub min_subtotal: Option<MoneyDto>,
    /// Default every line.
    #[serde(default)]
    pub target: PromotionTargetDto,
}

fn percent(raw: &str, field: &str) -> Result<Decimal, ApiError> {
    Decimal::from_str(raw.trim()).map_err(|_| {
        ApiError::validation(field, format!("{raw:?} is not a decimal percentage such as \"15\""))
    })
}

fn each<T>(
    items: &[String],
    field: &str,
    parse: impl Fn(&str) -> Result<T, shopkit_core::ids::InvalidId>,
) -> Result<Vec<T>, ApiError> {
    items
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            parse(raw).map_err(|e| ApiError::validation(format!("{field}[{i}]"), e.to_string()))
        })
        .collect()
}

impl PromotionRequest {
    /// The promotion with id `id`, validated by [`Promotion::builder`].
    ///
    /// # Errors
    /// `422 validation_failed` whose `field` names the member at fault: `kind.percent`
    /// outside `(0, 100]`, `ends_at` not after `starts_at`, a malformed `coupon`, an empty
    /// `target.skus`...
    pub fn to_promotion(&self, id: PromotionId) -> Result<Promotion, ApiError> {
        let kind = match &self.kind {
            PromotionKindDto::Percentage { percent: p } => {
                PromotionKind::Percentage(percent(p, "kind.percent")?)
            }
            PromotionKindDto::FixedAmount { amount } => {
                PromotionKind::FixedAmount(amount.to_money("kind.amount")?)
            }
            PromotionKindDto::BuyXGetY { buy, get, percent_off } => PromotionKind::BuyXGetY {
                buy: *buy,
                get: *get,
                percent_off: percent(percent_off, "kind.percent_off")?,
            },
            PromotionKindDto::FreeShipping => PromotionKind::FreeShipping,
        };
        let target = match &self.target {
            PromotionTargetDto::AllLines => PromotionTarget::AllLines,
            PromotionTargetDto::Skus { skus } => {
                PromotionTarget::Skus(each(skus, "target.skus", Sku::new)?)
            }
            PromotionTargetDto::Categories { categories } => {
                PromotionTarget::Categories(each(categories, "target.categories", CategoryId::new)?)
            }
        };
        let mut builder = Promotion::builder(id, self.name.clone(), kind)
            .priority(self.priority)
            .stacking(self.stacking.into())
            .target(target);
        if let Some(code) = &self.coupon {
            let code =
                CouponCode::new(code).map_err(|e| ApiError::validation("coupon", e.to_string()))?;
            builder = builder.coupon(code);
        }
        if let Some(at) = self.starts_at {
            builder = builder.starts_at(at);
        }
        if let Some(at) = self.ends_at {
            builder = builder.ends_at(at);
        }
        if let Some(limit) = self.usage_limit {
            builder = builder.usage_limit(limit);
        }
        if let Some(min) = &self.min_subtotal {
            builder = builder.min_subtotal(min.to_money("min_subtotal")?);
        }
        builder.build().map_err(|e| self.refused(&e))
    }

    /// The 422 of a promotion the builder refused, naming the member at fault.
    fn refused(&self, e: &PromotionError) -> ApiError {
        let field = match e {
            PromotionError::PercentageOutOfRange { .. } => match self.kind {
                PromotionKindDto::BuyXGetY { .. } => "kind.percent_off",
                _ => "kind.percent",
            },
            PromotionError::ZeroBuyOrGet { buy: 0, .. } => "kind.buy",
            PromotionError::ZeroBuyOrGet { .. } => "kind.get",
            PromotionError::NonPositiveAmount { .. } => "kind.amount",
            PromotionError::NegativeMinSubtotal { .. } => "min_subtotal",
            PromotionError::EndsBeforeStart { .. } => "ends_at",
            PromotionError::EmptyTarget { what } => match *what {
                "categories" => "target.categories",
                _ => "target.skus",
            },
            PromotionError::MissingName => "name",
            // `PromotionError` is #[non_exhaustive]: a new rule still answers 422.
            _ => "body",
        };
        ApiError::validation(field, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: serde_json::Value) -> PromotionRequest {
        serde_json::from_value(serde_json::json!({"name": "Spring", "kind": kind})).unwrap()
    }

    fn id() -> PromotionId {
        PromotionId::from_uuid(Uuid::from_u128(7))
    }

    #[test]
    fn a_valid_request_round_trips_through_the_domain() {
        let mut req = request(serde_json::json!({"type": "percentage", "percent": "12.5"}));
        req.coupon = Some("spring".into());
        req.target = PromotionTargetDto::Skus { skus: vec!["TEE".into()] };

        let promotion = req.to_promotion(id()).unwrap();
        let dto = PromotionDto::from(&promotion);

        assert_eq!(dto.kind, PromotionKindDto::Percentage { percent: "12.5".into() });
        assert_eq!(dto.coupon.as_deref(), Some("SPRING"));
        assert_eq!(dto.target, req.target);
    }

    #[test]
    fn refusals_name_the_field_at_fault() {
        let over = request(serde_json::json!({"type": "percentage", "percent": "150"}));
        let not_a_number = request(serde_json::json!({"type": "percentage", "percent": "lots"}));
        let zero_get = request(
            serde_json::json!({"type": "buy_x_get_y", "buy": 2, "get": 0, "percent_off": "100"}),
        );
        let mut backwards = request(serde_json::json!({"type": "free_shipping"}));
        backwards.starts_at = Some(DateTime::UNIX_EPOCH + chrono::Duration::days(2));
        backwards.ends_at = Some(DateTime::UNIX_EPOCH + chrono::Duration::days(1));
        let mut no_skus = request(serde_json::json!({"type": "free_shipping"}));
        no_skus.target = PromotionTargetDto::Skus { skus: vec![] };
        let mut bad_coupon = request(serde_json::json!({"type": "free_shipping"}));
        bad_coupon.coupon = Some("has space".into());

        for (req, field) in [
            (over, "kind.percent"),
            (not_a_number, "kind.percent"),
            (zero_get, "kind.get"),
            (backwards, "ends_at"),
            (no_skus, "target.skus"),
            (bad_coupon, "coupon"),
        ] {
            let err = req.to_promotion(id()).unwrap_err();
            assert_eq!(err.status().as_u16(), 422, "{field}");
            assert_eq!(err.extension("field").unwrap(), field);
        }
    }
}
