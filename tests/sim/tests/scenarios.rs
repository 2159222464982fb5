//! Named scenarios behind known failures of other SDKs (see `polargrid_sim::scenarios`),
//! each run with every invariant checked, plus scenario-specific assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_sim::plan::{SimMode, HOUR, MINUTE};
use polargrid_sim::scenarios;
use polargrid_sim::trace::{Step, StepKind};
use polargrid_sim::{Plan, RunStats, Sim};

/// Runs a plan, keeping its whole trace; a violation fails the test with the last steps.
fn run(plan: Plan) -> (RunStats, Vec<Step>) {
    let mut sim = Sim::new(plan);
    sim.keep_trace();
    match sim.run() {
        Ok(stats) => (stats, sim.trace().all().to_vec()),
        Err(v) => {
            for s in sim.trace().last() {
                eprintln!("  {s}");
            }
            panic!("{v}");
        }
    }
}

fn sends(trace: &[Step], client: usize, purpose: &str, from: u64, to: u64) -> usize {
    trace
        .iter()
        .filter(|s| s.client.0 == client && (from..to).contains(&s.t))
        .filter(|s| matches!(&s.kind, StepKind::Send { purpose: p, .. } if p == purpose))
        .count()
}

fn events(trace: &[Step], client: usize, text: &str, from: u64, to: u64) -> Vec<u64> {
    trace
        .iter()
        .filter(|s| s.client.0 == client && (from..to).contains(&s.t))
        .filter(|s| matches!(&s.kind, StepKind::Event(e) if e.contains(text)))
        .map(|s| s.t)
        .collect()
}

#[test]
fn shared_refresh_token_both_clients_reexchange_once_and_recover() {
    let (stats, trace) = run(scenarios::shared_refresh_token());
    let (main, clone) = (&stats.clients[0], &stats.clients[1]);
    // main: the first exchange, then one more after the family was revoked; the
    // clone: only that one. No loop, no failed call.
    assert_eq!(main.exchanges, 2, "{main:?}");
    assert_eq!(clone.exchanges, 1, "{clone:?}");
    assert_eq!(main.failed + clone.failed, 0, "{main:?} {clone:?}");
    assert!(clone.ready >= 10, "{clone:?}");
    // After both re-exchanged, refreshes go on normally (no storm).
    let end = 2 * HOUR + 7 * MINUTE + 3 * HOUR;
    assert!(sends(&trace, 0, "refresh", 0, end) < 20);
    assert!(sends(&trace, 1, "refresh", 0, end) < 10);
}

#[test]
fn device_asleep_past_jwt_expiry_refreshes_before_the_first_call() {
    let (stats, trace) = run(scenarios::asleep_past_jwt_expiry());
    let main = &stats.clients[0];
    assert_eq!(main.exchanges, 1, "refreshed, not re-exchanged: {main:?}");
    assert_eq!(main.failed, 0, "{main:?}");
    let wake = 9 * HOUR;
    let first_send = trace
        .iter()
        .find(|s| s.t >= wake && matches!(s.kind, StepKind::Send { .. }))
        .unwrap();
    assert!(
        matches!(&first_send.kind, StepKind::Send { purpose, .. } if purpose == "refresh"),
        "first request after waking: {first_send}"
    );
}

#[test]
fn device_asleep_past_refresh_expiry_exchanges_again_in_session_mode() {
    let (stats, trace) = run(scenarios::asleep_past_refresh_expiry(SimMode::Session));
    let main = &stats.clients[0];
    assert_eq!(main.exchanges, 2, "{main:?}");
    assert_eq!(main.failed, 0, "{main:?}");
    let wake = 6 * HOUR + 72 * HOUR;
    assert_eq!(
        sends(&trace, 0, "refresh", wake, wake + MINUTE),
        0,
        "no doomed refresh with a token the client knows expired"
    );
}

#[test]
fn device_asleep_past_refresh_expiry_gets_a_new_session_handed_over() {
    let (stats, trace) = run(scenarios::asleep_past_refresh_expiry(SimMode::Handoff));
    let main = &stats.clients[0];
    assert_eq!(main.exchanges + main.refreshes, main.refreshes);
    assert!(main.handovers >= 2, "{main:?}");
    let wake = 6 * HOUR + 72 * HOUR;
    assert!(!events(&trace, 0, "session ended", wake, wake + MINUTE).is_empty());
    assert!(!events(&trace, 0, "HandedOver", wake, wake + MINUTE).is_empty());
}

#[test]
fn background_tab_resuming_with_40_queued_calls_refreshes_once() {
    let (stats, trace) = run(scenarios::background_tab_resumes());
    let main = &stats.clients[0];
    assert_eq!(main.failed, 0, "{main:?}");
    let wake = 7 * HOUR;
    assert_eq!(sends(&trace, 0, "refresh", wake, wake + MINUTE), 1);
    assert_eq!(sends(&trace, 0, "exchange", wake, wake + MINUTE), 0);
    assert_eq!(events(&trace, 0, "ready", wake, wake + MINUTE).len(), 40);
}

#[test]
fn refresh_failing_once_is_retried_without_waiting_for_a_call() {
    let (stats, trace) = run(scenarios::refresh_fails_once());
    assert_eq!(stats.clients[0].exchanges, 1);
    let failed_at = trace
        .iter()
        .find(|s| matches!(&s.kind, StepKind::Answer { outcome, .. } if outcome == "503"))
        .map(|s| s.t)
        .expect("the refresh met the 503");
    let refreshed = events(&trace, 0, "session Refreshed", failed_at, failed_at + HOUR);
    assert!(
        refreshed.first().is_some_and(|t| t - failed_at < 5_000),
        "retried within seconds: {refreshed:?}"
    );
}

#[test]
fn refresh_through_an_auth_outage_succeeds_on_its_own_when_it_recovers() {
    let (stats, trace) = run(scenarios::refresh_through_auth_outage());
    assert_eq!(
        stats.clients[0].exchanges, 1,
        "the session survived the outage"
    );
    let up = 20 * MINUTE + 2 * HOUR;
    let refreshed = events(&trace, 0, "session Refreshed", up, up + HOUR);
    assert!(
        refreshed.first().is_some_and(|t| t - up <= 40_000),
        "refreshed within the backoff cap after the auth service came back: {refreshed:?}"
    );
    // Backed off during the outage: at most one attempt every 15 s.
    assert!(sends(&trace, 0, "refresh", 20 * MINUTE, up) <= 2 * 3600 / 15 + 5);
}

#[test]
fn auth_rate_limit_then_revocation_waits_out_the_retry_after() {
    let (stats, trace) = run(scenarios::auth_rate_limit_then_revocation());
    // The pacing invariant checked every refresh against the Retry-After; the client
    // came back with a new session once the limit lifted.
    let main = &stats.clients[0];
    assert_eq!(main.exchanges, 2, "{main:?}");
    assert!(sends(&trace, 0, "refresh", 20 * MINUTE, 40 * MINUTE) <= 14);
}

#[test]
fn slow_answers_while_auth_is_down_never_send_an_expired_jwt() {
    // Invariant 1 is checked on every request; the session survives the outage.
    let (stats, _) = run(scenarios::slow_answers_while_auth_is_down());
    assert_eq!(stats.clients[0].exchanges, 1);
}
