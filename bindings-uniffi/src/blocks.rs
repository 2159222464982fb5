//! One-block spellings of `Driver::start` and `Reply::response_head`, for skins where
//! lowering a record or a second argument costs more than the work it carries (Python:
//! uniffi writes each record field and each buffer with several interpreted calls and a
//! crossing). Each takes one byte block and plain integers, and goes straight to the
//! record method it stands for: no rule lives here.
//!
//! The call block (`Driver::start_block`), all integers big-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 2 | `n`, the number of app headers |
//! | 8 | `deadline_ms`: the call as a whole, start to answer head (`CallRequest::deadline_ms`; [`NOT_GIVEN`]: the configured `call_deadline_ms`) |
//! | 4 + len | the method (UTF-8, length-prefixed) |
//! | 4 + len | the path |
//! | n × (4 + len, 4 + len) | each header's name and value |
//! | the rest | the body (empty: no body) |
//!
//! Length prefixes keep every field exact: a header value holding CR, LF or NUL
//! reaches the core's `check_header` as it is and fails the call with `invalid_call`.

use polargrid_core as pc;

use crate::{convert, CallRequest, Driver, Header, PolarGridError, Reply};

/// A block's `deadline_ms` or a `timeout_ms` argument that says "the client's own": `u64::MAX`.
/// Not 0: a 0 the app passed must reach the core, which refuses it as `invalid_call`, instead
/// of turning silently into the default.
pub const NOT_GIVEN: u64 = u64::MAX;

/// `ms` unless it is [`NOT_GIVEN`].
fn given(ms: u64) -> Option<u64> {
    (ms != NOT_GIVEN).then_some(ms)
}

/// Reads one length-prefixed UTF-8 field at `*at`.
fn field(block: &[u8], at: &mut usize) -> Option<String> {
    let len = block.get(*at..*at + 4)?;
    let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
    let start = *at + 4;
    let bytes = block.get(start..start.checked_add(len)?)?;
    *at = start + len;
    String::from_utf8(bytes.to_vec()).ok()
}

/// The call a block describes (see the module docs), or `None` if it is malformed.
pub(crate) fn call_request(mut block: Vec<u8>, timeout_ms: u64) -> Option<CallRequest> {
    let n = u16::from_be_bytes(block.get(..2)?.try_into().ok()?);
    let deadline_ms = u64::from_be_bytes(block.get(2..10)?.try_into().ok()?);
    let mut at = 10;
    let method = field(&block, &mut at)?;
    let path = field(&block, &mut at)?;
    let mut headers = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let name = field(&block, &mut at)?;
        let value = field(&block, &mut at)?;
        headers.push(Header { name, value });
    }
    let body = block.split_off(at);
    Some(CallRequest {
        method,
        path,
        body: (!body.is_empty()).then_some(body),
        headers,
        model: None,
        idempotent: None,
        timeout_ms: given(timeout_ms),
        deadline_ms: given(deadline_ms),
    })
}

#[uniffi::export]
impl Driver {
    /// [`Driver::start`] with the call as one block (its deadline, method, path, app headers
    /// and body; layout in this module's docs) and `timeout_ms` ([`NOT_GIVEN`]: the configured one); the model
    /// hint is the core's `model_hint` of the body. A malformed block is `invalid_call`.
    pub fn start_block(&self, block: Vec<u8>, timeout_ms: u64) -> Result<u64, PolarGridError> {
        let call = call_request(block, timeout_ms).ok_or_else(|| {
            convert::misuse(pc::MisuseError::BadCall(
                "the call block is malformed (see start_block's layout)",
            ))
        })?;
        self.start(call)
    }
}

#[uniffi::export]
impl Reply {
    /// [`Reply::response_head`] with head and body in one block: `message[..head_len]` is
    /// the header block, the rest the body (none for a kept 2xx answer: `head_len` is the
    /// block's length; a larger `head_len` counts as that).
    pub fn answer(&self, status: u16, head_len: u32, mut message: Vec<u8>) {
        let body = message.split_off((head_len as usize).min(message.len()));
        self.response_head(status, message, body);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::tests::{driver, next};
    use crate::{ErrorKind, Purpose};

    /// A call block as the Python skin writes it (no per-call deadline).
    pub(crate) fn block(
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        deadline_block(super::NOT_GIVEN, method, path, headers, body)
    }

    /// A call block with its `deadline_ms`, as the Kotlin and Swift skins write it.
    pub(crate) fn deadline_block(
        deadline_ms: u64,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut b = u16::try_from(headers.len()).unwrap().to_be_bytes().to_vec();
        b.extend_from_slice(&deadline_ms.to_be_bytes());
        let fields = [method, path]
            .into_iter()
            .chain(headers.iter().flat_map(|(n, v)| [*n, *v]));
        for f in fields {
            b.extend_from_slice(&u32::try_from(f.len()).unwrap().to_be_bytes());
            b.extend_from_slice(f.as_bytes());
        }
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn a_call_block_starts_the_call_it_describes_body_headers_and_model_hint_included() {
        let (d, t) = driver(2);
        let body = br#"{"model":"llama-3.1-8b"}"#;
        let headers = [("Content-Type", "application/json"), ("X-A", "b: c")];
        let call = d
            .start_block(
                block("POST", "/v1/chat/completions", &headers, body),
                crate::blocks::NOT_GIVEN,
            )
            .unwrap();
        let (req, reply) = next(&t);
        assert_eq!((req.call, req.purpose), (Some(call), Purpose::Call));
        assert_eq!(req.method, "POST");
        assert!(req.url.ends_with("/v1/chat/completions"), "{}", req.url);
        assert_eq!(req.body.as_deref(), Some(&body[..]));
        assert!(req.headers.contains("\r\nContent-Type: application/json"));
        assert!(req.headers.contains("\r\nX-A: b: c"));
        reply.answer(200, 0, vec![]);
        assert_eq!(
            d.wait_blocking(call, 0).unwrap().unwrap().request_id,
            req.id
        );
        d.close();
    }

    #[test]
    fn a_call_block_without_a_body_sends_none_and_its_timeout_reaches_the_request() {
        let (d, t) = driver(2);
        d.start_block(block("GET", "/v1/models", &[], b""), 1234)
            .unwrap();
        let (req, _reply) = next(&t);
        assert_eq!(req.body, None);
        assert_eq!(req.timeout_ms, 1234);
        d.close();
    }

    #[test]
    fn a_call_block_s_deadline_bounds_its_request_and_not_given_leaves_the_configured_one() {
        let (d, t) = driver(2);
        d.start_block(deadline_block(300, "GET", "/v1/models", &[], b""), 1234)
            .unwrap();
        let (req, _reply) = next(&t);
        assert_eq!(req.timeout_ms, 300, "the attempt never outlives the call");
        d.start_block(
            deadline_block(super::NOT_GIVEN, "GET", "/v1/models", &[], b""),
            1234,
        )
        .unwrap();
        let (req, _reply) = next(&t);
        assert_eq!(req.timeout_ms, 1234);
        d.close();
    }

    #[test]
    fn a_zero_deadline_or_timeout_in_a_call_block_is_an_invalid_call_not_the_default() {
        let (d, t) = driver(2);
        for (deadline, timeout) in [(0, 1234), (super::NOT_GIVEN, 0)] {
            let call = d.start_block(
                deadline_block(deadline, "GET", "/v1/models", &[], b""),
                timeout,
            );
            let err = match call {
                Err(e) => e,
                Ok(call) => d.wait_blocking(call, 1000).unwrap_err(),
            };
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidCall,
                "deadline {deadline}, timeout {timeout}"
            );
        }
        assert!(t.sent.lock().unwrap().is_empty(), "nothing was sent");
        d.close();
    }

    #[test]
    fn a_line_break_in_a_block_s_header_value_is_an_invalid_call_and_nothing_is_sent() {
        let (d, t) = driver(2);
        let evil = block(
            "GET",
            "/v1/models",
            &[("X-Evil", "a\r\nHost: elsewhere")],
            b"",
        );
        assert_eq!(
            d.start_block(evil, crate::blocks::NOT_GIVEN)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidCall
        );
        assert!(t.sent.lock().unwrap().is_empty());
        d.close();
    }

    #[test]
    fn a_malformed_call_block_is_an_invalid_call() {
        let (d, t) = driver(2);
        let mut cut = block("GET", "/v1/models", &[("A", "b")], b"");
        cut.truncate(cut.len() - 1);
        let mut short = vec![0; 10];
        short.extend_from_slice(&[0, 0, 0, 9, b'G']);
        for bad in [vec![], vec![0], vec![0, 0, 0, 0, 0, 9, b'G'], cut, short] {
            let e = d
                .start_block(bad.clone(), crate::blocks::NOT_GIVEN)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidCall, "{bad:?}");
        }
        assert!(t.sent.lock().unwrap().is_empty());
        d.close();
    }

    #[test]
    fn an_answer_block_splits_at_head_len_into_head_and_body() {
        let (d, t) = driver(1);
        let call = d
            .start_block(
                block("GET", "/v1/models", &[], b""),
                crate::blocks::NOT_GIVEN,
            )
            .unwrap();
        let (_req, reply) = next(&t);
        let head = b"content-type: application/json\nretry-after: 7";
        let mut message = head.to_vec();
        message.extend_from_slice(br#"{"error":{"message":"nope"}}"#);
        reply.answer(429, u32::try_from(head.len()).unwrap(), message);
        let crate::PolarGridError::Failed { failure } = d.wait_blocking(call, 0).unwrap_err();
        assert_eq!(failure.kind, ErrorKind::RateLimited);
        assert_eq!(failure.retry_after_ms, Some(7000));
        assert_eq!(failure.server_message.as_deref(), Some("nope"));
        d.close();
    }
}
