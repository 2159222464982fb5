//! # polargrid-driver
//!
//! The one threaded run loop around `polargrid-core`: send what the core asks for,
//! concurrently; feed the answers back; sleep until the core's next deadline; sort its
//! events and deliver call endings to blocking or async waiters. It holds no HTTP client
//! and no FFI: a [`Transport`] moves the bytes. Two crates use it:
//! - `polargrid-uniffi` (Python, Kotlin, Swift): its transport hands each request to the
//!   language's own HTTP stack through a foreign callback interface;
//! - `polargrid-blocking` (Rust): its transport is ureq, one thread per request, but for
//!   a call's first attempt, which the caller sends on its own thread (it would only
//!   wait): [`Driver::start_here`] hands it over instead of to the transport.
//!
//! ## What a transport gets and gives back
//! [`Transport::send`] gets the core's [`HttpRequest`] as it is, with the app's body
//! attached for a call: its [`Purpose`](pc::Purpose), its deadline
//! ([`timeout`](pc::HttpRequest::timeout)), its
//! [`connect_timeout`](pc::HttpRequest::connect_timeout) and, once the status is known,
//! how much of the body to read ([`body_limit`](pc::HttpRequest::body_limit)). It returns
//! at once and answers exactly once through the [`Reply`], from any thread: the answer
//! head (status and headers, or the head as one block with
//! [`Reply::response_head`]) with the body read up to the limit, or the failure as the
//! core's [`TransportErrorKind`](pc::TransportErrorKind) (the table in `polargrid-core`'s
//! crate docs, "The transport contract"). A 2xx answer to an app call passes an empty
//! body and keeps the real one, unread, under the request's id until the app claims it
//! (the id in [`Ready::request`]) or the driver calls [`Transport::release`].
//!
//! Nothing of the transport is called while the driver's lock is held, and a transport
//! never calls back into the driver from inside `send` on the same thread.
//!
//! All policy (sessions, routing, retries, classification) stays in `polargrid-core`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod run;

use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Weak;

use polargrid_core as pc;
pub use polargrid_core::HttpRequest;

pub use run::{Driver, Wait};

/// A map keyed by the core's ids ([`pc::RequestId`], [`pc::CallId`]) with [`IdHasher`].
pub type Ids<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of the core's ids with [`IdHasher`].
pub type IdSet<K> = std::collections::HashSet<K, BuildHasherDefault<IdHasher>>;

/// A hasher for the core's ids (one `u64` each): a multiply instead of SipHash, which a
/// map on the per-call path pays several times a call. Ids are not chosen by a peer, so
/// there is no flooding to resist. Other input is folded in eight bytes at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Moves the bytes of the requests the core wants sent. Implemented once per HTTP stack.
pub trait Transport: Send + Sync + 'static {
    /// Starts sending `request` (the app's body attached for a call) on the stack's own
    /// concurrency and returns at once. Answer exactly once through `reply`; a reply
    /// dropped unanswered counts as [`Aborted`](pc::TransportErrorKind::Aborted).
    fn send(&self, request: HttpRequest, reply: Reply);

    /// The driver no longer needs `request`: abort it if still in flight and drop any
    /// success body kept for it. May come for a request already answered or released.
    fn release(&self, request: pc::RequestId);
}

/// Hears the app's events (session and region changes), in the core's order, outside
/// the driver's lock, from whichever thread moved the core. Call endings and aborts are
/// the driver's own and never reach it.
pub type Listener = Box<dyn Fn(pc::Event) + Send + Sync>;

/// A call that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ready {
    /// The call.
    pub call: pc::CallId,
    /// The request whose kept success body is the call's answer: claim it from the
    /// transport.
    pub request: pc::RequestId,
    /// The region that answered, if known.
    pub region: Option<String>,
}

/// How a waited-for call ended: [`Ready`], or the core's classified failure (a cancelled
/// call is [`ErrorKind::Cancelled`](pc::ErrorKind::Cancelled), a closed driver
/// [`ErrorKind::Closed`](pc::ErrorKind::Closed), as [`pc::CallError::local`] words them).
pub type Ending = Result<Ready, pc::CallError>;

/// Why [`Driver::start`] refused a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The driver was closed.
    Closed,
    /// The core refused the call (method, path or a header value).
    Refused(pc::MisuseError),
}

/// The driver side of an answer: implemented by the run loop, reached through a
/// [`Reply`] without knowing its transport's type.
trait Answer: Send + Sync {
    fn answer(
        &self,
        id: pc::RequestId,
        keeps_success: bool,
        result: Result<pc::HttpResponse, pc::TransportErrorKind>,
    );
}

/// The way back for one sent request. Answer once, from any thread; later answers are
/// ignored. Dropping it unanswered (a transport that panicked or gave up) reports
/// [`Aborted`](pc::TransportErrorKind::Aborted), so the call retries or fails now
/// instead of at its timeout.
pub struct Reply {
    driver: Weak<dyn Answer>,
    id: pc::RequestId,
    /// Whether a 2xx answer's body is kept by the transport (app calls).
    keeps_success: bool,
    answered: AtomicBool,
}

impl Reply {
    /// The request's id (the one in its [`HttpRequest`]).
    pub fn request_id(&self) -> pc::RequestId {
        self.id
    }

    /// The answer head arrived: status, headers and the body, empty for a 2xx answer to
    /// a call (kept for the app), else at most the request's `body_limit` bytes.
    pub fn response(&self, response: pc::HttpResponse) {
        self.finish(Ok(response));
    }

    /// Same as [`Reply::response`] with the headers as one HTTP/1.1 header block
    /// (`Name: value` lines separated by `\r\n` or `\n`, UTF-8 or Latin-1).
    pub fn response_head(&self, status: u16, head: &[u8], body: Vec<u8>) {
        let headers = String::from_utf8_lossy(head)
            .split('\n')
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                Some((name.trim().to_string(), value.trim().to_string()))
            })
            .collect();
        self.response(pc::HttpResponse {
            status,
            headers,
            body,
        });
    }

    /// The request failed below HTTP, as the platform's failure maps onto the core's
    /// table (interrupted: `Aborted`).
    pub fn failed(&self, kind: pc::TransportErrorKind) {
        self.finish(Err(kind));
    }

    fn finish(&self, result: Result<pc::HttpResponse, pc::TransportErrorKind>) {
        if self.answered.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(driver) = self.driver.upgrade() {
            driver.answer(self.id, self.keeps_success, result);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.finish(Err(pc::TransportErrorKind::Aborted));
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply").field("id", &self.id).finish()
    }
}

#[cfg(test)]
mod tests;
