//! [`PageDto`]: every list response.

use serde::{Deserialize, Serialize};
use shopkit_core::ports::{Cursor, Page};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A page of a list: `{"items": [...], "next_cursor": "…"}`. Pass `next_cursor` back as
/// the `cursor` query parameter, exactly as received, for the next page; it is `null` on
/// the last page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PageDto<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageDto<T> {
    /// A page of already-converted items.
    pub fn new(items: Vec<T>, next_cursor: Option<Cursor>) -> Self {
        PageDto { items, next_cursor: next_cursor.map(|c| c.0) }
    }

    /// A whole list in one page (no cursor).
    pub fn all(items: Vec<T>) -> Self {
        PageDto { items, next_cursor: None }
    }

    /// Converts a domain page item by item.
    pub fn from_page<D>(page: Page<D>, convert: impl FnMut(D) -> T) -> Self {
        PageDto::new(page.items.into_iter().map(convert).collect(), page.next_cursor)
    }
}

/// A page size from the `limit` query parameter: 1 to 100, default 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimit(usize);

impl PageLimit {
    /// The largest page.
    pub const MAX: u32 = 100;
    /// The page size when none is asked for.
    pub const DEFAULT: u32 = 20;

    /// Checks a requested limit.
    ///
    /// # Errors
    /// `400 invalid_query` (`field: "limit"`) outside 1 to 100.
    pub fn new(requested: Option<u32>) -> Result<Self, ApiError> {
        match requested.unwrap_or(Self::DEFAULT) {
            n @ 1..=Self::MAX => Ok(PageLimit(n as usize)),
            n => Err(ApiError::invalid_query(
                "limit",
                format!("limit {n} is out of range: ask for 1 to {} items", Self::MAX),
            )),
        }
    }

    /// The size.
    pub fn get(self) -> usize {
        self.0
    }
}

/// A cursor from the `cursor` query parameter (opaque; the store validates it).
pub(crate) fn cursor(raw: Option<String>) -> Option<Cursor> {
    raw.filter(|c| !c.is_empty()).map(Cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert_eq!(PageLimit::new(None).unwrap().get(), 20);
        assert_eq!(PageLimit::new(Some(100)).unwrap().get(), 100);
        assert!(PageLimit::new(Some(0)).is_err());
        assert!(PageLimit::new(Some(101)).is_err());
    }
}
