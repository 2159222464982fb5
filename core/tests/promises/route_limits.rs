//! The edges of the route machine's rules: only a 200 discovery answer names a route, an
//! answer is read up to 64 KiB, a `ttl` is held to at most 7 days (and at least 1 s), and
//! a downed region is avoided for exactly its cooldown.

use crate::scripted::*;
use crate::support::*;
use polargrid_core::{Config, RegionReason, TransportErrorKind};

const SEC: u64 = 1000;

fn route_body(region: &str, ttl_s: u64) -> String {
    serde_json::json!({"region": region, "endpoint": edge(region), "name": region, "ttl": ttl_s})
        .to_string()
}

#[test]
fn non_200_discovery_answer_shaped_like_a_route_falls_back_to_the_default_region() {
    for status in [201, 203, 204, 301, 404, 429, 500, 503] {
        let mut h = Harness::new(direct());
        h.get_models();
        let d = h.take(is_discover);
        h.respond(d.id, json(status, &route_body("nyc-01", 3600)));
        let c = ok_call(&mut h);
        assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai", "{status}");
        assert_eq!(
            region_changes(&h),
            vec![("yto-01".to_string(), RegionReason::Fallback)],
            "{status}"
        );
    }
}

#[test]
fn discovery_answer_of_64_kib_is_read_and_a_longer_one_falls_back() {
    let body = route_body("nyc-01", 3600);
    let sized = |n: usize| format!("{body}{}", " ".repeat(n - body.len()));
    let mut h = Harness::new(direct());
    h.get_models();
    let d = h.take(is_discover);
    h.respond(d.id, json(200, &sized(64 * 1024)));
    assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
    let mut h = Harness::new(direct());
    h.get_models();
    let d = h.take(is_discover);
    h.respond(d.id, json(200, &sized(64 * 1024 + 1)));
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
}

#[test]
fn ttl_over_seven_days_is_held_to_seven_days() {
    for ttl in [8 * 24 * 3600, 365 * 24 * 3600, u64::from(u32::MAX)] {
        let mut h = Harness::new(direct());
        h.get_models();
        routed_to(&mut h, "nyc-01", ttl);
        ok_call(&mut h);
        h.now = T0 + 7 * DAY - 1;
        h.get_models();
        assert_eq!(host(&ok_call(&mut h).url), "api.nyc-01.edge.polargrid.ai");
        assert_eq!(discoveries(&h).len(), 1, "ttl {ttl}: cached up to 7 days");
        h.now = T0 + 7 * DAY;
        h.get_models();
        assert!(h.has(is_discover), "ttl {ttl}: asked again after 7 days");
    }
}

#[test]
fn ttl_of_exactly_seven_days_is_kept() {
    let mut h = Harness::new(direct());
    h.get_models();
    routed_to(&mut h, "nyc-01", 7 * 24 * 3600);
    ok_call(&mut h);
    h.now = T0 + 7 * DAY - 1;
    h.get_models();
    ok_call(&mut h);
    assert_eq!(discoveries(&h).len(), 1);
}

#[test]
fn fractional_ttl_is_kept_to_the_millisecond() {
    let mut h = Harness::new(direct());
    h.get_models();
    let d = h.take(is_discover);
    h.respond(
        d.id,
        json(
            200,
            &format!(
                r#"{{"region":"nyc-01","endpoint":"{}","ttl":1.5}}"#,
                edge("nyc-01")
            ),
        ),
    );
    ok_call(&mut h);
    h.now = T0 + 1_499;
    h.get_models();
    ok_call(&mut h);
    assert_eq!(discoveries(&h).len(), 1);
    h.now = T0 + 1_500;
    h.get_models();
    assert!(h.has(is_discover));
}

#[test]
fn sub_second_ttl_is_raised_to_one_second() {
    let mut h = Harness::new(direct());
    h.get_models();
    let d = h.take(is_discover);
    h.respond(
        d.id,
        json(
            200,
            &format!(
                r#"{{"region":"nyc-01","endpoint":"{}","ttl":0.001}}"#,
                edge("nyc-01")
            ),
        ),
    );
    ok_call(&mut h);
    h.now = T0 + 999;
    h.get_models();
    ok_call(&mut h);
    assert_eq!(discoveries(&h).len(), 1, "cached for 1 s");
    h.now = T0 + SEC;
    h.get_models();
    assert!(h.has(is_discover));
}

/// Direct mode pinned to yto-01, failing over when it is down; one attempt per call.
fn pinned_with_failover() -> Config {
    let mut c = direct().with_region("yto-01");
    c.failover_pinned = true;
    c.retry.max_attempts = 1;
    c
}

#[test]
fn downed_region_is_avoided_until_the_exact_end_of_its_cooldown() {
    let mut h = Harness::new(pinned_with_failover());
    for _ in 0..2 {
        h.get_models();
        let c = h.take(is_call);
        assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai");
        h.fail(c.id, TransportErrorKind::Connect);
    }
    // Marked down at T0 for the default 60 s cooldown.
    h.now = T0 + 60 * SEC - 1;
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yul-01.edge.polargrid.ai");
    h.now = T0 + 60 * SEC;
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
}

#[test]
fn one_failure_below_the_threshold_does_not_mark_a_region_down() {
    let mut c = pinned_with_failover();
    c.failures_before_down = 3;
    let mut h = Harness::new(c);
    for n in 0..3 {
        h.get_models();
        let c = h.take(is_call);
        assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai", "failure {n}");
        h.fail(c.id, TransportErrorKind::Connect);
    }
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yul-01.edge.polargrid.ai");
}

#[test]
fn region_marked_down_starts_counting_afresh_after_its_cooldown() {
    let mut h = Harness::new(pinned_with_failover());
    for _ in 0..2 {
        h.get_models();
        let c = h.take(is_call);
        h.fail(c.id, TransportErrorKind::Connect);
    }
    h.now = T0 + 60 * SEC;
    // One failure after coming back is not two in a row.
    h.get_models();
    let c = h.take(is_call);
    assert_eq!(host(&c.url), "api.yto-01.edge.polargrid.ai");
    h.fail(c.id, TransportErrorKind::Connect);
    h.get_models();
    assert_eq!(host(&ok_call(&mut h).url), "api.yto-01.edge.polargrid.ai");
}
