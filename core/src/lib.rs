//! # polargrid-core
//!
//! The Sans-IO heart of the PolarGrid SDKs: the `pg_` API key → session JWT → refresh
//! lifecycle, edge-region discovery and failover, retries, and the classification of
//! every failure into an [`ErrorKind`] a program can act on.
//!
//! The core never opens a socket, reads a clock or rolls a die. It emits complete
//! [`HttpRequest`]s, takes back [`HttpResponse`]s and transport errors, and is told the
//! time (`now`, Unix milliseconds) and a seed. Bindings (npm, Python, Kotlin, Swift) are
//! thin drivers around it.
//!
//! ## The run loop
//!
//! ```
//! use polargrid_core::{CallSpec, Client, Config, Event, HttpResponse, Method, Timestamp};
//!
//! # fn send(_: &polargrid_core::HttpRequest) -> HttpResponse { HttpResponse::new(200) }
//! # let wall_clock = || Timestamp::from_millis(1_800_000_000_000);
//! let mut client = Client::new(Config::direct("pg_example_key_123"), 42)?;
//! let call = client.start_call(wall_clock(), CallSpec::new(Method::Get, "/v1/models"))?;
//! loop {
//!     // 1. Send everything the core asks for (a real driver sends concurrently and
//!     //    attaches the app's body to `Purpose::Call` requests).
//!     while let Some(req) = client.poll_request(wall_clock()) {
//!         let resp = send(&req); // your HTTP client; on failure: handle_transport_error
//!         client.handle_response(wall_clock(), req.id, resp)?;
//!     }
//!     // 2. Act on events: deliver answers, persist sessions, log region changes.
//!     while let Some(ev) = client.poll_event() {
//!         match ev {
//!             Event::CallReady { call: c, .. } if c == call => return Ok(()),
//!             Event::CallFailed { error, .. } => panic!("{error}"),
//!             _ => {}
//!         }
//!     }
//!     // 3. Sleep until the core's next deadline (or until new work arrives), then tell it.
//!     if let Some(_at) = client.poll_timeout() { /* sleep until _at */ }
//!     client.handle_timeout(wall_clock());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Contract
//! - Every state-changing method takes `now` first; the clock may jump (device sleep,
//!   clock corrections) and the core copes.
//! - The same seed and the same inputs give the same outputs (jitter, request ids).
//! - Every call ends exactly once: [`Event::CallReady`], [`Event::CallFailed`] or
//!   [`Event::CallCancelled`].
//! - Secrets are [`Secret`]s: never in `Debug`/`Display`, errors or events, except the
//!   [`SessionSnapshot`] the app asks to persist.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod call;
mod calls;
mod classify;
mod client;
mod config;
mod ctx;
mod error;
mod event;
mod grant;
mod http;
mod httpdate;
mod idmap;
mod jwt;
mod rng;
mod route;
mod secret;
mod session;
mod skew;
mod snapshot;
mod time;
mod url;

pub use call::CallSpec;
pub use classify::{classify_response, classify_transport, Credential, Stage};
pub use client::{Client, SessionStatus};
pub use config::{
    resolve_region, Config, DiscoveryScope, Endpoints, Mode, RegionInfo, RetryPolicy, Routing,
    Timeouts, KNOWN_REGIONS,
};
pub use error::{CallError, ConfigError, ErrorKind, MisuseError};
pub use event::{Event, RegionReason, SessionChange, SessionInfo};
pub use http::{
    CallId, HttpRequest, HttpResponse, Method, Purpose, RequestId, TransportErrorKind,
    MAX_CORE_BODY, MAX_ERROR_BODY,
};
pub use httpdate::{parse_http_date, parse_retry_after};
pub use jwt::{read_claims, JwtClaims, JwtError, Scope};
pub use secret::Secret;
pub use snapshot::{SessionSnapshot, SNAPSHOT_VERSION};
pub use time::Timestamp;
