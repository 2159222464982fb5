//! The driver's clock is not the server's, and it steps: backwards (corrected by NTP, set
//! by hand) or forwards (sleep). The session keeps its timing in server time, so a step
//! of the driver's clock moves the skew, never the refresh or a backoff's real length.

use crate::support::*;
use polargrid_core::{Config, HttpResponse, SessionInfo, SessionStatus};

const SEC: u64 = 1000;
const MIN: u64 = 60 * SEC;

fn info(h: &Harness) -> SessionInfo {
    match h.client.session_status() {
        SessionStatus::Active(i) | SessionStatus::Refreshing(i) => i,
        other => panic!("no session: {other:?}"),
    }
}

/// Exchanged (an hour's JWT), routed, one call done; nothing outstanding.
fn warm() -> Harness {
    let h = warmed_up(session_config(), HOUR);
    assert!(h.outstanding.is_empty());
    h
}

#[test]
fn clock_stepped_back_an_hour_with_nothing_in_flight_keeps_the_refresh_at_its_server_time() {
    let mut h = warm();
    assert_eq!(h.client.clock_skew_ms(), 0);
    let planned = h.client.poll_timeout().unwrap().as_millis();
    assert_eq!(Some(planned), info(&h).refresh_at.map(|t| t.as_millis()));
    h.set_clock(T0 - HOUR);
    assert_eq!(
        h.client.clock_skew_ms(),
        HOUR as i64,
        "the server's clock did not step"
    );
    assert_eq!(h.client.poll_timeout().unwrap().as_millis(), planned - HOUR);
    // And the refresh then goes out at that (stepped) time, not an hour late.
    assert!(h.next_wakeup());
    assert_eq!(h.now, planned - HOUR);
    assert!(h.has(is_refresh));
}

#[test]
fn clock_stepped_back_during_an_auth_backoff_keeps_the_backoffs_real_length() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    h.respond(ex.id, HttpResponse::new(503));
    let retry_at = h.client.poll_timeout().unwrap().as_millis();
    let wait = retry_at - T0;
    assert!((250..=500).contains(&wait), "first backoff {wait} ms");
    h.set_clock(T0 - HOUR);
    assert_eq!(
        h.client.poll_timeout().unwrap().as_millis(),
        T0 - HOUR + wait,
        "the retry is still {wait} ms away"
    );
    assert!(h.next_wakeup());
    assert!(h.has(is_exchange));
}

#[test]
fn clock_stepped_back_while_the_exchange_was_out_learns_the_skew_from_the_answer() {
    // The server is 10 min ahead; nothing has told the client yet. While the exchange is
    // out, the device's clock is set back an hour.
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    h.now = T0 - HOUR;
    h.server_skew_ms = (HOUR + 10 * MIN) as i64;
    h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_1", None));
    let skew = h.client.clock_skew_ms();
    let want = (HOUR + 10 * MIN) as i64;
    assert!(
        (skew - want).abs() <= 1000,
        "skew {skew} ms, the answer's Date says {want} ms"
    );
    // So the hour-long JWT is refreshed in an hour of this clock, minus the margin.
    let at = info(&h).refresh_at.unwrap().as_millis();
    assert!(
        (h.now + HOUR - 7 * MIN - 30 * SEC - 1000..=h.now + HOUR - 5 * MIN + 1000).contains(&at),
        "refresh {} ms from now",
        at as i64 - h.now as i64
    );
}

#[test]
fn small_clock_step_back_while_the_exchange_was_out_keeps_a_skew_within_the_date_resolution() {
    // Server and device agree; the device's clock is stepped back 5 s while the
    // exchange is out: the skew becomes the 5 s step, give or take the Date's 1 s.
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    h.now = T0 - 5 * SEC;
    h.server_skew_ms = 5 * SEC as i64;
    h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_1", None));
    let skew = h.client.clock_skew_ms();
    assert!((4000..=6500).contains(&skew), "skew {skew}");
}

fn handoff() -> Config {
    Config::handoff().with_endpoints(endpoints())
}

fn grant(iat: u64, exp: u64) -> String {
    serde_json::json!({
        "session_token": jwt(iat, exp, None),
        "refresh_token": "rt_1",
        "expires_in": (exp - iat) / 1000,
    })
    .to_string()
}

#[test]
fn handed_over_jwt_issued_a_day_in_the_future_moves_the_clock_to_its_iat() {
    // The device's clock is a day behind: the backend minted the JWT "tomorrow".
    let mut h = Harness::new(handoff());
    h.client
        .hand_over(h.t(), &grant(T0 + DAY, T0 + DAY + HOUR))
        .unwrap();
    h.pump();
    assert_eq!(h.client.clock_skew_ms(), DAY as i64);
    // It is refreshed within the hour it really has, not a day late.
    let at = info(&h).refresh_at.unwrap().as_millis();
    assert!(
        (T0 + HOUR - 7 * MIN - 30 * SEC..=T0 + HOUR - 5 * MIN).contains(&at),
        "refresh {} ms from now",
        at - T0
    );
}

#[test]
fn handed_over_jwt_issued_two_seconds_ahead_is_clock_jitter_not_a_step() {
    let mut h = Harness::new(handoff());
    h.client
        .hand_over(h.t(), &grant(T0 + 2 * SEC, T0 + 2 * SEC + HOUR))
        .unwrap();
    h.pump();
    assert_eq!(h.client.clock_skew_ms(), 0, "2 s ahead is within tolerance");
    let mut h = Harness::new(handoff());
    h.client
        .hand_over(h.t(), &grant(T0 + 3 * SEC, T0 + 3 * SEC + HOUR))
        .unwrap();
    h.pump();
    assert_eq!(
        h.client.clock_skew_ms(),
        3000,
        "3 s ahead means the clock is behind"
    );
}

#[test]
fn handed_over_jwt_expiring_exactly_now_means_the_device_clock_is_ahead() {
    // Issued an hour ago by the device's clock and expiring this very millisecond: the
    // device's clock is ahead (a fresh hand-over is never already expired).
    let mut h = Harness::new(handoff());
    h.client.hand_over(h.t(), &grant(T0 - HOUR, T0)).unwrap();
    h.pump();
    assert_eq!(h.client.clock_skew_ms(), -(HOUR as i64));
    assert!(matches!(
        h.client.session_status(),
        SessionStatus::Active(_)
    ));
}

#[test]
fn handed_over_jwt_with_a_second_left_is_taken_as_it_is() {
    let mut h = Harness::new(handoff());
    h.client
        .hand_over(h.t(), &grant(T0 - HOUR + SEC, T0 + SEC))
        .unwrap();
    h.pump();
    assert_eq!(h.client.clock_skew_ms(), 0);
}

#[test]
fn answer_that_pins_the_skew_to_the_millisecond_sets_it_exactly() {
    // Sent at T0, answered 1 s earlier by a clock stepped back 1 s (too small to count as
    // a step), Date 10 min ahead: the skew lies in [Date - now, Date + 1 s - sent], which
    // here is the single value 10 min + 1 s.
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    h.now = T0 - SEC;
    h.server_skew_ms = (10 * MIN + SEC) as i64;
    h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_1", None));
    assert_eq!(h.client.clock_skew_ms(), (10 * MIN + SEC) as i64);
}

#[test]
fn disagreement_of_a_second_and_a_half_after_a_step_back_is_within_the_dates_resolution() {
    // Stepped back 5 s while the exchange was out (so the skew became 5 s), and the
    // answer's Date says the server is 1 s ahead besides: judged by the Date alone the
    // skew is 6.5 s ± 1 s, no more than 1.5 s off — kept. 2 s ahead is a real change.
    for (ahead, want) in [(SEC, 5 * SEC), (2 * SEC, 7 * SEC + 500)] {
        let mut h = Harness::new(session_config());
        h.get_models();
        let ex = h.take(is_exchange);
        h.now = T0 - 5 * SEC;
        h.server_skew_ms = (5 * SEC + ahead) as i64;
        h.respond(ex.id, session_answer(h.server_now(), HOUR, "rt_1", None));
        assert_eq!(h.client.clock_skew_ms(), want as i64, "{ahead} ms ahead");
    }
}

#[test]
fn opaque_token_from_a_server_ten_minutes_ahead_expires_by_the_servers_clock() {
    // The first answer teaches the skew; its relative expires_in counts from the
    // server's now as that same answer's Date gives it.
    let mut h = Harness::new(session_config());
    h.server_skew_ms = (10 * MIN) as i64;
    h.get_models();
    let ex = h.take(is_exchange);
    let body =
        r#"{"session_token":"opaque-session-token","refresh_token":"rt_1","expires_in":3600}"#;
    h.respond(
        ex.id,
        json(200, body).with_header("Date", &http_date(h.server_now())),
    );
    // The Date is whole seconds: the skew is known to within the second after it.
    let skew = h.client.clock_skew_ms();
    assert!(
        (10 * MIN..=10 * MIN + SEC).contains(&(skew as u64)),
        "skew {skew}"
    );
    assert_eq!(info(&h).expires_at.as_millis(), T0 + skew as u64 + HOUR);
}

/// Handoff: a 10 min JWT whose refresh token dies 50 s before it; the refresh (due 60-90 s
/// before expiry) fails with a 503 asking to come back after the refresh token died.
fn handoff_refresh_outlived_by_its_jwt() -> Harness {
    let mut h = Harness::new(handoff());
    let grant = serde_json::json!({
        "session_token": jwt(T0, T0 + 10 * MIN, None),
        "refresh_token": "rt_1",
        "expires_in": 600,
        "refresh_expires_in": 550,
    });
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.pump();
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let come_back_s = (T0 + 550 * SEC - h.now).div_ceil(SEC);
    assert!(come_back_s <= 60);
    h.respond(
        r.id,
        HttpResponse::new(503).with_header("Retry-After", &come_back_s.to_string()),
    );
    h
}

#[test]
fn refresh_token_dying_during_a_backoff_leaves_no_wake_up_in_the_past() {
    // At the retry the refresh token is dead and there is no key: the JWT is used while
    // it lasts, and the next wake-up is when it stops being usable — not the retry time
    // again (a driver sleeping until poll_timeout would spin).
    let mut h = handoff_refresh_outlived_by_its_jwt();
    assert!(h.next_wakeup(), "woken at the retry time");
    assert!(!h.has(is_refresh), "the dead refresh token is not sent");
    let next = h.client.poll_timeout().unwrap();
    assert!(
        next > h.t(),
        "next wake-up {next} is not after now {}",
        h.t()
    );
    assert_eq!(next.as_millis(), T0 + 10 * MIN - 30 * SEC);
    // The same when the driver wakes a second late.
    let mut h = handoff_refresh_outlived_by_its_jwt();
    let retry_at = h.client.poll_timeout().unwrap().as_millis();
    h.set_clock(retry_at + SEC);
    assert!(!h.has(is_refresh));
    assert_eq!(
        h.client.poll_timeout().unwrap().as_millis(),
        T0 + 10 * MIN - 30 * SEC
    );
}

/// A grant whose JWT carries `exp` alone (no `iat`) and whose answer has no `expires_in`:
/// only its `Date` can say what the issuer's clock reads.
fn exp_only_grant(date_ms: u64, exp_ms: u64) -> HttpResponse {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = serde_json::json!({"sub": "key_1", "exp": exp_ms / 1000});
    let token = format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims.to_string()),
        e.encode("sig")
    );
    let body = serde_json::json!({"session_token": token, "refresh_token": "rt_1"});
    HttpResponse::new(200)
        .with_header("Date", &http_date(date_ms))
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
}

/// Exchanges with the server's clock `ahead_ms` ahead of the device's, answered by
/// `grant(server now)`; returns the client's skew estimate afterwards.
fn skew_after_exp_only_grant(ahead_ms: u64, grant: impl Fn(u64) -> HttpResponse) -> Harness {
    let mut h = Harness::new(session_config());
    h.server_skew_ms = ahead_ms as i64;
    h.get_models();
    let ex = h.take(is_exchange);
    let server_now = h.server_now();
    h.respond(ex.id, grant(server_now));
    h
}

#[test]
fn grant_without_issue_time_learns_the_server_clock_from_its_date() {
    // A day's JWT, and one of 30 days: the Date is believed up to a month before `exp`.
    for lifetime in [DAY, 30 * DAY] {
        let h = skew_after_exp_only_grant(2 * HOUR, |now| exp_only_grant(now, now + lifetime));
        let skew = h.client.clock_skew_ms();
        assert!(
            skew.abs_diff(2 * HOUR as i64) <= 2 * SEC,
            "lifetime {lifetime}: skew {skew}"
        );
        assert!(matches!(
            h.client.session_status(),
            SessionStatus::Active(_)
        ));
    }
}

#[test]
fn grant_date_at_or_after_its_exp_or_over_a_month_before_it_is_not_believed() {
    // The device clock is right; each Date is wrong in a way the JWT's exp gives away.
    for (date_after_now, exp_after_now) in [
        (3 * HOUR, HOUR),                // Date after exp
        (HOUR, HOUR),                    // Date exactly at exp
        (2 * HOUR, 2 * HOUR + 32 * DAY), // Date over a month before exp
    ] {
        let h = skew_after_exp_only_grant(0, |now| {
            exp_only_grant(now + date_after_now, now + exp_after_now)
        });
        assert_eq!(
            h.client.clock_skew_ms(),
            0,
            "Date +{date_after_now} ms, exp +{exp_after_now} ms"
        );
        assert!(
            matches!(h.client.session_status(), SessionStatus::Active(_)),
            "Date +{date_after_now} ms, exp +{exp_after_now} ms: the session was kept"
        );
    }
}
