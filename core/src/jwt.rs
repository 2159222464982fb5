//! Reading (never verifying) a session JWT's claims: `exp`, `iat`, and the permission
//! level when present.

use crate::json::{Any, Reader};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::time::Timestamp;

/// The claims the core uses, read from the JWT payload without verifying it (the edge
/// verifies; the client only schedules refreshes and pre-checks scope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtClaims {
    /// Expiry (server clock).
    pub exp: Timestamp,
    /// Issued-at (server clock), when present.
    pub iat: Option<Timestamp>,
    /// Permission level from `scope`/`permissions`/`scp`, when present.
    pub scope: Option<Scope>,
}

/// A key's permission level, as far as the claims say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Each permission word (`admin`, `read-write`, …), lowercased.
    pub words: Vec<String>,
}

impl Scope {
    /// Whether the claims allow admin-only endpoints (`/v1/tokens`).
    pub fn is_admin(&self) -> bool {
        self.words
            .iter()
            .any(|w| w == "admin" || w.ends_with(":admin") || w == "tokens:write")
    }
}

/// Why a JWT could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("not a jwt (expected three dot-separated parts)")]
    Shape,
    /// The payload is not base64url.
    #[error("jwt payload is not base64url")]
    Base64,
    /// The payload is not a JSON object with a numeric `exp`.
    #[error("jwt payload has no numeric exp claim")]
    Claims,
}

/// Longest token the core will look at.
const MAX_JWT: usize = 16 * 1024;

/// Reads the claims of a compact JWT. Never verifies the signature.
pub fn read_claims(token: &str) -> Result<JwtClaims, JwtError> {
    if token.len() > MAX_JWT {
        return Err(JwtError::Shape);
    }
    let mut parts = token.split('.');
    let (Some(_h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Shape);
    };
    let bytes = base64url(p.trim_end_matches('=')).ok_or(JwtError::Base64)?;
    // exp, iat, scope, permissions, scp.
    let mut raw: [Option<Any>; 5] = Default::default();
    Reader::document(&bytes, false, |r| {
        r.fields(
            &["exp", "iat", "scope", "permissions", "scp"],
            &mut |i, r| {
                let v = r.any()?;
                if let Some(slot) = raw.get_mut(i) {
                    *slot = v;
                }
                Some(())
            },
        )
    })
    .ok_or(JwtError::Claims)?;
    let [exp, iat, scopes @ ..] = raw;
    let exp = exp.as_ref().and_then(seconds).ok_or(JwtError::Claims)?;
    let iat = iat.as_ref().and_then(seconds);
    let scope = scopes.into_iter().flatten().find_map(|v| scope_words(&v));
    Ok(JwtClaims { exp, iat, scope })
}

/// Decodes unpadded base64url as strictly as the `base64` crate's `URL_SAFE_NO_PAD`:
/// only the URL-safe alphabet, no length of the form 4n+1, and the unused low bits of the
/// last character zero.
fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6 && acc == 0).then_some(out)
}

fn seconds(v: &Any) -> Option<Timestamp> {
    let f = v.f64()?;
    if !(0.0..=1.0e13).contains(&f) {
        return None;
    }
    Some(Timestamp((f * 1000.0) as u64))
}

fn scope_words(v: &Any) -> Option<Scope> {
    let words: Vec<String> = match v {
        Any::Str(s) => s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect(),
        Any::Arr(a) => a.iter().map(|x| x.to_ascii_lowercase()).collect(),
        _ => return None,
    };
    Some(Scope { words })
}

#[cfg(test)]
pub(crate) fn make_test_jwt(payload: &str) -> String {
    use base64::Engine as _;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(payload.as_bytes()),
        e.encode(b"sig")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_with_scope_string_read() {
        let t = make_test_jwt(r#"{"exp":1700000000,"iat":1699913600,"scope":"admin"}"#);
        let c = read_claims(&t).unwrap();
        assert_eq!(c.exp, Timestamp::from_secs(1_700_000_000));
        assert_eq!(c.iat, Some(Timestamp::from_secs(1_699_913_600)));
        assert!(c.scope.unwrap().is_admin());
    }

    #[test]
    fn claims_with_permissions_array_read() {
        let t = make_test_jwt(r#"{"exp":1700000000,"permissions":["read-write"]}"#);
        let c = read_claims(&t).unwrap();
        assert!(!c.scope.unwrap().is_admin());
        assert_eq!(c.iat, None);
    }

    #[test]
    fn claims_without_scope_have_none() {
        let t = make_test_jwt(r#"{"exp":1700000000.5}"#);
        assert_eq!(read_claims(&t).unwrap().scope, None);
    }

    #[test]
    fn base64url_decodes_as_strictly_as_the_base64_crate() {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut cases: Vec<String> = [
            "", "A", "AA", "AB", "AAA", "AAB", "AAAA", "-_", "a+b", "ab=", "Zm9vYg",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            cases.push(e.encode(&bytes));
        }
        for c in cases {
            assert_eq!(base64url(&c), e.decode(&c).ok(), "{c:?}");
        }
    }

    #[test]
    fn malformed_tokens_are_typed_errors() {
        assert_eq!(read_claims("abc"), Err(JwtError::Shape));
        assert_eq!(read_claims("a.b.c.d"), Err(JwtError::Shape));
        assert_eq!(read_claims("a.!!!.c"), Err(JwtError::Base64));
        assert_eq!(read_claims(&make_test_jwt("[1,2]")), Err(JwtError::Claims));
        assert_eq!(
            read_claims(&make_test_jwt(r#"{"exp":"x"}"#)),
            Err(JwtError::Claims)
        );
        assert_eq!(
            read_claims(&make_test_jwt(r#"{"exp":-5}"#)),
            Err(JwtError::Claims)
        );
        assert_eq!(
            read_claims(&make_test_jwt(r#"{"iat":5}"#)),
            Err(JwtError::Claims)
        );
    }
}
