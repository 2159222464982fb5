//! The run loop with a scripted in-process transport: no network, no sleeps (every answer
//! is given by the test before it looks; the default timeouts never fire within a test).
//! The skins' own suites (polargrid-uniffi's, polargrid-blocking's, the conformance
//! scenarios) drive the same loop through their transports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use polargrid_core as pc;

use crate::{Driver, HttpRequest, Reply, StartError, Transport};

#[derive(Clone, Default)]
struct Scripted {
    sent: Arc<Mutex<Vec<(HttpRequest, Reply)>>>,
    released: Arc<Mutex<Vec<pc::RequestId>>>,
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest, reply: Reply) {
        self.sent.lock().unwrap().push((request, reply));
    }
    fn release(&self, request: pc::RequestId) {
        self.released.lock().unwrap().push(request);
    }
}

fn driver(max_attempts: u32) -> (Driver<Scripted>, Scripted) {
    let mut cfg = pc::Config::direct("pg_test_key_123").with_base_url("http://127.0.0.1:9");
    cfg.retry.max_attempts = max_attempts;
    let t = Scripted::default();
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let listener: crate::Listener = Box::new(move |e| log.lock().unwrap().push(e));
    let d = Driver::new(
        pc::Client::new(cfg, 7).unwrap(),
        t.clone(),
        Some(listener),
        0,
    )
    .unwrap();
    (d, t)
}

fn models() -> pc::CallSpec {
    pc::CallSpec::new(pc::Method::Get, "/v1/models")
}

fn next(t: &Scripted) -> (HttpRequest, Reply) {
    t.sent.lock().unwrap().pop().expect("a request was sent")
}

fn post(body: &[u8]) -> (pc::CallSpec, Option<Vec<u8>>) {
    let mut spec = pc::CallSpec::new(pc::Method::Post, "/v1/chat/completions");
    spec.idempotent = Some(true);
    (spec, Some(body.to_vec()))
}

const NO_WAIT: Duration = Duration::ZERO;

#[test]
fn a_success_names_the_request_whose_kept_body_is_the_answer() {
    let (d, t) = driver(4);
    let call = d.start(models(), None).unwrap();
    let (req, reply) = next(&t);
    assert_eq!(req.purpose, pc::Purpose::Call(call));
    reply.response_head(200, b"content-type: application/json\r\nx-a: b", vec![]);
    let ready = d.wait_blocking(call, NO_WAIT).expect("ended").unwrap();
    assert_eq!(ready.request, req.id);
    assert!(
        t.released.lock().unwrap().is_empty(),
        "the kept body is the app's"
    );
}

#[test]
fn start_here_hands_the_first_attempt_to_the_caller_and_retries_to_the_transport() {
    let (d, t) = driver(2);
    let (spec, body) = post(b"{}");
    let (started, here) = d.start_here(spec, body);
    let call = started.unwrap();
    let (req, reply) = here.expect("the first attempt is the caller's");
    assert_eq!(req.purpose, pc::Purpose::Call(call));
    assert_eq!(req.body.as_deref(), Some(&b"{}"[..]), "with its body");
    assert!(
        t.sent.lock().unwrap().is_empty(),
        "not sent by the transport"
    );
    reply.failed(pc::TransportErrorKind::Connect);
    // The retry, once its backoff is over (the clock moved past it), is the transport's.
    // (Sent by this step, or by the timer thread's if it got there first: then it is out
    // once that step's sends are done.)
    d.advance_clock(60_000);
    let retry = loop {
        if let Some(r) = t.sent.lock().unwrap().pop() {
            break r;
        }
        std::thread::yield_now();
    };
    assert_eq!(retry.0.purpose, pc::Purpose::Call(call));
    assert_ne!(retry.0.id, req.id);
    retry.1.response(pc::HttpResponse::new(200));
    let ready = d.wait_blocking(call, NO_WAIT).expect("ended").unwrap();
    assert_eq!(ready.request, retry.0.id);
    // A refused start hands nothing over.
    let (refused, none) = d.start_here(pc::CallSpec::new(pc::Method::Get, "no-slash"), None);
    assert!(matches!(refused, Err(StartError::Refused(_))) && none.is_none());
}

#[test]
fn a_call_s_body_goes_with_every_attempt_of_it() {
    let (d, t) = driver(2);
    let (spec, body) = post(b"{\"model\":\"m\"}");
    let call = d.start(spec, body).unwrap();
    let (first, reply) = next(&t);
    assert_eq!(first.body.as_deref(), Some(&b"{\"model\":\"m\"}"[..]));
    reply.failed(pc::TransportErrorKind::Connect);
    d.advance_clock(60_000);
    let (second, reply) = next(&t);
    assert_ne!(second.id, first.id);
    assert_eq!(second.body, first.body);
    reply.response(pc::HttpResponse {
        status: 200,
        headers: vec![],
        body: vec![],
    });
    assert!(d.wait_blocking(call, NO_WAIT).expect("ended").is_ok());
}

#[test]
fn a_reply_dropped_unanswered_counts_as_aborted() {
    let (d, t) = driver(1);
    let call = d.start(models(), None).unwrap();
    drop(next(&t));
    let e = d.wait_blocking(call, NO_WAIT).expect("ended").unwrap_err();
    assert_eq!(
        e.kind,
        pc::ErrorKind::Network(pc::TransportErrorKind::Aborted)
    );
}

#[test]
fn a_success_after_cancel_is_released_and_close_refuses_new_calls() {
    let (d, t) = driver(4);
    let call = d.start(models(), None).unwrap();
    let (req, reply) = next(&t);
    assert!(d.cancel(call));
    reply.response_head(200, b"", vec![]);
    assert!(t.released.lock().unwrap().contains(&req.id));
    assert_eq!(d.wait_blocking(call, NO_WAIT), None);
    d.close();
    let refused = d.start(models(), None);
    assert_eq!(refused, Err(StartError::Closed));
}

/// Waits (bounded, yielding) until the timer thread has gone to sleep `n` times, and says
/// when it plans to wake.
fn timer_parked(d: &Driver<Scripted>, n: u64) -> u64 {
    let give_up = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (parks, wake) = d.timer_plan();
        if parks >= n {
            return wake;
        }
        assert!(std::time::Instant::now() < give_up, "the timer never slept");
        std::thread::yield_now();
    }
}

#[test]
fn the_timer_sleeps_until_the_next_deadline_and_not_at_all_when_none_is_due() {
    let (d, t) = driver(1);
    assert_eq!(
        timer_parked(&d, 1),
        u64::MAX,
        "nothing is due: no wake-up planned"
    );
    d.start(models(), None).unwrap();
    let (req, _reply) = next(&t);
    let now = d.now().as_millis();
    let wake = timer_parked(&d, 2);
    let timeout = u64::try_from(req.timeout.as_millis()).unwrap();
    // It wakes for the request's deadline, not every second.
    assert!(wake >= now + timeout - 1000, "{wake} vs {now}");
    assert!(wake <= now + timeout + 1000, "{wake} vs {now}");
}

fn session_driver() -> (Driver<Scripted>, Scripted) {
    let cfg = pc::Config::new("pg_test_key_123").with_base_url("http://127.0.0.1:9");
    let t = Scripted::default();
    let d = Driver::new(pc::Client::new(cfg, 7).unwrap(), t.clone(), None, 0).unwrap();
    (d, t)
}

fn grant(n: u32) -> Vec<u8> {
    format!(
        r#"{{"session_token":"session-token-{n}","refresh_token":"refresh-{n}","session_id":"s1","expires_in":3600,"refresh_expires_in":2592000}}"#
    )
    .into_bytes()
}

fn bearer(req: &HttpRequest) -> &str {
    req.header("authorization").unwrap_or_default()
}

#[test]
fn a_resumed_app_s_first_call_renews_the_session_before_it_sends_anything_else() {
    let (d, t) = session_driver();
    let call = d.start(models(), None).unwrap();
    let (exchange, reply) = next(&t);
    assert_eq!(exchange.purpose, pc::Purpose::Exchange);
    reply.response_head(200, b"content-type: application/json", grant(1));
    let (first, reply) = next(&t);
    assert_eq!(bearer(&first), "Bearer session-token-1");
    reply.response_head(200, b"", vec![]);
    d.wait_blocking(call, NO_WAIT).unwrap().unwrap();
    // The device sleeps two hours: the wall clock jumps and nobody tells the driver.
    d.jump_clock_silently(2 * 3600 * 1000);
    let call = d.start(models(), None).unwrap();
    let (refresh, reply) = next(&t);
    assert_eq!(refresh.purpose, pc::Purpose::Refresh, "{refresh:?}");
    assert!(t.sent.lock().unwrap().is_empty(), "nothing else went out");
    reply.response_head(200, b"", grant(2));
    let (second, reply) = next(&t);
    assert_eq!(bearer(&second), "Bearer session-token-2");
    reply.response_head(200, b"", vec![]);
    d.wait_blocking(call, NO_WAIT).unwrap().unwrap();
}

#[test]
fn a_clock_jump_replans_the_timer_at_once() {
    let (d, t) = session_driver();
    let call = d.start(models(), None).unwrap();
    let (_exchange, reply) = next(&t);
    reply.response_head(200, b"", grant(1));
    let (_first, reply) = next(&t);
    reply.response_head(200, b"", vec![]);
    d.wait_blocking(call, NO_WAIT).unwrap().unwrap();
    let (parks, planned) = d.timer_plan();
    let planned = if parks == 0 {
        timer_parked(&d, 1)
    } else {
        planned
    };
    let parks = parks.max(1);
    assert!(planned < u64::MAX, "a proactive refresh is planned");
    // Past the planned refresh, before the JWT expires: the next step renews the session
    // first, and the timer replans at once.
    d.jump_clock_silently(3500 * 1000);
    d.start(models(), None).unwrap();
    let sent: Vec<pc::Purpose> = t
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|(r, _)| r.purpose)
        .collect();
    assert!(sent.contains(&pc::Purpose::Refresh), "{sent:?}");
    let replanned = timer_parked(&d, parks + 1);
    assert_ne!(replanned, planned);
}
