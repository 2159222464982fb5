//! What every machine needs to act: the checked config, fresh ids and jitter, and the
//! queues of outgoing requests and events.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::collections::VecDeque;

use core::time::Duration;

use crate::config::Checked;
use crate::event::Event;
use crate::http::{HeaderText, HttpRequest, Method, Purpose, RequestId};
use crate::rng::Rng;

/// Shared, borrowed by each machine while it steps.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a Checked,
    pub(crate) rng: &'a mut Rng,
    pub(crate) next_request: &'a mut u64,
    /// Requests in id order (`None`: withdrawn before the driver polled it).
    pub(crate) outbox: &'a mut VecDeque<(RequestId, Option<HttpRequest>)>,
    pub(crate) events: &'a mut VecDeque<Event>,
}

impl Ctx<'_> {
    /// A new request id.
    pub(crate) fn request_id(&mut self) -> RequestId {
        *self.next_request += 1;
        RequestId(*self.next_request)
    }

    /// A fresh `X-Request-ID` value: `pgc-` and 24 hex digits from the seeded stream.
    pub(crate) fn trace_id(&mut self) -> HeaderText {
        self.trace().text()
    }

    /// A fresh `X-Request-ID`, as its numbers (see [`TraceId`]).
    pub(crate) fn trace(&mut self) -> TraceId {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64() & 0xFFFF_FFFF;
        TraceId(a, b)
    }

    /// Equal jitter: a delay uniformly in `[d/2, d]`.
    pub(crate) fn jitter(&mut self, d: Duration) -> Duration {
        let ms = crate::time::millis(d);
        Duration::from_millis(ms / 2 + self.rng.below(ms / 2 + 1))
    }

    /// Queues a request and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &mut self,
        purpose: Purpose,
        method: Method,
        url: String,
        headers: Vec<(HeaderText, HeaderText)>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> RequestId {
        let id = self.request_id();
        let connect_timeout = self.cfg.cfg.timeouts.connect.min(timeout);
        let req = HttpRequest {
            id,
            purpose,
            method,
            url,
            headers,
            body,
            timeout,
            connect_timeout,
        };
        self.outbox.push_back((id, Some(req)));
        id
    }
}

/// An `X-Request-ID` kept as its two numbers: a call holds one for all its attempts and
/// writes it out per request (as text it was an allocation more per call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceId(u64, u64);

impl TraceId {
    /// `pgc-` and 24 hex digits (one allocation of the exact size: a transport may take
    /// it over as it is).
    pub(crate) fn text(self) -> HeaderText {
        // Written into one buffer, checked as text once (two appends checked twice).
        let mut b = [0u8; 28];
        b[..4].copy_from_slice(b"pgc-");
        crate::json::write_hex(&mut b[4..20], self.0);
        crate::json::write_hex(&mut b[20..], self.1);
        HeaderText::Owned(String::from_utf8(b.to_vec()).unwrap_or_default())
    }
}

/// Exponential backoff: `base * 2^(n-1)` capped, before jitter.
pub(crate) fn backoff(base: Duration, cap: Duration, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(20);
    base.saturating_mul(factor).min(cap)
}
