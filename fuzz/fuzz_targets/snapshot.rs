//! `SessionSnapshot::from_json` over arbitrary text: never a panic, a typed error or a
//! snapshot that re-serialises and re-parses to the same value, and whose `Debug`
//! never shows its tokens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polargrid_core::{Secret, SessionSnapshot};

/// Whether `secret` shows in the snapshot's `Debug` because of the secret itself (and
/// not by coincidence, e.g. a token "1" inside a timestamp).
fn leaks(snap: &SessionSnapshot, secret: &str) -> bool {
    if secret.is_empty() || !format!("{snap:?}").contains(secret) {
        return false;
    }
    let mut blank = snap.clone();
    blank.session_token = Secret::new("\u{1}");
    blank.refresh_token = blank.refresh_token.as_ref().map(|_| Secret::new("\u{2}"));
    !format!("{blank:?}").contains(secret)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match SessionSnapshot::from_json(s) {
        Ok(snap) => {
            let json = snap.to_json();
            let again = SessionSnapshot::from_json(&json)
                .unwrap_or_else(|e| panic!("a parsed snapshot does not re-parse: {e}; {json}"));
            assert_eq!(again, snap, "round trip changed the snapshot");
            assert_eq!(again.to_json(), json, "serialisation is not stable");
            assert!(
                !leaks(&snap, snap.session_token.expose()),
                "session token in Debug"
            );
            if let Some(r) = &snap.refresh_token {
                assert!(!leaks(&snap, r.expose()), "refresh token in Debug");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
