//! `Secret`: an API key, JWT or refresh token that never shows up in output.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

/// A credential (API key, session JWT, refresh token).
///
/// `Debug` and `Display` print `[redacted]`; the bytes are overwritten on drop. The
/// only ways to read it are [`Secret::expose`] (used when building a request) and the
/// session snapshot the app explicitly asks to persist.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself. Only for putting it on the wire or into a snapshot.
    pub fn expose(&self) -> &str {
        // (Kept as text: read on every call, a byte form was checked as UTF-8 each time.)
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwritten in place: as many NULs (text still) written over the same bytes
        // (cleared first, so no reallocation: the capacity holds them).
        let n = self.0.len();
        self.0.clear();
        self.0.extend(core::iter::repeat_n('\0', n));
        // Keep the zeroing from being optimised away as a dead store.
        core::hint::black_box(&mut self.0);
    }
}

/// Replaces every occurrence of a known secret, and anything shaped like a `pg_` key or a
/// JWT, with `[redacted]`. Used on server-supplied text before it reaches an error message.
pub(crate) fn scrub(text: &str, known: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in known {
        let v = s.expose();
        if v.len() >= 4 {
            out = out.replace(v, "[redacted]");
        }
    }
    scrub_shapes(&out)
}

fn scrub_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| !is_token_char(c)) {
        let token: &str = word.trim_end_matches(|c: char| !is_token_char(c));
        let rest = &word[token.len()..];
        if looks_secret(token) {
            out.push_str("[redacted]");
        } else {
            out.push_str(token);
        }
        out.push_str(rest);
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn looks_secret(token: &str) -> bool {
    (token.starts_with("pg_") && token.len() > 6)
        || (token.starts_with("eyJ") && token.matches('.').count() >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_display_are_redacted() {
        let s = Secret::new("pg_live_abcdef");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "pg_live_abcdef");
    }

    #[test]
    fn scrub_removes_known_and_shaped_secrets() {
        let k = Secret::new("opaque-refresh-123");
        let t = scrub(
            "bad key pg_abc123456 and token eyJa.eyJb.sig and opaque-refresh-123.",
            &[&k],
        );
        assert_eq!(t, "bad key [redacted] and token [redacted] and [redacted].");
    }
}
