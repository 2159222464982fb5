//! The transport contract every binding follows: the failure table and what each
//! certainty means for a call (certain → elsewhere, ambiguous → in place if safe, opaque
//! → elsewhere only if safe), the whole-call deadline, header hygiene both ways, the
//! request record (connect timeout, body limits), redirects as classified answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use core::time::Duration;

use polargrid_core::{
    check_header, CallSpec, Certainty, ErrorKind, HeaderText, HttpResponse, Method, Purpose,
    TransportErrorKind,
};
use scripted::*;
use support::*;

fn post(path: &str) -> CallSpec {
    CallSpec::new(Method::Post, path)
}

#[test]
fn failure_table_sorts_every_kind_into_one_certainty() {
    use TransportErrorKind::*;
    let certain = [Dns, Connect, Tls, ConnectTimeout];
    let ambiguous = [Timeout, Aborted, Protocol];
    for k in TransportErrorKind::ALL {
        let want = if certain.contains(&k) {
            Certainty::Certain
        } else if ambiguous.contains(&k) {
            Certainty::Ambiguous
        } else {
            Certainty::Opaque
        };
        assert_eq!(k.certainty(), want, "{k}");
        assert_eq!(k.never_sent(), want == Certainty::Certain, "{k}");
        assert_eq!(TransportErrorKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(TransportErrorKind::parse("refused"), None);
}

#[test]
fn connect_timeout_is_certain_and_the_call_fails_over_at_once() {
    let mut h = Harness::new(direct());
    let call = h.start(post("/v1/something").with_idempotent(false));
    routed_to(&mut h, "yto-01", 3600);
    let c = h.take(is_call);
    assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai");
    h.fail(c.id, TransportErrorKind::ConnectTimeout);
    assert!(h.next_wakeup());
    // Not even a POST that is unsafe to repeat stays: nothing reached the server.
    let c = h.take(is_call);
    assert_ne!(host(&c.url), "api.yto-01.edge.polargrid.ai");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn opaque_failure_of_a_get_tries_another_region() {
    let mut h = Harness::new(direct());
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let c = h.take(is_call);
    h.fail(c.id, TransportErrorKind::Opaque);
    assert!(h.next_wakeup());
    let c = h.take(is_call);
    assert_eq!(
        host(&c.url),
        "api.yul-01.edge.polargrid.ai",
        "same country next"
    );
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn opaque_failures_with_two_regions_refusing_reach_the_third() {
    // A page's fetch cannot tell a refusal from anything else: with the autorouter on and
    // two regions down, a GET still reaches the one that is up (issue 19's outage).
    let mut h = Harness::new(direct());
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let mut tried = Vec::new();
    serve(&mut h, 100, |_, r| match r.purpose {
        Purpose::Call(_) => {
            tried.push(host(&r.url).to_string());
            if r.url.contains("nyc-01") {
                Reply::Respond(HttpResponse::new(200))
            } else {
                Reply::Fail(TransportErrorKind::Opaque)
            }
        }
        _ => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
    });
    assert!(h.ready(call), "tried {tried:?}");
    assert_eq!(tried.len(), 3, "each region once: {tried:?}");
}

#[test]
fn opaque_failure_of_an_unsafe_post_fails_at_once_with_an_honest_cause() {
    let mut h = Harness::new(direct());
    let call = h.start(post("/v1/something"));
    routed_to(&mut h, "yto-01", 3600);
    let c = h.take(is_call);
    h.fail(c.id, TransportErrorKind::Opaque);
    let e = h.failure(call).expect("failed without a retry");
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Opaque));
    assert_eq!(e.attempts, 1);
    assert!(e.cause.contains("did not say why"), "{}", e.cause);
    assert!(!e.cause.contains("after the request was sent"));
    assert!(
        e.fix.contains("CSP") || e.fix.contains("connect-src"),
        "{}",
        e.fix
    );
}

#[test]
fn repeated_opaque_failures_mark_a_region_down_for_other_calls() {
    let mut h = Harness::new(direct());
    let mut first_tries = Vec::new();
    for _ in 0..3 {
        let call = h.get_models();
        let mut first = None;
        serve(&mut h, 100, |_, r| match r.purpose {
            Purpose::Call(_) => {
                first.get_or_insert_with(|| host(&r.url).to_string());
                if r.url.contains("yto-01") {
                    Reply::Fail(TransportErrorKind::Opaque)
                } else {
                    Reply::Respond(HttpResponse::new(200))
                }
            }
            _ => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
        });
        assert!(h.ready(call));
        first_tries.push(first.unwrap());
    }
    // Two opaque failures in a row mark yto-01 down: the third call starts elsewhere.
    assert_eq!(first_tries[0], "api.yto-01.edge.polargrid.ai");
    assert_eq!(first_tries[1], "api.yto-01.edge.polargrid.ai");
    assert_ne!(
        first_tries[2], "api.yto-01.edge.polargrid.ai",
        "{first_tries:?}"
    );
}

#[test]
fn protocol_failure_is_ambiguous_retried_in_place_only_when_safe() {
    for (spec, resent) in [
        (CallSpec::new(Method::Get, "/v1/models"), true),
        (post("/v1/something"), false),
    ] {
        let mut cfg = direct();
        cfg.routing = polargrid_core::Routing::Region("yto-01".into());
        let mut h = Harness::new(cfg);
        let call = h.start(spec);
        let c = h.take(is_call);
        h.fail(c.id, TransportErrorKind::Protocol);
        if resent {
            assert!(h.next_wakeup());
            let c = h.take(is_call);
            assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai");
            h.respond(c.id, HttpResponse::new(200));
            assert!(h.ready(call));
        } else {
            let e = h.failure(call).unwrap();
            assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Protocol));
        }
    }
}

#[test]
fn answer_with_a_header_breaking_hygiene_is_a_protocol_failure() {
    let bad = [
        ("x-evil", "a\rb".to_string()),
        ("x-evil", "a\nb".to_string()),
        ("x-evil", "a\0b".to_string()),
        ("x-big", "v".repeat(300 * 1024)),
    ];
    for (name, value) in bad {
        let mut cfg = direct();
        cfg.routing = polargrid_core::Routing::Region("yto-01".into());
        let mut h = Harness::new(cfg);
        let call = h.start(post("/v1/something"));
        let c = h.take(is_call);
        h.respond(c.id, HttpResponse::new(200).with_header(name, &value));
        let e = h.failure(call).expect("a broken head is not a success");
        assert_eq!(
            e.kind,
            ErrorKind::Network(TransportErrorKind::Protocol),
            "{name}"
        );
        assert!(!h.ready(call));
    }
}

#[test]
fn app_headers_are_checked_and_sent_after_the_cores_own() {
    let mut cfg = direct();
    cfg.routing = polargrid_core::Routing::Region("yto-01".into());
    let mut h = Harness::new(cfg);
    let spec = CallSpec::new(Method::Post, "/v1/chat/completions")
        .with_header("Content-Type", "application/json")
        .with_header("Authorization", "Bearer unused")
        .with_header("x-request-id", "mine")
        .with_header("Content-Length", "12")
        .with_header("OpenAI-Beta", "assistants=v2");
    h.start(spec);
    let c = h.take(is_call);
    let names: Vec<&str> = c.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Authorization",
            "User-Agent",
            "X-Request-ID",
            "Content-Type",
            "OpenAI-Beta"
        ]
    );
    assert_eq!(
        c.header("authorization"),
        Some(["Bearer ", KEY].concat().as_str())
    );
    assert_ne!(c.header("x-request-id"), Some("mine"));
}

#[test]
fn calls_share_the_bearer_and_user_agent_texts_and_own_only_their_request_id() {
    let mut cfg = direct();
    cfg.routing = polargrid_core::Routing::Region("yto-01".into());
    let mut h = Harness::new(cfg);
    h.start(CallSpec::new(Method::Get, "/v1/models").with_header("Accept", "text/plain"));
    h.get_models();
    let (a, b) = (h.take(is_call), h.take(is_call));
    let shared = |r: &polargrid_core::HttpRequest, name: &str| match r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        Some((HeaderText::Static(_), HeaderText::Shared(v))) => v.clone(),
        other => panic!("{name}: {other:?}"),
    };
    for name in ["authorization", "user-agent"] {
        assert!(
            std::sync::Arc::ptr_eq(&shared(&a, name), &shared(&b, name)),
            "one {name} text for every call, not a copy each"
        );
    }
    assert_eq!(&*shared(&a, "authorization"), ["Bearer ", KEY].concat());
    let rid = |r: &polargrid_core::HttpRequest| match r.headers.get(2) {
        Some((HeaderText::Static("X-Request-ID"), HeaderText::Owned(v))) => v.clone(),
        other => panic!("{other:?}"),
    };
    assert_ne!(rid(&a), rid(&b));
    // The app's own header is its own text; every text reads as the str it holds.
    assert!(matches!(
        a.headers.last(),
        Some((HeaderText::Owned(k), HeaderText::Owned(v))) if k == "Accept" && v == "text/plain"
    ));
    assert_eq!(a.header("ACCEPT"), Some("text/plain"));
    assert!(
        !format!("{a:?}").contains(KEY),
        "Debug still redacts the bearer"
    );
}

#[test]
fn app_headers_breaking_hygiene_refuse_the_call_before_any_request() {
    let cases: Vec<(String, String)> = vec![
        ("x-a".into(), "a\rb".into()),
        ("x-a".into(), "a\nb".into()),
        ("x-a".into(), "a\0b".into()),
        ("x-a".into(), "v".repeat(300 * 1024)),
        ("bad name".into(), "v".into()),
        ("".into(), "v".into()),
    ];
    for (k, v) in cases {
        let mut h = Harness::new(direct());
        let mut spec = CallSpec::new(Method::Get, "/v1/models");
        spec.headers.push((k.clone(), v));
        let e = h.client.start_call(h.t(), spec).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidCall, "{k:?}");
        assert!(!e.cause().is_empty() && !e.fix().is_empty());
        assert!(h.client.poll_request(h.t()).is_none());
    }
    let mut spec = CallSpec::new(Method::Get, "/v1/models");
    for i in 0..101 {
        spec.headers
            .push((["x-", &i.to_string()].concat(), "v".into()));
    }
    let mut h = Harness::new(direct());
    assert!(h.client.start_call(h.t(), spec).is_err(), "101 headers");
    assert!(check_header("x-ok", "tab\there is fine").is_ok());
}

#[test]
fn request_record_carries_connect_timeout_and_body_limits() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    assert_eq!(ex.connect_timeout, Duration::from_secs(10));
    assert_eq!(ex.body_limit(200), Some(64 * 1024));
    assert_eq!(ex.body_limit(500), Some(64 * 1024));
    assert_eq!(ex.read_limit(), 64 * 1024, "every answer the core reads");
    h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_1", None));
    let d = h.take(is_discover);
    // Discovery's whole budget is 2 s: it never waits longer to connect.
    assert_eq!(d.connect_timeout, Duration::from_secs(2));
    h.respond(d.id, route_answer("yto-01", &edge("yto-01"), 3600));
    let c = h.take(is_call);
    assert_eq!(
        c.body_limit(200),
        None,
        "a success body stays with the driver"
    );
    assert_eq!(c.body_limit(299), None);
    assert_eq!(c.body_limit(404), Some(4096));
    assert_eq!(c.body_limit(307), Some(4096));
    assert_eq!(
        c.read_limit(),
        4096,
        "the limit of each answer the core reads"
    );
    // The core reads the head of every answer but a call's 2xx (the app's, with its body).
    assert!(!c.reads_answer_headers(200));
    assert!(c.reads_answer_headers(404) && c.reads_answer_headers(307));
    assert!(ex.reads_answer_headers(200) && d.reads_answer_headers(200));
    assert_eq!(Purpose::Call(polargrid_core::CallId(1)).as_str(), "call");
    assert_eq!(ex.purpose.as_str(), "exchange");
}

#[test]
fn redirect_answers_are_classified_and_never_followed() {
    for status in [301u16, 302, 303, 307, 308, 300] {
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        let ex = h.take(is_exchange);
        h.respond(
            ex.id,
            HttpResponse::new(status).with_header("Location", "https://evil.example/steal"),
        );
        h.run(40, |_, r| match r.purpose {
            Purpose::Exchange => Reply::Respond(
                HttpResponse::new(status).with_header("Location", "https://evil.example/x"),
            ),
            _ => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
        });
        let e = h
            .failure(call)
            .expect("a redirected exchange fails the call");
        assert_eq!(e.status, Some(status));
        assert!(e.cause.contains("redirect"), "{}", e.cause);
        assert!(h.sent.iter().all(|r| !r.url.contains("evil.example")));
    }
}

// ----- the whole-call deadline -----

fn pinned_direct() -> polargrid_core::Config {
    let mut cfg = direct();
    cfg.routing = polargrid_core::Routing::Region("yto-01".into());
    cfg
}

#[test]
fn edge_whose_answers_never_arrive_fails_the_call_at_its_deadline_not_attempts_times_timeout() {
    let mut h = Harness::new(pinned_direct());
    let t0 = h.now;
    let call = h.get_models();
    serve(&mut h, 200, |_, _| Reply::Hold);
    let e = h.failure(call).expect("ended");
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Timeout));
    assert_eq!(h.now - t0, 120_000, "twice the 60 s attempt timeout");
    assert_eq!(h.endings(call), 1);
}

#[test]
fn deadline_shortens_the_last_attempts_timeout() {
    let mut cfg = pinned_direct();
    cfg.timeouts.call_deadline = Some(Duration::from_secs(90));
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    let c = h.take(is_call);
    assert_eq!(c.timeout, Duration::from_secs(60));
    h.advance(40_000);
    h.respond(c.id, HttpResponse::new(503));
    assert!(h.next_wakeup());
    let c2 = h.take(is_call);
    let left = 90_000 - (h.now - T0);
    assert_eq!(c2.timeout, Duration::from_millis(left));
    serve(&mut h, 50, |_, _| Reply::Hold);
    assert_eq!(h.now - T0, 90_000);
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Timeout));
    assert_eq!(e.attempts, 2);
}

#[test]
fn retry_that_would_start_after_the_deadline_fails_now() {
    let mut cfg = pinned_direct();
    cfg.timeouts.call_deadline = Some(Duration::from_secs(5));
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(
        c.id,
        HttpResponse::new(429).with_header("Retry-After", "30"),
    );
    let e = h.failure(call).expect("no retry past the deadline");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(h.now, T0, "at once");
}

#[test]
fn ready_call_is_never_cut_by_its_deadline() {
    let mut h = Harness::new(pinned_direct());
    let call = h.get_models();
    let c = h.take(is_call);
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
    h.advance(10 * 60_000);
    h.client.handle_timeout(h.t());
    h.pump();
    assert_eq!(h.endings(call), 1);
    assert!(super_aborted_nothing(&h, c.id));
}

fn super_aborted_nothing(h: &Harness, id: polargrid_core::RequestId) -> bool {
    !aborted(h).contains(&id)
}

#[test]
fn per_call_deadline_overrides_the_configured_one() {
    let mut h = Harness::new(pinned_direct());
    let mut spec = CallSpec::new(Method::Get, "/v1/models");
    spec.deadline = Some(Duration::from_secs(3));
    let call = h.start(spec);
    let c = h.take(is_call);
    assert_eq!(c.timeout, Duration::from_secs(3));
    assert!(h.next_wakeup());
    assert!(
        aborted(&h).contains(&c.id),
        "the in-flight attempt is aborted"
    );
    assert_eq!(h.now - T0, 3_000);
    assert!(h.failure(call).is_some());
}

#[test]
fn call_waiting_for_a_session_fails_at_its_deadline_with_the_sessions_error() {
    let mut cfg = session_config();
    cfg.timeouts.call_deadline = Some(Duration::from_secs(20));
    cfg.retry.max_attempts = 20;
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    h.run(100, |_, r| match r.purpose {
        Purpose::Exchange => Reply::Respond(json(503, r#"{"message":"down"}"#)),
        _ => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
    });
    let e = h.failure(call).expect("ended by its deadline");
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(h.now - T0 <= 20_000);
}
