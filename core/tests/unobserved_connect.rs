//! A transport that cannot observe connects (a page's `fetch`:
//! `Config::transport_observes_connect = false`): the core watches the connect timeout
//! itself. A GET (a method idempotent by HTTP) safe to repeat with no answer head by then
//! moves to another region (the attempt is aborted and counts toward marking its region
//! down); on its last chance the attempt runs to its own deadline; a POST (even an
//! inference one, safe to repeat), a call not safe to repeat, an exchange or a refresh is
//! never cut. With the default (`true`) nothing of this happens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scripted;
mod support;

use core::time::Duration;

use polargrid_core::{
    CallSpec, Config, Endpoints, ErrorKind, HttpResponse, Method, Options, RegionInfo,
    TransportErrorKind,
};
use scripted::*;
use support::*;

const CONNECT_MS: u64 = 300;
const ATTEMPT_MS: u64 = 2000;

/// A page's client: direct mode on yto-01, nyc-01, yul-01, connect 300 ms, attempt 2 s.
fn page(cfg: Config) -> Config {
    let mut cfg = cfg;
    cfg.transport_observes_connect = false;
    cfg.timeouts.connect = Duration::from_millis(CONNECT_MS);
    cfg.timeouts.call = Duration::from_millis(ATTEMPT_MS);
    cfg
}

fn region_of(url: &str) -> &str {
    host(url)
        .trim_start_matches("api.")
        .split('.')
        .next()
        .unwrap()
}

#[test]
fn page_get_with_silent_first_region_moves_on_at_the_connect_timeout() {
    let mut h = Harness::new(page(direct()));
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let first = h.take(is_call);
    let sent_at = h.now;
    assert_eq!(region_of(&first.url), "yto-01");
    // No head by the connect timeout: aborted then, not at the attempt deadline.
    assert!(h.next_wakeup());
    assert_eq!(h.now - sent_at, CONNECT_MS);
    assert_eq!(aborted(&h), [first.id]);
    // After its backoff the call goes elsewhere, same country first.
    assert!(h.next_wakeup());
    let second = h.take(is_call);
    assert_eq!(region_of(&second.url), "yul-01");
    h.respond(second.id, HttpResponse::new(200));
    assert!(h.ready(call));
    assert_eq!(h.endings(call), 1);
    assert!(
        h.now - sent_at < ATTEMPT_MS,
        "ready before one attempt deadline"
    );
}

#[test]
fn page_get_with_two_silent_regions_reaches_the_third() {
    let mut h = Harness::new(page(direct()));
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let start = h.now;
    let mut seen = Vec::new();
    serve(&mut h, 50, |_, r| {
        if region_of(&r.url) == "nyc-01" {
            Reply::Respond(HttpResponse::new(200))
        } else {
            Reply::Hold
        }
    });
    for r in calls_sent(&h) {
        seen.push(region_of(&r.url).to_string());
    }
    assert_eq!(seen, ["yto-01", "yul-01", "nyc-01"]);
    assert!(h.ready(call));
    assert_eq!(aborted(&h).len(), 2, "both silent attempts were aborted");
    assert!(h.now - start < ATTEMPT_MS, "within one attempt deadline");
}

#[test]
fn page_region_silent_for_two_calls_is_marked_down() {
    let mut h = Harness::new(page(direct()));
    for _ in 0..2 {
        let call = h.get_models();
        if h.has(is_discover) {
            routed_to(&mut h, "yto-01", 3600);
        }
        let c = h.take(is_call);
        assert_eq!(region_of(&c.url), "yto-01");
        assert!(h.next_wakeup());
        assert!(aborted(&h).contains(&c.id));
        assert!(h.next_wakeup());
        if h.has(is_discover) {
            // The second silent attempt marked yto-01 down: the autorouter is asked again.
            routed_to(&mut h, "yto-01", 3600);
        }
        ok_call(&mut h);
        assert!(h.ready(call));
    }
    // Two silent attempts in a row: yto-01 is down, the next call never tries it.
    let call = h.get_models();
    if h.has(is_discover) {
        routed_to(&mut h, "yto-01", 3600);
    }
    let c = h.take(is_call);
    assert_ne!(region_of(&c.url), "yto-01");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn page_get_sent_before_the_clock_steps_back_is_still_moved_at_its_connect_timeout() {
    let mut h = Harness::new(page(direct()));
    let _call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let first = h.take(is_call);
    // The clock is set back an hour: the connect deadline moves with it (not an hour late).
    h.set_clock(h.now - HOUR);
    assert!(aborted(&h).is_empty());
    let stepped = h.now;
    assert!(h.next_wakeup());
    assert_eq!(h.now - stepped, CONNECT_MS);
    assert_eq!(aborted(&h), [first.id]);
}

#[test]
fn page_slow_get_in_the_last_region_left_is_not_cut_at_the_connect_timeout() {
    // Two regions: after the first is silent, the second is the call's last chance.
    let endpoints = Endpoints {
        regions: vec![
            RegionInfo::new("yto-01", "Toronto", "CA"),
            RegionInfo::new("yul-01", "Montreal", "CA"),
        ],
        ..Endpoints::default()
    };
    let mut h = Harness::new(page(Config::direct(KEY).with_endpoints(endpoints)));
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let first = h.take(is_call);
    assert!(h.next_wakeup());
    assert_eq!(aborted(&h), [first.id]);
    assert!(h.next_wakeup());
    let last = h.take(is_call);
    assert_eq!(region_of(&last.url), "yul-01");
    let sent_at = h.now;
    // Its head comes after the connect timeout, before the attempt deadline: answered.
    h.advance(1500);
    assert_eq!(aborted(&h), [first.id], "the last chance runs on");
    h.respond(last.id, HttpResponse::new(200));
    assert!(h.ready(call));
    assert_eq!(h.now - sent_at, 1500);
}

#[test]
fn page_slow_get_on_its_last_attempt_is_not_cut_at_the_connect_timeout() {
    let mut cfg = page(direct());
    cfg.retry.max_attempts = 1;
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let only = h.take(is_call);
    h.advance(1500);
    assert!(aborted(&h).is_empty());
    h.respond(only.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn page_slow_get_with_no_time_left_for_another_attempt_is_not_cut() {
    // 600 ms for the whole call: after the connect timeout (300 ms) a backoff and another
    // connect would not fit, so this attempt is its last chance.
    let mut cfg = page(direct());
    cfg.timeouts.call_deadline = Some(Duration::from_millis(600));
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let get = h.take(is_call);
    h.advance(450);
    assert!(aborted(&h).is_empty());
    h.respond(get.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn page_slow_get_with_the_retry_budget_spent_is_not_cut() {
    let mut cfg = page(direct());
    cfg.retry.budget_capacity = 0;
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let get = h.take(is_call);
    h.advance(1500);
    assert!(
        aborted(&h).is_empty(),
        "no retry could follow: the attempt runs on"
    );
    h.respond(get.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn page_pinned_region_without_failover_runs_each_attempt_to_its_deadline() {
    let mut h = Harness::new(page(direct().with_region("yto-01")));
    let call = h.get_models();
    let first = h.take(is_call);
    h.advance(ATTEMPT_MS - 1);
    assert!(
        aborted(&h).is_empty(),
        "nowhere else to go: no cut at connect"
    );
    h.advance(1);
    assert_eq!(aborted(&h), [first.id]);
    assert!(h.failure(call).is_none(), "a GET is retried in place");
}

#[test]
fn page_post_not_safe_to_repeat_is_not_moved_and_times_out_at_its_deadline() {
    let mut h = Harness::new(page(direct()));
    let call = h.start(CallSpec::new(Method::Post, "/v1/files"));
    routed_to(&mut h, "yto-01", 3600);
    let post = h.take(is_call);
    let sent_at = h.now;
    assert!(h.next_wakeup());
    assert_eq!(h.now - sent_at, ATTEMPT_MS);
    assert_eq!(aborted(&h), [post.id]);
    let e = h.failure(call).expect("failed");
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Timeout));
    assert_eq!(h.count_sent(is_call), 1, "never sent again");
}

#[test]
fn page_chat_completion_post_with_no_head_by_the_connect_timeout_keeps_running() {
    // Safe to repeat, but a POST: a non-streaming generation's head comes after the whole
    // generation, often past the connect timeout. Cutting it would pay for it again.
    let mut h = Harness::new(page(direct()));
    let spec = CallSpec::new(Method::Post, "/v1/chat/completions").with_model("llama-3.1-8b");
    let call = h.start(spec);
    routed_to(&mut h, "yto-01", 3600);
    let post = h.take(is_call);
    let sent_at = h.now;
    assert_eq!(
        h.client.poll_timeout().map(|t| t.as_millis() - sent_at),
        Some(ATTEMPT_MS),
        "no wake-up at the connect timeout"
    );
    h.advance(1500);
    assert!(aborted(&h).is_empty());
    h.respond(post.id, HttpResponse::new(200));
    assert!(h.ready(call));
    assert_eq!(h.count_sent(is_call), 1);
}

#[test]
fn page_get_marked_not_safe_to_repeat_is_not_moved_at_the_connect_timeout() {
    let mut h = Harness::new(page(direct()));
    let call = h.start(CallSpec::new(Method::Get, "/v1/models").with_idempotent(false));
    routed_to(&mut h, "yto-01", 3600);
    let get = h.take(is_call);
    h.advance(1500);
    assert!(aborted(&h).is_empty());
    h.respond(get.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn page_slow_answer_to_an_exchange_is_not_cut_at_the_connect_timeout() {
    // A refresh rotates its token: cut and sent again it would be a reuse. An exchange or
    // a refresh goes to the one auth host: there is nowhere else to go. Neither is watched.
    let mut h = Harness::new(page(session_config()));
    let _call = h.get_models();
    let exchange = h.take(is_exchange);
    h.advance(5000);
    assert!(!aborted(&h).contains(&exchange.id));
}

#[test]
fn default_transport_observes_connect_and_a_silent_region_is_retried_after_the_attempt_deadline() {
    let mut cfg = page(direct());
    cfg.transport_observes_connect = true;
    assert!(direct().transport_observes_connect, "the default");
    let mut h = Harness::new(cfg);
    let _call = h.get_models();
    routed_to(&mut h, "yto-01", 3600);
    let first = h.take(is_call);
    let sent_at = h.now;
    assert!(h.next_wakeup());
    // The transport reports connect timeouts itself: the core waits for the attempt.
    assert_eq!(h.now - sent_at, ATTEMPT_MS);
    assert_eq!(aborted(&h), [first.id]);
    assert!(h.next_wakeup());
    let second = h.take(is_call);
    assert_eq!(
        region_of(&second.url),
        "yto-01",
        "ambiguous: retried in place"
    );
}

#[test]
fn options_say_whether_the_transport_observes_connects() {
    let opts = |v| Options {
        api_key: Some(KEY.to_string()),
        transport_observes_connect: v,
        ..Options::default()
    };
    assert!(
        opts(None)
            .build()
            .unwrap()
            .config
            .transport_observes_connect
    );
    assert!(
        opts(Some(true))
            .build()
            .unwrap()
            .config
            .transport_observes_connect
    );
    assert!(
        !opts(Some(false))
            .build()
            .unwrap()
            .config
            .transport_observes_connect
    );
}
