//! The opaque page cursors every in-memory listing hands out ([`CursorCodec`]), and the
//! page-size rule of the store ports ([`clamp_limit`]).
//!
//! One codec serves the product, customer, order and outbox listings and the search index.
//! Each port maps [`CursorError`] to its own error: [`StoreError::InvalidCursor`] (through
//! `From`, so `?` works) or, in [`crate::search`], `SearchError::Invalid` with a reason.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use shopkit_core::ports::{Cursor, StoreError};

use crate::ids::{HmacSha256, hmac_sha256, os_random};

/// The largest page a store listing returns.
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
    /// This codec did not hand the cursor out: it was altered, comes from another listing
    /// or another instance, or is no cursor at all.
    NotIssued,
    /// This codec handed the cursor out, but for another scope (for search: another query).
    OtherScope,
}

impl From<CursorError> for StoreError {
    fn from(_: CursorError) -> Self {
        StoreError::InvalidCursor
    }
}

/// Encodes and checks the opaque cursors of one listing of one store instance.
///
/// A cursor is `base64url(scope "\n" position) "." base64url(tag)`, where the tag is an
/// HMAC-SHA-256 under a key drawn from the OS CSPRNG when the codec is made, over the
/// listing's name and that payload. So a cursor from another listing, another instance,
/// or with one character changed is refused instead of silently skipping or repeating
/// items; the check runs in constant time. Clones share the key, so clones of a store
/// accept each other's cursors.
///
/// The scope binds a cursor to what it pages through (search passes its query
/// fingerprint); listings whose cursors fit any filter use [`encode`](Self::encode) and
/// [`decode`](Self::decode), which use the empty scope.
#[derive(Clone)]
pub(crate) struct CursorCodec {
    listing: &'static str,
    key: [u8; 32],
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CursorCodec").field("listing", &self.listing).finish_non_exhaustive()
    }
}

impl CursorCodec {
    /// A codec for the listing named `listing`, with a fresh random key.
    ///
    /// # Panics
    /// When the operating system cannot provide randomness for the key.
    pub(crate) fn new(listing: &'static str) -> Self {
        CursorCodec { listing, key: os_random::<32>() }
    }

    fn tag(&self, payload: &[u8]) -> HmacSha256 {
        hmac_sha256(&self.key)
            .chain_update(self.listing.as_bytes())
            .chain_update([0u8])
            .chain_update(payload)
    }

    /// The cursor that continues after `position`, valid for any scope-less query.
    pub(crate) fn encode(&self, position: &str) -> Cursor {
        self.encode_scoped("", position)
    }

    /// The position a cursor from [`encode`](Self::encode) continues after.
    ///
    /// # Errors
    /// [`CursorError::NotIssued`] when this codec did not hand the cursor out.
    pub(crate) fn decode(&self, cursor: &Cursor) -> Result<String, CursorError> {
        self.decode_scoped("", cursor)
    }

    /// The cursor that continues after `position`, valid only for `scope`, which must not
    /// contain a newline.
    pub(crate) fn encode_scoped(&self, scope: &str, position: &str) -> Cursor {
        debug_assert!(!scope.contains(SCOPE_END), "a cursor scope has no newline");
        let payload = format!("{scope}{SCOPE_END}{position}");
        let tag = self.tag(payload.as_bytes()).finalize().into_bytes();
        Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The position a cursor from [`encode_scoped`](Self::encode_scoped) continues after.
    ///
    /// # Errors
    /// [`CursorError::NotIssued`] when this codec did not hand the cursor out,
    /// [`CursorError::OtherScope`] when it did, but for another scope.
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

    #[test]
    fn a_cursor_decodes_to_the_position_it_was_made_from() {
        let codec = CursorCodec::new("orders");

        let cursor = codec.encode("2024-01-01T00:00:00Z|7");

        assert_eq!(codec.decode(&cursor), Ok("2024-01-01T00:00:00Z|7".to_owned()));
        assert_eq!(codec.clone().decode(&cursor), Ok("2024-01-01T00:00:00Z|7".to_owned()));
    }

    #[test]
    fn altered_foreign_or_garbage_cursors_are_not_issued() {
        let codec = CursorCodec::new("orders");
        let cursor = codec.encode("7");
        let (_, tag) = cursor.0.split_once('.').unwrap();
        let moved = Cursor(format!("{}.{tag}", URL_SAFE_NO_PAD.encode("\n8")));
        let short_tag = Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode("\n7"), &tag[..4]));
        let other_instance = CursorCodec::new("orders").encode("7");
        let other_listing = CursorCodec { listing: "outbox", ..codec.clone() }.encode("7");

        for bad in [
            moved,
            short_tag,
            other_instance,
            other_listing,
            Cursor("garbage".into()),
            Cursor(".".into()),
            Cursor(String::new()),
        ] {
            assert_eq!(codec.decode(&bad), Err(CursorError::NotIssued), "{bad:?}");
        }
    }

    #[test]
    fn a_scoped_cursor_is_refused_in_another_scope() {
        let codec = CursorCodec::new("search");

        let cursor = codec.encode_scoped("q1", "20");

        assert_eq!(codec.decode_scoped("q1", &cursor), Ok("20".to_owned()));
        assert_eq!(codec.decode_scoped("q2", &cursor), Err(CursorError::OtherScope));
        assert_eq!(codec.decode(&cursor), Err(CursorError::OtherScope));
    }

    #[test]
    fn limits_are_clamped_to_one_to_a_hundred() {
        assert_eq!(clamp_limit(0), 1);
        assert_eq!(clamp_limit(37), 37);
        assert_eq!(clamp_limit(1000), MAX_PAGE);
    }
}
