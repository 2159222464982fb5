//! Regressions found by the deterministic simulator (`tests/sim`, crate
//! `polargrid-sim`). Each test names the seed that found the bug; the simulator keeps
//! the seed as a named test too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{Config, Event};
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
        assert!(wakeups <= 3, "woken {wakeups} times and the session is still on");
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
    assert!(h.now + 30_000 >= now + HOUR, "ended {} ms early", now + HOUR - h.now);
}
