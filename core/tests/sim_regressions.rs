//! Regressions found by the deterministic simulator (`tests/sim`, crate
//! `polargrid-sim`). Each test names the seed that found the bug; the simulator keeps
//! the seed as a named test too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{Config, Event, HttpResponse, SessionSnapshot};
use support::*;

/// Seed 30 (handoff, session handed over without a refresh token): once the
/// proactive-refresh time had passed, `poll_timeout()` kept returning that past
/// instant after every `handle_timeout` — a driver sleeping until `poll_timeout` spun
/// at full CPU until the JWT expired.
#[test]
fn handoff_session_without_refresh_token_does_not_busy_loop_until_expiry() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let grant = serde_json::json!({
        "session_token": jwt(now, now + HOUR, None),
        "session_id": "sess_1",
        "expires_in": 3600,
    })
    .to_string();
    h.client.hand_over(h.t(), &grant).unwrap();
    h.pump();
    let mut wakeups = 0;
    while let Some(at) = h.client.poll_timeout() {
        wakeups += 1;
        assert!(
            wakeups <= 3,
            "woken {wakeups} times and the session is still on"
        );
        h.now = h.now.max(at.as_millis());
        h.client.handle_timeout(h.t());
        h.pump();
        if let Some(next) = h.client.poll_timeout() {
            assert!(
                next > h.t(),
                "poll_timeout() {next} is not after now {} right after handle_timeout(now)",
                h.t()
            );
        }
    }
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, Event::SessionEnded { .. })),
        "the session ends when its JWT stops being usable"
    );
    // It was used until then: it ended within the last 30 s of its life, not at the
    // proactive-refresh time minutes earlier.
    assert!(
        h.now + 30_000 >= now + HOUR,
        "ended {} ms early",
        now + HOUR - h.now
    );
}

/// Seed 193 (and 392, 412, 414, 447, 528, 668): the device clock was 2 h behind the
/// server's. The running client knew (it had learnt the skew), but the app restarted
/// and the restored client assumed the clocks agreed: it sent a JWT the server had
/// expired half an hour before. The snapshot now carries the skew.
#[test]
fn restored_session_keeps_the_clock_skew_and_refreshes_instead_of_sending_an_expired_jwt() {
    let config = || session_config().with_region("yto-01");
    let mut a = Harness::new(config());
    a.server_skew_ms = 2 * HOUR as i64;
    a.get_models();
    let issued = a.server_now();
    a.exchanged(HOUR, "rt_1");
    let json = a
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::SessionChanged {
                snapshot: Some(s), ..
            } => Some(s.to_json()),
            _ => None,
        })
        .expect("a snapshot to persist");

    let mut b = Harness::seeded(config(), 8);
    b.server_skew_ms = a.server_skew_ms;
    b.now = a.now;
    let snap = SessionSnapshot::from_json(&json).unwrap();
    let skew = snap.clock_skew_ms.expect("the snapshot carries the skew");
    assert!((skew - 2 * HOUR as i64).abs() <= 1500, "skew {skew}");
    b.client.restore(b.t(), &snap).unwrap();
    // 90 minutes later by the device: the JWT expired 30 minutes ago by the server.
    b.set_clock(a.now + 90 * 60_000);
    assert!(b.server_now() > issued + HOUR);
    b.get_models();
    assert_eq!(
        b.count_sent(is_call),
        0,
        "a call went out with a JWT the server had expired"
    );
    assert!(b.has(is_refresh), "the restored client refreshes first");
}

/// Snapshots written before the skew was persisted still read, with no skew.
#[test]
fn snapshot_without_clock_skew_still_reads() {
    let json = r#"{"schema_version":1,"session_token":"a.b.c","refresh_token":"rt","session_id":null,"expires_at_ms":5,"refresh_expires_at_ms":null}"#;
    let s = SessionSnapshot::from_json(json).unwrap();
    assert_eq!(s.clock_skew_ms, None);
    assert!(!s.to_json().contains("clock_skew_ms"));
}

/// Seed 30 (handoff without refresh tokens, pinned region): the device clock jumped
/// 6 h ahead. The client rightly gave up the session it held (by its clock it had
/// expired) — and then every session the backend handed over looked expired on
/// arrival too, so it threw each one away at once. Nothing went out that could show it
/// the server's clock: a mint storm, and no call ever succeeded again.
#[test]
fn handed_over_session_that_looks_expired_on_arrival_corrects_the_clock_instead() {
    let mut h = Harness::new(
        Config::handoff()
            .with_endpoints(endpoints())
            .with_region("yto-01"),
    );
    let grant = |h: &Harness| {
        let now = h.server_now();
        serde_json::json!({"session_token": jwt(now, now + HOUR, None), "expires_in": 3600})
            .to_string()
    };
    let g = grant(&h);
    h.client.hand_over(h.t(), &g).unwrap();
    h.pump();
    // The device clock steps 6 h ahead; the server's does not.
    h.server_skew_ms -= 6 * HOUR as i64;
    h.advance(6 * HOUR);
    let ended = |h: &Harness| {
        h.events
            .iter()
            .filter(|e| matches!(e, Event::SessionEnded { .. }))
            .count()
    };
    assert_eq!(ended(&h), 1, "by its clock the session expired");
    let g = grant(&h);
    h.client.hand_over(h.t(), &g).unwrap();
    h.advance(1000);
    assert_eq!(ended(&h), 1, "the fresh session was thrown away on arrival");
    let call = h.get_models();
    assert_eq!(h.finish_call(), call);
}

/// Found by the simulator's pacing invariant (scenario: the auth service rate-limits
/// refreshes with `Retry-After: 50`, then the session is revoked): every edge 401
/// cleared the session's wait, so the refresh went straight back into the rate limit —
/// one refresh per 401, a storm with many concurrent calls.
#[test]
fn edge_401_does_not_cut_short_the_auth_services_retry_after() {
    let mut h = Harness::new(session_config().with_region("yto-01"));
    let first = h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_eq!(h.finish_call(), first);
    // Sleep to the proactive refresh; the auth service says: come back in 50 s.
    while !h.has(is_refresh) {
        assert!(h.next_wakeup());
    }
    let r = h.take(is_refresh);
    h.respond(
        r.id,
        json(429, r#"{"message":"slow down"}"#).with_header("Retry-After", "50"),
    );
    let limited_at = h.now;
    // The JWT still has minutes left: a call goes out, and the edge says 401.
    h.get_models();
    let c = h.take(is_call);
    h.respond(c.id, json(401, r#"{"message":"Invalid token"}"#));
    h.advance(49_000);
    assert!(
        !h.has(is_refresh),
        "refreshed before the Retry-After ran out"
    );
    while !h.has(is_refresh) {
        assert!(h.next_wakeup());
    }
    assert!(h.now >= limited_at + 50_000);
}

/// Found by a simulator probe (edge answers delayed 50 s while the auth service was
/// down): the skew estimate was `Date + 0.5 s - arrival`, so a slow answer made the
/// server's clock look 50 s earlier than it was, and the client went on sending its
/// JWT after the server had expired it. The `Date` was stamped after the request left.
#[test]
fn slow_answer_does_not_make_the_servers_clock_look_earlier() {
    let mut h = Harness::new(session_config().with_region("yto-01"));
    h.get_models();
    h.exchanged(30 * 60_000, "rt_1");
    let before = h.client.clock_skew_ms();
    let c = h.take(is_call);
    // The edge stamps its Date on arrival; the answer takes 50 s to come back.
    let stamped = h.server_now();
    h.advance(50_000);
    h.respond(
        c.id,
        HttpResponse::new(200).with_header("Date", &http_date(stamped)),
    );
    let after = h.client.clock_skew_ms();
    assert!(
        after >= before - 1000 && after <= 1000,
        "skew moved from {before} to {after} ms on a slow answer"
    );
}
