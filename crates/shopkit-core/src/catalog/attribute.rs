//! Typed open attributes (`material: "cotton"`, `waterproof: true`, `weight_kg: 1.2`).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::InvalidId;

/// An attribute name: 1 to 64 of lowercase `a-z 0-9 _`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AttributeName(String);

impl AttributeName {
    /// Validates a name.
    pub fn new(raw: &str) -> Result<Self, InvalidId> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(InvalidId {
                kind: "attribute name",
                value: raw.chars().take(80).collect(),
                reason: "1 to 64 of lowercase a-z 0-9 _",
            });
        }
        Ok(AttributeName(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AttributeName {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AttributeName::new(&s)
    }
}

impl From<AttributeName> for String {
    fn from(n: AttributeName) -> String {
        n.0
    }
}

impl fmt::Display for AttributeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AttributeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AttributeValue {
    /// Free text.
    Text(String),
    /// An exact number.
    Number(Decimal),
    /// Yes or no.
    Bool(bool),
    /// Several text values (`colours: ["red", "blue"]`).
    List(Vec<String>),
}

impl AttributeValue {
    /// Whether this value matches a filter value given as text: equal text, a number that
    /// parses equal, `true`/`false`, or a list that contains it.
    pub fn matches(&self, wanted: &str) -> bool {
        match self {
            AttributeValue::Text(t) => t.eq_ignore_ascii_case(wanted),
            AttributeValue::Number(n) => wanted.parse::<Decimal>().is_ok_and(|w| w == *n),
            AttributeValue::Bool(b) => wanted.parse::<bool>().is_ok_and(|w| w == *b),
            AttributeValue::List(items) => items.iter().any(|i| i.eq_ignore_ascii_case(wanted)),
        }
    }

    /// The values to count in a facet.
    pub fn facet_values(&self) -> Vec<String> {
        match self {
            AttributeValue::Text(t) => vec![t.clone()],
            AttributeValue::Number(n) => vec![n.normalize().to_string()],
            AttributeValue::Bool(b) => vec![b.to_string()],
            AttributeValue::List(items) => items.clone(),
        }
    }
}

/// The open attribute map of a product, ordered by name (deterministic output).
pub type Attributes = BTreeMap<AttributeName, AttributeValue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_filters_by_type() {
        assert!(AttributeValue::Text("Cotton".into()).matches("cotton"));
        assert!(AttributeValue::Number(Decimal::new(12, 1)).matches("1.20"));
        assert!(AttributeValue::Bool(true).matches("true"));
        assert!(AttributeValue::List(vec!["red".into(), "blue".into()]).matches("blue"));
        assert!(!AttributeValue::Bool(true).matches("yes"));
    }

    #[test]
    fn names_are_snake_case() {
        assert!(AttributeName::new("weight_kg").is_ok());
        assert!(AttributeName::new("Weight").is_err());
    }
}
