//! The versioned session snapshot: what an app persists to survive restarts.
//!
//! Format (JSON object), version 1:
//! ```json
//! {"schema_version": 1, "session_token": "<jwt>", "refresh_token": "<opaque>|null",
//!  "session_id": "<id>|null", "expires_at_ms": 0, "refresh_expires_at_ms": 0|null,
//!  "clock_skew_ms": 0}
//! ```
//! Times are Unix milliseconds on the server's clock; `clock_skew_ms` (optional, absent
//! in older snapshots) is the server's clock minus the device's when it was written.
//! Later versions add fields or change shape; [`SessionSnapshot::from_json`] keeps
//! reading every earlier version.

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

use crate::error::MisuseError;
use crate::json::{push_decimal, push_signed, push_str, Any, Num, Reader};
use crate::secret::Secret;
use crate::time::Timestamp;

/// The version [`SessionSnapshot::to_json`] writes.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Largest snapshot accepted.
const MAX_SNAPSHOT: usize = 64 * 1024;

/// A session as the app persists it. Holds secrets: `Debug` redacts them, and
/// [`to_json`](Self::to_json) is the one place they are written out.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// The session JWT.
    pub session_token: Secret,
    /// The refresh token, if any.
    pub refresh_token: Option<Secret>,
    /// The session id, if any.
    pub session_id: Option<String>,
    /// JWT expiry (server clock).
    pub expires_at: Timestamp,
    /// Refresh-token expiry (server clock), if known.
    pub refresh_expires_at: Option<Timestamp>,
    /// The server's clock minus the device's (ms) when the snapshot was taken, if known.
    /// A restored client starts from it: on a device whose clock is off, an expired
    /// JWT is not mistaken for a valid one before the first answer shows the skew.
    pub clock_skew_ms: Option<i64>,
}

impl fmt::Debug for SessionSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSnapshot")
            .field("session_token", &self.session_token)
            .field("refresh_token", &self.refresh_token)
            .field("session_id", &self.session_id)
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("clock_skew_ms", &self.clock_skew_ms)
            .finish()
    }
}

/// The fields of version 1, as `to_json` writes them (in this order).
const V1_FIELDS: [&str; 7] = [
    "schema_version",
    "session_token",
    "refresh_token",
    "session_id",
    "expires_at_ms",
    "refresh_expires_at_ms",
    "clock_skew_ms",
];

#[derive(Default)]
struct V1 {
    schema_version: Option<u64>,
    session_token: Option<String>,
    refresh_token: Option<String>,
    session_id: Option<String>,
    expires_at_ms: Option<u64>,
    refresh_expires_at_ms: Option<u64>,
    clock_skew_ms: Option<i64>,
}

impl V1 {
    /// Reads version 1's fields with serde's derive rules: each of the right type, the
    /// required ones present.
    fn read(json: &str) -> Option<V1> {
        let mut v = V1::default();
        Reader::document(json.as_bytes(), false, |r| {
            r.fields(&V1_FIELDS, &mut |i, r| {
                match i {
                    0 => v.schema_version = Some(r.number().and_then(unsigned)?),
                    1 => v.session_token = Some(r.string()?),
                    2 => v.refresh_token = r.opt(Reader::string)?,
                    3 => v.session_id = r.opt(Reader::string)?,
                    4 => v.expires_at_ms = Some(r.number().and_then(unsigned)?),
                    5 => v.refresh_expires_at_ms = r.opt(|r| r.number().and_then(unsigned))?,
                    _ => {
                        v.clock_skew_ms = r.opt(|r| match r.number()? {
                            Num::U(u) => i64::try_from(u).ok(),
                            Num::I(i) => Some(i),
                            Num::F(_) => None,
                        })?;
                    }
                }
                Some(())
            })
        })?;
        let (Some(version), Some(_), Some(_)) =
            (v.schema_version, &v.session_token, v.expires_at_ms)
        else {
            return None;
        };
        u32::try_from(version).ok()?;
        Some(v)
    }
}

/// An integer that fits a `u64` (serde's `u64`: no fraction, no exponent, no sign).
fn unsigned(n: Num) -> Option<u64> {
    match n {
        Num::U(u) => Some(u),
        _ => None,
    }
}

impl SessionSnapshot {
    /// Serializes at the current [`SNAPSHOT_VERSION`]. The output holds secrets.
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(256 + self.session_token.expose().len());
        for (i, name) in V1_FIELDS.iter().enumerate() {
            if i == 6 && self.clock_skew_ms.is_none() {
                break;
            }
            s.push(if i == 0 { '{' } else { ',' });
            push_str(&mut s, name);
            s.push(':');
            let text = |s: &mut String, v: Option<&str>| match v {
                Some(v) => push_str(s, v),
                None => s.push_str("null"),
            };
            let number = |s: &mut String, v: Option<u64>| match v {
                Some(v) => push_decimal(s, v),
                None => s.push_str("null"),
            };
            match i {
                0 => push_decimal(&mut s, u64::from(SNAPSHOT_VERSION)),
                1 => push_str(&mut s, self.session_token.expose()),
                2 => text(&mut s, self.refresh_token.as_ref().map(Secret::expose)),
                3 => text(&mut s, self.session_id.as_deref()),
                4 => push_decimal(&mut s, self.expires_at.as_millis()),
                5 => number(&mut s, self.refresh_expires_at.map(Timestamp::as_millis)),
                _ => push_signed(&mut s, self.clock_skew_ms.unwrap_or_default()),
            }
        }
        s.push('}');
        s
    }

    /// Reads any known version.
    pub fn from_json(json: &str) -> Result<SessionSnapshot, MisuseError> {
        if json.len() > MAX_SNAPSHOT {
            return Err(MisuseError::BadSnapshot("larger than 64 KiB"));
        }
        let mut version = None;
        Reader::document(json.as_bytes(), false, |r| {
            r.fields(&["schema_version"], &mut |_, r| {
                version = r.any()?;
                Some(())
            })
        })
        .ok_or(MisuseError::BadSnapshot("not a JSON object"))?;
        match version {
            Some(Any::Num(Num::U(1))) => {
                let s = V1::read(json).ok_or(MisuseError::BadSnapshot(
                    "version 1 fields missing or of the wrong type",
                ))?;
                let session_token = s.session_token.unwrap_or_default();
                if session_token.is_empty() {
                    return Err(MisuseError::BadSnapshot("session_token is empty"));
                }
                if !crate::grant::header_safe_token(&session_token) {
                    return Err(MisuseError::BadSnapshot(
                        "session_token has characters that cannot go in an HTTP header",
                    ));
                }
                Ok(SessionSnapshot {
                    session_token: Secret::new(session_token),
                    refresh_token: s.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
                    session_id: s.session_id,
                    expires_at: Timestamp(s.expires_at_ms.unwrap_or_default()),
                    refresh_expires_at: s.refresh_expires_at_ms.map(Timestamp),
                    clock_skew_ms: s.clock_skew_ms,
                })
            }
            Some(Any::Num(Num::U(_))) => Err(MisuseError::BadSnapshot(
                "schema_version is newer than this library: upgrade polargrid-core",
            )),
            _ => Err(MisuseError::BadSnapshot("schema_version missing")),
        }
    }
}
