//! Building the writes of a transaction: `Put`, `Update` and `Delete` with their condition
//! and expression attribute names and values, each asking for the old item back when its
//! condition fails (`ReturnValuesOnConditionCheckFailure = ALL_OLD`), so a cancelled
//! transaction says not only which write failed but what it found.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use shopkit_core::ports::StoreError;

use crate::item::Item;

/// The `#name` and `:value` placeholders of an expression.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expr {
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: Item,
}

impl Expr {
    /// No placeholders yet.
    pub(crate) fn new() -> Self {
        Expr::default()
    }

    /// `#placeholder` stands for the attribute `attribute`.
    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    /// `:placeholder` stands for `value`.
    pub(crate) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// The names, or `None` when there are none (DynamoDB refuses an empty map).
    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The values, or `None` when there are none.
    pub(crate) fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// `ALL_OLD` for a conditional write (an unconditional one never fails its condition).
fn all_old_if(condition: Option<&str>) -> Option<ReturnValuesOnConditionCheckFailure> {
    condition.map(|_| ReturnValuesOnConditionCheckFailure::AllOld)
}

fn build_error(e: BuildError) -> StoreError {
    StoreError::Invalid { reason: format!("could not build a DynamoDB write: {e}") }
}

/// Puts `item`, if `condition` holds.
pub(crate) fn put(
    table: &str,
    item: Item,
    condition: Option<&str>,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .set_return_values_on_condition_check_failure(all_old_if(condition))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Updates the item at `key` with `update`, if `condition` holds.
pub(crate) fn update(
    table: &str,
    key: Item,
    update: &str,
    condition: Option<&str>,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(update)
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .set_return_values_on_condition_check_failure(all_old_if(condition))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Deletes the item at `key`, if `condition` holds.
pub(crate) fn delete(
    table: &str,
    key: Item,
    condition: Option<&str>,
    expr: &Expr,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .set_condition_expression(condition.map(str::to_owned))
        .set_expression_attribute_names(expr.names())
        .set_expression_attribute_values(expr.values())
        .set_return_values_on_condition_check_failure(all_old_if(condition))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
