//! Sessions whose JWT lives seconds or minutes, not hours: the refresh margin is a tenth
//! of the JWT's lifetime (1 s to 5 min) plus a jitter of at most half of it, a call does
//! not take a JWT with less than a twentieth of its lifetime left (0.25 s to 30 s), and
//! the lifetime comes from the JWT's `exp - iat`, else the answer's `expires_in`, else
//! from now to `exp`; a restored snapshot without `iat` counts as a 24 h session.

use crate::support::*;
use base64::Engine as _;
use polargrid_core::{
    Config, Event, HttpResponse, SessionChange, SessionInfo, SessionSnapshot, SessionStatus,
    Timestamp,
};

const SEC: u64 = 1000;

/// The session's facts, whatever it is doing.
fn info(h: &Harness) -> SessionInfo {
    match h.client.session_status() {
        SessionStatus::Active(i) | SessionStatus::Refreshing(i) => i,
        other => panic!("no session: {other:?}"),
    }
}

/// Planned refresh (driver clock) of the session just installed.
fn refresh_at(h: &Harness) -> u64 {
    info(h)
        .refresh_at
        .expect("a refresh is planned")
        .as_millis()
}

/// A JWT with only `exp` (no `iat`), in server milliseconds.
fn jwt_without_iat(exp_ms: u64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(serde_json::json!({"sub": "key_1", "exp": exp_ms / 1000}).to_string()),
        e.encode(b"sig")
    )
}

/// A session-mode client whose exchange (at T0) was answered with `body`.
fn exchanged_with(seed: u64, body: serde_json::Value) -> Harness {
    let mut h = Harness::seeded(session_config(), seed);
    h.get_models();
    let ex = h.take(is_exchange);
    let resp = json(200, &body.to_string()).with_header("Date", &http_date(h.server_now()));
    h.respond(ex.id, resp);
    h
}

fn handoff() -> Config {
    Config::handoff().with_endpoints(endpoints())
}

/// Asserts the planned refresh lies in `[exp - 1.5 margin, exp - margin]`.
fn assert_margin(at: u64, exp: u64, margin: u64, what: &str) {
    assert!(
        (exp - margin - margin / 2..=exp - margin).contains(&at),
        "{what}: refresh at exp-{} ms, want a margin of {margin} ms plus at most {} ms jitter",
        exp - at,
        margin / 2
    );
}

#[test]
fn sixty_second_jwt_is_refreshed_a_tenth_of_its_lifetime_before_expiry_plus_bounded_jitter() {
    let exp = T0 + 60 * SEC;
    let mut planned = Vec::new();
    for seed in 1..=24 {
        let mut h = Harness::seeded(session_config(), seed);
        h.get_models();
        h.exchanged(60 * SEC, "rt_1");
        let at = refresh_at(&h);
        assert_margin(at, exp, 6 * SEC, &format!("seed {seed}"));
        planned.push(at);
    }
    planned.sort_unstable();
    planned.dedup();
    assert!(
        planned.len() > 12,
        "the jitter spreads refreshes: {planned:?}"
    );
    // The most jittered plan uses most of the allowed half-margin: the bound is its size.
    assert!(planned[0] < exp - 6 * SEC - 2 * SEC, "{planned:?}");
}

#[test]
fn sixty_second_jwt_refresh_goes_out_when_planned() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(60 * SEC, "rt_1");
    let at = refresh_at(&h);
    assert_eq!(h.route_and_finish_call(3600), call);
    assert!(h.next_wakeup());
    assert_eq!(h.now, at);
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r), serde_json::json!({"refresh_token": "rt_1"}));
}

#[test]
fn two_second_jwt_is_refreshed_one_second_before_expiry() {
    for seed in 1..=8 {
        let mut h = Harness::seeded(session_config(), seed);
        h.get_models();
        h.exchanged(2 * SEC, "rt_1");
        assert_margin(refresh_at(&h), T0 + 2 * SEC, SEC, &format!("seed {seed}"));
    }
}

#[test]
fn hour_long_jwt_is_refreshed_five_minutes_before_expiry_at_most() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    assert_margin(refresh_at(&h), T0 + HOUR, 300 * SEC, "1 h JWT");
}

/// Warm client with a 60 s JWT whose refresh is out and unanswered.
fn sixty_second_session_with_refresh_out() -> Harness {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    h.exchanged(60 * SEC, "rt_1");
    assert_eq!(h.route_and_finish_call(3600), call);
    assert!(h.next_wakeup());
    assert!(h.has(is_refresh), "refresh out, held unanswered");
    h
}

#[test]
fn sixty_second_jwt_is_used_until_three_seconds_before_expiry() {
    let mut h = sixty_second_session_with_refresh_out();
    let exp = T0 + 60 * SEC;
    // 3 s (a twentieth) and 1 ms left: still good enough for a call.
    h.now = exp - 3 * SEC - 1;
    let call = h.get_models();
    let c = h.take(is_call);
    assert!(c.header("authorization").unwrap().starts_with("Bearer ey"));
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
    // 3 s left: the call waits for the refresh instead of taking the JWT.
    h.now = exp - 3 * SEC;
    let waiting = h.get_models();
    assert!(!h.has(is_call), "a JWT this close to expiry is not sent");
    let r = h.take(is_refresh);
    h.respond(r.id, session_answer(h.server_now(), 60 * SEC, "rt_2", None));
    assert_eq!(h.finish_call(), waiting);
}

#[test]
fn two_second_jwt_is_used_until_a_quarter_second_before_expiry() {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(2 * SEC, "rt_1");
    h.route_and_finish_call(3600);
    let exp = T0 + 2 * SEC;
    h.now = exp - 251;
    h.get_models();
    assert!(h.has(is_call), "251 ms left is enough");
    let _ = h.take(is_call);
    h.now = exp - 250;
    h.get_models();
    assert!(!h.has(is_call), "250 ms left is not");
}

#[test]
fn jwt_claims_give_the_lifetime_even_when_expires_in_says_otherwise() {
    // The JWT says 60 s (iat..exp); the answer's expires_in says an hour.
    let body = serde_json::json!({
        "session_token": jwt(T0, T0 + 60 * SEC, None),
        "refresh_token": "rt_1",
        "expires_in": 3600,
    });
    let h = exchanged_with(7, body);
    assert_eq!(info(&h).expires_at, Timestamp(T0 + 60 * SEC));
    assert_margin(refresh_at(&h), T0 + 60 * SEC, 6 * SEC, "60 s by its claims");
}

#[test]
fn jwt_without_iat_takes_its_lifetime_from_expires_in() {
    // A grant minted 60 s ago by the app's backend: 120 s in all, 60 s left.
    let grant = serde_json::json!({
        "session_token": jwt_without_iat(T0 + 60 * SEC),
        "refresh_token": "rt_1",
        "expires_in": 120,
    });
    let mut h = Harness::new(handoff());
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.pump();
    assert_eq!(info(&h).expires_at, Timestamp(T0 + 60 * SEC));
    assert_margin(
        refresh_at(&h),
        T0 + 60 * SEC,
        12 * SEC,
        "a tenth of 120 s, not of the 60 s left",
    );
}

#[test]
fn jwt_without_iat_or_expires_in_takes_its_lifetime_from_now_to_exp() {
    let body = serde_json::json!({
        "session_token": jwt_without_iat(T0 + 60 * SEC),
        "refresh_token": "rt_1",
    });
    let h = exchanged_with(7, body);
    assert_margin(refresh_at(&h), T0 + 60 * SEC, 6 * SEC, "60 s from now");
}

#[test]
fn opaque_token_takes_its_lifetime_from_expires_in() {
    let body = serde_json::json!({
        "session_token": "opaque-session-token-0123456789",
        "refresh_token": "rt_1",
        "expires_in": 60,
    });
    let h = exchanged_with(7, body);
    assert_eq!(info(&h).expires_at, Timestamp(T0 + 60 * SEC));
    assert_margin(refresh_at(&h), T0 + 60 * SEC, 6 * SEC, "expires_in 60");
}

fn snapshot(token: &str, expires_at: u64) -> SessionSnapshot {
    SessionSnapshot {
        session_token: polargrid_core::Secret::new(token),
        refresh_token: Some(polargrid_core::Secret::new("rt_saved")),
        session_id: Some("sess_saved".to_string()),
        expires_at: Timestamp(expires_at),
        refresh_expires_at: Some(Timestamp(T0 + 20 * DAY)),
        clock_skew_ms: None,
    }
}

#[test]
fn restored_snapshot_without_iat_counts_as_a_24_hour_session() {
    // Opaque token, an hour left: a 24 h session's margin is the 5 min cap.
    let mut h = Harness::new(session_config());
    h.client
        .restore(
            h.t(),
            &snapshot("opaque-restored-token-0123456789", T0 + HOUR),
        )
        .unwrap();
    h.pump();
    assert_margin(
        refresh_at(&h),
        T0 + HOUR,
        300 * SEC,
        "24 h default lifetime",
    );
    // And its minimum validity is the 30 s cap: 30 s and 1 ms left still carries a call…
    h.set_clock(T0 + HOUR - 30 * SEC - 1);
    assert!(h.has(is_refresh), "the refresh is long due");
    h.get_models();
    h.route_and_finish_call(3600);
    // …30 s left does not.
    h.now = T0 + HOUR - 30 * SEC;
    h.get_models();
    assert!(!h.has(is_call), "waits for the refresh");
}

#[test]
fn restored_sixty_second_jwt_keeps_its_lifetime_from_iat() {
    // Issued 50 s ago, 10 s left: the margin is a tenth of 60 s, not of 24 h.
    let mut h = Harness::new(session_config());
    h.client
        .restore(
            h.t(),
            &snapshot(&jwt(T0 - 50 * SEC, T0 + 10 * SEC, None), T0 + 10 * SEC),
        )
        .unwrap();
    h.pump();
    let restored = h.events.iter().any(|e| {
        matches!(
            e,
            Event::SessionChanged {
                reason: SessionChange::Restored,
                ..
            }
        )
    });
    assert!(restored);
    assert_margin(refresh_at(&h), T0 + 10 * SEC, 6 * SEC, "60 s JWT restored");
    assert!(!h.has(is_refresh), "not due yet");
}

#[test]
fn jwt_issued_at_its_own_expiry_is_dead_on_arrival() {
    // iat = exp: by the issuer's own clock it has no life left. Not taken; the exchange
    // is tried again after a backoff.
    let body = serde_json::json!({
        "session_token": jwt(T0, T0, None),
        "refresh_token": "rt_1",
        "expires_in": 60,
    });
    let mut h = exchanged_with(7, body);
    assert!(h.client.session_snapshot().is_none());
    assert!(h.next_wakeup());
    assert!(h.has(is_exchange));
}

#[test]
fn restored_jwt_whose_iat_is_not_before_its_exp_counts_as_a_24_hour_session() {
    let mut h = Harness::new(session_config());
    h.client
        .restore(
            h.t(),
            &snapshot(&jwt(T0 + HOUR, T0 + HOUR, None), T0 + HOUR),
        )
        .unwrap();
    h.pump();
    assert_margin(
        refresh_at(&h),
        T0 + HOUR,
        300 * SEC,
        "24 h default lifetime",
    );
}
