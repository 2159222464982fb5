//! Seeded chaos for calls: random faults, cancels, clock jumps and late answers, in
//! direct and session mode, checking the invariants every scenario must keep: each call
//! ends exactly once, nothing is left open, credentials go only to the auth service and
//! the configured edges over https, and no call is sent more often than its attempts
//! allow. Deterministic: the same seeds give the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use std::collections::BTreeMap;

use polargrid_core::{
    CallSpec, Config, Event, HttpResponse, Method, Purpose, RequestId, TransportErrorKind,
};
use scripted::*;
use support::*;

/// A tiny deterministic generator for the test's own choices (the core has its seed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

fn spec(n: u64) -> CallSpec {
    match n {
        0 => CallSpec::new(Method::Get, "/v1/models"),
        1 => CallSpec::new(Method::Post, "/v1/chat/completions").with_model("m"),
        2 => CallSpec::new(Method::Post, "/v1/tokens"),
        _ => CallSpec::new(Method::Post, "/v1/something"),
    }
}

fn reply(h: &Harness, r: &polargrid_core::HttpRequest, n: u64, step: usize) -> Reply {
    match (r.purpose, n) {
        (Purpose::Exchange | Purpose::Refresh, 0) => Reply::Respond(json(503, "{}")),
        (Purpose::Exchange | Purpose::Refresh, _) => Reply::Respond(session_answer(
            h.server_now(),
            HOUR,
            &format!("rt_{step}"),
            None,
        )),
        (Purpose::Discover, 0) => Reply::Fail(TransportErrorKind::Timeout),
        (Purpose::Discover, 1) => {
            Reply::Respond(route_answer("nyc-01", "https://evil.example", 60))
        }
        (Purpose::Discover, n) => {
            let region = ["yto-01", "yul-01", "nyc-01"][n as usize % 3];
            Reply::Respond(route_answer(region, &edge(region), 120))
        }
        (_, 0) => Reply::Fail(TransportErrorKind::Connect),
        (_, 1) => Reply::Fail(TransportErrorKind::Aborted),
        (_, 2) => Reply::Respond(HttpResponse::new(503).with_header("Retry-After", "1")),
        (_, 3) => Reply::Respond(HttpResponse::new(502)),
        (_, 4) => Reply::Respond(HttpResponse::new(429).with_header("Retry-After", "90")),
        (_, 5) => Reply::Respond(json(401, r#"{"message":"expired"}"#)),
        (_, 6) => Reply::Hold,
        _ => Reply::Respond(HttpResponse::new(200)),
    }
}

fn chaos(seed: u64, cfg: Config) {
    let mut h = Harness::seeded(cfg, seed);
    let mut rng = Lcg(seed);
    let mut calls = Vec::new();
    let mut late: Vec<RequestId> = Vec::new();
    for step in 0..600 {
        h.pump();
        match rng.next(10) {
            0 | 1 => calls.push(h.start(spec(rng.next(4)))),
            2 if !calls.is_empty() => {
                let c = calls[rng.next(calls.len() as u64) as usize];
                h.client.cancel_call(h.t(), c);
                h.pump();
            }
            // Clock jumps: a little forward, a long sleep, or a step back.
            3 => match rng.next(3) {
                0 => h.advance(rng.next(5_000)),
                1 => h.advance(rng.next(2 * DAY)),
                _ => h.set_clock(h.now - rng.next(HOUR)),
            },
            // A late answer to an aborted request is accepted and ignored.
            4 => {
                if let Some(id) = late.pop() {
                    assert_eq!(
                        h.client.handle_response(h.t(), id, HttpResponse::new(200)),
                        Ok(())
                    );
                    h.pump();
                }
            }
            _ => {
                let Some(r) = h.outstanding.pop_front() else {
                    h.next_wakeup();
                    continue;
                };
                if aborted(&h).contains(&r.id) {
                    late.push(r.id);
                    continue;
                }
                match reply(&h, &r, rng.next(12), step) {
                    Reply::Respond(resp) => h.respond(r.id, resp),
                    Reply::Fail(k) => h.fail(r.id, k),
                    Reply::Hold => h.outstanding.push_back(r),
                }
            }
        }
        for c in &calls {
            assert!(
                h.endings(*c) <= 1,
                "seed {seed} step {step}: {c:?} ended twice"
            );
        }
    }
    // Drain: answer everything with success until every call has ended.
    serve(&mut h, 20_000, |h, r| match r.purpose {
        Purpose::Exchange | Purpose::Refresh => {
            Reply::Respond(session_answer(h.server_now(), HOUR, "rt_end", None))
        }
        Purpose::Discover => Reply::Respond(route_answer("yto-01", &edge("yto-01"), 600)),
        Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
    });
    for c in &calls {
        assert_eq!(
            h.endings(*c),
            1,
            "seed {seed}: {c:?} did not end exactly once; outstanding {:?}, next wake-up {:?}",
            h.outstanding,
            h.client.poll_timeout()
        );
    }
    assert_eq!(h.client.open_calls(), 0, "seed {seed}");
    check_credentials_and_attempts(&h, seed);
}

/// Credentials only went to the auth service (the key, to exchange) or the configured
/// edges, over https; no call was sent more than 4 attempts + 1 replay.
fn check_credentials_and_attempts(h: &Harness, seed: u64) {
    let jwts: Vec<String> = h
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SessionChanged {
                snapshot: Some(s), ..
            } => Some(s.session_token.expose().to_string()),
            _ => None,
        })
        .collect();
    let edges = [
        "api.yto-01.edge.polargrid.ai",
        "api.yul-01.edge.polargrid.ai",
        "api.nyc-01.edge.polargrid.ai",
    ];
    let mut per_call: BTreeMap<String, u32> = BTreeMap::new();
    for r in &h.sent {
        let auth = r.header("authorization").unwrap_or("");
        let with_key = auth.contains(KEY);
        let with_jwt = jwts.iter().any(|j| auth.contains(j.as_str()));
        let host = host(&r.url);
        if with_key || with_jwt {
            assert!(r.url.starts_with("https://"), "seed {seed}: {r:?}");
            let allowed = edges.contains(&host) || (host == "auth.polargrid.ai" && with_key);
            assert!(allowed, "seed {seed}: credential sent to {host}");
        }
        if let Purpose::Call(_) = r.purpose {
            let id = r.header("x-request-id").unwrap().to_string();
            *per_call.entry(id).or_default() += 1;
        }
    }
    for (id, n) in per_call {
        assert!(n <= 5, "seed {seed}: {id} sent {n} times");
    }
}

#[test]
fn seeded_chaos_keeps_every_invariant_in_direct_mode() {
    for seed in 0..40 {
        chaos(seed, Config::direct(KEY).with_endpoints(endpoints()));
    }
}

#[test]
fn seeded_chaos_keeps_every_invariant_in_session_mode() {
    for seed in 100..140 {
        chaos(seed, session_config());
    }
}
