//! `read_claims` over arbitrary text, and over arbitrary payloads wrapped as a JWT:
//! never a panic, always `Ok(claims)` within range or a typed `JwtError`.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use polargrid_core::{read_claims, JwtClaims, JwtError};

fn check(r: Result<JwtClaims, JwtError>) {
    match r {
        // Claims are seconds up to 1e13, held as milliseconds.
        Ok(c) => {
            assert!(
                c.exp.as_millis() <= 10_000_000_000_000_000,
                "exp out of range: {c:?}"
            );
            assert!(c
                .iat
                .is_none_or(|i| i.as_millis() <= 10_000_000_000_000_000));
            if let Some(s) = &c.scope {
                let _ = s.is_admin();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        check(read_claims(s));
    }
    // The same bytes as the payload of an otherwise well-formed token, so the claims
    // reader sees arbitrary JSON.
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!("eyJhbGciOiJIUzI1NiJ9.{}.c2ln", e.encode(data));
    check(read_claims(&token));
});
