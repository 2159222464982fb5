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

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::MisuseError;
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

#[derive(Serialize, Deserialize)]
struct V1 {
    schema_version: u32,
    session_token: String,
    refresh_token: Option<String>,
    session_id: Option<String>,
    expires_at_ms: u64,
    refresh_expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock_skew_ms: Option<i64>,
}

#[derive(Deserialize)]
struct Version {
    schema_version: Option<serde_json::Value>,
}

impl SessionSnapshot {
    /// Serializes at the current [`SNAPSHOT_VERSION`]. The output holds secrets.
    pub fn to_json(&self) -> String {
        let v = V1 {
            schema_version: SNAPSHOT_VERSION,
            session_token: self.session_token.expose().to_string(),
            refresh_token: self.refresh_token.as_ref().map(|s| s.expose().to_string()),
            session_id: self.session_id.clone(),
            expires_at_ms: self.expires_at.as_millis(),
            refresh_expires_at_ms: self.refresh_expires_at.map(Timestamp::as_millis),
            clock_skew_ms: self.clock_skew_ms,
        };
        serde_json::to_string(&v).unwrap_or_default()
    }

    /// Reads any known version.
    pub fn from_json(json: &str) -> Result<SessionSnapshot, MisuseError> {
        if json.len() > MAX_SNAPSHOT {
            return Err(MisuseError::BadSnapshot("larger than 64 KiB"));
        }
        let v: Version = serde_json::from_str(json)
            .map_err(|_| MisuseError::BadSnapshot("not a JSON object"))?;
        match v
            .schema_version
            .as_ref()
            .and_then(serde_json::Value::as_u64)
        {
            Some(1) => {
                let s: V1 = serde_json::from_str(json).map_err(|_| {
                    MisuseError::BadSnapshot("version 1 fields missing or of the wrong type")
                })?;
                if s.session_token.is_empty() {
                    return Err(MisuseError::BadSnapshot("session_token is empty"));
                }
                if !crate::grant::header_safe_token(&s.session_token) {
                    return Err(MisuseError::BadSnapshot(
                        "session_token has characters that cannot go in an HTTP header",
                    ));
                }
                Ok(SessionSnapshot {
                    session_token: Secret::new(s.session_token),
                    refresh_token: s.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
                    session_id: s.session_id,
                    expires_at: Timestamp(s.expires_at_ms),
                    refresh_expires_at: s.refresh_expires_at_ms.map(Timestamp),
                    clock_skew_ms: s.clock_skew_ms,
                })
            }
            Some(_) => Err(MisuseError::BadSnapshot(
                "schema_version is newer than this library: upgrade polargrid-core",
            )),
            None => Err(MisuseError::BadSnapshot("schema_version missing")),
        }
    }
}
