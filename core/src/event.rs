//! What the core tells the driver and the app.

use crate::error::CallError;
use crate::http::{CallId, RequestId};
#[allow(unused_imports)]
use crate::prelude::*;
use crate::snapshot::SessionSnapshot;
use crate::time::Timestamp;

/// An output of the core, from [`Client::poll_event`](crate::Client::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The call succeeded: deliver the response the driver received for `request`
    /// (status, headers and the body it kept) to the app. Ends the call.
    CallReady {
        /// The call.
        call: CallId,
        /// The request whose response is the call's answer.
        request: RequestId,
        /// The region that answered.
        region: Option<String>,
    },
    /// The call failed. Ends the call.
    CallFailed {
        /// The call.
        call: CallId,
        /// Why, classified.
        error: CallError,
    },
    /// The call was cancelled by the app. Ends the call.
    CallCancelled {
        /// The call.
        call: CallId,
    },
    /// The core no longer needs this request (cancelled, or past its timeout): abort it if
    /// possible. Any answer that still arrives is accepted and ignored.
    Abort {
        /// The request.
        request: RequestId,
    },
    /// The session changed. `snapshot` is what to persist (it holds secrets: store it
    /// like a password), `None` means delete what was persisted.
    SessionChanged {
        /// Why it changed.
        reason: SessionChange,
        /// Non-secret facts about the new session.
        info: Option<SessionInfo>,
        /// The snapshot to persist, or `None` to forget it.
        snapshot: Option<SessionSnapshot>,
    },
    /// The session ended and cannot be renewed here (handoff mode): hand over a new one
    /// with [`Client::hand_over`](crate::Client::hand_over). Waiting calls continue when
    /// one arrives, or fail after the configured wait.
    SessionEnded {
        /// Why.
        error: CallError,
    },
    /// Calls now go to another region.
    RegionChanged {
        /// Region id.
        region: String,
        /// Edge base URL.
        endpoint: String,
        /// Why.
        reason: RegionReason,
    },
}

/// Why the session changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionChange {
    /// A key exchange minted it.
    Exchanged,
    /// A refresh renewed it.
    Refreshed,
    /// The app handed it over.
    HandedOver,
    /// Restored from a snapshot.
    Restored,
    /// Logged out or ended: forget the persisted snapshot.
    Cleared,
}

impl SessionChange {
    /// Whether this client got the session itself (exchanged, refreshed, handed over by
    /// the app): clients sharing it (other tabs) are to be told and the shared store
    /// written. A restored one came from them; a cleared one is forgotten.
    pub fn is_new(self) -> bool {
        matches!(
            self,
            SessionChange::Exchanged | SessionChange::Refreshed | SessionChange::HandedOver
        )
    }

    /// A stable lowercase name: `exchanged`, `refreshed`, `handed_over`, `restored` or
    /// `cleared` (every binding uses these).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionChange::Exchanged => "exchanged",
            SessionChange::Refreshed => "refreshed",
            SessionChange::HandedOver => "handed_over",
            SessionChange::Restored => "restored",
            SessionChange::Cleared => "cleared",
        }
    }
}

/// Non-secret facts about a session, for logs and traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id the auth service gave, if any.
    pub session_id: Option<String>,
    /// When the JWT expires (server clock).
    pub expires_at: Timestamp,
    /// When the refresh token expires (server clock), if there is one.
    pub refresh_expires_at: Option<Timestamp>,
    /// When the core plans to refresh (the driver's clock).
    pub refresh_at: Option<Timestamp>,
    /// The permission words in the JWT, if it has any.
    pub scope: Option<Vec<String>>,
}

/// Why calls moved to a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionReason {
    /// The autorouter chose it.
    Discovered,
    /// Discovery failed; the default region is used.
    Fallback,
    /// The previous region was marked down.
    Failover,
    /// Configured (pinned region or base URL).
    Configured,
}

impl RegionReason {
    /// A stable lowercase name: `discovered`, `fallback`, `failover` or `configured`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionReason::Discovered => "discovered",
            RegionReason::Fallback => "fallback",
            RegionReason::Failover => "failover",
            RegionReason::Configured => "configured",
        }
    }
}
