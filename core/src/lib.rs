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
//! ## The transport contract
//! Each [`HttpRequest`] says why it is sent ([`Purpose`]), how long the core waits for it
//! (`timeout`, `connect_timeout`) and how much of the answer to read
//! ([`HttpRequest::body_limit`]). A transport, in every binding:
//! 1. **Never follows a redirect.** A 3xx is an answer: pass it to the core, which
//!    classifies it. Following one would carry the key, a JWT or a refresh token to
//!    whatever host the answer names. A page's `fetch` hides a manual redirect's status
//!    (an `opaqueredirect` answer): pass it as status `300`.
//! 2. **Releases the connection at once** when a request fails, times out, or the core
//!    aborts it ([`Event::Abort`]): close the socket or cancel the
//!    task, never leave it to a pool to find out later.
//! 3. **Maps its platform's failures onto [`TransportErrorKind`]** in one function, with
//!    the table below. When the platform cannot tell a refusal from a reset, it says
//!    [`Opaque`](TransportErrorKind::Opaque), never a guess.
//! 4. **Sends only headers the core emitted**; an app's own headers reach the core in
//!    [`CallSpec::headers`] and are checked by [`check_header`].
//! 5. Sends an app call's request only with its body: the driver holds the body from the
//!    moment the call starts.
//!
//! | platform failure | Rust (ureq) | Node (undici) | browser (`fetch`) | Python (httpx) | Kotlin (`HttpURLConnection`) | Swift (`URLSession`) |
//! |---|---|---|---|---|---|---|
//! | name not resolved | `dns` | `ENOTFOUND`, `EAI_AGAIN` → `dns` | `opaque` | `ConnectError` (name resolution) → `dns` | `UnknownHostException` → `dns` | `cannotFindHost`, `dnsLookupFailed` → `dns` |
//! | refused, unreachable | `connect` | `ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH` → `connect` | `opaque` | `ConnectError` → `connect` | `ConnectException`, `NoRouteToHostException` → `connect` | `cannotConnectToHost` → `connect` |
//! | TLS handshake | `tls` | `ERR_TLS_*`, `ERR_SSL_*`, `CERT_*`, OpenSSL verify codes (`DEPTH_ZERO_SELF_SIGNED_CERT`, `SELF_SIGNED_CERT_IN_CHAIN`, `UNABLE_TO_*`) → `tls` | `opaque` | `ConnectError` (SSL) → `tls` | `SSLException` → `tls` | `secureConnectionFailed`, `serverCertificate*` → `tls` |
//! | connect timed out | `connect_timeout` | `UND_ERR_CONNECT_TIMEOUT` → `connect_timeout` | `opaque` | `ConnectTimeout` → `connect_timeout` | `SocketTimeoutException` while connecting → `connect_timeout` | `timedOut` before the connection → `connect_timeout` |
//! | no answer in time | `timeout` | the core's deadline → `timeout` | the core's deadline → `timeout` | `ReadTimeout`, `WriteTimeout`, `PoolTimeout` → `timeout` | `SocketTimeoutException` while reading → `timeout` | `timedOut` after the connection → `timeout` |
//! | reset, closed after sending | `aborted` | `ECONNRESET`, `UND_ERR_SOCKET`, `UND_ERR_RES_CONTENT_LENGTH_MISMATCH` → `aborted` | `opaque` | `ReadError`, `RemoteProtocolError` (closed) → `aborted` | other `IOException` → `aborted` | `networkConnectionLost` → `aborted` |
//! | malformed answer | `protocol` | `HPE_*`, `UND_ERR_HEADERS_OVERFLOW` → `protocol` | `opaque` | `RemoteProtocolError` (parse) → `protocol` | a head the core refuses → `protocol` | `badServerResponse` → `protocol` |
//! | cause not given | — | any other error → `opaque` | `TypeError` → `opaque` | — | — | — |
//!
//! (Each binding's mapping function cites this table; its tests produce each row the
//! emulator can produce.)
//!
//! A transport that cannot give up connecting on its own (a page's `fetch`: no connect
//! timeout, and no way to tell "not connected yet" from "connected, answer slow") says so
//! with [`Config::transport_observes_connect`] `= false`; the core then watches the
//! `connect_timeout` of app calls with a method idempotent by HTTP itself (the rule: the `route` module docs, "Unobserved
//! connects"). Every other transport reports `connect_timeout` and keeps the default.
//!
//! An answer's headers: a driver passes those the core reads (`Date`, `Retry-After`) and
//! may pass all. The core refuses a head with CR, LF or NUL in a value or over 64 KiB as
//! `protocol`, whichever parser let it through. A driver over the Fetch standard (the npm
//! driver, in Node and in a page) passes only the two it reads, since the platform already
//! guarantees the rule: a Fetch header value can hold no CR, LF or NUL (`Headers` throws;
//! such a head is a network error: undici reports `HPE_*` → `protocol`, a page `opaque`),
//! and the head size is bounded by the transport (the driver's undici agent at 64 KiB →
//! `UND_ERR_HEADERS_OVERFLOW` → `protocol`; an app's own dispatcher at undici's 16 KiB;
//! Chromium at 256 KiB, and a page reads only exposed headers). The conformance scenarios
//! `edge_header_with_cr…`, `edge_header_with_nul…`, `edge_head_over_64_kib…` and
//! `edge_head_over_256_kib…` hold Node and Chromium to it.
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
// `alloc` only: a wasm build can then drop std's panic and formatting runtime (its own
// panic handler), and every other binding links std as before.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// What std's prelude gave every module, from `alloc`.
mod prelude {
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec::Vec;
    pub(crate) use alloc::{format, vec};
}

mod call;
mod calls;
mod classify;
mod client;
mod config;
mod ctx;
mod error;
mod event;
mod grant;
mod hint;
mod http;
mod httpdate;
mod idmap;
mod json;
mod jwt;
mod options;
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
pub use client::{
    AfterWithheld, Client, Offer, SessionStatus, TabWaits, Withheld, ASK_WAIT, LEDGER_KEEP,
    OFFER_WAIT, STORAGE_WAIT,
};
pub use config::{
    resolve_region, Config, DiscoveryScope, Endpoints, Mode, RegionInfo, RetryPolicy, Routing,
    Timeouts, KNOWN_REGIONS,
};
pub use error::{CallError, ConfigError, ErrorKind, MisuseError};
pub use event::{Event, RegionReason, SessionChange, SessionInfo};
pub use hint::model_hint;
pub use http::{
    check_header, CallId, Certainty, HeaderText, HttpRequest, HttpResponse, Method, Purpose,
    RequestId, TransportErrorKind, MAX_APP_HEADERS, MAX_CORE_BODY, MAX_ERROR_BODY, MAX_HEAD,
    MAX_HEADER_VALUE,
};
pub use httpdate::{parse_http_date, parse_retry_after};
pub use json::push_decimal;
pub use jwt::{read_claims, JwtClaims, JwtError, Scope};
pub use options::{Built, Options};
pub use secret::Secret;
pub use snapshot::{SessionSnapshot, SNAPSHOT_VERSION};
pub use time::Timestamp;
