//! Opaque, tamper-checked listing cursors.
//!
//! DynamoDB pages with `LastEvaluatedKey`, a map of key attributes. Handing it out raw
//! would leak the table design and let a client start a query anywhere (another
//! category's partition, a forged key). So a cursor carries only the listing it belongs
//! to and the position (the last item handed out), signed:
//! `base64url(listing "\n" position) "." base64url(HMAC-SHA-256(secret, table, payload))`.
//! The adapter rebuilds the `ExclusiveStartKey` from the position. A cursor of another
//! table, another listing (category), another secret, or with one character changed is
//! `StoreError::InvalidCursor`; the tag is checked in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shopkit_core::ports::{Cursor, StoreError};

use crate::config::DynamoConfig;

type HmacSha256 = Hmac<Sha256>;

/// Separates the listing from the position. Listings never contain it.
const LISTING_END: char = '\n';

/// Signs and checks the cursors of one table.
#[derive(Clone)]
pub(crate) struct CursorCodec {
    table: String,
    secret: Vec<u8>,
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CursorCodec").field("table", &self.table).finish_non_exhaustive()
    }
}

impl CursorCodec {
    pub(crate) fn new(config: &DynamoConfig) -> Self {
        CursorCodec { table: config.table().to_owned(), secret: config.cursor_secret().to_vec() }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA-256 accepts a key of any length"),
        };
        mac.update(self.table.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }

    /// The cursor that continues `listing` after `position`.
    pub(crate) fn encode(&self, listing: &str, position: &str) -> Cursor {
        let payload = format!("{listing}{LISTING_END}{position}");
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The position a cursor of `listing` continues after.
    ///
    /// # Errors
    /// `StoreError::InvalidCursor` when this table's codec did not hand the cursor out for
    /// `listing`.
    pub(crate) fn decode(&self, listing: &str, cursor: &Cursor) -> Result<String, StoreError> {
        let (payload, tag) = cursor.0.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| StoreError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| StoreError::InvalidCursor)?;
        self.mac(&payload).verify_slice(&tag).map_err(|_| StoreError::InvalidCursor)?;
        let payload = String::from_utf8(payload).map_err(|_| StoreError::InvalidCursor)?;
        let (issued_for, position) =
            payload.split_once(LISTING_END).ok_or(StoreError::InvalidCursor)?;
        if issued_for != listing {
            return Err(StoreError::InvalidCursor);
        }
        Ok(position.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(table: &str, secret: u8) -> CursorCodec {
        CursorCodec::new(
            &DynamoConfig::new(table).unwrap().with_cursor_secret(&[secret; 32]).unwrap(),
        )
    }

    #[test]
    fn a_cursor_decodes_to_its_position_for_its_listing_only() {
        let codec = codec("shop", 1);
        let cursor = codec.encode("CATEGORY#shirts", "0190-abc");
        assert_eq!(codec.decode("CATEGORY#shirts", &cursor).unwrap(), "0190-abc");
        assert!(matches!(codec.decode("PRODUCTS", &cursor), Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn tampered_and_foreign_cursors_are_invalid() {
        let ours = codec("shop", 1);
        let cursor = ours.encode("PRODUCTS", "0190-abc");
        let forged_payload = URL_SAFE_NO_PAD.encode("PRODUCTS\n0190-abd");
        let tag = cursor.0.split_once('.').unwrap().1;
        let forged = Cursor(format!("{forged_payload}.{tag}"));
        for bad in [
            forged,
            Cursor("not-a-cursor".into()),
            codec("other-table", 1).encode("PRODUCTS", "0190-abc"),
            codec("shop", 2).encode("PRODUCTS", "0190-abc"),
        ] {
            assert!(matches!(ours.decode("PRODUCTS", &bad), Err(StoreError::InvalidCursor)));
        }
    }
}
