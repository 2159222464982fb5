//! Named scenarios behind known failures of other SDKs. Each is a hand-made plan run
//! by the same driver, with the same invariants, as the random seeds; the random plans
//! contain the same ingredients (see [`plan::generate`](crate::plan::generate)).

use crate::plan::{
    AppAction, CallKind, CallPlan, Fault, FaultKind, ModelHint, Plan, RouteStyle, SimMode,
    UrlStyle, Variant, DAY, HOUR, MINUTE, SECOND,
};
use polargrid_emulator::model::{RetryAfter, Target};

/// A plain variant: loopback URLs, auto-routing, the read-write key.
pub fn variant(mode: SimMode, jwt_ttl_s: u64, refresh_ttl_s: u64) -> Variant {
    Variant {
        mode,
        urls: UrlStyle::Loopback,
        route: RouteStyle::Auto,
        jwt_ttl_s,
        refresh_ttl_s,
        route_ttl_s: 3600,
        admin_key: false,
        legacy_token_field: false,
        handoff_without_refresh: false,
        host_clocks: Vec::new(),
        opaque_platform: false,
    }
}

/// One call of `kind` every `step` from `from` (inclusive) to `to` (exclusive).
pub fn every(from: u64, to: u64, step: u64, kind: CallKind) -> Vec<AppAction> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        out.push(AppAction {
            at,
            calls: vec![call(kind)],
        });
        at += step;
    }
    out
}

/// A call with no cancellation and the default timeout.
pub fn call(kind: CallKind) -> CallPlan {
    CallPlan {
        kind,
        cancel_after: None,
        timeout: None,
    }
}

/// A chat call with no routing hint.
pub const CHAT: CallKind = CallKind::Chat {
    model: ModelHint::Body,
    stream: false,
};

/// Builds a plan from faults given as `(at, dur, kind)`; ids follow their order.
pub fn plan(
    seed: u64,
    variant: Variant,
    life: u64,
    workload: Vec<AppAction>,
    faults: Vec<(u64, u64, FaultKind)>,
) -> Plan {
    let mut p = Plan::empty(seed, variant, life);
    p.workload = workload;
    p.workload.sort_by_key(|a| a.at);
    p.faults = faults
        .into_iter()
        .enumerate()
        .map(|(id, (at, dur, kind))| Fault { id, at, dur, kind })
        .collect();
    p
}

/// Two clients restored from the same snapshot (the app restarts, and a second tab
/// restores the same persisted session): both hold one refresh token. The first to
/// refresh rotates it; the other's refresh is a reuse, the model revokes the family,
/// and both must re-exchange with the key — once each, never in a loop.
pub fn shared_refresh_token() -> Plan {
    let at = 2 * HOUR + 7 * MINUTE;
    plan(
        101,
        variant(SimMode::Session, 30 * 60, 30 * 86_400),
        DAY,
        every(MINUTE, DAY, 5 * MINUTE, CallKind::Models),
        vec![
            (at, 0, FaultKind::Restart),
            (at, 3 * HOUR, FaultKind::SharedClone),
        ],
    )
}

/// The device sleeps 6 h with a 2 h JWT: on waking, the JWT is long expired but the
/// refresh token is fine. The client must refresh before the first call goes out (the
/// invariants catch an expired JWT on the wire) and not re-exchange.
pub fn asleep_past_jwt_expiry() -> Plan {
    plan(
        102,
        variant(SimMode::Session, 2 * 3600, 7 * 86_400),
        DAY,
        every(10 * MINUTE, DAY, 20 * MINUTE, CHAT),
        vec![(3 * HOUR, 6 * HOUR, FaultKind::Sleep)],
    )
}

/// The device sleeps 3 days; the refresh token lived 1 day. Session mode: exchange the
/// key again (no doomed refresh needed, no failed calls). Handoff mode: the session
/// ends and the app's backend hands over another.
pub fn asleep_past_refresh_expiry(mode: SimMode) -> Plan {
    plan(
        103,
        variant(mode, 2 * 3600, 86_400),
        5 * DAY,
        every(10 * MINUTE, 5 * DAY, HOUR, CHAT),
        vec![(6 * HOUR, 3 * DAY, FaultKind::Sleep)],
    )
}

/// A background tab is frozen for 5 h (1 h JWTs) while the page queues 40 calls; on
/// resume they all start at once. One refresh serves them all.
pub fn background_tab_resumes() -> Plan {
    let mut calls = every(5 * MINUTE, 2 * HOUR, 15 * MINUTE, CallKind::Models);
    // Queued while frozen: they start together when the tab resumes.
    calls.extend(
        every(2 * HOUR + MINUTE, 6 * HOUR, 6 * MINUTE, CHAT)
            .into_iter()
            .take(40),
    );
    plan(
        104,
        variant(SimMode::Session, 3600, 30 * 86_400),
        DAY,
        calls,
        vec![(2 * HOUR, 5 * HOUR, FaultKind::Sleep)],
    )
}

/// The proactive refresh fails once (one 503 from the auth service); the app is idle.
/// The refresh must be retried on its own, not wait for the JWT to expire.
pub fn refresh_fails_once() -> Plan {
    // 30-minute JWTs are refreshed about 27 minutes in: the 503 meets that refresh.
    plan(
        105,
        variant(SimMode::Session, 30 * 60, 30 * 86_400),
        4 * HOUR,
        vec![AppAction {
            at: MINUTE,
            calls: vec![call(CallKind::Models)],
        }],
        vec![(
            20 * MINUTE,
            0,
            FaultKind::Status {
                target: Target::Auth,
                status: 503,
                count: 1,
            },
        )],
    )
}

/// The auth service is down for 2 h from just before the proactive refresh (the JWT
/// expires during the outage); the app is idle. When the service comes back, the
/// client refreshes on its own within the session backoff cap.
pub fn refresh_through_auth_outage() -> Plan {
    plan(
        106,
        variant(SimMode::Session, 30 * 60, 30 * 86_400),
        6 * HOUR,
        vec![AppAction {
            at: MINUTE,
            calls: vec![call(CallKind::Models)],
        }],
        vec![(
            20 * MINUTE,
            2 * HOUR,
            FaultKind::Down {
                target: Target::Auth,
            },
        )],
    )
}

/// The auth service rate-limits refreshes (`Retry-After: 50`), then the session is
/// revoked: edge 401s pile up while the client must wait. Each 401 must not send
/// another refresh into the rate limit.
pub fn auth_rate_limit_then_revocation() -> Plan {
    plan(
        107,
        variant(SimMode::Session, 30 * 60, 30 * 86_400),
        4 * HOUR,
        every(MINUTE, 4 * HOUR, 20 * SECOND, CallKind::Models),
        vec![
            (
                20 * MINUTE,
                0,
                FaultKind::RateLimit {
                    target: Target::Auth,
                    retry_after: RetryAfter::Seconds(50),
                    count: 12,
                },
            ),
            (28 * MINUTE + 30 * SECOND, 0, FaultKind::RevokeSession),
        ],
    )
}

/// The edges answer 50 s late while the auth service is down across the JWT's expiry:
/// the `Date` on those answers is 50 s old when it arrives. The client must not take it
/// for the server's clock running late — or it sends its JWT after the server expired it.
pub fn slow_answers_while_auth_is_down() -> Plan {
    let mut v = variant(SimMode::Session, 30 * 60, 30 * 86_400);
    v.route = RouteStyle::Pinned {
        region: 0,
        failover: false,
    };
    plan(
        108,
        v,
        4 * HOUR,
        every(MINUTE, 4 * HOUR, 20 * SECOND, CallKind::Models),
        vec![
            (
                20 * MINUTE,
                40 * MINUTE,
                FaultKind::Down {
                    target: Target::Auth,
                },
            ),
            (
                10 * MINUTE,
                40 * MINUTE,
                FaultKind::Slow {
                    target: Target::Region("yto-01".to_string()),
                    delay_ms: 50_000,
                },
            ),
        ],
    )
}
