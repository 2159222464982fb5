//! Call scenarios: request ids, backoff with jitter, Retry-After, the attempt limit, the
//! retry budget, the non-idempotent rule, single endings, cancellation, answers out of
//! order or unknown, direct mode, determinism.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use core::time::Duration;

use polargrid_core::{
    CallId, CallSpec, Config, ErrorKind, Event, HttpRequest, HttpResponse, Method, MisuseError,
    Purpose, RequestId, SessionStatus, Timestamp, TransportErrorKind,
};
use scripted::*;
use support::*;

/// Direct mode pinned to yto-01: no session and no discovery in the way, and no
/// failover (503s would otherwise move the call).
fn pinned() -> Config {
    Config::direct(KEY)
        .with_endpoints(endpoints())
        .with_region("yto-01")
}

fn post(path: &str) -> CallSpec {
    CallSpec::new(Method::Post, path)
}

fn rid(r: &HttpRequest) -> String {
    r.header("x-request-id").unwrap().to_string()
}

/// Answers each attempt of the (single) open call with the next reply; records when each
/// attempt was sent.
fn attempts(h: &mut Harness, replies: Vec<Reply>) -> Vec<u64> {
    let mut times = Vec::new();
    for reply in replies {
        if !h.has(is_call) && !h.next_wakeup() {
            break;
        }
        if !h.has(is_call) {
            break;
        }
        let c = h.take(is_call);
        times.push(h.now);
        match reply {
            Reply::Respond(resp) => h.respond(c.id, resp),
            Reply::Fail(k) => h.fail(c.id, k),
            Reply::Hold => {
                assert!(h.next_wakeup());
                assert!(aborted(h).contains(&c.id));
            }
        }
    }
    times
}

fn status(s: u16) -> Reply {
    Reply::Respond(HttpResponse::new(s))
}

// ----- request ids -----

#[test]
fn request_id_is_stable_across_retries_and_differs_between_calls() {
    let mut h = Harness::new(pinned());
    let a = h.get_models();
    let b = h.get_models();
    serve(&mut h, 100, |h, r| {
        let n = h.sent.iter().filter(|s| rid(s) == rid(r)).count();
        if n < 3 {
            Reply::Respond(HttpResponse::new(503))
        } else {
            Reply::Respond(HttpResponse::new(200))
        }
    });
    assert!(h.ready(a) && h.ready(b));
    let calls = calls_sent(&h);
    assert_eq!(calls.len(), 6);
    let mut ids: Vec<String> = calls.iter().map(|r| rid(r)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "one id per logical call: {ids:?}");
    for id in &ids {
        assert!(id.starts_with("pgc-") && id.len() == 28, "{id}");
    }
    // Each attempt is its own request for the driver.
    let mut req_ids: Vec<RequestId> = calls.iter().map(|r| r.id).collect();
    req_ids.dedup();
    assert_eq!(req_ids.len(), 6);
}

#[test]
fn request_id_is_on_the_final_error() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(c.id, json(404, r#"{"message":"nope"}"#));
    let e = h.failure(call).unwrap();
    assert_eq!(e.request_id.as_deref(), Some(rid(&c).as_str()));
    assert!(format!("{e}").contains(&rid(&c)));
}

// ----- backoff -----

#[test]
fn backoff_grows_exponentially_with_equal_jitter_within_bounds() {
    for seed in 0..20 {
        let mut cfg = pinned();
        cfg.retry.max_attempts = 9;
        cfg.retry.budget_capacity = 100;
        let mut h = Harness::seeded(cfg, seed);
        let call = h.get_models();
        let times = attempts(&mut h, (0..9).map(|_| status(500)).collect());
        assert_eq!(times.len(), 9);
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        for (i, g) in gaps.iter().enumerate() {
            // Base 250 ms doubling, capped at 8 s; equal jitter: [d/2, d].
            let d = (250u64 << i).min(8_000);
            assert!(
                (d / 2..=d).contains(g),
                "seed {seed}: gap {i} = {g} not in [{}, {d}]",
                d / 2
            );
        }
        // Until the cap, each gap is at least the previous one's upper bound: they grow.
        for w in gaps[..6].windows(2) {
            assert!(w[1] >= w[0], "seed {seed}: gaps shrink: {gaps:?}");
        }
        assert!(
            gaps[5] >= 4_000 && gaps[7] <= 8_000,
            "seed {seed}: capped at 8 s: {gaps:?}"
        );
        let e = h.failure(call).unwrap();
        assert_eq!(e.attempts, 9);
    }
}

#[test]
fn jitter_differs_between_seeds() {
    let run = |seed| {
        let mut h = Harness::seeded(pinned(), seed);
        h.get_models();
        attempts(&mut h, (0..4).map(|_| status(500)).collect())
    };
    let all: Vec<Vec<u64>> = (0..8).map(run).collect();
    let distinct = all.iter().filter(|t| **t != all[0]).count();
    assert!(distinct > 0, "jitter never varies: {all:?}");
}

// ----- Retry-After -----

#[test]
fn retry_after_seconds_is_honoured() {
    for (ra, want) in [("2", 2_000u64), ("10", 10_000), ("60", 60_000)] {
        let mut h = Harness::new(pinned());
        let call = h.get_models();
        let r = HttpResponse::new(429).with_header("Retry-After", ra);
        let times = attempts(&mut h, vec![Reply::Respond(r), status(200)]);
        assert_eq!(times[1] - times[0], want, "Retry-After: {ra}");
        assert!(h.ready(call));
    }
    // A zero Retry-After does not skip our own backoff.
    let mut h = Harness::new(pinned());
    h.get_models();
    let r = HttpResponse::new(503).with_header("Retry-After", "0");
    let times = attempts(&mut h, vec![Reply::Respond(r), status(200)]);
    assert!((125..=250).contains(&(times[1] - times[0])), "{times:?}");
}

#[test]
fn retry_after_http_date_is_honoured_against_the_server_clock() {
    for skew in [0i64, 10 * 60_000, -10 * 60_000] {
        let mut h = Harness::new(pinned());
        h.server_skew_ms = skew;
        let call = h.get_models();
        let c = h.take(is_call);
        let server = h.server_now();
        let r = HttpResponse::new(429)
            .with_header("Date", &http_date(server))
            .with_header("Retry-After", &http_date(server + 5_000));
        let t0 = h.now;
        h.respond(c.id, r);
        assert_eq!(h.endings(call), 0, "skew {skew}: waits, does not fail");
        assert!(h.next_wakeup());
        let gap = h.now - t0;
        assert!(
            (4_000..=5_000).contains(&gap),
            "skew {skew}: waited {gap} ms"
        );
        assert_eq!(h.finish_call(), call);
    }
}

#[test]
fn retry_after_beyond_the_cap_fails_at_once_with_retry_after_set() {
    let date = http_date(T0 + 3_600_000);
    for (s, ra, want) in [
        (429u16, "61", 61u64),
        (503, "120", 120),
        (429, date.as_str(), 3600),
    ] {
        let mut h = Harness::new(pinned());
        let call = h.get_models();
        let c = h.take(is_call);
        h.respond(c.id, HttpResponse::new(s).with_header("Retry-After", ra));
        let e = h.failure(call).expect("fails at once");
        assert_eq!(e.retry_after, Some(Duration::from_secs(want)), "{ra}");
        assert!(e.retryable, "the app may retry later");
        assert_eq!(e.attempts, 1);
        assert_eq!(e.status, Some(s));
        assert_eq!(calls_sent(&h).len(), 1);
        assert_eq!(h.client.poll_timeout(), None, "nothing scheduled");
        assert_eq!(h.client.retry_budget(), 10, "no retry token spent");
    }
}

// ----- attempt limit -----

#[test]
fn attempt_limit_ends_the_call_with_the_last_classified_error() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let replies = vec![
        status(500),
        Reply::Fail(TransportErrorKind::Connect),
        Reply::Respond(HttpResponse::new(429).with_header("Retry-After", "1")),
        Reply::Respond(json(502, r#"{"message":"bad gateway"}"#)),
        status(200),
    ];
    let times = attempts(&mut h, replies);
    assert_eq!(times.len(), 4, "default max_attempts is 4");
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::Server);
    assert_eq!(e.status, Some(502));
    assert_eq!(e.server_message.as_deref(), Some("bad gateway"));
    assert_eq!(e.attempts, 4);
    assert_eq!(h.endings(call), 1);
}

#[test]
fn configured_attempt_limit_is_respected() {
    for max in [1u32, 2, 6] {
        let mut cfg = pinned();
        cfg.retry.max_attempts = max;
        let mut h = Harness::new(cfg);
        let call = h.get_models();
        serve(&mut h, 100, |_, _| Reply::Fail(TransportErrorKind::Connect));
        let e = h.failure(call).unwrap();
        assert_eq!(e.attempts, max);
        assert_eq!(calls_sent(&h).len() as u32, max);
    }
}

// ----- retry budget -----

#[test]
fn retry_budget_caps_retries_across_many_failing_calls() {
    let mut h = Harness::new(pinned());
    assert_eq!(h.client.retry_budget(), 10);
    let calls: Vec<CallId> = (0..25).map(|_| h.get_models()).collect();
    serve(&mut h, 1000, |_, _| Reply::Respond(HttpResponse::new(503)));
    let sent = calls_sent(&h).len();
    assert_eq!(
        sent,
        25 + 10,
        "25 first attempts and at most 10 retries in total"
    );
    assert_eq!(h.client.retry_budget(), 0);
    for c in &calls {
        assert_eq!(h.endings(*c), 1);
        assert_eq!(h.failure(*c).unwrap().kind, ErrorKind::Server);
    }
    // With the budget spent, a failing call is not retried at all.
    let c = h.get_models();
    serve(&mut h, 10, |_, _| Reply::Respond(HttpResponse::new(503)));
    assert_eq!(h.failure(c).unwrap().attempts, 1);
}

#[test]
fn successes_refill_the_retry_budget() {
    let mut h = Harness::new(pinned());
    let calls: Vec<CallId> = (0..10).map(|_| h.get_models()).collect();
    serve(&mut h, 1000, |_, _| {
        Reply::Fail(TransportErrorKind::Connect)
    });
    assert_eq!(h.client.retry_budget(), 0);
    drop(calls);
    for i in 0..10 {
        let c = h.get_models();
        serve(&mut h, 10, |_, _| Reply::Respond(HttpResponse::new(200)));
        assert!(h.ready(c));
        let want = if i == 9 { 1 } else { 0 };
        assert_eq!(h.client.retry_budget(), want, "after {} successes", i + 1);
    }
    // The refilled token buys exactly one retry.
    let c = h.get_models();
    serve(&mut h, 20, |_, _| Reply::Respond(HttpResponse::new(500)));
    assert_eq!(h.failure(c).unwrap().attempts, 2);
    // It never grows past the capacity.
    for _ in 0..200 {
        h.get_models();
        serve(&mut h, 10, |_, _| Reply::Respond(HttpResponse::new(200)));
    }
    assert_eq!(h.client.retry_budget(), 10);
}

// ----- idempotency -----

fn faults() -> Vec<(&'static str, Reply, bool)> {
    // (what happened, reply, safe to resend a non-idempotent request)
    vec![
        ("connect", Reply::Fail(TransportErrorKind::Connect), true),
        ("dns", Reply::Fail(TransportErrorKind::Dns), true),
        ("tls", Reply::Fail(TransportErrorKind::Tls), true),
        (
            "connect timeout",
            Reply::Fail(TransportErrorKind::ConnectTimeout),
            true,
        ),
        ("429", Reply::Respond(HttpResponse::new(429)), true),
        ("503", Reply::Respond(HttpResponse::new(503)), true),
        (
            "reported timeout",
            Reply::Fail(TransportErrorKind::Timeout),
            false,
        ),
        ("timeout by deadline", Reply::Hold, false),
        ("aborted", Reply::Fail(TransportErrorKind::Aborted), false),
        ("protocol", Reply::Fail(TransportErrorKind::Protocol), false),
        ("opaque", Reply::Fail(TransportErrorKind::Opaque), false),
        ("500", Reply::Respond(HttpResponse::new(500)), false),
        ("502", Reply::Respond(HttpResponse::new(502)), false),
        ("504", Reply::Respond(HttpResponse::new(504)), false),
    ]
}

fn sends_after(spec: CallSpec, reply: Reply) -> (usize, Harness, CallId) {
    let mut h = Harness::new(pinned());
    let call = h.start(spec);
    attempts(&mut h, vec![reply, status(200)]);
    (calls_sent(&h).len(), h, call)
}

#[test]
fn non_inference_post_is_retried_only_when_it_was_never_processed() {
    for path in ["/v1/something", "/v1/chat/completions/extra"] {
        for (name, reply, safe) in faults() {
            let (sends, h, call) = sends_after(post(path), reply);
            assert_eq!(h.endings(call), 1, "{path} {name}");
            if safe {
                assert_eq!(sends, 2, "{path} {name}: retried");
                assert!(h.ready(call), "{path} {name}");
            } else {
                assert_eq!(sends, 1, "{path} {name}: must not be resent");
                let e = h.failure(call).unwrap();
                assert!(
                    e.retryable,
                    "{path} {name}: retryable by the app, not by us"
                );
                assert_eq!(e.attempts, 1);
            }
        }
    }
}

#[test]
fn inference_posts_are_retried_after_any_retryable_failure() {
    for path in [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/audio/speech",
        "/v1/audio/transcriptions",
        "/v1/chat/completions?stream=true",
        // Minting a second room token changes nothing else: safe to repeat (route docs).
        "/v1/tokens",
    ] {
        for (name, reply, _) in faults() {
            let (sends, h, call) = sends_after(post(path), reply);
            assert_eq!(sends, 2, "{path} {name}");
            assert!(h.ready(call), "{path} {name}");
        }
    }
}

#[test]
fn idempotent_methods_are_retried_and_patch_is_not() {
    for m in [Method::Get, Method::Put, Method::Delete, Method::Head] {
        let (sends, ..) = sends_after(CallSpec::new(m, "/v1/files/1"), status(500));
        assert_eq!(sends, 2, "{m}");
    }
    let (sends, ..) = sends_after(CallSpec::new(Method::Patch, "/v1/files/1"), status(500));
    assert_eq!(sends, 1);
}

#[test]
fn with_idempotent_overrides_the_default() {
    let spec = post("/v1/chat/completions").with_idempotent(false);
    for (name, reply, safe) in faults() {
        let (sends, ..) = sends_after(spec.clone(), reply);
        assert_eq!(
            sends,
            if safe { 2 } else { 1 },
            "chat, not idempotent, {name}"
        );
    }
    let spec = post("/v1/tokens").with_idempotent(true);
    for (name, reply, _) in faults() {
        let (sends, ..) = sends_after(spec.clone(), reply);
        assert_eq!(sends, 2, "tokens, idempotent, {name}");
    }
    let (sends, ..) = sends_after(
        CallSpec::new(Method::Get, "/v1/models").with_idempotent(false),
        status(500),
    );
    assert_eq!(sends, 1);
}

#[test]
fn errors_that_are_not_retryable_are_never_retried() {
    for s in [400u16, 402, 403, 404, 422, 501, 301, 418] {
        let (sends, h, call) = sends_after(CallSpec::new(Method::Get, "/v1/models"), status(s));
        assert_eq!(sends, 1, "{s}");
        assert!(!h.failure(call).unwrap().retryable, "{s}");
    }
}

// ----- endings, cancellation, ids -----

#[test]
fn every_call_ends_exactly_once_under_mixed_faults() {
    let mut h = Harness::new(direct_auto());
    let mut calls = Vec::new();
    for i in 0..40 {
        let spec = match i % 4 {
            0 => CallSpec::new(Method::Get, "/v1/models"),
            1 => post("/v1/chat/completions").with_model("m1"),
            2 => post("/v1/tokens"),
            _ => post("/v1/audio/speech").with_model("m2"),
        };
        calls.push(h.start(spec));
    }
    // Some are cancelled at once, some after a few steps (in flight or backing off).
    for c in calls.iter().step_by(9) {
        h.client.cancel_call(h.t(), *c);
    }
    h.pump();
    serve(&mut h, 5, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 30)),
        _ => Reply::Respond(HttpResponse::new(503)),
    });
    for c in calls.iter().skip(4).step_by(9) {
        h.client.cancel_call(h.t(), *c);
    }
    h.pump();
    let mut n = 0u64;
    serve(&mut h, 5000, |_, r| {
        n += 1;
        match (r.purpose, n % 7) {
            (Purpose::Discover, 0) => Reply::Hold,
            (Purpose::Discover, _) => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 30)),
            (_, 0) => Reply::Respond(HttpResponse::new(200)),
            (_, 1) => Reply::Fail(TransportErrorKind::Connect),
            (_, 2) => Reply::Respond(HttpResponse::new(503)),
            (_, 3) => Reply::Fail(TransportErrorKind::Aborted),
            (_, 4) => Reply::Hold,
            (_, 5) => Reply::Respond(HttpResponse::new(429).with_header("Retry-After", "1")),
            _ => Reply::Respond(HttpResponse::new(200)),
        }
    });
    for (i, c) in calls.iter().enumerate() {
        assert_eq!(h.endings(*c), 1, "call {i}");
        if i % 9 == 0 {
            let cancelled = h.events.contains(&Event::CallCancelled { call: *c });
            assert!(cancelled, "call {i} was cancelled before it was sent");
        }
        assert!(!h.client.cancel_call(h.t(), *c), "call {i} already ended");
    }
    let mid_flight = calls
        .iter()
        .skip(4)
        .step_by(9)
        .filter(|c| h.events.contains(&Event::CallCancelled { call: **c }))
        .count();
    assert!(
        mid_flight > 0,
        "some calls were cancelled while still retrying"
    );
    assert_eq!(h.client.open_calls(), 0);
    assert_eq!(h.client.poll_timeout(), None);
}

fn direct_auto() -> Config {
    Config::direct(KEY).with_endpoints(endpoints())
}

#[test]
fn cancel_of_an_in_flight_call_aborts_it_and_ignores_the_late_answer() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let c = h.take(is_call);
    assert!(h.client.cancel_call(h.t(), call));
    h.pump();
    let tail: Vec<&Event> = h.events.iter().rev().take(2).collect();
    assert!(
        tail.contains(&&Event::Abort { request: c.id }),
        "{:?}",
        h.events
    );
    assert!(
        tail.contains(&&Event::CallCancelled { call }),
        "{:?}",
        h.events
    );
    assert_eq!(h.client.open_calls(), 0);
    assert_eq!(
        h.client.poll_timeout(),
        None,
        "the aborted request's deadline is gone"
    );
    // The late answer is accepted and ignored.
    assert_eq!(
        h.client
            .handle_response(h.t(), c.id, HttpResponse::new(200)),
        Ok(())
    );
    h.pump();
    assert!(!h.ready(call));
    assert_eq!(h.endings(call), 1);
    assert!(!h.client.cancel_call(h.t(), call), "already ended");
    // A second answer for it is an error.
    assert_eq!(
        h.client
            .handle_response(h.t(), c.id, HttpResponse::new(200)),
        Err(MisuseError::UnknownRequest(c.id))
    );
}

#[test]
fn cancel_during_backoff_sends_nothing_more() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(c.id, HttpResponse::new(503));
    assert!(h.client.poll_timeout().is_some());
    assert!(h.client.cancel_call(h.t(), call));
    h.pump();
    assert!(
        !h.events.iter().any(|e| matches!(e, Event::Abort { .. })),
        "nothing in flight"
    );
    assert_eq!(h.client.poll_timeout(), None);
    h.advance(10_000);
    assert_eq!(calls_sent(&h).len(), 1);
    assert_eq!(h.endings(call), 1);
}

#[test]
fn cancel_while_waiting_for_discovery_sends_no_call() {
    let mut h = Harness::new(direct_auto());
    let call = h.get_models();
    let d = h.take(is_discover);
    assert!(h.client.cancel_call(h.t(), call));
    h.respond(d.id, route_answer("yto-01", &edge("yto-01"), 60));
    assert!(!h.has(is_call));
    assert_eq!(h.endings(call), 1);
}

#[test]
fn responses_out_of_order_are_matched_by_request_id() {
    let mut h = Harness::new(pinned());
    let a = h.get_models();
    let b = h.get_models();
    let c = h.get_models();
    let ra = h.take(is_call);
    let rb = h.take(is_call);
    let rc = h.take(is_call);
    h.respond(rc.id, HttpResponse::new(200));
    h.respond(ra.id, json(404, r#"{"message":"a"}"#));
    h.respond(rb.id, HttpResponse::new(200));
    let ready: Vec<(CallId, RequestId)> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CallReady { call, request, .. } => Some((*call, *request)),
            _ => None,
        })
        .collect();
    assert_eq!(ready, [(c, rc.id), (b, rb.id)]);
    assert_eq!(h.failure(a).unwrap().server_message.as_deref(), Some("a"));
    assert_eq!(
        h.failure(a).unwrap().request_id.as_deref(),
        Some(rid(&ra).as_str())
    );
}

fn state(h: &Harness) -> (SessionStatus, usize, Option<Timestamp>, u32, Option<String>) {
    (
        h.client.session_status(),
        h.client.open_calls(),
        h.client.poll_timeout(),
        h.client.retry_budget(),
        h.client.current_region().map(str::to_string),
    )
}

#[test]
fn unknown_request_id_is_misuse_and_changes_nothing() {
    for cfg in [pinned(), session_config()] {
        let mut h = Harness::new(cfg);
        h.get_models();
        h.pump();
        let before = state(&h);
        let (sent, events) = (h.sent.len(), h.events.len());
        let bogus = RequestId(9_999);
        let later = Timestamp(h.now + HOUR);
        assert_eq!(
            h.client
                .handle_response(later, bogus, HttpResponse::new(200)),
            Err(MisuseError::UnknownRequest(bogus))
        );
        assert_eq!(
            h.client
                .handle_transport_error(later, bogus, TransportErrorKind::Connect),
            Err(MisuseError::UnknownRequest(bogus))
        );
        assert!(h
            .client
            .handle_response(later, RequestId(0), HttpResponse::new(500))
            .is_err());
        h.pump();
        assert_eq!(state(&h), before);
        assert_eq!(
            (h.sent.len(), h.events.len()),
            (sent, events),
            "no requests or events"
        );
        // A clock far in the past passed with a bogus id is not taken as a jump either.
        let past = Timestamp(h.now - DAY);
        assert!(h
            .client
            .handle_response(past, bogus, HttpResponse::new(200))
            .is_err());
        assert_eq!(state(&h), before);
    }
}

#[test]
fn answering_the_same_request_twice_is_an_error_the_second_time() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let c = h.take(is_call);
    assert_eq!(
        h.client
            .handle_response(h.t(), c.id, HttpResponse::new(200)),
        Ok(())
    );
    h.pump();
    let before = state(&h);
    assert_eq!(
        h.client
            .handle_response(h.t(), c.id, HttpResponse::new(500)),
        Err(MisuseError::UnknownRequest(c.id))
    );
    assert_eq!(
        h.client
            .handle_transport_error(h.t(), c.id, TransportErrorKind::Aborted),
        Err(MisuseError::UnknownRequest(c.id))
    );
    h.pump();
    assert_eq!(state(&h), before);
    assert_eq!(h.endings(call), 1);
    // Same for a request the core timed out: its late answer once, then an error.
    let call = h.get_models();
    let c = h.take(is_call);
    assert!(h.next_wakeup());
    assert!(aborted(&h).contains(&c.id));
    assert_eq!(
        h.client
            .handle_transport_error(h.t(), c.id, TransportErrorKind::Timeout),
        Ok(())
    );
    assert!(h
        .client
        .handle_response(h.t(), c.id, HttpResponse::new(200))
        .is_err());
    h.pump();
    assert_eq!(h.endings(call), 0, "still retrying");
}

// ----- direct mode -----

#[test]
fn direct_mode_sends_the_key_to_the_edge_and_never_exchanges() {
    let mut h = Harness::new(direct_auto());
    assert_eq!(h.client.session_status(), SessionStatus::Direct);
    let call = h.get_models();
    let d = h.take(is_discover);
    assert_eq!(d.header("authorization"), None);
    h.respond(d.id, route_answer("yto-01", &edge("yto-01"), 60));
    let c = h.take(is_call);
    assert_eq!(
        c.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!format!("{c:?}").contains(KEY), "Debug redacts the key");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
    h.now += 2 * DAY;
    h.get_models();
    serve(&mut h, 50, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 60)),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    assert_eq!(h.count_sent(is_exchange) + h.count_sent(is_refresh), 0);
    assert_eq!(h.client.session_snapshot(), None);
    assert!(
        h.client.hand_over(h.t(), "{}").is_err(),
        "no sessions in direct mode"
    );
}

#[test]
fn direct_mode_401_is_invalid_key_without_a_replay() {
    let mut h = Harness::new(pinned());
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(c.id, json(401, r#"{"message":"Invalid API key"}"#));
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidApiKey);
    assert!(!e.retryable);
    assert_eq!(e.attempts, 1);
    assert_eq!(calls_sent(&h).len(), 1);
    assert_eq!(h.count_sent(is_exchange) + h.count_sent(is_refresh), 0);
    assert_eq!(h.client.poll_timeout(), None, "nothing left to do");
    assert_eq!(h.client.open_calls(), 0);
}

// ----- determinism -----

/// A scenario with discovery, failover, retries with jitter, Retry-After, a cancel and
/// several calls; returns what was sent (with the time it was sent) and the events.
fn scenario(seed: u64) -> (String, Vec<(u64, String)>, String) {
    let mut h = Harness::seeded(direct_auto(), seed);
    let mut calls = Vec::new();
    for i in 0..6 {
        calls.push(
            h.start(post("/v1/chat/completions").with_model(if i % 2 == 0 { "a" } else { "b" })),
        );
    }
    let mut timeline = Vec::new();
    let mut n = 0;
    serve(&mut h, 2000, |h, r| {
        n += 1;
        timeline.push((h.now, r.header("x-request-id").unwrap_or("-").to_string()));
        match r.purpose {
            Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 600)),
            _ if host(&r.url) == "api.yto-01.edge.polargrid.ai" && n % 3 != 0 => {
                Reply::Respond(HttpResponse::new(503))
            }
            _ if n % 5 == 0 => {
                Reply::Respond(HttpResponse::new(429).with_header("Retry-After", "1"))
            }
            _ => Reply::Respond(HttpResponse::new(200)),
        }
    });
    h.client.cancel_call(h.t(), calls[5]);
    h.pump();
    (format!("{:?}", h.sent), timeline, format!("{:?}", h.events))
}

#[test]
fn same_seed_and_inputs_give_identical_requests_ids_and_timing() {
    let a = scenario(42);
    let b = scenario(42);
    assert_eq!(a.0, b.0, "requests differ");
    assert_eq!(a.1, b.1, "request ids or send times differ");
    assert_eq!(a.2, b.2, "events differ");
    assert!(a.1.len() > 10, "the scenario did something: {:?}", a.1);
    let c = scenario(43);
    let ids = |t: &[(u64, String)]| t.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>();
    assert_ne!(ids(&a.1), ids(&c.1), "another seed gives other request ids");
}
