//! The block transport against the record one: the same facts in a request block, the
//! first attempt handed back inline, answers by id, the ending in the answer's crossing.

use std::sync::{Arc, Mutex};

use super::{encode, HEAD};
use crate::blocks::tests::{block, deadline_block};
use crate::tests::{next, options};
use crate::{BlockTransport, Driver, ErrorKind, Purpose, TransportErrorKind};

/// Keeps what crosses through the foreign side.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(u64, Vec<u8>)>>,
    released: Mutex<Vec<u64>>,
}

impl BlockTransport for Recorder {
    fn send(&self, request_id: u64, request: Vec<u8>) {
        self.sent.lock().unwrap().push((request_id, request));
    }
    fn release(&self, request_id: u64) {
        self.released.lock().unwrap().push(request_id);
    }
}

fn blocks_driver(max_attempts: u32) -> (Arc<Driver>, Arc<Recorder>) {
    let t = Arc::new(Recorder::default());
    let d = Driver::with_blocks(options(max_attempts), t.clone(), None).unwrap();
    (d, t)
}

/// A request block read back field by field (the layout in `heads`' docs).
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    purpose: u8,
    call: u64,
    timeout_ms: u64,
    connect_timeout_ms: u64,
    body_limit: u32,
    method: String,
    url: String,
    headers: String,
    body: Option<Vec<u8>>,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

fn decode(b: &[u8]) -> Decoded {
    let (m, u, h) = (u32_at(b, 30), u32_at(b, 34), u32_at(b, 38));
    let text = |from: usize, len: usize| String::from_utf8(b[from..from + len].to_vec()).unwrap();
    let rest = HEAD + m + u + h;
    Decoded {
        purpose: b[0],
        call: u64_at(b, 2),
        timeout_ms: u64_at(b, 10),
        connect_timeout_ms: u64_at(b, 18),
        body_limit: u32::try_from(u32_at(b, 26)).unwrap(),
        method: text(HEAD, m),
        url: text(HEAD + m, u),
        headers: text(HEAD + m + u, h),
        body: (b[1] == 1).then(|| b[rest..].to_vec()),
    }
}

/// The inline block: the call id and each request's id and block.
fn inline(b: &[u8]) -> (u64, Vec<(u64, Vec<u8>)>) {
    let mut at = 12;
    let mut sent = Vec::new();
    for _ in 0..u32_at(b, 8) {
        let len = u32_at(b, at + 8);
        sent.push((u64_at(b, at), b[at + 12..at + 12 + len].to_vec()));
        at += 12 + len;
    }
    assert_eq!(at, b.len(), "nothing after the last request");
    (u64_at(b, 0), sent)
}

const CHAT_HEADERS: [(&str, &str); 2] = [("Content-Type", "application/json"), ("X-Trace", "a: b")];
const CHAT_BODY: &[u8] = br#"{"model":"m"}"#;

#[test]
fn a_request_block_says_exactly_what_the_record_says() {
    let (records, scripted) = crate::tests::driver(2);
    let headers = CHAT_HEADERS.map(|(name, value)| crate::Header {
        name: name.into(),
        value: value.into(),
    });
    let record_call = crate::CallRequest {
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        body: Some(CHAT_BODY.to_vec()),
        headers: headers.to_vec(),
        model: None,
        idempotent: None,
        timeout_ms: Some(1500),
        deadline_ms: Some(900),
    };
    records.start(record_call).unwrap();
    let (record, _reply) = next(&scripted);
    let (d, _t) = blocks_driver(2);
    let with_deadline = deadline_block(
        900,
        "POST",
        "/v1/chat/completions",
        &CHAT_HEADERS,
        CHAT_BODY,
    );
    let (call, sent) = inline(&d.start_inline(with_deadline, 1500).unwrap());
    let [(id, request)] = &sent[..] else {
        panic!("one request: {sent:?}")
    };
    assert_eq!((record.id, record.purpose), (*id, Purpose::Call));
    let expected = Decoded {
        purpose: 3,
        call: record.call.unwrap(),
        timeout_ms: record.timeout_ms,
        connect_timeout_ms: record.connect_timeout_ms,
        body_limit: record.body_limit,
        method: record.method.clone(),
        url: record.url.clone(),
        headers: record.headers.clone(),
        body: record.body.clone(),
    };
    assert_eq!(decode(request), expected);
    assert_eq!(
        (call, expected.timeout_ms, expected.body_limit),
        (expected.call, 900, 4096),
        "the call's deadline bounds its attempt, in both spellings"
    );
    assert!(
        expected.headers.contains("\r\nX-Trace: a: b"),
        "{}",
        expected.headers
    );
    records.close();
    d.close();
}

#[test]
fn the_core_s_own_requests_and_bodiless_calls_keep_their_purpose_and_no_body() {
    let mut r = polargrid_core::HttpRequest {
        id: polargrid_core::RequestId(9),
        purpose: polargrid_core::Purpose::Discover,
        method: polargrid_core::Method::Get,
        url: "https://router.example/v1/route?x=1".into(),
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
        timeout: std::time::Duration::from_millis(700),
        connect_timeout: std::time::Duration::from_millis(300),
    };
    let got = decode(&encode(&r));
    assert_eq!((got.purpose, got.call, got.body), (2, 0, None));
    assert_eq!(
        (got.timeout_ms, got.connect_timeout_ms, got.body_limit),
        (700, 300, 65536)
    );
    assert_eq!(
        (got.method.as_str(), got.headers.as_str()),
        ("GET", "Accept: application/json")
    );
    r.body = Some(vec![]);
    r.headers.clear();
    let got = decode(&encode(&r));
    assert_eq!((got.body, got.headers), (Some(vec![]), String::new()));
}

#[test]
fn a_start_hands_its_first_attempt_back_inline_and_nothing_crosses_send() {
    let (d, t) = blocks_driver(2);
    let (call, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(decode(&sent[0].1).call, call);
    assert!(t.sent.lock().unwrap().is_empty());
    // Outside `start_inline` the same send crosses through the transport.
    d.start_block(
        block("GET", "/v1/models", &[], b""),
        crate::blocks::NOT_GIVEN,
    )
    .unwrap();
    assert_eq!(t.sent.lock().unwrap().len(), 1);
    d.close();
}

#[test]
fn an_answer_with_collect_ends_the_call_in_the_same_crossing_with_its_region() {
    let (d, _t) = blocks_driver(2);
    for _ in 0..2 {
        let (call, sent) = inline(
            &d.start_inline(
                block("GET", "/v1/models", &[], b""),
                crate::blocks::NOT_GIVEN,
            )
            .unwrap(),
        );
        let code = d
            .answer(sent[0].0, 200, 5, b"a: b\n".to_vec(), true)
            .unwrap();
        assert_eq!(code, 2, "the same region keeps its code");
        assert_eq!(d.wait_blocking(call, 0).unwrap(), None, "collected already");
    }
    assert!(d.region_name(2).is_some());
    assert_eq!(
        (d.region_name(0), d.region_name(1), d.region_name(3)),
        (None, None, None)
    );
    d.close();
}

#[test]
fn an_answer_without_collect_leaves_the_ending_to_wait_for() {
    let (d, _t) = blocks_driver(2);
    let (call, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    assert_eq!(d.answer(sent[0].0, 200, 0, vec![], false).unwrap(), 0);
    let r = d.wait_blocking(call, 0).unwrap().expect("ended");
    assert_eq!(r.request_id, sent[0].0);
    d.close();
}

#[test]
fn a_failed_call_is_the_answer_s_error_and_a_transport_failure_the_fail_s() {
    let (d, _t) = blocks_driver(1);
    let (_, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    let message = b"retry-after: 3{\"error\":{\"message\":\"slow down\"}}".to_vec();
    let e = d.answer(sent[0].0, 429, 14, message, true).unwrap_err();
    let crate::PolarGridError::Failed { failure } = e;
    assert_eq!(
        (failure.kind, failure.retry_after_ms),
        (ErrorKind::RateLimited, Some(3000))
    );
    assert_eq!(failure.server_message.as_deref(), Some("slow down"));
    let (_, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    let e = d
        .fail(sent[0].0, TransportErrorKind::Connect, true)
        .unwrap_err();
    let crate::PolarGridError::Failed { failure } = e;
    assert_eq!(
        (failure.kind, failure.transport),
        (ErrorKind::Network, Some(TransportErrorKind::Connect))
    );
    d.close();
}

#[test]
fn a_refused_call_block_sends_nothing_and_is_an_invalid_call() {
    let (d, t) = blocks_driver(2);
    let evil = block("GET", "/v1/models", &[("X-Evil", "a\nb")], b"");
    for bad in [evil, vec![0, 0, 0]] {
        assert_eq!(
            d.start_inline(bad, crate::blocks::NOT_GIVEN)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidCall
        );
    }
    assert!(t.sent.lock().unwrap().is_empty());
    d.close();
}

#[test]
fn a_released_request_s_late_answer_and_an_unknown_id_are_ignored() {
    let (d, t) = blocks_driver(2);
    let (call, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    assert!(d.cancel(call));
    assert!(t.released.lock().unwrap().contains(&sent[0].0));
    assert_eq!(d.answer(sent[0].0, 200, 0, vec![], true).unwrap(), 0);
    assert_eq!(d.fail(12345, TransportErrorKind::Timeout, true).unwrap(), 0);
    assert_eq!(d.wait_blocking(call, 0).unwrap(), None);
    d.close();
}

#[test]
fn an_ending_collected_for_another_request_is_kept_for_wait_and_cancel() {
    let (d, t) = blocks_driver(2);
    let blocks = d.blocks().unwrap();
    for cancel in [false, true] {
        let (call, sent) = inline(
            &d.start_inline(
                block("GET", "/v1/models", &[], b""),
                crate::blocks::NOT_GIVEN,
            )
            .unwrap(),
        );
        d.answer(sent[0].0, 200, 0, vec![], false).unwrap();
        assert_eq!(
            d.settle(blocks, sent[0].0 + 1, Some(call), true).unwrap(),
            0
        );
        if cancel {
            assert!(d.cancel(call));
            assert!(t.released.lock().unwrap().contains(&sent[0].0));
        } else {
            let r = d
                .wait_blocking(call, 0)
                .unwrap()
                .expect("kept for the waiter");
            assert_eq!(r.request_id, sent[0].0);
        }
    }
    d.close();
}

#[test]
fn a_records_driver_answers_start_inline_with_no_request_and_ignores_answers_by_id() {
    let (d, t) = crate::tests::driver(2);
    let (call, sent) = inline(
        &d.start_inline(
            block("GET", "/v1/models", &[], b""),
            crate::blocks::NOT_GIVEN,
        )
        .unwrap(),
    );
    assert!(sent.is_empty());
    let (req, _reply) = next(&t);
    assert_eq!(req.call, Some(call));
    assert_eq!(d.answer(req.id, 200, 0, vec![], true).unwrap(), 0);
    assert_eq!(d.region_name(2), None);
    d.close();
}
