//! Clients sharing one session (browser tabs): a refresh the binding withheld (lock
//! timeout, a refresh token another client spent), a session another client offers, and
//! what tells the binding what to share. Fake clock, scripted answers, no sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{
    AfterWithheld, Client, Config, ErrorKind, Event, MisuseError, Offer, RequestId, SessionChange,
    SessionSnapshot, SessionStatus, TabWaits, Timeouts, Timestamp, Withheld, OFFER_WAIT,
};
use support::*;

/// A handoff client holding a handed-over JWT of `ttl_ms` with refresh token `rt_1`.
fn handed_over(ttl_ms: u64) -> Harness {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let grant = serde_json::json!({
        "session_token": jwt(now, now + ttl_ms, None),
        "refresh_token": "rt_1",
        "expires_in": ttl_ms / 1000,
    });
    h.client.hand_over(h.t(), &grant.to_string()).unwrap();
    h.pump();
    h
}

/// The snapshot another tab would offer: a JWT issued at `iat` (server ms) for `ttl_ms`.
fn offered(iat: u64, ttl_ms: u64, refresh: Option<&str>) -> SessionSnapshot {
    SessionSnapshot::from_json(
        &serde_json::json!({
            "schema_version": 1,
            "session_token": jwt(iat, iat + ttl_ms, None),
            "refresh_token": refresh,
            "session_id": "sess_other",
            "expires_at_ms": iat + ttl_ms,
            "refresh_expires_at_ms": null,
        })
        .to_string(),
    )
    .unwrap()
}

fn jwt_held(h: &Harness) -> String {
    let s = h.client.session_snapshot().expect("a session");
    s.session_token.expose().to_string()
}

fn refresh_tokens_sent(h: &Harness) -> Vec<String> {
    h.sent
        .iter()
        .filter(|r| is_refresh(&r.purpose))
        .map(|r| body_json(r)["refresh_token"].as_str().unwrap().to_string())
        .collect()
}

fn aborted(h: &Harness, id: RequestId) -> bool {
    h.events
        .iter()
        .any(|e| matches!(e, Event::Abort { request } if *request == id))
}

fn last_change(h: &Harness) -> Option<SessionChange> {
    h.events.iter().rev().find_map(|e| match e {
        Event::SessionChanged { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[test]
fn refresh_withheld_as_spent_waits_for_the_spenders_session_and_adopts_it_sending_nothing() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let after = h.client.withhold(h.t(), r.id, Withheld::Spent).unwrap();
    assert_eq!(after, AfterWithheld::Dropped);
    h.pump();
    assert!(aborted(&h, r.id), "the binding is told to drop it");
    // Within the wait nothing goes out: the spender's session is on its way.
    h.advance(OFFER_WAIT.as_millis() as u64 - 1);
    assert!(!h.has(is_exchange) && !h.has(is_refresh));
    let other = offered(h.server_now(), HOUR, Some("rt_2"));
    assert_eq!(
        h.client.offer_session(h.t(), &other).unwrap(),
        Offer::Adopted
    );
    h.pump();
    assert_eq!(jwt_held(&h), other.session_token.expose());
    assert_eq!(last_change(&h), Some(SessionChange::Restored));
    assert_eq!(
        refresh_tokens_sent(&h),
        ["rt_1"],
        "rt_1 went out once, in the first request only"
    );
    assert_eq!(h.count_sent(is_exchange), 1);
}

#[test]
fn refresh_withheld_as_spent_with_no_offer_exchanges_the_key_after_the_offer_wait() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let t = h.now;
    h.client.withhold(h.t(), r.id, Withheld::Spent).unwrap();
    assert!(h.next_wakeup());
    assert_eq!(h.now, t + OFFER_WAIT.as_millis() as u64);
    assert!(h.has(is_exchange), "a new session from the key");
    assert!(!h.has(is_refresh), "never the spent refresh token");
}

#[test]
fn refresh_withheld_for_a_lock_timeout_with_the_key_exchanges_at_once() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.client
        .withhold(h.t(), r.id, Withheld::LockTimeout)
        .unwrap();
    h.pump();
    assert!(h.has(is_exchange));
    h.exchanged(HOUR, "rt_9");
    // The next refresh spends the new token, never rt_1 again.
    assert!(h.next_wakeup());
    let r2 = h.take(is_refresh);
    assert_eq!(body_json(&r2)["refresh_token"], "rt_9");
    assert_eq!(refresh_tokens_sent(&h), ["rt_1", "rt_9"]);
}

#[test]
fn handoff_refresh_withheld_for_a_lock_timeout_past_expiry_ends_the_session() {
    let mut h = handed_over(HOUR);
    h.advance(2 * HOUR); // asleep past the JWT's expiry
    let call = h.get_models();
    let r = h.take(is_refresh);
    h.client
        .withhold(h.t(), r.id, Withheld::LockTimeout)
        .unwrap();
    h.pump();
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, Event::SessionEnded { .. })));
    assert_eq!(h.client.session_status(), SessionStatus::Ended);
    assert_eq!(
        h.endings(call),
        0,
        "the call waits for the app's new session"
    );
    assert_eq!(refresh_tokens_sent(&h), ["rt_1"]);
}

#[test]
fn handoff_refresh_withheld_before_expiry_uses_the_jwt_while_it_lasts_and_never_refreshes() {
    let mut h = handed_over(HOUR);
    assert!(h.next_wakeup()); // the proactive refresh, minutes before expiry
    let r = h.take(is_refresh);
    h.client
        .withhold(h.t(), r.id, Withheld::LockTimeout)
        .unwrap();
    h.pump();
    let call = h.get_models();
    h.route_and_finish_call(3600);
    assert!(h.ready(call), "the JWT still serves calls");
    while h.next_wakeup() {
        assert!(!h.has(is_refresh));
    }
    assert_eq!(h.client.session_status(), SessionStatus::Ended);
    assert_eq!(refresh_tokens_sent(&h), ["rt_1"]);
}

#[test]
fn exchange_withheld_for_a_lock_timeout_is_sent_anyway() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    assert_eq!(
        h.client
            .withhold(h.t(), ex.id, Withheld::LockTimeout)
            .unwrap(),
        AfterWithheld::SendAnyway
    );
    let now = h.server_now();
    h.respond(ex.id, session_answer(now, HOUR, "rt_1", None));
    assert!(h.client.session_snapshot().is_some());
}

#[test]
fn withholding_a_request_the_core_never_sent_is_a_misuse_and_changes_nothing() {
    let mut h = warmed_up(session_config(), HOUR);
    let e = h.client.withhold(h.t(), RequestId(999), Withheld::Spent);
    assert!(matches!(
        e,
        Err(MisuseError::UnknownRequest(RequestId(999)))
    ));
    assert!(h.client.session_snapshot().is_some());
}

#[test]
fn offer_of_a_later_session_replaces_ours_and_abandons_the_refresh_in_flight() {
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let other = offered(h.server_now(), HOUR, Some("rt_other"));
    assert_eq!(
        h.client.offer_session(h.t(), &other).unwrap(),
        Offer::Adopted
    );
    h.pump();
    assert!(aborted(&h, r.id));
    assert_eq!(jwt_held(&h), other.session_token.expose());
    // A late answer to the abandoned refresh is accepted and ignored.
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_late", None));
    assert_eq!(jwt_held(&h), other.session_token.expose());
}

#[test]
fn offer_that_expires_no_later_than_ours_is_refused_and_ours_kept() {
    let mut h = warmed_up(session_config(), HOUR);
    let mine = jwt_held(&h);
    let older = offered(h.server_now() - 60_000, HOUR, Some("rt_x"));
    assert_eq!(
        h.client.offer_session(h.t(), &older).unwrap(),
        Offer::NotNewer
    );
    let ours = h.client.session_snapshot().unwrap();
    assert_eq!(h.client.offer_session(h.t(), &ours).unwrap(), Offer::Same);
    assert_eq!(jwt_held(&h), mine);
}

#[test]
fn offer_carrying_a_refresh_token_we_rotated_away_is_stale_and_never_sent_again() {
    let mut h = warmed_up(session_config(), HOUR);
    let before = h.client.session_snapshot().unwrap(); // rt_1
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    let now = h.server_now();
    h.respond(r.id, session_answer(now, HOUR, "rt_2", None));
    // A slow tab offers the pre-rotation session, even with a later expiry stamped on it.
    let mut late = before.clone();
    late.expires_at = polargrid_core::Timestamp(h.server_now() + 2 * HOUR);
    assert_eq!(h.client.offer_session(h.t(), &late).unwrap(), Offer::Stale);
    assert!(h.next_wakeup());
    assert_eq!(refresh_tokens_sent(&h), ["rt_1", "rt_2"]);
}

#[test]
fn offer_withheld_spent_token_comes_back_from_storage_it_is_stale() {
    let mut h = warmed_up(session_config(), HOUR);
    let ours = h.client.session_snapshot().unwrap();
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    h.client.withhold(h.t(), r.id, Withheld::Spent).unwrap();
    let mut same_token = ours.clone();
    same_token.session_token =
        polargrid_core::Secret::new(jwt(h.server_now(), h.server_now() + HOUR, None));
    assert_eq!(
        h.client.offer_session(h.t(), &same_token).unwrap(),
        Offer::Stale
    );
}

#[test]
fn offer_of_an_expired_jwt_without_a_refresh_token_is_dead() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let dead = offered(h.server_now() - 2 * HOUR, HOUR, None);
    assert_eq!(h.client.offer_session(h.t(), &dead).unwrap(), Offer::Dead);
    assert_eq!(h.client.session_status(), SessionStatus::Ended);
}

#[test]
fn offer_of_an_expired_jwt_is_dead_from_the_instant_its_refresh_token_expires_and_adopted_before() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let now = h.server_now();
    let mut lapsed = offered(now - 2 * HOUR, HOUR, Some("rt_0"));
    lapsed.refresh_expires_at = Some(Timestamp(now)); // expiring this very instant
    assert_eq!(h.client.offer_session(h.t(), &lapsed).unwrap(), Offer::Dead);
    let mut live = offered(now - 2 * HOUR, HOUR, Some("rt_0"));
    live.refresh_expires_at = Some(Timestamp(now + DAY));
    assert_eq!(
        h.client.offer_session(h.t(), &live).unwrap(),
        Offer::Adopted,
        "its refresh token still renews it"
    );
}

#[test]
fn handoff_client_with_no_session_adopts_an_offer_and_calls_with_it() {
    let mut h = Harness::new(Config::handoff().with_endpoints(endpoints()));
    let other = offered(h.server_now(), HOUR, Some("rt_1"));
    assert_eq!(
        h.client.offer_session(h.t(), &other).unwrap(),
        Offer::Adopted
    );
    assert!(matches!(
        h.client.session_status(),
        SessionStatus::Active(_)
    ));
    let expired_but_refreshable = offered(h.server_now() - 2 * HOUR, HOUR, Some("rt_0"));
    assert_eq!(
        h.client
            .offer_session(h.t(), &expired_but_refreshable)
            .unwrap(),
        Offer::NotNewer
    );
}

#[test]
fn offer_in_direct_mode_is_a_misuse() {
    let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
    let other = offered(h.server_now(), HOUR, Some("rt_1"));
    assert!(h.client.offer_session(h.t(), &other).is_err());
}

#[test]
fn spends_names_the_refresh_token_of_a_pending_refresh_and_nothing_else() {
    let mut h = Harness::new(session_config());
    h.get_models();
    let ex = h.take(is_exchange);
    assert!(h.client.spends(ex.id).is_none());
    let mut h = warmed_up(session_config(), HOUR);
    assert!(h.next_wakeup());
    let r = h.take(is_refresh);
    assert_eq!(h.client.spends(r.id).map(|s| s.expose()), Some("rt_1"));
    h.client.withhold(h.t(), r.id, Withheld::Spent).unwrap();
    assert!(h.client.spends(r.id).is_none(), "dropped: spends nothing");
}

#[test]
fn call_in_flight_beside_a_held_refresh_token_spends_nothing() {
    let mut h = warmed_up(session_config(), HOUR);
    h.get_models();
    let c = h.take(is_call);
    assert!(
        h.client.spends(c.id).is_none(),
        "a call spends no refresh token"
    );
}

#[test]
fn withheld_reasons_round_trip_their_names() {
    for w in Withheld::ALL {
        assert_eq!(Withheld::parse(w.as_str()), Some(w));
    }
    assert_eq!(Withheld::parse("lock_timeout"), Some(Withheld::LockTimeout));
    assert_eq!(Withheld::parse("refused"), None);
}

#[test]
fn tab_waits_follow_the_auth_timeout() {
    assert_eq!(TabWaits::default().lock.as_secs(), 15);
    let t = Timeouts {
        auth: std::time::Duration::from_secs(30),
        ..Timeouts::default()
    };
    assert_eq!(TabWaits::new(&t).lock.as_secs(), 35);
    let c = Client::new(session_config(), 1).unwrap();
    assert_eq!(c.tab_waits(), TabWaits::default());
}

#[test]
fn client_with_a_longer_auth_timeout_waits_longer_for_the_lock() {
    let mut config = session_config();
    config.timeouts.auth = std::time::Duration::from_secs(30);
    let c = Client::new(config, 1).unwrap();
    assert_eq!(
        c.tab_waits().lock.as_secs(),
        35,
        "its own timeouts, not the defaults"
    );
}

#[test]
fn spent_tokens_are_kept_in_the_ledger_a_day_past_the_refresh_tokens_thirty_days() {
    let waits = TabWaits::default();
    assert_eq!(waits.ledger_keep.as_secs(), 31 * 24 * 3600);
    assert_eq!(waits.storage.as_millis(), 2_000);
    assert_eq!(waits.ask.as_millis(), 250);
}

#[test]
fn only_sessions_this_client_got_itself_are_to_be_shared() {
    use SessionChange::*;
    let shared: Vec<_> = [Exchanged, Refreshed, HandedOver, Restored, Cleared]
        .into_iter()
        .filter(|c| c.is_new())
        .collect();
    assert_eq!(shared, [Exchanged, Refreshed, HandedOver]);
}

#[test]
fn ended_session_reason_is_kept_for_calls_waiting_after_a_withheld_refresh() {
    let mut h = handed_over(HOUR);
    h.advance(2 * HOUR);
    let call = h.get_models();
    let r = h.take(is_refresh);
    h.client
        .withhold(h.t(), r.id, Withheld::LockTimeout)
        .unwrap();
    while h.failure(call).is_none() {
        assert!(h.next_wakeup());
    }
    assert_eq!(h.failure(call).unwrap().kind, ErrorKind::SessionExpired);
}
