//! Many open calls at once, and the bookkeeping that keeps each input's cost independent of
//! how many there are (waiting queue, calls parked on a discovery, one timer heap, the
//! outbox): every call still goes out once and ends once, parked calls are not forgotten
//! when their discovery fails, withdrawn requests never reach the driver, and deadlines
//! follow the clock. The per-call cost itself is printed by `make bench`, not asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use polargrid_core::{
    CallSpec, Config, ErrorKind, Event, HttpResponse, Method, Purpose, Timestamp,
    TransportErrorKind,
};
use scripted::*;
use support::*;

fn header<'a>(r: &'a polargrid_core::HttpRequest, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn two_thousand_calls_at_jwt_expiry_go_out_after_exactly_one_refresh() {
    let mut h = Harness::new(session_config());
    let first = h.get_models();
    h.run(50, healthy(HOUR));
    assert!(h.ready(first));
    let refreshes = h.count_sent(is_refresh);
    // Past the JWT's expiry (and the route's ttl) before the client hears of it.
    h.now += 2 * HOUR;
    let calls: Vec<_> = (0..2000)
        .map(|_| {
            h.client
                .start_call(h.t(), CallSpec::new(Method::Get, "/v1/models"))
                .unwrap()
        })
        .collect();
    h.pump();
    assert_eq!(
        h.count_sent(is_refresh),
        refreshes + 1,
        "one refresh for all"
    );
    assert_eq!(
        h.count_sent(is_call),
        1,
        "no call goes out on an expired JWT"
    );
    let refresh = h.take(is_refresh);
    h.respond(
        refresh.id,
        session_answer(h.server_now(), HOUR, "rt_next", None),
    );
    routed_to(&mut h, "yto-01", 3600);
    let sent: Vec<_> = h
        .outstanding
        .iter()
        .filter(|r| is_call(&r.purpose))
        .collect();
    assert_eq!(sent.len(), 2000);
    let traces: BTreeSet<&str> = sent.iter().map(|r| header(r, "X-Request-ID")).collect();
    assert_eq!(traces.len(), 2000, "one X-Request-ID per call");
    while let Some(r) = h.outstanding.pop_front() {
        h.respond(r.id, HttpResponse::new(200));
    }
    assert!(calls.iter().all(|c| h.endings(*c) == 1 && h.ready(*c)));
    assert_eq!(h.client.open_calls(), 0);
    assert_eq!(h.count_sent(is_refresh), refreshes + 1);
    // No deadline of a finished request or call is left behind: the next wake-up is the
    // session's proactive refresh, in the future.
    let next = h.client.poll_timeout().unwrap();
    assert!(next > h.t(), "{next:?}");
}

#[test]
fn calls_parked_on_a_discovery_that_fails_go_out_on_the_fallback_region() {
    for kind in [TransportErrorKind::Connect, TransportErrorKind::Timeout] {
        let mut h = Harness::new(direct());
        let calls: Vec<_> = (0..3)
            .map(|_| h.start(CallSpec::new(Method::Post, "/v1/chat/completions").with_model("m")))
            .collect();
        let d = h.take(is_discover);
        assert!(!h.has(is_call), "calls wait for their route");
        if kind == TransportErrorKind::Timeout {
            assert!(h.next_wakeup(), "the discovery's timeout");
        } else {
            h.fail(d.id, kind);
        }
        let sent = calls_sent(&h);
        assert_eq!(sent.len(), 3, "{kind:?}: every parked call goes out");
        assert!(sent.iter().all(|r| host(&r.url) == host(&edge("yto-01"))));
        while h.has(is_call) {
            ok_call(&mut h);
        }
        assert!(calls.iter().all(|c| h.ready(*c)));
        assert_eq!(h.client.open_calls(), 0);
    }
}

#[test]
fn cancelling_a_call_before_its_request_is_polled_withdraws_the_request() {
    let mut h = Harness::new(Config::direct(KEY).with_base_url(&edge("yto-01")));
    let spec = CallSpec::new(Method::Get, "/v1/models");
    let a = h.client.start_call(h.t(), spec.clone()).unwrap();
    let b = h.client.start_call(h.t(), spec.clone()).unwrap();
    let c = h.client.start_call(h.t(), spec).unwrap();
    assert!(h.client.cancel_call(h.t(), b));
    h.pump();
    let sent: Vec<_> = calls_sent(&h)
        .iter()
        .map(|r| match r.purpose {
            Purpose::Call(id) => id,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        sent,
        vec![a, c],
        "the cancelled call's request never reaches the driver"
    );
    assert!(
        aborted(&h).is_empty(),
        "nothing was sent, so nothing to abort"
    );
    assert_eq!(h.endings(b), 1);
    while h.has(is_call) {
        ok_call(&mut h);
    }
    assert!(h.ready(a) && h.ready(c));
}

#[test]
fn a_clock_step_back_moves_a_pending_backoff_with_it() {
    let mut h = Harness::new(Config::direct(KEY).with_base_url(&edge("yto-01")));
    let call = h.get_models();
    let r = h.take(is_call);
    h.respond(r.id, HttpResponse::new(503).with_header("Retry-After", "2"));
    let retry_at = h.client.poll_timeout().unwrap();
    assert!(retry_at.as_millis() >= h.now + 2000);
    h.set_clock(h.now - HOUR);
    assert_eq!(
        h.client.poll_timeout(),
        Some(Timestamp(retry_at.as_millis() - HOUR)),
        "the backoff moved back with the clock"
    );
    assert!(!h.has(is_call));
    assert!(h.next_wakeup());
    ok_call(&mut h);
    assert!(h.ready(call));
}

#[test]
fn handoff_calls_that_arrive_after_the_session_ended_each_wait_their_own_time() {
    let mut cfg = Config::handoff().with_endpoints(endpoints());
    cfg.handoff_wait = Duration::from_secs(10);
    let mut h = Harness::new(cfg);
    let a = h.get_models();
    h.advance(4_000);
    let b = h.get_models();
    assert!(h.next_wakeup());
    assert_eq!(h.now, T0 + 10_000);
    assert_eq!(h.failure(a).map(|e| e.kind), Some(ErrorKind::NoSession));
    assert_eq!(h.endings(b), 0, "the later call still waits");
    assert!(h.next_wakeup());
    assert_eq!(h.now, T0 + 14_000);
    assert_eq!(h.failure(b).map(|e| e.kind), Some(ErrorKind::NoSession));
    assert_eq!(h.client.open_calls(), 0);
    assert!(!h
        .events
        .iter()
        .any(|e| matches!(e, Event::CallReady { .. })));
}
