//! The signed, opaque page cursors every store adapter hands out ([`CursorCodec`]), and the
//! page-size rule of the store ports ([`clamp_page_limit`]).
//!
//! Pure: the key comes from the caller (the memory store draws one, PostgreSQL keeps one in
//! the database, DynamoDB takes one from its configuration), so the core needs no
//! randomness and does no I/O.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::{Cursor, StoreError};

/// The largest page a store listing returns.
pub const MAX_PAGE_LIMIT: usize = 100;

/// Clamps a requested page size to `1..=100`, as the store ports ask adapters to.
pub fn clamp_page_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE_LIMIT)
}

/// Separates the scope from the position inside a cursor's payload. Scopes never contain it.
const SCOPE_END: char = '\n';

/// Why a cursor was refused. Stores answer [`StoreError::InvalidCursor`] for either (through
/// `From`, so `?` works); search tells them apart for a better message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// This codec did not hand the cursor out: it was altered, comes from another listing
    /// or was signed under another key, or is no cursor at all.
    #[error("the cursor was not handed out by this listing: pass back next_cursor unchanged")]
    NotIssued,
    /// This codec handed the cursor out, but for another scope (for search: another query).
    #[error("the cursor belongs to another query: keep the query unchanged between pages")]
    OtherScope,
}

impl From<CursorError> for StoreError {
    fn from(_: CursorError) -> Self {
        StoreError::InvalidCursor
    }
}

/// The secret cursors are signed with. Any length works (HMAC hashes a long key first);
/// give it at least 32 random bytes. `Debug` never shows it.
#[derive(Clone)]
pub struct CursorKey(Hmac<Sha256>);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(<secret>)")
    }
}

impl CursorKey {
    /// A key from `secret`.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        match Hmac::<Sha256>::new_from_slice(secret.as_ref()) {
            Ok(mac) => CursorKey(mac),
            Err(_) => unreachable!("HMAC-SHA-256 accepts a key of any length"),
        }
    }

    /// The codec of the listing named `listing` under this key.
    pub fn codec(&self, listing: impl Into<Cow<'static, str>>) -> CursorCodec {
        CursorCodec { listing: listing.into(), key: self.clone() }
    }
}

/// Encodes and checks the cursors of one listing under one key.
///
/// A cursor is `base64url(scope "\n" position) "." base64url(tag)` (no padding), where the
/// tag is an HMAC-SHA-256 under the [`CursorKey`] over the listing's name, a zero byte and
/// that payload. So a cursor from another listing, signed under another key, or with one
/// character changed is refused instead of silently skipping or repeating items; the tag is
/// checked in constant time. The scope binds a cursor to what it pages through (search
/// passes a fingerprint of its query, DynamoDB the partition it lists); listings whose
/// cursors fit any filter use the empty scope ([`encode`](Self::encode)). Clones accept
/// each other's cursors.
#[derive(Clone)]
pub struct CursorCodec {
    listing: Cow<'static, str>,
    key: CursorKey,
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CursorCodec").field("listing", &self.listing).finish_non_exhaustive()
    }
}

impl CursorCodec {
    /// The codec of the listing named `listing`, signing under `key`.
    pub fn new(listing: impl Into<Cow<'static, str>>, key: CursorKey) -> Self {
        CursorCodec { listing: listing.into(), key }
    }

    /// The listing's name, which every tag covers.
    pub fn listing(&self) -> &str {
        &self.listing
    }

    fn tag(&self, payload: &[u8]) -> Hmac<Sha256> {
        self.key
            .0
            .clone()
            .chain_update(self.listing.as_bytes())
            .chain_update([0u8])
            .chain_update(payload)
    }

    /// The cursor that continues after `position`, valid for any scope-less query.
    pub fn encode(&self, position: &str) -> Cursor {
        self.encode_scoped("", position)
    }

    /// The position a cursor from [`encode`](Self::encode) continues after.
    ///
    /// # Errors
    /// [`CursorError::NotIssued`] when this codec did not hand the cursor out,
    /// [`CursorError::OtherScope`] when it did, but with a scope.
    pub fn decode(&self, cursor: &Cursor) -> Result<String, CursorError> {
        self.decode_scoped("", cursor)
    }

    /// The cursor that continues after `position`, valid only for `scope`.
    ///
    /// `scope` MUST NOT contain a newline (it ends the scope in the payload); callers pass
    /// hex fingerprints or validated names. Checked in debug builds.
    pub fn encode_scoped(&self, scope: &str, position: &str) -> Cursor {
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
    pub fn decode_scoped(&self, scope: &str, cursor: &Cursor) -> Result<String, CursorError> {
        let (payload, tag) = cursor.0.split_once('.').ok_or(CursorError::NotIssued)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CursorError::NotIssued)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError::NotIssued)?;
        // Constant time, and only a full-length tag.
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
        CursorKey::new([byte; 32])
    }

    /// `cursor` with the character at `at` replaced by another base64url character.
    fn with_char_changed(cursor: &Cursor, at: usize) -> Cursor {
        let mut chars: Vec<char> = cursor.0.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        Cursor(chars.into_iter().collect())
    }

    #[test]
    fn a_cursor_decodes_to_the_position_it_was_made_from() {
        let codec = key(7).codec("orders");

        let cursor = codec.encode("2024-01-01T00:00:00Z|7");

        assert_eq!(codec.decode(&cursor), Ok("2024-01-01T00:00:00Z|7".to_owned()));
        assert_eq!(codec.clone().decode(&cursor), Ok("2024-01-01T00:00:00Z|7".to_owned()));
    }

    #[test]
    fn the_wire_format_is_base64url_payload_dot_base64url_tag() {
        let codec = key(7).codec("orders");

        let cursor = codec.encode("42");

        let (payload, tag) = cursor.0.split_once('.').unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(payload).unwrap(), b"\n42");
        let expected = Hmac::<Sha256>::new_from_slice(&[7; 32])
            .unwrap()
            .chain_update(b"orders\0\n42")
            .finalize()
            .into_bytes();
        assert_eq!(URL_SAFE_NO_PAD.decode(tag).unwrap(), expected.as_slice());
    }

    #[test]
    fn a_cursor_with_any_character_changed_is_not_issued() {
        let codec = key(7).codec("orders");
        let cursor = codec.encode("1700000000000000|42");

        for at in 0..cursor.0.len() {
            let changed = with_char_changed(&cursor, at);
            assert_eq!(codec.decode(&changed), Err(CursorError::NotIssued), "{changed:?}");
        }
    }

    #[test]
    fn foreign_or_garbage_cursors_are_not_issued() {
        let codec = key(7).codec("orders");
        let cursor = codec.encode("7");
        let (_, tag) = cursor.0.split_once('.').unwrap();
        let moved = Cursor(format!("{}.{tag}", URL_SAFE_NO_PAD.encode("\n8")));
        let short_tag = Cursor(format!("{}.{}", URL_SAFE_NO_PAD.encode("\n7"), &tag[..4]));

        for bad in [
            moved,
            short_tag,
            key(8).codec("orders").encode("7"),
            key(7).codec("outbox").encode("7"),
            Cursor("garbage".into()),
            Cursor(".".into()),
            Cursor(String::new()),
        ] {
            assert_eq!(codec.decode(&bad), Err(CursorError::NotIssued), "{bad:?}");
        }
    }

    #[test]
    fn a_scoped_cursor_is_refused_in_another_scope() {
        let codec = key(1).codec("search");

        let cursor = codec.encode_scoped("q1", "20");

        assert_eq!(codec.decode_scoped("q1", &cursor), Ok("20".to_owned()));
        assert_eq!(codec.decode_scoped("q2", &cursor), Err(CursorError::OtherScope));
        assert_eq!(codec.decode(&cursor), Err(CursorError::OtherScope));
        assert_eq!(codec.decode_scoped("q1", &codec.encode("20")), Err(CursorError::OtherScope));
    }

    #[test]
    fn a_codec_made_from_a_runtime_name_matches_one_from_a_static_name() {
        let k = key(3);
        let runtime = CursorCodec::new(String::from("shop-table"), k.clone());

        let cursor = k.codec("shop-table").encode_scoped("PRODUCTS", "0190-abc");

        assert_eq!(runtime.listing(), "shop-table");
        assert_eq!(runtime.decode_scoped("PRODUCTS", &cursor), Ok("0190-abc".to_owned()));
    }

    #[test]
    fn every_refusal_is_an_invalid_cursor_to_stores() {
        for err in [CursorError::NotIssued, CursorError::OtherScope] {
            assert!(matches!(StoreError::from(err), StoreError::InvalidCursor));
        }
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let codec = CursorKey::new("hunter2").codec("orders");

        let shown = format!("{codec:?} {:?}", CursorKey::new("hunter2"));

        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("orders"));
    }

    #[test]
    fn limits_are_clamped_to_one_to_a_hundred() {
        assert_eq!(clamp_page_limit(0), 1);
        assert_eq!(clamp_page_limit(37), 37);
        assert_eq!(clamp_page_limit(1000), MAX_PAGE_LIMIT);
    }
}
