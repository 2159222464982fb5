//! Failover scenarios: an edge failing `failures_before_down` times in a row is marked
//! down, calls fail over (rediscovery first, then the known-region table, same country
//! first), the region comes back after its cooldown, pinned regions only fail over when
//! allowed, every region down, and clock steps during all of it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use polargrid_core::{
    CallSpec, ErrorKind, Event, HttpRequest, HttpResponse, Method, Purpose, RegionReason,
    Timestamp, TransportErrorKind,
};
use scripted::*;
use support::*;

// ----- failover -----

type Fault = fn(&mut Harness, HttpRequest);

/// Ambiguous failures: the server may be alive (a certain one, like a refused
/// connection, moves the call on at once: see the tests under "certain failures").
fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("reported timeout", |h, c| {
            h.fail(c.id, TransportErrorKind::Timeout)
        }),
        ("timeout by deadline", |h, c| {
            assert!(h.next_wakeup());
            assert!(aborted(h).contains(&c.id));
        }),
        ("502", |h, c| h.respond(c.id, HttpResponse::new(502))),
        ("503", |h, c| {
            h.respond(c.id, json(503, r#"{"message":"overloaded"}"#))
        }),
        ("504", |h, c| h.respond(c.id, HttpResponse::new(504))),
    ]
}

#[test]
fn edge_failing_twice_is_marked_down_and_calls_fail_over_within_the_country() {
    for (name, fault) in faults() {
        // Two attempts that time out use up the default whole-call deadline (2 × 60 s):
        // this call may wait longer, to see where its third attempt goes.
        let mut cfg = direct();
        cfg.timeouts.call_deadline = Some(core::time::Duration::from_secs(600));
        let mut h = Harness::new(cfg);
        let call = h.get_models();
        routed_to(&mut h, "yto-01", 3600);
        for _ in 0..2 {
            let c = h.take(is_call);
            assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai", "{name}");
            fault(&mut h, c);
            assert!(h.next_wakeup(), "{name}: backoff");
        }
        // Down: ask the autorouter first; it names yto-01 again, so the table decides,
        // same country first (yul-01, CA) before nyc-01 (US) although nyc-01 is listed first.
        let d = h.take(is_discover);
        assert_eq!(d.url, "https://autorouter.polargrid.ai/v1/route", "{name}");
        h.respond(d.id, route_answer("yto-01", &edge("yto-01"), 3600));
        let c = h.take(is_call);
        assert_eq!(
            c.url, "https://api.yul-01.edge.polargrid.ai/v1/models",
            "{name}"
        );
        h.respond(c.id, HttpResponse::new(200));
        assert!(h.ready(call), "{name}");
        assert_eq!(
            region_changes(&h),
            [
                ("yto-01".to_string(), RegionReason::Discovered),
                ("yul-01".to_string(), RegionReason::Failover)
            ],
            "{name}"
        );
        let Some(Event::RegionChanged { endpoint, .. }) = h
            .events
            .iter()
            .rfind(|e| matches!(e, Event::RegionChanged { .. }))
        else {
            unreachable!()
        };
        assert_eq!(endpoint, &edge("yul-01"));
        assert_eq!(h.client.current_region(), Some("yul-01"));
    }
}

#[test]
fn rediscovery_naming_another_region_is_followed() {
    let mut h = Harness::new(direct());
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    for _ in 0..2 {
        let c = h.take(is_call);
        h.fail(c.id, TransportErrorKind::Timeout);
        assert!(h.next_wakeup());
    }
    routed_to(&mut h, "nyc-01", 3600);
    assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
    assert!(h.ready(call));
    assert_eq!(
        region_changes(&h).last().unwrap(),
        &("nyc-01".to_string(), RegionReason::Discovered)
    );
}

#[test]
fn downed_region_is_used_again_after_the_cooldown() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let mut down_at = 0;
    for _ in 0..2 {
        let c = h.take(is_call);
        down_at = h.now;
        h.fail(c.id, TransportErrorKind::Timeout);
        assert!(h.next_wakeup());
    }
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(host(&ok_call(&mut h).url), "api.yul-01.edge.polargrid.ai");
    // Still in the cooldown: the autorouter is asked again, still names yto-01, still avoided.
    h.now = down_at + 40_000;
    h.get_models();
    assert!(
        h.has(is_discover),
        "the failover entry lasts discovery_retry (30 s)"
    );
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(host(&ok_call(&mut h).url), "api.yul-01.edge.polargrid.ai");
    // After the 60 s cooldown (and the failover entry's 30 s), yto-01 is back.
    h.now = down_at + 60_000 + 30_001;
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
    assert_eq!(
        region_changes(&h).last().unwrap(),
        &("yto-01".to_string(), RegionReason::Discovered)
    );
}

#[test]
fn a_success_between_failures_resets_the_count() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let c = h.take(is_call);
    h.fail(c.id, TransportErrorKind::Timeout);
    assert!(h.next_wakeup());
    ok_call(&mut h);
    for _ in 0..3 {
        h.get_models();
        let c = h.take(is_call);
        assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai");
        h.respond(c.id, HttpResponse::new(502));
        assert!(h.next_wakeup());
        ok_call(&mut h);
    }
    assert_eq!(discoveries(&h).len(), 1, "never marked down");
}

#[test]
fn errors_that_do_not_mean_down_never_fail_over() {
    for status in [400u16, 401, 403, 404, 429, 500] {
        let mut h = Harness::new(direct());
        for _ in 0..5 {
            let call = h.get_models();
            serve(&mut h, 50, |_, r| match r.purpose {
                Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
                _ => Reply::Respond(HttpResponse::new(status).with_header("Retry-After", "0")),
            });
            assert_eq!(h.endings(call), 1);
        }
        assert!(
            calls_sent(&h)
                .iter()
                .all(|r| host(&r.url) == "api.yto-01.edge.polargrid.ai"),
            "{status}"
        );
        assert_eq!(discoveries(&h).len(), 1, "{status}");
    }
}

#[test]
fn when_the_whole_country_is_down_another_country_is_used() {
    // Refused connections are certain: each attempt goes to a region the call has not
    // failed on, same country first, so the default 4 attempts reach the US.
    let mut h = Harness::new(direct());
    let call = h.get_models();
    serve(&mut h, 200, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
        _ if host(&r.url) == "api.nyc-01.edge.polargrid.ai" => {
            Reply::Respond(HttpResponse::new(200))
        }
        _ => Reply::Fail(TransportErrorKind::Connect),
    });
    assert!(h.ready(call), "{:?}", h.failure(call));
    let hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
    assert_eq!(
        hosts,
        [
            "api.yto-01.edge.polargrid.ai",
            "api.yul-01.edge.polargrid.ai",
            "api.nyc-01.edge.polargrid.ai"
        ]
    );
    assert_eq!(
        region_changes(&h).last().unwrap(),
        &("nyc-01".to_string(), RegionReason::Failover)
    );
    // Ambiguous failures (timeouts) keep today's care: a region is retried until it is
    // marked down, so the attempt limit is reached before the US.
    let mut h = Harness::new(direct());
    let call = h.get_models();
    serve(&mut h, 200, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
        _ if host(&r.url) == "api.nyc-01.edge.polargrid.ai" => {
            Reply::Respond(HttpResponse::new(200))
        }
        _ => Reply::Fail(TransportErrorKind::Timeout),
    });
    assert_eq!(h.failure(call).unwrap().attempts, 4);
    let hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
    assert_eq!(
        hosts,
        [
            "api.yto-01.edge.polargrid.ai",
            "api.yto-01.edge.polargrid.ai",
            "api.yul-01.edge.polargrid.ai",
            "api.yul-01.edge.polargrid.ai"
        ],
        "attempt limit reached before the US"
    );
}

#[test]
fn default_region_down_and_discovery_failing_falls_back_elsewhere() {
    let mut h = Harness::new(direct());
    let call = h.get_models();
    serve(&mut h, 200, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(HttpResponse::new(500)),
        _ if host(&r.url) == "api.yto-01.edge.polargrid.ai" => {
            Reply::Fail(TransportErrorKind::Connect)
        }
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    assert!(h.ready(call));
    assert_eq!(
        host(&calls_sent(&h).last().unwrap().url),
        "api.yul-01.edge.polargrid.ai"
    );
}

#[test]
fn pinned_region_does_not_fail_over_unless_allowed() {
    let mut h = Harness::new(direct().with_region("yto-01"));
    let call = h.get_models();
    serve(&mut h, 100, |_, r| match host(&r.url) {
        "api.yto-01.edge.polargrid.ai" => Reply::Fail(TransportErrorKind::Connect),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    let e = h.failure(call).expect("fails on the pinned region");
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Connect));
    assert_eq!(e.attempts, 4);
    assert!(calls_sent(&h)
        .iter()
        .all(|r| host(&r.url) == "api.yto-01.edge.polargrid.ai"));

    let mut cfg = direct().with_region("yto-01");
    cfg.failover_pinned = true;
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    serve(&mut h, 100, |_, r| match host(&r.url) {
        "api.yto-01.edge.polargrid.ai" => Reply::Fail(TransportErrorKind::Connect),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    assert!(h.ready(call));
    let hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
    assert_eq!(
        hosts,
        [
            "api.yto-01.edge.polargrid.ai",
            "api.yul-01.edge.polargrid.ai"
        ],
        "a refused connection moves the call on at once"
    );
    assert_eq!(discoveries(&h).len(), 0);
    assert_eq!(
        region_changes(&h),
        [
            ("yto-01".to_string(), RegionReason::Configured),
            ("yul-01".to_string(), RegionReason::Failover)
        ]
    );
    // After the cooldown the pinned region is used again.
    h.now += 61_000;
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
    assert_eq!(
        region_changes(&h).last().unwrap(),
        &("yto-01".to_string(), RegionReason::Configured)
    );
}

#[test]
fn concurrent_calls_failing_on_a_downed_edge_trigger_one_rediscovery() {
    let mut h = Harness::new(direct());
    let calls: Vec<_> = (0..5).map(|_| h.get_models()).collect();
    routed_to(&mut h, "yto-01", 3600);
    serve(&mut h, 200, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 3600)),
        _ if host(&r.url) == "api.yto-01.edge.polargrid.ai" => {
            Reply::Respond(HttpResponse::new(503))
        }
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    for c in &calls {
        assert!(h.ready(*c), "{:?}", h.failure(*c));
        assert_eq!(h.endings(*c), 1);
    }
    assert_eq!(
        discoveries(&h).len(),
        2,
        "one initial, one after the edge went down"
    );
}

// ----- clock steps -----

#[test]
fn route_cache_keeps_its_real_time_ttl_when_the_clock_steps_back() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "nyc-01", 60);
    ok_call(&mut h);
    h.set_clock(T0 - HOUR); // the clock is corrected back an hour
    h.now = T0 - HOUR + 30_000;
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
    assert_eq!(discoveries(&h).len(), 1, "30 s of real time: still cached");
    h.now = T0 - HOUR + 61_000;
    h.get_models();
    assert!(h.has(is_discover), "61 s of real time: the ttl is over");
}

#[test]
fn cooldown_keeps_its_real_time_length_when_the_clock_steps_back() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    for _ in 0..2 {
        let c = h.take(is_call);
        h.fail(c.id, TransportErrorKind::Timeout);
        assert!(h.next_wakeup());
    }
    let down_at = h.now;
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(host(&ok_call(&mut h).url), "api.yul-01.edge.polargrid.ai");
    h.set_clock(down_at - DAY); // stepped back a day
    h.now = down_at - DAY + 45_000;
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(
        host(&ok_call(&mut h).url),
        "api.yul-01.edge.polargrid.ai",
        "45 s: still cooling down"
    );
    h.now = down_at - DAY + 91_000;
    h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    assert_eq!(
        host(&ok_call(&mut h).url),
        "api.yto-01.edge.polargrid.ai",
        "back after the cooldown"
    );
}

#[test]
fn request_polled_right_after_the_clock_steps_back_keeps_its_full_timeout() {
    // The driver starts a call, its clock is then corrected back an hour, and the first
    // thing it does on the new clock is poll for the request to send.
    let mut client = polargrid_core::Client::new(direct().with_region("yto-01"), 7).unwrap();
    let t = Timestamp(T0);
    let call = client
        .start_call(t, CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    let back = Timestamp(T0 - HOUR);
    let req = client.poll_request(back).expect("the call's request");
    assert_eq!(client.poll_timeout(), Some(Timestamp(T0 - HOUR + 60_000)));
    client.handle_timeout(back);
    let mut events = Vec::new();
    while let Some(e) = client.poll_event() {
        events.push(e);
    }
    assert!(
        !events.contains(&Event::Abort { request: req.id }),
        "timed out at once: {events:?}"
    );
    assert_eq!(
        client.poll_timeout(),
        Some(Timestamp(T0 - HOUR + 60_000)),
        "a full 60 s from the poll"
    );
    client
        .handle_response(back, req.id, HttpResponse::new(200))
        .unwrap();
    assert!(std::iter::from_fn(|| client.poll_event())
        .any(|e| matches!(e, Event::CallReady { call: c, .. } if c == call)));
}

#[test]
fn discovery_deadline_holds_when_the_clock_steps_back_before_it_is_sent() {
    let mut h = Harness::new(direct());
    let call = h
        .client
        .start_call(h.t(), CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    h.now = T0 - HOUR;
    h.pump(); // the driver polls the discovery on the corrected clock
    h.client.handle_timeout(h.t());
    h.pump();
    let d = h.take(is_discover);
    assert!(!aborted(&h).contains(&d.id), "not timed out at once");
    assert_eq!(
        h.client.poll_timeout().map(|t| t.as_millis()),
        Some(T0 - HOUR + 2_000)
    );
    h.respond(d.id, route_answer("nyc-01", &edge("nyc-01"), 60));
    assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
    assert!(h.ready(call));
}

// ----- every region down -----

fn all_down_run(discovery: HttpResponse, kind: TransportErrorKind) -> Harness {
    let mut cfg = direct();
    cfg.retry.max_attempts = 10;
    cfg.retry.budget_capacity = 100;
    let mut h = Harness::new(cfg);
    h.get_models();
    serve(&mut h, 3000, |_, r| match r.purpose {
        Purpose::Discover => Reply::Respond(discovery.clone()),
        _ => Reply::Fail(kind),
    });
    h
}

#[test]
fn every_region_down_does_not_storm_the_autorouter() {
    for discovery in [
        route_answer("yto-01", &edge("yto-01"), 3600),
        HttpResponse::new(500),
    ] {
        let h = all_down_run(discovery.clone(), TransportErrorKind::Timeout);
        let e = h.failure(polargrid_core::CallId(1)).expect("the call ends");
        assert_eq!(e.attempts, 10);
        assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Timeout));
        let n = discoveries(&h).len();
        assert!(n <= 10, "{n} discoveries for 10 attempts");
        // With every region down, the one that comes back first is still tried.
        assert_eq!(calls_sent(&h).len(), 10);
        // Every region refusing: each is tried once, then the call fails (it never goes
        // back to a region that refused it).
        let h = all_down_run(discovery, TransportErrorKind::Connect);
        let e = h.failure(polargrid_core::CallId(1)).expect("the call ends");
        assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Connect));
        let mut hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
        hosts.sort_unstable();
        assert_eq!(
            hosts,
            [
                "api.nyc-01.edge.polargrid.ai",
                "api.yto-01.edge.polargrid.ai",
                "api.yul-01.edge.polargrid.ai"
            ]
        );
        assert!(discoveries(&h).len() <= 3);
    }
}

// ----- certain failures (refused, DNS): a call walks the regions -----

#[test]
fn autorouter_down_and_two_regions_refusing_reaches_the_third_within_default_attempts() {
    for kind in [TransportErrorKind::Connect, TransportErrorKind::Dns] {
        let mut h = Harness::new(direct());
        let call = h.get_models();
        serve(&mut h, 200, |_, r| match r.purpose {
            Purpose::Discover => Reply::Fail(TransportErrorKind::Connect),
            _ if host(&r.url) == "api.nyc-01.edge.polargrid.ai" => {
                Reply::Respond(HttpResponse::new(200))
            }
            _ => Reply::Fail(kind),
        });
        assert!(h.ready(call), "{kind:?}: {:?}", h.failure(call));
        let hosts: Vec<&str> = calls_sent(&h).iter().map(|r| host(&r.url)).collect();
        assert_eq!(
            hosts,
            [
                "api.yto-01.edge.polargrid.ai",
                "api.yul-01.edge.polargrid.ai",
                "api.nyc-01.edge.polargrid.ai"
            ],
            "{kind:?}: never the same refusing region twice"
        );
    }
}

#[test]
fn refused_region_is_not_retried_by_the_call_even_when_discovery_names_it_again() {
    let mut h = Harness::new(direct());
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let c = h.take(is_call);
    h.fail(c.id, TransportErrorKind::Connect);
    assert!(h.next_wakeup());
    let c = h.take(is_call);
    assert_eq!(host(&c.url), "api.yul-01.edge.polargrid.ai");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
    // Another call still starts at the discovered region: one refusal seen by one call
    // does not mark it down for everyone.
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
}

#[test]
fn fixed_base_url_refusing_is_retried_in_place() {
    let cfg = direct().with_base_url("https://api.yto-01.edge.polargrid.ai");
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    serve(&mut h, 100, |_, _| Reply::Fail(TransportErrorKind::Connect));
    let e = h.failure(call).expect("fails");
    assert_eq!(e.attempts, 4, "nowhere else to go: retried where it is");
}
