//! The key prefix rule, how keys become URL paths, and which content types are videos.
//!
//! The shape of keys and content types is the port's (`shopkit_core::ports::MediaKey`,
//! `MediaContentType`), shared with the memory store, so the fake is exactly as strict as
//! this adapter.

use shopkit_core::ports::MediaKey;

/// The user-metadata name of the body's hex SHA-256: the `x-amz-meta-sha256` header.
pub(crate) const SHA256_METADATA: &str = "sha256";

/// Whether a (checked) content type is a video (`video/*`, any letter case), which has its
/// own size limit.
pub(crate) fn is_video(content_type: &str) -> bool {
    content_type.get(..6).is_some_and(|t| t.eq_ignore_ascii_case("video/"))
}

/// Whether `prefix` can precede keys: empty, or a [`MediaKey`] (the key characters without
/// `..`, at most 512 bytes, so prefix + key stays within S3's 1024-byte key limit).
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    prefix.is_empty() || MediaKey::is_valid(prefix)
}

/// `path` as a URL path: each `/`-separated segment percent-encoded (RFC 3986 unreserved
/// characters kept), the slashes kept. Valid [`MediaKey`]s come out unchanged;
/// the encoding is there so a future widening of the key rule cannot produce broken URLs.
pub(crate) fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn videos_are_told_by_their_type_in_any_letter_case() {
        assert!(is_video("video/mp4"));
        assert!(is_video("Video/webm; codecs=vp9"));
        assert!(!is_video("image/jpeg"));
        assert!(!is_video("vid"));
    }

    #[test]
    fn prefixes_follow_the_key_rule_or_are_empty() {
        assert!(is_valid_prefix(""));
        assert!(is_valid_prefix("shop-a/media/"));
        assert!(!is_valid_prefix("../up/"));
        assert!(!is_valid_prefix("with space/"));
    }

    #[test]
    fn url_paths_encode_each_segment_and_keep_the_slashes() {
        assert_eq!(url_path("products/1/front.jpg"), "products/1/front.jpg");
        assert_eq!(url_path("a b/c?d"), "a%20b/c%3Fd");
        assert_eq!(url_path("ü/x"), "%C3%BC/x");
    }
}
