//! A product as a DynamoDB item, and back.
//!
//! Everything is stored natively, so the table reads well in the console and other tools
//! (streams, exports, Athena) can use it: open attributes as a map (`Text` → `S`, `Number`
//! → `N`, `Bool` → `BOOL`, `List` → `L` of `S`), variants as a list of maps embedded in the
//! product item (one `GetItem` gives the whole product), prices as `{amount: N, currency:
//! S}` (exact decimals, never floats), times as RFC 3339 strings with every fraction digit
//! (lossless). DynamoDB trims trailing zeros of numbers (`1.20` comes back as `1.2`):
//! equal as numbers, and money is rescaled to its currency's minor unit on reading.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use shopkit_core::catalog::{
    AttributeName, AttributeValue as Value, Attributes, Category, MediaKind, MediaRef, Product,
    ProductStatus, ShippingRequirement, Variant,
};
use shopkit_core::ids::{CategoryId, ProductId, Sku, Slug, VariantId};
use shopkit_core::money::{Currency, Money};
use shopkit_core::ports::StoreError;

use crate::error::corrupt;
use crate::item::{Item, Reader, decimal, n, s, time};

const WHAT: &str = "product";

pub(super) fn status_code(status: ProductStatus) -> &'static str {
    match status {
        ProductStatus::Draft => "draft",
        ProductStatus::Active => "active",
        ProductStatus::Archived => "archived",
    }
}

fn parse_status(raw: &str) -> Result<ProductStatus, StoreError> {
    match raw {
        "draft" => Ok(ProductStatus::Draft),
        "active" => Ok(ProductStatus::Active),
        "archived" => Ok(ProductStatus::Archived),
        other => Err(corrupt(WHAT, format_args!("unknown status {other:?}"))),
    }
}

fn shipping_code(shipping: ShippingRequirement) -> &'static str {
    match shipping {
        ShippingRequirement::Required => "required",
        ShippingRequirement::NotRequired => "not_required",
    }
}

/// Variants written before the notion existed have no `shipping`: they are shipped.
fn parse_shipping(raw: Option<&str>) -> Result<ShippingRequirement, StoreError> {
    match raw {
        None | Some("required") => Ok(ShippingRequirement::Required),
        Some("not_required") => Ok(ShippingRequirement::NotRequired),
        Some(other) => Err(corrupt(WHAT, format_args!("unknown shipping requirement {other:?}"))),
    }
}

fn kind_code(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
    }
}

fn list_of_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(s).collect())
}

fn attribute_value(value: &Value) -> AttributeValue {
    match value {
        Value::Text(t) => s(t.as_str()),
        Value::Number(d) => n(d),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::List(items) => list_of_strings(items.iter().map(String::as_str)),
    }
}

fn money(price: &Money) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("amount".to_owned(), n(price.amount())),
        ("currency".to_owned(), s(price.currency().code())),
    ]))
}

fn variant(v: &Variant) -> AttributeValue {
    let options = v.options.iter().map(|(name, value)| (name.clone(), s(value.as_str()))).collect();
    AttributeValue::M(HashMap::from([
        ("id".to_owned(), s(v.id.to_string())),
        ("sku".to_owned(), s(v.sku.as_str())),
        ("title".to_owned(), s(v.title.as_str())),
        ("options".to_owned(), AttributeValue::M(options)),
        ("prices".to_owned(), AttributeValue::L(v.prices.iter().map(money).collect())),
        ("weight_grams".to_owned(), n(v.weight_grams)),
        ("shipping".to_owned(), s(shipping_code(v.shipping))),
    ]))
}

fn media(m: &MediaRef) -> AttributeValue {
    let mut map = HashMap::from([
        ("key".to_owned(), s(m.key.as_str())),
        ("kind".to_owned(), s(kind_code(m.kind))),
    ]);
    if let Some(alt) = &m.alt {
        map.insert("alt".to_owned(), s(alt.as_str()));
    }
    AttributeValue::M(map)
}

/// The product's attributes (no key attributes), stored at `version`.
pub(super) fn product_item(product: &Product, version: u64) -> Item {
    let attributes = product
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), attribute_value(v)))
        .collect();
    HashMap::from([
        ("entity".to_owned(), s("product")),
        ("id".to_owned(), s(product.id.to_string())),
        ("slug".to_owned(), s(product.slug.as_str())),
        ("title".to_owned(), s(product.title.as_str())),
        ("description".to_owned(), s(product.description.as_str())),
        ("status".to_owned(), s(status_code(product.status))),
        (
            "categories".to_owned(),
            list_of_strings(product.categories.iter().map(CategoryId::as_str)),
        ),
        ("attributes".to_owned(), AttributeValue::M(attributes)),
        ("media".to_owned(), AttributeValue::L(product.media.iter().map(media).collect())),
        ("variants".to_owned(), AttributeValue::L(product.variants.iter().map(variant).collect())),
        ("version".to_owned(), n(version)),
        ("created_at".to_owned(), time(product.created_at)),
        ("updated_at".to_owned(), time(product.updated_at)),
    ])
}

fn string(value: &AttributeValue, field: &str) -> Result<String, StoreError> {
    match value {
        AttributeValue::S(v) => Ok(v.clone()),
        _ => Err(corrupt(WHAT, format_args!("{field} holds a non-string"))),
    }
}

fn map<'a>(value: &'a AttributeValue, field: &str) -> Result<&'a Item, StoreError> {
    match value {
        AttributeValue::M(m) => Ok(m),
        _ => Err(corrupt(WHAT, format_args!("{field} holds a non-map"))),
    }
}

fn invalid_id(e: impl std::fmt::Display) -> StoreError {
    corrupt(WHAT, e)
}

fn decode_attribute(
    name: &str,
    value: &AttributeValue,
) -> Result<(AttributeName, Value), StoreError> {
    let name = AttributeName::new(name).map_err(invalid_id)?;
    let value = match value {
        AttributeValue::S(t) => Value::Text(t.clone()),
        AttributeValue::N(raw) => Value::Number(
            decimal(raw)
                .ok_or_else(|| corrupt(WHAT, format_args!("attribute {name} is no number")))?,
        ),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(items) => Value::List(
            items.iter().map(|i| string(i, "a list attribute")).collect::<Result<_, _>>()?,
        ),
        _ => return Err(corrupt(WHAT, format_args!("attribute {name} has an unsupported type"))),
    };
    Ok((name, value))
}

fn decode_money(value: &AttributeValue) -> Result<Money, StoreError> {
    let m = map(value, "a price")?;
    let r = Reader::new(m, WHAT);
    let currency: Currency = r.parse("currency")?;
    let amount = match r.get("amount") {
        Some(AttributeValue::N(raw)) => decimal(raw),
        _ => None,
    }
    .ok_or_else(|| corrupt(WHAT, "a price has no numeric amount"))?;
    Money::new(amount, currency).map_err(|e| corrupt(WHAT, e))
}

fn decode_variant(value: &AttributeValue) -> Result<Variant, StoreError> {
    let m = map(value, "a variant")?;
    let r = Reader::new(m, WHAT);
    let options: BTreeMap<String, String> = r
        .map("options")?
        .iter()
        .map(|(k, v)| Ok((k.clone(), string(v, "a variant option")?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Variant {
        id: r.parse::<VariantId>("id")?,
        sku: Sku::new(r.str("sku")?).map_err(invalid_id)?,
        title: r.str("title")?.to_owned(),
        options,
        prices: r.list("prices")?.iter().map(decode_money).collect::<Result<_, _>>()?,
        weight_grams: r.u32("weight_grams")?,
        shipping: parse_shipping(r.opt_str("shipping")?)?,
    })
}

fn decode_media(value: &AttributeValue) -> Result<MediaRef, StoreError> {
    let m = map(value, "a media reference")?;
    let r = Reader::new(m, WHAT);
    let kind = match r.str("kind")? {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        other => return Err(corrupt(WHAT, format_args!("unknown media kind {other:?}"))),
    };
    Ok(MediaRef { key: r.str("key")?.to_owned(), kind, alt: r.opt_str("alt")?.map(str::to_owned) })
}

/// A stored product item (or a category listing copy) back as a `Product`.
pub(super) fn decode(item: &Item) -> Result<Product, StoreError> {
    let r = Reader::new(item, WHAT);
    let attributes: Attributes = r
        .map("attributes")?
        .iter()
        .map(|(k, v)| decode_attribute(k, v))
        .collect::<Result<_, _>>()?;
    Ok(Product {
        id: r.parse::<ProductId>("id")?,
        slug: Slug::new(r.str("slug")?).map_err(invalid_id)?,
        title: r.str("title")?.to_owned(),
        description: r.str("description")?.to_owned(),
        status: parse_status(r.str("status")?)?,
        categories: r
            .list("categories")?
            .iter()
            .map(|c| CategoryId::new(&string(c, "a category")?).map_err(invalid_id))
            .collect::<Result<_, _>>()?,
        attributes,
        media: r.list("media")?.iter().map(decode_media).collect::<Result<_, _>>()?,
        variants: r.list("variants")?.iter().map(decode_variant).collect::<Result<_, _>>()?,
        version: r.u64("version")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A category's attributes (no key attributes).
pub(super) fn category_item(category: &Category) -> Item {
    let mut item = HashMap::from([
        ("entity".to_owned(), s("category")),
        ("id".to_owned(), s(category.id.as_str())),
        ("name".to_owned(), s(category.name.as_str())),
        ("position".to_owned(), n(category.position)),
    ]);
    if let Some(parent) = &category.parent {
        item.insert("parent".to_owned(), s(parent.as_str()));
    }
    item
}

/// A stored category back as a `Category`.
pub(super) fn decode_category(item: &Item) -> Result<Category, StoreError> {
    let r = Reader::new(item, "category");
    Ok(Category {
        id: CategoryId::new(r.str("id")?).map_err(|e| corrupt("category", e))?,
        name: r.str("name")?.to_owned(),
        parent: r
            .opt_str("parent")?
            .map(CategoryId::new)
            .transpose()
            .map_err(|e| corrupt("category", e))?,
        position: r.u32("position")?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::*;

    fn product() -> Product {
        let at = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::nanoseconds(123);
        let mut attributes = Attributes::new();
        attributes.insert(AttributeName::new("material").unwrap(), Value::Text("cotton".into()));
        attributes
            .insert(AttributeName::new("weight_kg").unwrap(), Value::Number(Decimal::new(12, 1)));
        attributes.insert(AttributeName::new("waterproof").unwrap(), Value::Bool(false));
        attributes.insert(AttributeName::new("colours").unwrap(), Value::List(vec!["red".into()]));
        Product {
            id: ProductId::from_uuid(Uuid::new_v4()),
            slug: Slug::new("tee").unwrap(),
            title: "Tee".into(),
            description: String::new(),
            status: ProductStatus::Active,
            categories: vec![CategoryId::new("shirts").unwrap()],
            attributes,
            media: vec![MediaRef { key: "p/1.jpg".into(), kind: MediaKind::Image, alt: None }],
            variants: vec![Variant {
                id: VariantId::from_uuid(Uuid::new_v4()),
                sku: Sku::new("TEE-M").unwrap(),
                title: "M".into(),
                options: BTreeMap::from([("size".into(), "M".into())]),
                prices: vec![
                    Money::from_minor(1999, Currency::USD),
                    Money::from_minor(2500, Currency::JPY),
                ],
                weight_grams: 200,
                shipping: ShippingRequirement::NotRequired,
            }],
            version: 3,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_product_survives_the_round_trip_with_native_attributes() {
        let p = product();
        let item = product_item(&p, 3);
        assert!(
            matches!(item["attributes"], AttributeValue::M(ref m) if matches!(m["weight_kg"], AttributeValue::N(ref v) if v == "1.2"))
        );
        assert_eq!(decode(&item).unwrap(), p);
    }

    #[test]
    fn trimmed_numbers_still_read_as_exact_money() {
        let mut item = product_item(&product(), 3);
        let AttributeValue::L(variants) = item.get_mut("variants").unwrap() else { panic!() };
        let AttributeValue::M(v) = &mut variants[0] else { panic!() };
        let AttributeValue::L(prices) = v.get_mut("prices").unwrap() else { panic!() };
        let AttributeValue::M(price) = &mut prices[0] else { panic!() };
        price.insert("amount".into(), n("19.9"));
        let decoded = decode(&item).unwrap();
        assert_eq!(decoded.variants[0].prices[0], Money::from_minor(1990, Currency::USD));
    }

    #[test]
    fn a_variant_stored_without_a_shipping_requirement_is_shipped() {
        let mut item = product_item(&product(), 3);
        let AttributeValue::L(variants) = item.get_mut("variants").unwrap() else { panic!() };
        let AttributeValue::M(v) = &mut variants[0] else { panic!() };
        v.remove("shipping");
        let decoded = decode(&item).unwrap();
        assert_eq!(decoded.variants[0].shipping, ShippingRequirement::Required);
    }
}
