//! Which answers may move the client's estimate of the server's clock (issue 7, item 1):
//! only the issuer's grant, judged by its JWT's `iat`. One wrong `Date` header costs at
//! most one extra request — never a storm, never a lost session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{Config, HttpResponse, SessionStatus};
use support::*;

/// Year 9999 and 1970, as an answer's `Date`.
const DATE_9999: &str = "Fri, 31 Dec 9999 23:59:59 GMT";
const DATE_1970: &str = "Thu, 01 Jan 1970 00:00:01 GMT";

fn session_requests(h: &Harness) -> usize {
    h.count_sent(is_exchange) + h.count_sent(is_refresh)
}

fn jwt_of(h: &Harness) -> String {
    h.client
        .session_snapshot()
        .unwrap()
        .session_token
        .expose()
        .to_string()
}

#[test]
fn edge_date_in_year_9999_or_1970_starts_no_exchange_or_refresh() {
    for bad in [DATE_9999, DATE_1970] {
        let mut h = warmed_up(session_config(), HOUR);
        let jwt = format!("Bearer {}", jwt_of(&h));
        for _ in 0..6 {
            h.advance(1000);
            let call = h.get_models();
            let c = h.take(is_call);
            assert_eq!(c.header("authorization"), Some(jwt.as_str()), "{bad}");
            h.respond(c.id, HttpResponse::new(200).with_header("Date", bad));
            assert!(h.ready(call), "{bad}");
        }
        assert_eq!(session_requests(&h), 1, "{bad}: only the first exchange");
        assert_eq!(h.client.clock_skew_ms(), 0, "{bad}");
    }
}

#[test]
fn autorouter_date_never_discards_a_fresh_session() {
    for bad in [DATE_9999, DATE_1970] {
        let mut h = Harness::new(session_config());
        let call = h.get_models();
        h.exchanged(HOUR, "rt_1");
        let d = h.take(is_discover);
        let route = route_answer("yto-01", "https://api.yto-01.edge.polargrid.ai", 3600)
            .with_header("Date", bad);
        h.respond(d.id, route);
        h.finish_call();
        assert!(h.ready(call), "{bad}");
        assert_eq!(session_requests(&h), 1, "{bad}: the session was kept");
    }
}

#[test]
fn auth_date_of_1970_on_a_refresh_answer_keeps_refreshing_not_exchanging() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let now = h.server_now();
    let mut answer = session_answer(now, HOUR, "rt_2", None);
    answer
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("date"));
    h.respond(r.id, answer.with_header("Date", DATE_1970));
    // A call in between, answered by an edge with a correct Date.
    let call = h.get_models();
    let c = h.take(is_call);
    let now = h.server_now();
    h.respond(
        c.id,
        HttpResponse::new(200).with_header("Date", &http_date(now)),
    );
    assert!(h.ready(call));
    // The next session request is a refresh with the rotated token, near expiry.
    assert!(h.next_wakeup());
    assert!(h.has(is_refresh), "refreshed, not exchanged");
    assert_eq!(h.count_sent(is_exchange), 1);
    let r = h.take(is_refresh);
    assert_eq!(body_json(&r), serde_json::json!({"refresh_token": "rt_2"}));
    assert!(h.client.clock_skew_ms().abs() < 2_000);
}

#[test]
fn auth_date_of_9999_on_an_exchange_answer_still_installs_the_session() {
    let mut h = Harness::new(session_config());
    let call = h.get_models();
    let ex = h.take(is_exchange);
    let now = h.server_now();
    let mut answer = session_answer(now, HOUR, "rt_1", None);
    answer
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("date"));
    h.respond(ex.id, answer.with_header("Date", DATE_9999));
    assert!(matches!(
        h.client.session_status(),
        SessionStatus::Active(_)
    ));
    assert_eq!(h.route_and_finish_call(3600), call);
    assert_eq!(session_requests(&h), 1);
    assert!(h.client.clock_skew_ms().abs() < 2_000);
}

#[test]
fn grant_date_hours_away_from_iat_leaves_the_estimate_to_iat() {
    // The server's clock is really 3 h ahead of the device's; a proxy in front of the
    // auth service stamps its own Date, 5 h off the other way.
    let mut h = Harness::new(session_config());
    h.server_skew_ms = 3 * HOUR as i64;
    h.get_models();
    let ex = h.take(is_exchange);
    let now = h.server_now();
    let mut answer = session_answer(now, HOUR, "rt_1", None);
    answer
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("date"));
    h.respond(
        ex.id,
        answer.with_header("Date", &http_date(now - 5 * HOUR)),
    );
    let skew = h.client.clock_skew_ms();
    assert!(
        (skew - 3 * HOUR as i64).abs() < 2_000,
        "the estimate follows the signed iat: {skew}"
    );
}

#[test]
fn retry_after_date_is_read_against_its_own_answers_date() {
    // An edge whose clock says 9999 asks for 5 s in its own terms: 5 s it is, not a
    // refusal and not an eternity.
    let mut h = Harness::new(support_direct());
    let call = h.get_models();
    h.routed(3600);
    let c = h.take(is_call);
    let sent_at = h.now;
    h.respond(
        c.id,
        json(429, r#"{"message":"slow down"}"#)
            .with_header("Date", "Fri, 31 Dec 9999 23:59:50 GMT")
            .with_header("Retry-After", "Fri, 31 Dec 9999 23:59:55 GMT"),
    );
    assert!(h.failure(call).is_none(), "{:?}", h.failure(call));
    assert!(h.next_wakeup());
    let retry = h.take(is_call);
    let waited = h.now - sent_at;
    assert!((5_000..=8_000).contains(&waited), "waited {waited} ms");
    h.respond(retry.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn device_clock_jumping_a_day_ahead_costs_one_refresh_then_the_grant_corrects_it() {
    let mut h = warmed_up(session_config(), HOUR);
    // The device's clock jumps a day ahead (the server's does not).
    h.now += DAY;
    h.server_skew_ms = -(DAY as i64);
    let call = h.get_models();
    let r = h.take(is_refresh);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    assert_eq!(h.route_and_finish_call(3600), call); // the route's hour is over too
    let skew = h.client.clock_skew_ms();
    assert!((skew + DAY as i64).abs() < 2_000, "{skew}");
    // Later calls use the new JWT without another session request.
    for _ in 0..3 {
        h.advance(60_000);
        let call = h.get_models();
        assert_eq!(h.finish_call(), call);
    }
    assert_eq!(session_requests(&h), 2);
}

fn support_direct() -> Config {
    Config::direct(KEY).with_endpoints(endpoints())
}

#[test]
fn unseen_clock_step_and_auth_date_off_by_the_same_hours_still_learn_from_iat() {
    // Soak seed 5971: the device's clock fell 2 h behind without the client seeing it
    // step, and the auth service's Date is 2 h behind too. The grant's iat is the
    // issuer's clock: the estimate follows it, so no expired JWT is used later.
    let mut h = warmed_up(session_config(), HOUR);
    h.server_skew_ms = 2 * HOUR as i64;
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let now = h.server_now();
    let mut answer = session_answer(now, 6 * HOUR, "rt_2", None);
    answer
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("date"));
    h.respond(r.id, answer.with_header("Date", &http_date(h.now)));
    let skew = h.client.clock_skew_ms();
    assert!((skew - 2 * HOUR as i64).abs() < 2_000, "{skew}");
}
