//! The seeds that found bugs in the core, kept as named tests (each also has a focused
//! regression test in `core/tests/sim_regressions.rs`). Each of them fails when its fix
//! is undone — checked when they were chosen; if the plan generator changes what a seed
//! means (new ingredients keep their own random streams and ids, so they should not),
//! undo the fix and pick again from `soak --no-shrink`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_sim::{run_plan, seed_plan};

fn passes(seed: u64) {
    let plan = seed_plan(seed, None);
    if let Err((v, last)) = run_plan(&plan) {
        for s in &last {
            eprintln!("  {s}");
        }
        panic!("seed {seed}: {v}");
    }
}

/// Handoff without refresh tokens: `poll_timeout()` stayed in the past from the
/// proactive-refresh time until the JWT expired — a busy loop (core commit 15aa1a8).
#[test]
fn seed_30_handoff_without_refresh_token_does_not_busy_loop() {
    passes(30);
}

/// Handoff without refresh tokens, device clock jumped ahead: every session the backend
/// handed over looked expired on arrival and was thrown away at once — a storm of ended
/// sessions, and calls that never went out (core commit 91c2a51).
#[test]
fn seed_142_handed_over_session_corrects_a_clock_that_jumped_ahead() {
    passes(142);
}

/// The app restarted on a device whose clock is off: the restored client forgot the
/// skew its predecessor had learnt and sent a JWT the server had expired (core commit
/// bd21779).
#[test]
fn seed_193_restored_client_keeps_the_clock_skew() {
    passes(193);
}

/// The same, with a pinned region (no discovery answer to learn the clock from first).
#[test]
fn seed_447_restored_client_keeps_the_clock_skew() {
    passes(447);
}

/// The auth service rate-limited refreshes (`Retry-After`) and the session was revoked:
/// every edge 401 cancelled the wait and sent another refresh into the rate limit
/// (core commit 1506e8a).
#[test]
fn seed_57_edge_401_waits_out_the_auth_services_retry_after() {
    passes(57);
}

/// Slow edges (answers 35–55 s late) while the auth service was down: the stale `Date`
/// headers dragged the server-clock estimate back and the client sent its JWT after the
/// server had expired it (core commit f4db5f9).
#[test]
fn seed_27_slow_answers_do_not_make_the_client_send_an_expired_jwt() {
    passes(27);
}
