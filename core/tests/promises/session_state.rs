//! The session machine's memory between answers: logging out and in again, which JWT an
//! edge's 401 judged, and how failed exchanges and refreshes back off.

use crate::support::*;
use polargrid_core::{Config, ErrorKind, Event, HttpResponse, SessionChange, SessionStatus};

fn patient() -> Config {
    let mut c = session_config();
    c.retry.max_attempts = 20;
    // Calls here wait out minutes of auth failures: longer than a call's default deadline.
    c.timeouts.call_deadline = Some(core::time::Duration::from_secs(3600));
    c
}

/// The time to the next wake-up, which must be the session's retry.
fn wait_ms(h: &Harness) -> u64 {
    h.client.poll_timeout().unwrap().as_millis() - h.now
}

/// Equal jitter on 500 ms doubling per failure, capped at 30 s.
fn assert_backoff(n: u32, wait: u64, what: &str) {
    let full = (500u64 << (n - 1)).min(30_000);
    assert!(
        (full / 2..=full).contains(&wait),
        "{what} failure {n}: waited {wait} ms, want {}..={full}",
        full / 2
    );
}

#[test]
fn failed_exchanges_back_off_exponentially_up_to_thirty_seconds() {
    let mut h = Harness::new(patient());
    h.get_models();
    h.routed(3600);
    for n in 1..=8 {
        let ex = h.take(is_exchange);
        h.respond(ex.id, json(503, r#"{"message":"unavailable"}"#));
        assert_backoff(n, wait_ms(&h), "exchange");
        assert!(h.next_wakeup());
    }
    assert!(h.has(is_exchange));
}

#[test]
fn failed_refreshes_back_off_exponentially_while_the_jwt_is_valid() {
    let mut h = Harness::new(patient());
    let call = h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.route_and_finish_call(3600), call);
    assert!(h.next_wakeup());
    for n in 1..=8 {
        let r = h.take(is_refresh);
        h.fail(r.id, polargrid_core::TransportErrorKind::Connect);
        assert_backoff(n, wait_ms(&h), "refresh");
        assert!(h.next_wakeup());
    }
    let r = h.take(is_refresh);
    h.respond(r.id, session_answer(h.server_now(), HOUR, "rt_2", None));
    // A success starts the count again: the next failure waits the first step.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.fail(r.id, polargrid_core::TransportErrorKind::Connect);
    assert_backoff(1, wait_ms(&h), "refresh after a success");
}

#[test]
fn rejected_key_is_not_tried_again_for_five_seconds() {
    let mut h = Harness::new(session_config());
    let first = h.get_models();
    let ex = h.take(is_exchange);
    h.respond(ex.id, json(401, r#"{"message":"Invalid API key"}"#));
    assert_eq!(h.failure(first).unwrap().kind, ErrorKind::InvalidApiKey);
    h.now = T0 + 4_999;
    let fast = h.get_models();
    assert_eq!(h.failure(fast).unwrap().kind, ErrorKind::InvalidApiKey);
    assert_eq!(h.count_sent(is_exchange), 1, "failed fast, nothing sent");
    h.now = T0 + 5_000;
    let again = h.get_models();
    assert!(h.failure(again).is_none());
    h.exchanged(HOUR, "rt_1");
    h.route_and_finish_call(3600);
    assert!(h.ready(again), "a key that works again is used again");
}

#[test]
fn call_after_logout_in_session_mode_exchanges_the_key_again() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.route_and_finish_call(3600), call);
    h.client.logout(h.t());
    h.pump();
    assert!(matches!(h.client.session_status(), SessionStatus::None));
    assert_eq!(h.client.poll_timeout(), None, "no refresh planned any more");
    h.advance(1000);
    let call = h.get_models();
    let ex = h.take(is_exchange);
    assert_eq!(
        ex.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_2", None));
    assert_eq!(h.finish_call(), call);
    let exchanged = h
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::SessionChanged {
                    reason: SessionChange::Exchanged,
                    ..
                }
            )
        })
        .count();
    assert_eq!(exchanged, 2);
}

#[test]
fn logout_during_an_auth_backoff_lets_the_next_login_start_at_once_and_afresh() {
    let mut h = Harness::new(patient());
    h.get_models();
    h.routed(3600);
    for _ in 0..3 {
        let ex = h.take(is_exchange);
        h.respond(ex.id, json(503, "{}"));
        assert!(h.next_wakeup());
    }
    let ex = h.take(is_exchange);
    h.respond(ex.id, json(503, "{}"));
    h.client.logout(h.t());
    h.pump();
    h.get_models();
    let ex = h.take(is_exchange);
    h.respond(ex.id, json(503, "{}"));
    assert_backoff(1, wait_ms(&h), "first failure after logging in again");
}

#[test]
fn edge_401_for_a_jwt_already_replaced_replays_with_the_new_one_without_another_refresh() {
    let mut h = Harness::new(session_config());
    let a = h.get_models();
    let b = h.get_models();
    h.exchanged(HOUR, "rt_1");
    h.routed(3600);
    let ca = h.take(is_call);
    let cb = h.take(is_call);
    let old = ca.header("authorization").unwrap().to_string();
    assert_eq!(cb.header("authorization"), Some(old.as_str()));
    // The edge rejects the JWT (revoked early): call a's 401 refreshes it.
    h.respond(ca.id, json(401, r#"{"message":"Token revoked"}"#));
    let r = h.take(is_refresh);
    h.advance(1000);
    h.respond(r.id, session_answer(h.server_now(), HOUR, "rt_2", None));
    let ca2 = h.take(is_call);
    assert_ne!(ca2.header("authorization"), Some(old.as_str()));
    // Call b's 401 arrives late and judged the old JWT: it replays with the new one, and
    // the new one is not thrown away.
    h.respond(cb.id, json(401, r#"{"message":"Token revoked"}"#));
    assert!(
        !h.has(is_refresh),
        "the replaced JWT's 401 asks for no refresh"
    );
    let cb2 = h.take(is_call);
    assert_eq!(cb2.header("authorization"), ca2.header("authorization"));
    h.respond(ca2.id, HttpResponse::new(200));
    h.respond(cb2.id, HttpResponse::new(200));
    assert!(h.ready(a) && h.ready(b));
    assert_eq!(h.count_sent(is_refresh), 1);
}

#[test]
fn edge_401_for_a_handed_over_jwt_already_replaced_asks_for_no_refresh() {
    // Generations count hand-overs too: a 401 for the JWT handed over first does not
    // make the one handed over next look stale.
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let grant = |iat: u64, rt: &str| {
        serde_json::json!({
            "session_token": jwt(iat, iat + HOUR, None),
            "refresh_token": rt,
            "expires_in": 3600,
        })
        .to_string()
    };
    h.client.hand_over(h.t(), &grant(T0, "rt_a")).unwrap();
    let call = h.get_models();
    h.routed(3600);
    let c = h.take(is_call);
    h.advance(1000);
    h.client
        .hand_over(h.t(), &grant(T0 + 1000, "rt_b"))
        .unwrap();
    h.pump();
    h.respond(c.id, json(401, r#"{"message":"Token expired"}"#));
    assert!(!h.has(is_refresh));
    let c2 = h.take(is_call);
    assert_ne!(c2.header("authorization"), c.header("authorization"));
    h.respond(c2.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn key_rejected_again_and_again_is_tried_ever_more_slowly() {
    // At least 5 s between tries, and past that the backoff doubles: 8-16 s after the
    // sixth rejection in a row.
    let mut h = Harness::new(session_config());
    for n in 1..=6 {
        let call = h.get_models();
        let ex = h.take(is_exchange);
        assert_eq!(h.count_sent(is_exchange), n, "try {n} goes out");
        h.respond(ex.id, json(401, r#"{"message":"Invalid API key"}"#));
        assert_eq!(h.failure(call).unwrap().kind, ErrorKind::InvalidApiKey);
        let t = h.now;
        match n {
            1..=4 => h.now = t + 5_000,
            5 => h.now = t + 8_000,
            _ => {
                h.now = t + 7_999;
                let fast = h.get_models();
                assert!(h.failure(fast).is_some(), "still failing fast");
                assert_eq!(h.count_sent(is_exchange), n);
                h.now = t + 16_000;
            }
        }
    }
    h.get_models();
    assert!(h.has(is_exchange));
}

#[test]
fn refresh_token_expiring_this_very_millisecond_is_not_sent() {
    let answer = |h: &Harness, refresh_ttl_s: u64| {
        let now = h.server_now();
        json(
            200,
            &serde_json::json!({
                "session_token": jwt(now, now + HOUR, None),
                "refresh_token": "rt_1",
                "expires_in": 3600,
                "refresh_expires_in": refresh_ttl_s,
            })
            .to_string(),
        )
    };
    for (at, refreshes) in [(2 * HOUR - 1, true), (2 * HOUR, false)] {
        let mut h = Harness::new(session_config());
        h.get_models();
        let ex = h.take(is_exchange);
        let resp = answer(&h, 2 * 3600);
        h.respond(ex.id, resp);
        h.route_and_finish_call(3600);
        // The JWT expired long ago; the refresh token expires at T0 + 2 h.
        h.now = T0 + at;
        h.get_models();
        assert_eq!(h.has(is_refresh), refreshes, "at T0+{at} ms");
        assert_eq!(h.has(is_exchange), !refreshes, "at T0+{at} ms");
    }
}

/// Whether a call started now goes out to the auth service (rather than failing fast).
fn exchanges_now(h: &mut Harness) -> bool {
    let before = h.count_sent(is_exchange);
    let call = h.get_models();
    let went = h.count_sent(is_exchange) > before;
    assert_eq!(went, h.failure(call).is_none());
    went
}

#[test]
fn auth_retry_after_of_hours_is_honoured_and_of_days_is_held_to_one_day() {
    for (ra, honoured) in [(7200u64, 7200u64), (3 * 86_400, 86_400)] {
        let mut h = Harness::new(session_config());
        h.get_models();
        h.routed(3600);
        let ex = h.take(is_exchange);
        h.respond(
            ex.id,
            HttpResponse::new(429).with_header("Retry-After", &ra.to_string()),
        );
        h.now = T0 + honoured * 1000 - 1;
        assert!(!exchanges_now(&mut h), "Retry-After {ra}: still waiting");
        h.now = T0 + honoured * 1000;
        assert!(exchanges_now(&mut h), "Retry-After {ra}: waited out");
    }
}

#[test]
fn auth_failures_minutes_apart_count_in_a_row_and_after_five_minutes_start_afresh() {
    let mut h = Harness::new(patient());
    h.get_models();
    h.routed(3600);
    // The call waits on; each exchange is answered 503, the next one is let out minutes
    // later (the clock jumps past the short backoff).
    let fail_after = |h: &mut Harness, gap: u64| {
        h.set_clock(h.now + gap);
        let ex = h.take(is_exchange);
        h.respond(ex.id, json(503, r#"{"message":"down"}"#));
        wait_ms(h)
    };
    fail_after(&mut h, 0);
    fail_after(&mut h, 4 * 60_000);
    let wait = fail_after(&mut h, 4 * 60_000);
    assert!((1000..=2000).contains(&wait), "third in a row: {wait} ms");
    let wait = fail_after(&mut h, 5 * 60_000);
    assert!(
        (250..=500).contains(&wait),
        "first after a pause: {wait} ms"
    );
}

#[test]
fn auth_retry_after_of_exactly_the_call_cap_is_waited_out_by_the_calls() {
    // 60 s is the longest wait a call sits through (RetryPolicy::max_retry_after): the
    // call waits and the exchange goes out again after it; a minute and a second fails
    // the call at once.
    for (ra, waits) in [(60u64, true), (61, false)] {
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        h.routed(3600);
        let ex = h.take(is_exchange);
        h.respond(
            ex.id,
            HttpResponse::new(429).with_header("Retry-After", &ra.to_string()),
        );
        assert_eq!(h.failure(call).is_none(), waits, "Retry-After {ra}");
        if waits {
            assert!(h.next_wakeup());
            assert_eq!(h.now, T0 + 60_000);
            assert!(h.has(is_exchange));
        }
    }
}

#[test]
fn auth_failure_after_the_clock_stepped_back_starts_the_backoff_afresh() {
    let mut h = Harness::new(patient());
    h.get_models();
    h.routed(3600);
    for n in 1..=3 {
        let ex = h.take(is_exchange);
        h.respond(ex.id, json(503, r#"{"message":"down"}"#));
        assert_backoff(n, wait_ms(&h), "exchange");
        if n < 3 {
            assert!(h.next_wakeup());
        }
    }
    // The device's clock is set back an hour: what came before cannot be ordered with
    // what comes after, so the next failure counts as the first.
    h.set_clock(h.now - HOUR);
    assert!(h.next_wakeup());
    let ex = h.take(is_exchange);
    h.respond(ex.id, json(503, r#"{"message":"down"}"#));
    assert_backoff(1, wait_ms(&h), "first after the step");
}
