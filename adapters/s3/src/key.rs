//! The shape of keys and content types, and how keys become URL paths.
//!
//! The rules are the port's (see `MediaUpload::key`) and MUST stay identical to the memory
//! store's (`adapters/memory/src/media.rs`: `check_key`, `check_content_type`): the fake is
//! only as useful as it is as strict as this adapter. The conformance suite checks the
//! common cases; the unit tests below pin the same edge cases as the memory store's.
//! (A validating `MediaKey` newtype in the core would remove this copy.)

use shopkit_core::ports::MediaError;

/// The longest key the port allows.
pub(crate) const MAX_KEY_LEN: usize = 512;

/// Whether `key` has the port's shape: 1 to 512 of `a-z A-Z 0-9 / - _ .`, no `..`.
fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
        && !key.contains("..")
}

/// Checks a key against the port's shape: 1 to 512 of `a-z A-Z 0-9 / - _ .`, no `..`.
///
/// # Errors
/// [`MediaError::Invalid`] naming the rule.
pub(crate) fn check_key(key: &str) -> Result<(), MediaError> {
    if !is_valid_key(key) {
        return Err(MediaError::Invalid {
            reason: format!(
                "key {:?} must be 1 to {MAX_KEY_LEN} of a-z A-Z 0-9 / - _ . without `..`",
                key.chars().take(80).collect::<String>()
            ),
        });
    }
    Ok(())
}

/// An RFC 6838 restricted name: a letter or digit, then up to 126 of `a-z 0-9 ! # $ & - ^ _ . +`.
fn is_restricted_name(name: &str) -> bool {
    name.len() <= 127
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

/// Checks that a content type looks like `type/subtype`, optionally followed by parameters,
/// in at most 255 characters.
///
/// # Errors
/// [`MediaError::Invalid`] with an example of the expected shape.
pub(crate) fn check_content_type(content_type: &str) -> Result<(), MediaError> {
    let (essence, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let essence_ok = essence
        .split_once('/')
        .is_some_and(|(t, s)| is_restricted_name(t) && is_restricted_name(s));
    let params_ok = params.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
    if content_type.len() > 255 || !essence_ok || !params_ok {
        return Err(MediaError::Invalid {
            reason: format!(
                "content type {:?} must look like type/subtype (image/jpeg)",
                content_type.chars().take(80).collect::<String>()
            ),
        });
    }
    Ok(())
}

/// Whether a (checked) content type is a video (`video/*`, any letter case), which has its
/// own size limit.
pub(crate) fn is_video(content_type: &str) -> bool {
    content_type.get(..6).is_some_and(|t| t.eq_ignore_ascii_case("video/"))
}

/// Whether `prefix` can precede keys: empty, or the key characters without `..`, at most
/// 512 bytes (so prefix + key stays within S3's 1024-byte key limit).
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    prefix.is_empty() || is_valid_key(prefix)
}

/// `path` as a URL path: each `/`-separated segment percent-encoded (RFC 3986 unreserved
/// characters kept), the slashes kept. Keys that passed [`check_key`] come out unchanged;
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
    fn keys_outside_the_allowed_shape_are_invalid() {
        let long = "a".repeat(513);

        for key in
            ["", "products/../secret", "with space.jpg", "ünicode.jpg", "q?x=1", long.as_str()]
        {
            assert!(
                matches!(check_key(key), Err(MediaError::Invalid { .. })),
                "key {key:?} was accepted"
            );
        }
        assert!(check_key(&"a".repeat(512)).is_ok());
        assert!(check_key("products/1/front-v2_large.jpg").is_ok());
    }

    #[test]
    fn content_types_must_look_like_type_slash_subtype() {
        for bad in ["", "jpeg", "image/", "/jpeg", "image/jp eg", "image/jpeg/x", "text/x;\u{7}"] {
            assert!(check_content_type(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["image/svg+xml", "video/mp4", "text/plain; charset=utf-8"] {
            assert!(check_content_type(good).is_ok(), "{good:?} was refused");
        }
        assert!(check_content_type(&format!("image/{}", "x".repeat(250))).is_err());
    }

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
