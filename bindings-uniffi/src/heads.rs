//! The block transport: each request the driver sends crosses as one byte block plus its
//! id, and is answered by id on the [`Driver`] (no [`crate::HttpRequest`] record, no
//! [`crate::Reply`] object). For skins where every record field and every object costs
//! interpreted work and a crossing (Python: 14 crossings per plain call with records, 7
//! here: two method calls, a handle clone and an argument buffer each, one result buffer).
//! Additive: [`Driver::new`] with the record [`crate::Transport`] works as before.
//!
//! A call on the block transport, start to end:
//! 1. [`Driver::start_inline`] starts the call (the call block of `blocks`) and returns,
//!    in one block, its id and every request the start sent on this thread (usually the
//!    call's first attempt): the caller sends them itself, no callback.
//! 2. Requests sent anywhere else (a retry from the timer thread, a refresh, an answer
//!    given on another thread) reach [`BlockTransport::send`] with their block.
//! 3. The transport answers each request once, by id: [`Driver::answer`] (status, head
//!    and body in one block, as `Reply::answer`) or [`Driver::fail`]. With `collect`,
//!    the caller that waits for the request's call gets the call's ending back in the
//!    same crossing when that answer ended it: no `wait` or `wait_blocking` after it.
//!
//! All integers are big-endian. **The request block** (one request, as
//! `polargrid_core::HttpRequest` says it; the same facts as the `HttpRequest` record):
//!
//! | offset | bytes | what |
//! |---|---|---|
//! | 0 | 1 | purpose: 0 exchange, 1 refresh, 2 discover, 3 call (`Purpose`) |
//! | 1 | 1 | 1 if a body follows the headers (maybe empty), 0 for none |
//! | 2 | 8 | the call this is an attempt of (purpose 3), else 0 |
//! | 10 | 8 | `timeout_ms`: give up (`timeout`) if the answer the core needs is not in by then |
//! | 18 | 8 | `connect_timeout_ms`: give up connecting (`connect_timeout`) |
//! | 26 | 4 | `body_limit`: read at most this much of a non-2xx answer's body (`HttpRequest::body_limit`); a 2xx answer to a call (purpose 3) keeps its body unread |
//! | 30 | 4 | `m`, the method's length |
//! | 34 | 4 | `u`, the URL's length |
//! | 38 | 4 | `h`, the header block's length |
//! | 42 | m | the method (`GET`, `POST`, …) |
//! | 42 + m | u | the full URL, query included (UTF-8) |
//! | 42 + m + u | h | the headers to send, in order: `Name: value` lines joined by `\r\n` (no trailing one; every value checked by the core: no CR, LF or NUL; holds `Authorization`: never log it) |
//! | 42 + m + u + h | the rest | the body (the app's for a call) |
//!
//! **The inline block** ([`Driver::start_inline`]'s answer): the call id (8), the number
//! `n` of requests (4), then `n` times: the request id (8), the request block's length
//! (4) and the request block.
//!
//! **The ending code** ([`Driver::answer`] and [`Driver::fail`] with `collect`): `0` the
//! call has not ended (wait for it as usual); `1` it succeeded with this request's answer
//! (its kept body is the app's), region unknown; `n ≥ 2` the same, in the region
//! [`Driver::region_name`]`(n)` (a name per code, the same forever: cache it). A call that
//! failed is the error itself.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use polargrid_core as pc;
use polargrid_driver as pd;

use crate::driver::Foreign;
use crate::{convert, CallResponse, Driver, Listener, Options, PolarGridError, TransportErrorKind};

/// The foreign HTTP stack, block spelling (see this module's docs): requests arrive as
/// one block each and are answered by id on the [`Driver`]. For [`Driver::with_blocks`].
#[uniffi::export(with_foreign)]
pub trait BlockTransport: Send + Sync {
    /// Start sending the request `request` describes (the request block) on the
    /// language's own concurrency and return at once; answer it once, by `request_id`,
    /// with [`Driver::answer`] or [`Driver::fail`].
    fn send(&self, request_id: u64, request: Vec<u8>);
    /// The driver no longer needs request `request_id`: abort it if still in flight and
    /// close any success body kept for it. May come for an id already answered.
    fn release(&self, request_id: u64);
}

/// The request block's fixed part, before the method.
pub(crate) const HEAD: usize = 42;

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

/// The request block for `r` (layout in the module docs).
pub(crate) fn encode(r: &pc::HttpRequest) -> Vec<u8> {
    let (purpose, call) = match r.purpose {
        pc::Purpose::Exchange => (0u8, 0),
        pc::Purpose::Refresh => (1, 0),
        pc::Purpose::Discover => (2, 0),
        pc::Purpose::Call(c) => (3, c.0),
    };
    let method = r.method.as_str().as_bytes();
    let lines: usize = r.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    let head_len = lines.saturating_sub(2);
    let body = r.body.as_deref();
    let mut b = Vec::with_capacity(
        HEAD + method.len() + r.url.len() + head_len + body.map_or(0, <[u8]>::len),
    );
    b.push(purpose);
    b.push(u8::from(body.is_some()));
    b.extend_from_slice(&call.to_be_bytes());
    b.extend_from_slice(&convert::ms(r.timeout).to_be_bytes());
    b.extend_from_slice(&convert::ms(r.connect_timeout).to_be_bytes());
    b.extend_from_slice(&convert::error_body_limit(r).to_be_bytes());
    b.extend_from_slice(&be32(method.len()));
    b.extend_from_slice(&be32(r.url.len()));
    b.extend_from_slice(&be32(head_len));
    b.extend_from_slice(method);
    b.extend_from_slice(r.url.as_bytes());
    for (i, (name, value)) in r.headers.iter().enumerate() {
        if i > 0 {
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(value.as_bytes());
    }
    if let Some(body) = body {
        b.extend_from_slice(body);
    }
    b
}

/// A request sent and not answered yet: its way back and its call.
struct Pending {
    reply: pd::Reply,
    call: Option<u64>,
}

/// The block transport behind the driver's Rust one.
pub(crate) struct Blocks {
    transport: Arc<dyn BlockTransport>,
    pending: Mutex<pd::Ids<u64, Pending>>,
    /// Region names by ending code − 2 (a handful: one per region answered from).
    regions: Mutex<Vec<String>>,
}

/// Requests sent on this thread while [`Driver::start_inline`] runs, for the driver
/// (`owner`, the [`Blocks`]' address) it runs on.
struct Inline {
    owner: usize,
    sent: Vec<(u64, Vec<u8>)>,
}

thread_local! {
    static INLINE: RefCell<Option<Inline>> = const { RefCell::new(None) };
}

/// While alive, this thread's sends on `blocks` are kept for the caller instead of
/// crossing through [`BlockTransport::send`]; dropped without [`Capture::take`] (a panic)
/// it sends what it kept.
struct Capture<'a> {
    blocks: &'a Blocks,
    prev: Option<Inline>,
    done: bool,
}

impl<'a> Capture<'a> {
    fn begin(blocks: &'a Blocks) -> Self {
        let inline = Inline {
            owner: blocks.owner(),
            sent: Vec::new(),
        };
        let prev = INLINE.with(|c| c.replace(Some(inline)));
        Capture {
            blocks,
            prev,
            done: false,
        }
    }

    fn take(mut self) -> Vec<(u64, Vec<u8>)> {
        self.done = true;
        self.restore()
    }

    fn restore(&mut self) -> Vec<(u64, Vec<u8>)> {
        let prev = self.prev.take();
        INLINE
            .with(|c| c.replace(prev))
            .map(|i| i.sent)
            .unwrap_or_default()
    }
}

impl Drop for Capture<'_> {
    fn drop(&mut self) {
        if !self.done {
            let sent = self.restore();
            self.blocks.dispatch(sent);
        }
    }
}

impl Blocks {
    pub(crate) fn new(transport: Arc<dyn BlockTransport>) -> Self {
        Blocks {
            transport,
            pending: Mutex::default(),
            regions: Mutex::default(),
        }
    }

    fn owner(&self) -> usize {
        self as *const Blocks as usize
    }

    fn lock(&self) -> MutexGuard<'_, pd::Ids<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn send(&self, request: pc::HttpRequest, reply: pd::Reply) {
        let id = request.id.0;
        let call = match request.purpose {
            pc::Purpose::Call(c) => Some(c.0),
            _ => None,
        };
        let block = encode(&request);
        self.lock().insert(id, Pending { reply, call });
        let owner = self.owner();
        let block = INLINE.with(|c| match c.borrow_mut().as_mut() {
            Some(inline) if inline.owner == owner => {
                inline.sent.push((id, block));
                None
            }
            _ => Some(block),
        });
        if let Some(block) = block {
            self.transport.send(id, block);
        }
    }

    /// Sends through the foreign transport what a start kept but cannot hand back.
    fn dispatch(&self, sent: Vec<(u64, Vec<u8>)>) {
        for (id, block) in sent {
            self.transport.send(id, block);
        }
    }

    pub(crate) fn release(&self, request_id: u64) {
        // Unanswered, its reply now reports `Aborted`, which the core (that gave it up)
        // ignores; a later answer by this id finds nothing.
        let pending = self.lock().remove(&request_id);
        drop(pending);
        self.transport.release(request_id);
    }

    fn take(&self, request_id: u64) -> Option<Pending> {
        self.lock().remove(&request_id)
    }

    fn region_code(&self, region: Option<String>) -> u64 {
        let Some(region) = region else { return 1 };
        let mut names = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        let at = match names.iter().position(|n| *n == region) {
            Some(at) => at,
            None => {
                names.push(region);
                names.len() - 1
            }
        };
        at as u64 + 2
    }
}

impl Driver {
    fn blocks(&self) -> Option<&Blocks> {
        match self.inner.transport() {
            Foreign::Blocks(b) => Some(b),
            Foreign::Records(_) => None,
        }
    }

    /// The ending code for the caller that waits for `call`, after an answer to
    /// `request_id` (module docs).
    fn settle(
        &self,
        blocks: &Blocks,
        request_id: u64,
        call: Option<u64>,
        collect: bool,
    ) -> Result<u64, PolarGridError> {
        let Some(call) = call.filter(|_| collect) else {
            return Ok(0);
        };
        match self.inner.wait_blocking(pc::CallId(call), Duration::ZERO) {
            None => Ok(0),
            Some(Err(e)) => Err(convert::call_error(&e)),
            Some(Ok(r)) if r.request.0 == request_id => Ok(blocks.region_code(r.region)),
            Some(Ok(r)) => {
                // Another request's answer ended it: `wait`/`wait_blocking` hand it over.
                let response = CallResponse {
                    call,
                    request_id: r.request.0,
                    region: r.region,
                };
                self.lock_early().insert(call, response);
                Ok(0)
            }
        }
    }
}

#[uniffi::export]
impl Driver {
    /// [`Driver::new`] with a [`BlockTransport`]: the same options, rules and listener;
    /// requests cross as blocks and are answered by id (module docs of `heads`).
    #[uniffi::constructor]
    pub fn with_blocks(
        options: Options,
        transport: Arc<dyn BlockTransport>,
        listener: Option<Arc<dyn Listener>>,
    ) -> Result<Arc<Driver>, PolarGridError> {
        Driver::build(options, Foreign::Blocks(Blocks::new(transport)), listener)
    }

    /// [`Driver::start_block`], answering the inline block: the call's id and every
    /// request the start sent on this thread, for the caller to send itself (none cross
    /// through [`BlockTransport::send`]). On a driver made by [`Driver::new`] the block
    /// holds no request (they went to its `Transport`).
    pub fn start_inline(&self, block: Vec<u8>, timeout_ms: u64) -> Result<Vec<u8>, PolarGridError> {
        let Some(blocks) = self.blocks() else {
            let call = self.start_block(block, timeout_ms)?;
            return Ok(inline_block(call, Vec::new()));
        };
        let capture = Capture::begin(blocks);
        let started = self.start_block(block, timeout_ms);
        let sent = capture.take();
        match started {
            Ok(call) => Ok(inline_block(call, sent)),
            Err(e) => {
                blocks.dispatch(sent);
                Err(e)
            }
        }
    }

    /// The answer head to request `request_id` arrived: `message[..head_len]` is the
    /// header block, the rest the body (as `Reply::answer`). `collect`: the caller waits
    /// for this request's call and has not waited yet; if this answer ended the call its
    /// ending comes back here (the ending code; a failed call is the error) and nobody
    /// else sees it. Without `collect` (or for an unknown id) answers 0.
    pub fn answer(
        &self,
        request_id: u64,
        status: u16,
        head_len: u32,
        mut message: Vec<u8>,
        collect: bool,
    ) -> Result<u64, PolarGridError> {
        let Some(blocks) = self.blocks() else {
            return Ok(0);
        };
        let Some(p) = blocks.take(request_id) else {
            return Ok(0);
        };
        let body = message.split_off((head_len as usize).min(message.len()));
        p.reply.response_head(status, &message, body);
        self.settle(blocks, request_id, p.call, collect)
    }

    /// Request `request_id` failed below HTTP (the core's table, as `Reply::failed`);
    /// `collect` and the answer as for [`Driver::answer`].
    pub fn fail(
        &self,
        request_id: u64,
        error: TransportErrorKind,
        collect: bool,
    ) -> Result<u64, PolarGridError> {
        let Some(blocks) = self.blocks() else {
            return Ok(0);
        };
        let Some(p) = blocks.take(request_id) else {
            return Ok(0);
        };
        p.reply.failed(convert::transport_error(error));
        self.settle(blocks, request_id, p.call, collect)
    }

    /// The region an ending code names (`None` for 0, 1 or a code never given).
    pub fn region_name(&self, code: u64) -> Option<String> {
        let blocks = self.blocks()?;
        let at = usize::try_from(code.checked_sub(2)?).ok()?;
        let names = blocks.regions.lock().unwrap_or_else(|p| p.into_inner());
        names.get(at).cloned()
    }
}

/// The inline block (module docs).
fn inline_block(call: u64, sent: Vec<(u64, Vec<u8>)>) -> Vec<u8> {
    let size: usize = sent.iter().map(|(_, b)| 12 + b.len()).sum();
    let mut out = Vec::with_capacity(12 + size);
    out.extend_from_slice(&call.to_be_bytes());
    out.extend_from_slice(&be32(sent.len()));
    for (id, block) in sent {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&be32(block.len()));
        out.extend_from_slice(&block);
    }
    out
}

#[cfg(test)]
#[path = "heads_tests.rs"]
mod tests;
