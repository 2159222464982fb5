//! The seeds that found bugs in the core, kept as named tests (each also has a focused
//! regression test in `core/tests/sim_regressions.rs`). Each fails if its fix is undone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_sim::{run_plan, seed_plan};

fn passes(seed: u64, keep: Option<&[usize]>) {
    let plan = seed_plan(seed, keep);
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
    passes(30, None);
}

/// Handoff without refresh tokens, device clock steps 4.4 h ahead: every session the
/// backend handed over looked expired on arrival and was thrown away; the app's call
/// never went out (core commit 91c2a51).
#[test]
fn seed_142_handed_over_session_corrects_a_clock_that_jumped_ahead() {
    passes(142, Some(&[7]));
    passes(142, None);
}

/// The app restarted on a device whose clock is off: the restored client forgot the
/// skew its predecessor had learnt and sent a JWT the server had expired (core commit
/// bd21779).
#[test]
fn seed_57_restored_client_keeps_the_clock_skew() {
    passes(57, None);
}

/// The same, with a pinned region (no discovery answer to learn the clock from first).
#[test]
fn seed_447_restored_client_keeps_the_clock_skew() {
    passes(447, None);
}

/// The auth service rate-limited refreshes (`Retry-After`) and the session was revoked:
/// every edge 401 cancelled the wait and sent another refresh into the rate limit
/// (core commit 1506e8a).
#[test]
fn seed_32_edge_401_waits_out_the_auth_services_retry_after() {
    passes(32, None);
}
