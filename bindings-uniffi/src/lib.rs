//! # polargrid-uniffi
//!
//! `polargrid-core` for Python, Kotlin and Swift. The run loop every language would
//! otherwise write again (send what the core asks for, concurrently; feed the answers
//! back; sleep until the core's next deadline; sort its events) is `polargrid-driver`,
//! the one threaded driver the blocking Rust client runs too; this crate exports it as
//! [`Driver`]. Each language layer only supplies an HTTP stack through the foreign
//! [`Transport`] trait and wraps [`Driver`] in an idiomatic client.
//!
//! ## How a foreign layer uses it
//! 1. Implement [`Transport`]: `send(request, reply)` starts sending [`HttpRequest`] on
//!    the language's own concurrency (a thread pool, an asyncio task, a coroutine, a Swift
//!    `Task`) and returns at once; when the answer head arrives it calls
//!    [`Reply::response_head`] (status, the head as one block, the body up to
//!    `body_limit`) or [`Reply::failed`] with the core's [`TransportErrorKind`]. A 2xx
//!    answer to an app call keeps its body on the foreign side, keyed by the request id,
//!    until [`CallResponse::request_id`] claims it or `release(request_id)` drops it.
//!    Streams never cross. The rest of the transport contract (no redirects, release at
//!    once, the failure table) is in `polargrid-core`'s crate docs.
//! 2. Optionally implement [`Listener`] to hear session changes (persist the snapshot),
//!    ended sessions and region changes.
//! 3. `Driver::new(options, transport, listener)`, then for each app call
//!    `start(call)` (the call's body and headers travel with it: no request ever leaves
//!    without them) → call id, and wait for its ending with `wait` (async: asyncio,
//!    coroutines, Swift concurrency; dropping the future cancels the call) or
//!    `wait_blocking` (threads; in bounded slices so the caller stays interruptible).
//! 4. `close()` when done.
//!
//! Or the block spelling of the same contract, which every skin here uses (Python, Kotlin,
//! Swift: each record field and object costs the foreign side work and a crossing; the
//! record `Transport` remains for apps that drive a [`Driver`] themselves, and for tests): a [`BlockTransport`] gets each request as one byte block with
//! its id and answers by id ([`Driver::answer`], [`Driver::fail`]);
//! `Driver::with_blocks(options, transport, listener)`, then `start_inline` hands the
//! call's first attempt back in its answer and `answer(.., collect)` returns the call's
//! ending: a plain call is two method calls, `start_inline` and `answer` (the layouts
//! are in `heads`).
//!
//! ## The contract, record by record
//! | exported | `polargrid-core` |
//! |---|---|
//! | [`Options`] → `Driver::new` | `Options` → `Options::build` (the one options path and its rules) |
//! | [`HttpRequest`] | `HttpRequest`: `purpose` = `Purpose`, `timeout_ms`/`connect_timeout_ms`, `body_limit` = `HttpRequest::body_limit`, `headers` one block |
//! | [`BlockTransport`] request block | the same `HttpRequest` facts as one byte block (`heads`) |
//! | [`TransportErrorKind`] | `TransportErrorKind` (the failure table) |
//! | [`CallRequest`] | `CallSpec` (with `deadline_ms`, app headers checked by `check_header`) plus the body; `model` defaults to `model_hint(body)` |
//! | [`PolarGridError`] / [`Failure`] | `CallError`, `ConfigError`, `MisuseError`: `kind` = `ErrorKind` (`NAMES`), `cause`, `fix` |
//! | [`DriverEvent`] | `Event::SessionChanged`/`SessionEnded`/`RegionChanged` (`SessionChange`, `RegionReason`) |
//! | [`model_hint`] | `model_hint` |
//!
//! No exported type prints a secret: [`Options`], [`Header`], [`HttpRequest`] and
//! [`DriverEvent`] export a redacting `Debug` and `Display`.
//!
//! All policy (sessions, routing, retries, classification) stays in `polargrid-core`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// `PolarGridError` is what crosses the FFI (serialised into a buffer by uniffi): its size
// on the Rust stack does not matter, and boxing its record would change the foreign API.
#![allow(clippy::result_large_err)]

mod blocks;
mod convert;
mod driver;
mod heads;
mod records;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use driver::{Driver, Reply};
pub use heads::BlockTransport;
pub use records::{
    CallRequest, CallResponse, DriverEvent, ErrorKind, Failure, Header, HttpRequest, Options,
    PolarGridError, Purpose, RegionReason, SessionChange, SessionState, TransportErrorKind,
};

/// The routing hint of an app call's body (`polargrid_core::model_hint`): the top-level
/// `"model"` string of a JSON object body. The driver applies it itself when a
/// `CallRequest` has no `model`; exported for skins that want to show it.
#[uniffi::export]
pub fn model_hint(body: Vec<u8>) -> Option<String> {
    polargrid_core::model_hint(&body)
}

uniffi::setup_scaffolding!();

/// The foreign HTTP stack. Implemented once per language (httpx, `java.net.http`,
/// `URLSession`).
#[uniffi::export(with_foreign)]
pub trait Transport: Send + Sync {
    /// Start sending `request` on the language's own concurrency and return at once
    /// (never block here, never call back into the driver before returning unless from
    /// another thread or task). Answer exactly once through `reply`.
    fn send(&self, request: HttpRequest, reply: Arc<Reply>);
    /// The driver no longer needs request `request_id`: abort it if still in flight and
    /// close any success body kept for it. May come for an id already answered.
    fn release(&self, request_id: u64);
}

/// Hears session and region changes. Called outside the driver's lock, in order, from
/// whichever thread moved the core (a caller's, a transport's or the driver's timer).
#[uniffi::export(with_foreign)]
pub trait Listener: Send + Sync {
    /// One event.
    fn on_event(&self, event: DriverEvent);
}
