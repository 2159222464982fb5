//! The auth service's `429`/`503` with a `Retry-After` (issue 7, item 2): a wait longer
//! than `RetryPolicy::max_retry_after` fails waiting calls at once with the server's
//! time, nothing goes to the auth service before that time, and the session's backoff
//! forgets an old burst of failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core::time::Duration;

use polargrid_core::{ErrorKind, HttpResponse};
use support::*;

fn limited(retry_after: &str) -> HttpResponse {
    json(
        429,
        r#"{"message":"Rate limit exceeded","code":"rate_limited"}"#,
    )
    .with_header("Retry-After", retry_after)
}

fn session_requests(h: &Harness) -> usize {
    h.count_sent(is_exchange) + h.count_sent(is_refresh)
}

#[test]
fn exchange_429_with_an_hour_retry_after_fails_waiting_calls_at_once_with_it() {
    for (name, header) in [
        ("seconds", "3600".to_string()),
        ("http-date", http_date(T0 + HOUR)),
    ] {
        let mut h = Harness::new(session_config());
        let calls: Vec<_> = (0..3).map(|_| h.get_models()).collect();
        h.routed(86_400);
        let ex = h.take(is_exchange);
        let resp = limited(&header).with_header("Date", &http_date(h.server_now()));
        h.respond(ex.id, resp);
        for c in &calls {
            let e = h
                .failure(*c)
                .unwrap_or_else(|| panic!("{name}: still waiting"));
            assert_eq!(e.kind, ErrorKind::RateLimited, "{name}");
            assert_eq!(e.retry_after, Some(Duration::from_secs(3600)), "{name}");
            assert_eq!(h.endings(*c), 1);
        }
        assert_eq!(h.now, T0, "{name}: failed at once, not after a wait");
    }
}

#[test]
fn call_inside_the_auth_retry_after_fails_fast_without_a_request_then_exchanges_after_it() {
    let mut h = Harness::new(session_config());
    let first = h.get_models();
    h.routed(86_400);
    let ex = h.take(is_exchange);
    h.respond(ex.id, limited("3600"));
    assert!(h.failure(first).is_some());
    // Ten minutes later: fails at once with the time left, and nothing goes out.
    h.advance(10 * 60_000);
    let sent_before = h.sent.len();
    let call = h.get_models();
    let e = h.failure(call).expect("fails fast");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(50 * 60)));
    assert_eq!(h.sent.len(), sent_before, "no request in the window");
    // No timer wakes the client to exchange early either.
    while h.next_wakeup() {}
    assert_eq!(
        session_requests(&h),
        1,
        "no exchange before the server's time"
    );
    // After the hour: the next call exchanges.
    h.set_clock(T0 + HOUR + 1);
    let call = h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.finish_call(), call);
}

#[test]
fn refresh_429_with_a_long_retry_after_keeps_the_valid_jwt_and_waits_the_servers_time() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    h.route_and_finish_call(86_400);
    // Proactive refresh, rate limited for 30 minutes: the JWT still has minutes left.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let limited_at = h.now;
    h.respond(r.id, limited("1800"));
    let call = h.get_models();
    h.finish_call();
    assert!(h.ready(call), "the valid JWT is still used");
    // Once the JWT is too old to use, calls fail fast until the server's time.
    h.set_clock(T0 + HOUR);
    let call = h.get_models();
    let e = h.failure(call).expect("fails fast");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(session_requests(&h), 2);
    assert!(h.next_wakeup());
    assert!(
        h.now >= limited_at + 1_800_000,
        "no refresh before the server's time"
    );
    assert!(h.has(is_refresh));
}

#[test]
fn short_auth_retry_after_is_waited_out_by_the_calls() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.routed(86_400);
    let ex = h.take(is_exchange);
    h.respond(ex.id, limited("20"));
    assert!(h.failure(call).is_none(), "20 s is within max_retry_after");
    assert!(h.next_wakeup());
    assert!(h.now >= T0 + 20_000);
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.finish_call(), call);
}

#[test]
fn burst_of_auth_failures_a_day_ago_does_not_stretch_todays_backoff() {
    let mut h = Harness::new(session_config());
    // A bad burst: the auth service fails every exchange until the call gives up.
    for _ in 0..3 {
        let call = h.get_models();
        h.run(50, |_, r| {
            if r.purpose == polargrid_core::Purpose::Discover {
                Reply::Respond(route_answer(
                    "yto-01",
                    "https://api.yto-01.edge.polargrid.ai",
                    86_400 * 3,
                ))
            } else {
                Reply::Respond(json(503, r#"{"message":"down"}"#))
            }
        });
        assert!(h.failure(call).is_some());
    }
    assert!(session_requests(&h) >= 8);
    // A day later one exchange fails: the retry comes after the first step of the
    // backoff (0.25–0.5 s), not after 15–30 s.
    h.set_clock(h.now + DAY);
    let call = h.get_models();
    let ex = h.take(is_exchange);
    let failed_at = h.now;
    h.respond(ex.id, json(503, r#"{"message":"down"}"#));
    assert!(h.next_wakeup());
    let ex = h.take(is_exchange);
    assert!(
        h.now - failed_at <= 500,
        "waited {} ms after one failure",
        h.now - failed_at
    );
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt_1", None));
    assert_eq!(h.finish_call(), call);
}
