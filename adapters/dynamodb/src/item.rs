//! Building and reading DynamoDB items: attribute constructors, a typed reader that turns
//! a missing or mistyped attribute into a clear error, order-preserving time keys, and the
//! item size rule.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use shopkit_core::ports::StoreError;

use crate::error::corrupt;
use crate::table::{PK, SK};

/// A DynamoDB item (or key): attribute name to value.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// DynamoDB's item size limit: 400 KB, names and values included.
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute (DynamoDB numbers travel as decimal strings: exact, never floats).
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key `{pk, sk}`.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A timestamp as stored: RFC 3339 with as many fraction digits as it has (lossless).
pub(crate) fn time(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A sort key that orders like the instant: 20 digits of the microseconds since the epoch,
/// sign bit flipped, so earlier instants (before 1970 too) sort first as strings.
pub(crate) fn time_key(at: DateTime<Utc>) -> String {
    let micros = at.timestamp_micros();
    format!("{:020}", (micros as u64) ^ (1 << 63))
}

/// Seconds since the epoch, for the TTL attribute (DynamoDB deletes the item some time
/// after it; reads never rely on that).
pub(crate) fn epoch_seconds(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp().max(0))
}

/// Reads typed attributes of one item, naming the item kind and the attribute when one is
/// missing or of the wrong type.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    item: &'a Item,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `item`, a stored `what` (`"product"`).
    pub(crate) fn new(item: &'a Item, what: &'static str) -> Self {
        Reader { item, what }
    }

    fn missing(&self, name: &str, wanted: &str) -> StoreError {
        corrupt(self.what, format_args!("attribute `{name}` is missing or not {wanted}"))
    }

    /// The attribute `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'a AttributeValue> {
        self.item.get(name)
    }

    /// A string attribute.
    pub(crate) fn str(&self, name: &str) -> Result<&'a str, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            _ => Err(self.missing(name, "a string")),
        }
    }

    /// A string attribute that may be absent (or `NULL`).
    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            _ => Err(self.missing(name, "a string")),
        }
    }

    /// A string attribute parsed with `FromStr`.
    pub(crate) fn parse<T: FromStr>(&self, name: &str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.str(name)?;
        raw.parse::<T>().map_err(|e| corrupt(self.what, format_args!("attribute `{name}`: {e}")))
    }

    /// A number attribute as an `i64`.
    pub(crate) fn i64(&self, name: &str) -> Result<i64, StoreError> {
        self.number(name)
    }

    /// A number attribute as a `u64`.
    pub(crate) fn u64(&self, name: &str) -> Result<u64, StoreError> {
        self.number(name)
    }

    /// A number attribute as a `u32`.
    pub(crate) fn u32(&self, name: &str) -> Result<u32, StoreError> {
        self.number(name)
    }

    fn number<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::N(v)) => {
                v.parse::<T>().map_err(|_| self.missing(name, "a whole number in range"))
            }
            _ => Err(self.missing(name, "a number")),
        }
    }

    /// A timestamp attribute written by [`time`].
    pub(crate) fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        let raw = self.str(name)?;
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| corrupt(self.what, format_args!("attribute `{name}`: {e}")))
    }

    /// A list attribute.
    pub(crate) fn list(&self, name: &str) -> Result<&'a [AttributeValue], StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::L(v)) => Ok(v),
            _ => Err(self.missing(name, "a list")),
        }
    }

    /// A map attribute.
    pub(crate) fn map(&self, name: &str) -> Result<&'a Item, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::M(v)) => Ok(v),
            _ => Err(self.missing(name, "a map")),
        }
    }
}

/// A DynamoDB number as an exact decimal.
pub(crate) fn decimal(raw: &str) -> Option<Decimal> {
    Decimal::from_str(raw).ok().or_else(|| Decimal::from_scientific(raw).ok())
}

/// The size DynamoDB charges an item: attribute names plus values (strings and binaries
/// by length, numbers by significant digits, 1 byte per boolean or null, 3 bytes plus 1
/// per element for lists and maps). Close to the service's own accounting, and never
/// below it for the items this crate writes, so the check before a write is meaningful.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(v) => v.len(),
        AttributeValue::N(v) => {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        AttributeValue::B(v) => v.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>()
        }
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| value_size(&AttributeValue::N(n.clone()))).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Fails with `Invalid` when `item` would break DynamoDB's 400 KB item limit, saying what
/// to shorten.
pub(crate) fn check_size(item: &Item, what: &str, advice: &str) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid {
            reason: format!(
                "{what} takes {size} bytes stored, above DynamoDB's item limit of {MAX_ITEM_BYTES} bytes (400 KB): {advice}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn time_keys_sort_like_the_instants_they_encode() {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let instants = [
            epoch - Duration::days(400),
            epoch - Duration::microseconds(1),
            epoch,
            epoch + Duration::days(9000),
        ];
        let keys: Vec<String> = instants.iter().map(|t| time_key(*t)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(keys.iter().all(|k| k.len() == 20));
    }

    #[test]
    fn item_sizes_count_names_and_values() {
        let item = Item::from([
            ("ab".to_owned(), s("xyz")),
            ("n".to_owned(), n(12345)),
            ("l".to_owned(), AttributeValue::L(vec![s("a"), AttributeValue::Bool(true)])),
        ]);
        // "ab"+"xyz" = 5; "n" + ceil(5/2)+1 = 1+4; "l" + 3 + (1+1) + (1+1) = 8.
        assert_eq!(item_size(&item), 5 + 5 + 8);
        assert!(check_size(&item, "a test item", "shorten it").is_ok());
        let huge = Item::from([("d".to_owned(), s("x".repeat(MAX_ITEM_BYTES)))]);
        let err = check_size(&huge, "product p", "shorten the description").unwrap_err();
        assert!(err.to_string().contains("400 KB") && err.to_string().contains("shorten"));
    }

    #[test]
    fn the_reader_names_a_missing_attribute() {
        let item = Item::from([("title".to_owned(), s("Tee"))]);
        let reader = Reader::new(&item, "product");
        assert_eq!(reader.str("title").unwrap(), "Tee");
        let err = reader.u64("version").unwrap_err().to_string();
        assert!(err.contains("product") && err.contains("version"), "{err}");
    }

    #[test]
    fn decimals_read_plain_and_scientific_numbers() {
        assert_eq!(decimal("19.99"), Some(Decimal::new(1999, 2)));
        assert_eq!(decimal("1E+2"), Some(Decimal::new(100, 0)));
        assert_eq!(decimal("x"), None);
    }
}
