//! Session scenarios: exchange, proactive refresh, single-flight, rotation, rejection,
//! transient failures, replay after 401, snapshots, clock jumps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{
    Config, ErrorKind, Event, HttpResponse, Purpose, SessionChange, SessionSnapshot, SessionStatus,
    TransportErrorKind,
};
use support::*;

#[test]
fn first_call_exchanges_key_exactly_as_protocol_says() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    assert_eq!(ex.method.as_str(), "POST");
    assert_eq!(ex.url, "https://auth.polargrid.ai/v1/auth/session");
    assert_eq!(
        ex.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(ex.header("content-type"), Some("application/json"));
    let ua = ex.header("user-agent").unwrap().to_string();
    assert!(ua.starts_with("polargrid-core/"));
    assert_eq!(body_json(&ex), serde_json::json!({"user_agent": ua}));
}

#[test]
fn call_carries_jwt_user_agent_and_request_id_after_exchange() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(24 * HOUR, "rt_1");
    h.routed(3600);
    let c = h.take(is_call);
    assert_eq!(c.url, "https://api.yto-01.edge.polargrid.ai/v1/models");
    let jwt = match h.client.session_snapshot() {
        Some(s) => s.session_token.expose().to_string(),
        None => panic!("no session"),
    };
    assert_eq!(
        c.header("authorization"),
        Some(format!("Bearer {jwt}").as_str())
    );
    assert!(c.header("x-request-id").unwrap().starts_with("pgc-"));
    assert!(c.header("user-agent").is_some());
    assert!(c.body.is_none());
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
    assert_eq!(h.endings(call), 1);
}

#[test]
fn legacy_token_field_is_accepted() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let ex = h.take(is_exchange);
    let now = h.server_now();
    let body = serde_json::json!({"token": jwt(now, now + HOUR, None), "refresh_token": "rt", "expires_in": 3600});
    h.respond(ex.id, json(200, &body.to_string()));
    assert_eq!(h.route_and_finish_call(3600), call);
}

#[test]
fn refresh_happens_before_expiry_so_calls_never_wait() {
    let mut h = warmed_up(session_config(), HOUR);
    // Sleep until the core wants to wake: that is the proactive refresh, before expiry.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let exp = T0 + HOUR;
    assert!(
        h.now < exp - 60_000,
        "refresh at {} should be well before expiry {exp}",
        h.now
    );
    assert!(h.now >= exp - 6 * 60_000 - 3 * 60_000, "not absurdly early");
    assert_eq!(r.url, "https://auth.polargrid.ai/v1/auth/refresh");
    assert_eq!(r.header("authorization"), None, "refresh carries no key");
    assert_eq!(body_json(&r), serde_json::json!({"refresh_token": "rt_1"}));
    // While the refresh is in flight, a call goes out at once with the still-valid JWT.
    let call = h.get_models();
    assert!(h.has(is_call), "call must not wait for the refresh");
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    assert_eq!(h.finish_call(), call);
}

#[test]
fn thousand_calls_at_expiry_make_exactly_one_refresh() {
    let mut h = warmed_up(session_config(), HOUR);
    // Jump exactly to expiry without letting the proactive refresh run.
    h.now = T0 + HOUR;
    let calls: Vec<_> = (0..1000).map(|_| h.get_models()).collect();
    assert_eq!(h.count_sent(is_refresh), 1);
    assert!(!h.has(is_call), "expired JWT must not be used");
    let r = h.take(is_refresh);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    h.run(5000, healthy(HOUR));
    assert_eq!(h.count_sent(is_refresh), 1);
    assert_eq!(h.count_sent(is_exchange), 1);
    for c in calls {
        assert!(h.ready(c));
        assert_eq!(h.endings(c), 1);
    }
}

#[test]
fn rotated_refresh_token_is_never_sent_again() {
    let mut h = warmed_up(session_config(), HOUR);
    let mut seen = Vec::new();
    for i in 2..6 {
        assert!(h.next_wakeup());
        let r = h.take(is_refresh);
        let token = body_json(&r)["refresh_token"].as_str().unwrap().to_string();
        assert!(!seen.contains(&token), "refresh token {token} sent twice");
        seen.push(token);
        let now = h.server_now();
        h.respond(r.id, session_answer(now, HOUR, &format!("rt_{i}"), None));
    }
    assert_eq!(seen, ["rt_1", "rt_2", "rt_3", "rt_4"]);
}

#[test]
fn refresh_rejected_with_key_held_exchanges_again() {
    let mut h = warmed_up(session_config(), HOUR);
    h.now = T0 + HOUR; // expired
    let call = h.get_models();
    let r = h.take(is_refresh);
    h.respond(
        r.id,
        json(401, r#"{"message":"Refresh token reuse detected"}"#),
    );
    assert_eq!(h.count_sent(is_exchange), 2);
    h.exchanged(HOUR, "rt_9");
    assert_eq!(h.route_and_finish_call(3600), call); // the route's 1 h ttl lapsed too
                                                     // The rejected token is gone for good.
    assert!(
        h.sent
            .iter()
            .filter(|r| r.purpose == Purpose::Refresh)
            .count()
            == 1
    );
}

#[test]
fn refresh_rejected_in_handoff_ends_session_and_waiting_calls_continue_after_hand_over() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let grant = serde_json::json!({"session_token": jwt(now, now + HOUR, None), "refresh_token": "rt_1", "expires_in": 3600});
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.now = T0 + HOUR + 1;
    let call = h.get_models();
    let r = h.take(is_refresh);
    h.respond(r.id, json(400, r#"{"message":"invalid refresh token"}"#));
    assert!(h.events.iter().any(
        |e| matches!(e, Event::SessionEnded { error } if error.kind == ErrorKind::SessionExpired)
    ));
    assert_eq!(h.client.session_status(), SessionStatus::Ended);
    assert_eq!(h.endings(call), 0, "the call waits for a hand-over");
    h.advance(1000);
    let now = h.server_now();
    let grant = serde_json::json!({"session_token": jwt(now, now + HOUR, None), "refresh_token": "rt_2", "expires_in": 3600});
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.pump();
    assert_eq!(h.route_and_finish_call(3600), call);
}

#[test]
fn handoff_without_hand_over_fails_waiting_calls_after_the_wait() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let call = h.get_models();
    assert_eq!(h.endings(call), 0);
    // Discovery runs meanwhile (and times out here, unanswered); then the wait ends.
    while h.failure(call).is_none() {
        assert!(h.next_wakeup());
    }
    let e = h.failure(call).expect("failed after the handoff wait");
    assert_eq!(e.kind, ErrorKind::NoSession);
    assert_eq!(h.now, T0 + 30_000);
}

#[test]
fn refresh_network_failure_keeps_session_and_retries_with_backoff() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let t_first = h.now;
    h.fail(r.id, TransportErrorKind::Connect);
    assert!(h.client.session_snapshot().is_some(), "session kept");
    // Calls still go out with the valid JWT.
    let call = h.get_models();
    assert_eq!(h.finish_call(), call);
    // 5xx next, then success: backoff grows, session never dropped.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert!(h.now > t_first);
    h.respond(r.id, json(503, r#"{"message":"unavailable"}"#));
    assert!(h.client.session_snapshot().is_some());
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r)["refresh_token"], "rt_1");
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    assert!(matches!(
        h.client.session_status(),
        SessionStatus::Active(_)
    ));
}

#[test]
fn malformed_refresh_answer_keeps_the_valid_session() {
    let mut h = warmed_up(session_config(), HOUR);
    let before = h.client.session_snapshot().unwrap();
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.respond(r.id, json(200, r#"{"session_token": 42}"#));
    assert_eq!(h.client.session_snapshot().unwrap(), before);
    assert!(h.next_wakeup());
    assert!(h.has(is_refresh), "retried later");
}

#[test]
fn edge_401_with_jwt_refreshes_and_replays_once() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(HOUR, "rt_1");
    h.routed(3600);
    let c1 = h.take(is_call);
    let rid = c1.header("x-request-id").unwrap().to_string();
    h.respond(c1.id, json(401, r#"{"message":"Token expired"}"#));
    let r = h.take(is_refresh);
    h.advance(1000);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    let c2 = h.take(is_call);
    assert_eq!(
        c2.header("x-request-id"),
        Some(rid.as_str()),
        "same request id on replay"
    );
    assert_ne!(c2.header("authorization"), c1.header("authorization"));
    // A second 401 is final.
    h.respond(c2.id, json(401, r#"{"message":"Token expired"}"#));
    let e = h.failure(call).expect("fails after one replay");
    assert_eq!(e.kind, ErrorKind::SessionExpired);
    assert_eq!(e.attempts, 2);
    assert_eq!(e.request_id.as_deref(), Some(rid.as_str()));
    assert_eq!(h.count_sent(is_refresh), 1);
}

#[test]
fn exchange_401_fails_waiting_calls_with_invalid_key() {
    let mut h = Harness::new(session_config());
    let a = h.get_models();
    let b = h.get_models();
    let ex = h.take(is_exchange);
    h.respond(ex.id, json(401, r#"{"message":"Invalid API key"}"#));
    for c in [a, b] {
        let e = h.failure(c).unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidApiKey);
        assert!(!e.retryable);
        assert!(e.fix.contains("Console"));
    }
    // A new call right away fails fast instead of hammering the auth service.
    let c = h.get_models();
    assert_eq!(h.failure(c).unwrap().kind, ErrorKind::InvalidApiKey);
    assert_eq!(h.count_sent(is_exchange), 1);
}

#[test]
fn auth_outage_fails_waiting_call_after_its_attempt_limit() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.run(100, |_, r| match r.purpose {
        Purpose::Exchange => Reply::Respond(json(503, "{}")),
        _ => Reply::Respond(route_answer(
            "yto-01",
            "https://api.yto-01.edge.polargrid.ai",
            60,
        )),
    });
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::Server);
    assert!(e.retryable);
    assert_eq!(h.count_sent(is_exchange), 4);
    assert_eq!(h.endings(call), 1);
}

#[test]
fn snapshot_is_emitted_on_every_change_and_restores() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    let snaps: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SessionChanged {
                snapshot: Some(s),
                reason,
                ..
            } => Some((*reason, s.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].0, SessionChange::Exchanged);
    let json = snaps[0].1.to_json();
    assert!(json.contains("\"schema_version\":1"));
    // A new process restores it and calls without exchanging.
    let mut h2 = Harness::new(session_config());
    h2.now = h.now;
    let snap = SessionSnapshot::from_json(&json).unwrap();
    h2.client.restore(h2.t(), &snap).unwrap();
    let call = h2.get_models();
    assert_eq!(h2.count_sent(is_exchange), 0);
    assert_eq!(h2.route_and_finish_call(3600), call);
}

#[test]
fn frozen_version_1_snapshot_still_reads() {
    let frozen = r#"{"schema_version":1,"session_token":"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE4MDAwMDAwMDAsImlhdCI6MTc5OTkxMzYwMH0.c2ln","refresh_token":"rt_frozen","session_id":"sess_9","expires_at_ms":1800000000000,"refresh_expires_at_ms":1802505600000}"#;
    let s = SessionSnapshot::from_json(frozen).unwrap();
    assert_eq!(s.refresh_token.as_ref().unwrap().expose(), "rt_frozen");
    assert_eq!(s.session_id.as_deref(), Some("sess_9"));
    assert_eq!(s.expires_at.as_millis(), 1_800_000_000_000);
    assert_eq!(s.refresh_expires_at.unwrap().as_millis(), 1_802_505_600_000);
    assert_eq!(SessionSnapshot::from_json(&s.to_json()).unwrap(), s);
    assert!(SessionSnapshot::from_json(r#"{"schema_version":2}"#).is_err());
    assert!(SessionSnapshot::from_json(r#"{"session_token":"x"}"#).is_err());
    assert!(SessionSnapshot::from_json("nope").is_err());
}

#[test]
fn clock_jump_of_three_days_refreshes_before_the_next_call() {
    let mut h = warmed_up(session_config(), 24 * HOUR);
    h.now += 3 * DAY; // the laptop slept
    let call = h.get_models();
    assert!(!h.has(is_call), "the expired JWT is not sent");
    let r = h.take(is_refresh);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, 24 * HOUR, "rt_2", None));
    // The route's ttl (1 h) also lapsed: rediscover, then call.
    assert_eq!(h.route_and_finish_call(3600), call);
}

#[test]
fn sleep_past_refresh_token_expiry_exchanges_again() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(24 * HOUR, "rt_1");
    h.now += 31 * DAY;
    h.get_models();
    assert_eq!(
        h.count_sent(is_refresh),
        0,
        "a dead refresh token is not sent"
    );
    assert_eq!(h.count_sent(is_exchange), 2);
}

#[test]
fn clock_stepping_back_an_hour_does_not_delay_refresh() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    let planned = h.client.poll_timeout().unwrap().as_millis();
    h.set_clock(T0 - HOUR); // the clock was corrected back an hour
    let after = h.client.poll_timeout().unwrap().as_millis();
    assert_eq!(
        planned - after,
        HOUR,
        "the refresh stays the same real time away"
    );
}

#[test]
fn server_clock_skew_from_date_header_schedules_refresh_in_server_time() {
    let mut h = Harness::new(session_config());
    h.server_skew_ms = 10 * 60_000; // the server is 10 minutes ahead
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    let skew = h.client.clock_skew_ms();
    assert!((skew - 10 * 60_000).abs() <= 1500, "skew {skew}");
    let SessionStatus::Active(info) = h.client.session_status() else {
        panic!("no session")
    };
    let at = info.refresh_at.unwrap().as_millis();
    // Expiry is at server T0+10min+1h = local T0+1h; refresh must be before that.
    assert!(at < T0 + HOUR - 60_000, "refresh at local {at}");
    assert!(at > T0 + 40 * 60_000);
}

#[test]
fn refresh_answer_after_the_call_that_needed_it_was_cancelled_still_applies() {
    let mut h = warmed_up(session_config(), HOUR);
    h.now = T0 + HOUR;
    let call = h.get_models();
    let r = h.take(is_refresh);
    assert!(h.client.cancel_call(h.t(), call));
    h.pump();
    assert_eq!(h.endings(call), 1);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    assert!(matches!(
        h.client.session_status(),
        SessionStatus::Active(_)
    ));
    assert_eq!(h.endings(call), 1, "no second ending");
    h.routed(3600); // the rediscovery that ran beside the refresh (the route's ttl lapsed too)
                    // The next refresh uses the rotated token.
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r)["refresh_token"], "rt_2");
}

#[test]
fn logout_fails_waiting_calls_and_clears_the_snapshot() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let ex = h.take(is_exchange);
    h.client.logout(h.t());
    h.pump();
    assert_eq!(h.failure(call).unwrap().kind, ErrorKind::NoSession);
    assert!(h.events.iter().any(|e| matches!(
        e,
        Event::SessionChanged {
            snapshot: None,
            reason: SessionChange::Cleared,
            ..
        }
    )));
    // The abandoned exchange's late answer is accepted and ignored.
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt_1", None));
    assert_eq!(h.client.session_snapshot(), None);
}

#[test]
fn tokens_endpoint_with_non_admin_scope_fails_fast() {
    let mut h = Harness::new(session_config());
    let call = h.start(polargrid_core::CallSpec::new(
        polargrid_core::Method::Post,
        "/v1/tokens",
    ));
    let ex = h.take(is_exchange);
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt", Some("read-write")));
    let e = h.failure(call).expect("fails before any edge request");
    assert_eq!(e.kind, ErrorKind::InsufficientScope);
    assert!(e.fix.contains("admin"));
    assert_eq!(h.count_sent(is_call), 0);
}

#[test]
fn tokens_endpoint_with_admin_scope_goes_out() {
    let mut h = Harness::new(session_config());
    h.start(polargrid_core::CallSpec::new(
        polargrid_core::Method::Post,
        "/v1/tokens",
    ));
    let ex = h.take(is_exchange);
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt", Some("admin")));
    h.routed(3600);
    assert!(h.has(is_call));
}

#[test]
fn auth_outage_with_no_waiting_calls_stops_retrying_until_the_next_call() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.run(100, |_, r| match r.purpose {
        Purpose::Exchange => Reply::Respond(json(503, "{}")),
        _ => Reply::Respond(route_answer(
            "yto-01",
            "https://api.yto-01.edge.polargrid.ai",
            60,
        )),
    });
    assert_eq!(h.endings(call), 1);
    let exchanges = h.count_sent(is_exchange);
    // Idle for an hour: no timer fires, no exchange is sent on nobody's behalf.
    assert_eq!(h.client.poll_timeout(), None);
    h.advance(HOUR);
    assert_eq!(h.count_sent(is_exchange), exchanges);
    // The next call starts a fresh exchange at once.
    h.get_models();
    assert_eq!(h.count_sent(is_exchange), exchanges + 1);
}

// ----- an ended session remembers why -----

/// A handoff client holding a handed-over session (1 h JWT, 2 h refresh token) that has
/// routed and finished one call.
fn handed_over() -> Harness {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let grant = serde_json::json!({
        "session_token": jwt(now, now + HOUR, None),
        "refresh_token": "rt_1",
        "session_id": "sess_1",
        "expires_in": 3600,
        "refresh_expires_in": 7200,
    });
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.pump();
    let call = h.get_models();
    assert_eq!(h.route_and_finish_call(3600), call);
    h
}

fn ended_error(h: &Harness) -> ErrorKind {
    h.events
        .iter()
        .find_map(|e| match e {
            Event::SessionEnded { error } => Some(error.kind),
            _ => None,
        })
        .expect("SessionEnded")
}

#[test]
fn refresh_token_expired_in_sleep_gives_session_expired_whether_the_timer_or_the_call_comes_first()
{
    for timer_first in [true, false] {
        let mut h = handed_over();
        // The device sleeps past the refresh token's expiry.
        h.now += 3 * HOUR;
        if timer_first {
            h.client.handle_timeout(h.t());
            h.pump();
            assert_eq!(ended_error(&h), ErrorKind::SessionExpired);
        }
        let call = h.get_models();
        while h.failure(call).is_none() && h.next_wakeup() {}
        let e = h.failure(call).expect("the call gives up");
        assert_eq!(
            e.kind,
            ErrorKind::SessionExpired,
            "timer first: {timer_first}"
        );
        assert_eq!(ended_error(&h), ErrorKind::SessionExpired);
        // A call after that gets the same reason.
        let later = h.get_models();
        while h.failure(later).is_none() && h.next_wakeup() {}
        assert_eq!(h.failure(later).unwrap().kind, ErrorKind::SessionExpired);
        assert_eq!(
            h.count_sent(is_refresh),
            0,
            "the dead refresh token is not sent"
        );
    }
}

#[test]
fn refresh_rejected_in_handoff_gives_its_reason_to_calls_started_later() {
    let mut h = handed_over();
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.respond(r.id, json(401, r#"{"message":"refresh token revoked"}"#));
    assert_eq!(ended_error(&h), ErrorKind::SessionExpired);
    h.now += 2 * HOUR;
    let call = h.get_models();
    while h.failure(call).is_none() && h.next_wakeup() {}
    assert_eq!(h.failure(call).unwrap().kind, ErrorKind::SessionExpired);
}

#[test]
fn logout_in_handoff_gives_no_session_to_waiting_calls() {
    let mut h = handed_over();
    h.client.logout(h.t());
    h.pump();
    let call = h.get_models();
    while h.failure(call).is_none() && h.next_wakeup() {}
    assert_eq!(h.failure(call).unwrap().kind, ErrorKind::NoSession);
}
