//! Opaque, tamper-checked page cursors, and the page-size rule of the store ports.
//!
//! A cursor is `base64url(scope "\n" position) "." base64url(tag)`, the tag an
//! HMAC-SHA-256 over the listing's name and that payload, under a key kept in the database
//! (`store_keys`, drawn by PostgreSQL's CSPRNG at migration). Every instance of a shop
//! shares the key, so a cursor handed out by one replica works on another and after a
//! restart; a cursor from another listing, another database or with one character changed
//! is refused instead of silently skipping or repeating items. The tag is checked in
//! constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shopkit_core::ports::{Cursor, StoreError};

/// The largest page a listing returns.
pub(crate) const MAX_PAGE: usize = 100;

/// Clamps a requested page size to `1..=100`, as the store ports ask adapters to.
pub(crate) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

/// Separates the scope from the position inside a cursor. Scopes never contain it.
const SCOPE_END: char = '\n';

/// Why a cursor was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// Not handed out by this listing of this database: altered, foreign, or no cursor.
    NotIssued,
    /// Handed out, but for another scope (for search: another query).
    OtherScope,
}

impl From<CursorError> for StoreError {
    fn from(_: CursorError) -> Self {
        StoreError::InvalidCursor
    }
}

/// The keyed HMAC the cursors are signed with, loaded once from `store_keys`.
#[derive(Clone)]
pub(crate) struct CursorKey(Hmac<Sha256>);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(<secret>)")
    }
}

impl CursorKey {
    /// A key from the stored secret.
    ///
    /// # Errors
    /// `Unavailable` when the secret cannot key an HMAC (never for HMAC-SHA-256, which
    /// accepts any length).
    pub(crate) fn new(secret: &[u8]) -> Result<Self, StoreError> {
        Hmac::<Sha256>::new_from_slice(secret).map(CursorKey).map_err(|_| StoreError::Unavailable {
            message: "the stored cursor key is unusable: re-run the migrations on a fresh schema"
                .into(),
            source: None,
        })
    }

    /// The codec of one listing.
    pub(crate) fn codec(&self, listing: &'static str) -> CursorCodec<'_> {
        CursorCodec { listing, key: self }
    }
}

/// Encodes and checks the cursors of one listing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CursorCodec<'k> {
    listing: &'static str,
    key: &'k CursorKey,
}

impl CursorCodec<'_> {
    fn tag(&self, payload: &[u8]) -> Hmac<Sha256> {
        self.key
            .0
            .clone()
            .chain_update(self.listing.as_bytes())
            .chain_update([0u8])
            .chain_update(payload)
    }

    /// The cursor that continues after `position`, valid for any query of the listing.
    pub(crate) fn encode(&self, position: &str) -> Cursor {
        self.encode_scoped("", position)
    }

    /// The position a cursor from [`encode`](Self::encode) continues after.
    pub(crate) fn decode(&self, cursor: &Cursor) -> Result<String, CursorError> {
        self.decode_scoped("", cursor)
    }

    /// The cursor that continues after `position`, valid only for `scope` (which has no
    /// newline).
    pub(crate) fn encode_scoped(&self, scope: &str, position: &str) -> Cursor {
        debug_assert!(!scope.contains(SCOPE_END), "a cursor scope has no newline");
        let payload = format!("{scope}{SCOPE_END}{position}");
        let tag = self.tag(payload.as_bytes()).finalize().into_bytes();
        Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The position a cursor from [`encode_scoped`](Self::encode_scoped) continues after.
    pub(crate) fn decode_scoped(
        &self,
        scope: &str,
        cursor: &Cursor,
    ) -> Result<String, CursorError> {
        let (payload, tag) = cursor.0.split_once('.').ok_or(CursorError::NotIssued)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CursorError::NotIssued)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError::NotIssued)?;
        self.tag(&payload).verify_slice(&tag).map_err(|_| CursorError::NotIssued)?;
        let payload = String::from_utf8(payload).map_err(|_| CursorError::NotIssued)?;
        let (issued_for, position) = payload.split_once(SCOPE_END).ok_or(CursorError::NotIssued)?;
        if issued_for != scope {
            return Err(CursorError::OtherScope);
        }
        Ok(position.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CursorKey {
        CursorKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_cursor_decodes_to_its_position_and_nothing_else_does() {
        let k = key(7);
        let codec = k.codec("orders");
        let cursor = codec.encode("1700000000000000|42");
        let (_, tag) = cursor.0.split_once('.').unwrap();
        let moved = Cursor(format!("{}.{tag}", URL_SAFE_NO_PAD.encode("\n1700000000000000|43")));
        let other_key = key(8);

        assert_eq!(codec.decode(&cursor), Ok("1700000000000000|42".to_owned()));
        for bad in [
            moved,
            other_key.codec("orders").encode("1"),
            k.codec("outbox").encode("1"),
            Cursor("garbage".into()),
            Cursor(String::new()),
        ] {
            assert_eq!(codec.decode(&bad), Err(CursorError::NotIssued), "{bad:?}");
        }
    }

    #[test]
    fn a_scoped_cursor_is_refused_in_another_scope() {
        let k = key(1);
        let codec = k.codec("search");

        let cursor = codec.encode_scoped("q1", "20");

        assert_eq!(codec.decode_scoped("q1", &cursor), Ok("20".to_owned()));
        assert_eq!(codec.decode_scoped("q2", &cursor), Err(CursorError::OtherScope));
    }

    #[test]
    fn limits_are_clamped_to_one_to_a_hundred() {
        assert_eq!(clamp_limit(0), 1);
        assert_eq!(clamp_limit(37), 37);
        assert_eq!(clamp_limit(1000), MAX_PAGE);
    }
}
