//! The driver with a scripted in-process transport: no network, no sleeps (every answer is
//! given by the test before it looks; the default timeouts never fire within a test).

use std::sync::{Arc, Mutex};

use crate::{
    CallRequest, Driver, ErrorKind, HttpRequest, Options, PolarGridError, Purpose, Reply,
    Transport, TransportErrorKind,
};

#[derive(Default)]
pub(crate) struct Scripted {
    pub(crate) sent: Mutex<Vec<(HttpRequest, Arc<Reply>)>>,
    pub(crate) released: Mutex<Vec<u64>>,
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest, reply: Arc<Reply>) {
        self.sent.lock().unwrap().push((request, reply));
    }
    fn release(&self, request_id: u64) {
        self.released.lock().unwrap().push(request_id);
    }
}

/// Direct mode to an edge nobody answers, a fixed seed (the same request ids every run).
pub(crate) fn options(max_attempts: u32) -> Options {
    Options {
        api_key: Some("pg_test_key_123".into()),
        mode: Some("direct".into()),
        base_url: Some("http://127.0.0.1:9".into()),
        max_attempts: Some(max_attempts),
        seed: Some(7),
        ..Options::default()
    }
}

pub(crate) fn driver(max_attempts: u32) -> (Arc<Driver>, Arc<Scripted>) {
    let t = Arc::new(Scripted::default());
    let d = Driver::new(options(max_attempts), t.clone(), None).unwrap();
    (d, t)
}

fn models() -> CallRequest {
    CallRequest {
        method: "GET".into(),
        path: "/v1/models".into(),
        body: None,
        headers: vec![],
        model: None,
        idempotent: None,
        timeout_ms: None,
        deadline_ms: None,
    }
}

pub(crate) fn next(t: &Scripted) -> (HttpRequest, Arc<Reply>) {
    t.sent.lock().unwrap().pop().expect("a request was sent")
}

#[test]
fn success_answer_is_claimed_by_its_request_id() {
    let (d, t) = driver(4);
    let call = d.start(models()).unwrap();
    let (req, reply) = next(&t);
    assert_eq!(req.call, Some(call));
    assert_eq!(req.purpose, Purpose::Call);
    assert_eq!(req.body_limit, 4096);
    reply.response_head(
        200,
        b"content-type: application/json\r\nx-a: b".to_vec(),
        vec![],
    );
    let r = d.wait_blocking(call, 0).unwrap().expect("ended");
    assert_eq!(r.request_id, req.id);
    assert!(t.released.lock().unwrap().is_empty());
    d.close();
}

#[test]
fn reply_dropped_unanswered_counts_as_aborted() {
    let (d, t) = driver(1);
    let call = d.start(models()).unwrap();
    drop(next(&t));
    match d.wait_blocking(call, 0) {
        Err(PolarGridError::Failed { failure }) => {
            assert_eq!(failure.kind, ErrorKind::Network);
            assert_eq!(failure.transport, Some(TransportErrorKind::Aborted));
        }
        other => panic!("expected a network failure, got {other:?}"),
    }
    d.close();
}

#[test]
fn success_arriving_after_cancel_is_released() {
    let (d, t) = driver(4);
    let call = d.start(models()).unwrap();
    let (req, reply) = next(&t);
    assert!(d.cancel(call));
    reply.response(200, vec![], vec![]);
    assert!(t.released.lock().unwrap().contains(&req.id));
    assert_eq!(d.wait_blocking(call, 0).unwrap(), None);
    d.close();
}

#[test]
fn close_ends_open_calls_and_refuses_new_ones() {
    let (d, t) = driver(4);
    let call = d.start(models()).unwrap();
    let (_req, reply) = next(&t);
    d.close();
    assert_eq!(
        d.wait_blocking(call, 0).unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(d.start(models()).unwrap_err().kind(), ErrorKind::Closed);
    reply.failed(TransportErrorKind::Connect);
}

/// Records that it was woken.
#[derive(Default)]
struct Woken(std::sync::atomic::AtomicBool);

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn cancel_from_elsewhere_wakes_the_parked_async_waiter_with_cancelled() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let (d, t) = driver(4);
    let call = d.start(models()).unwrap();
    let (req, reply) = next(&t);
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    let mut wait = Box::pin(d.wait(call));
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert!(d.cancel(call));
    assert!(
        woken.0.load(std::sync::atomic::Ordering::SeqCst),
        "the waiter was woken"
    );
    match wait.as_mut().poll(&mut cx) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("expected cancelled, got {other:?}"),
    }
    drop(wait);
    // The answer that arrives after the cancel is released, not kept.
    reply.response(200, vec![], vec![]);
    assert!(t.released.lock().unwrap().contains(&req.id));
    d.close();
}

fn post(body: &[u8], headers: Vec<crate::Header>) -> CallRequest {
    CallRequest {
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        body: Some(body.to_vec()),
        headers,
        ..models()
    }
}

fn header(name: &str, value: &str) -> crate::Header {
    crate::Header {
        name: name.into(),
        value: value.into(),
    }
}

fn snake(debug_name: &str) -> String {
    let mut s = String::new();
    for (i, c) in debug_name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_lowercase());
    }
    s
}

#[test]
fn every_error_kind_has_its_core_name() {
    let all = [
        ErrorKind::InvalidApiKey,
        ErrorKind::SessionExpired,
        ErrorKind::NoSession,
        ErrorKind::CdnBlocked,
        ErrorKind::InsufficientScope,
        ErrorKind::Billing,
        ErrorKind::Validation,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Server,
        ErrorKind::Network,
        ErrorKind::MalformedResponse,
        ErrorKind::UnexpectedStatus,
        ErrorKind::InvalidConfig,
        ErrorKind::KeyInBrowser,
        ErrorKind::InvalidCall,
        ErrorKind::Cancelled,
        ErrorKind::Closed,
    ];
    let names: Vec<String> = all.iter().map(|k| snake(&format!("{k:?}"))).collect();
    assert_eq!(names, polargrid_core::ErrorKind::NAMES.to_vec());
    let core = [
        polargrid_core::ErrorKind::InvalidApiKey,
        polargrid_core::ErrorKind::RateLimited,
        polargrid_core::ErrorKind::Network(polargrid_core::TransportErrorKind::Tls),
        polargrid_core::ErrorKind::InvalidConfig,
        polargrid_core::ErrorKind::KeyInBrowser,
        polargrid_core::ErrorKind::Closed,
    ];
    for k in core {
        assert_eq!(
            snake(&format!("{:?}", crate::convert::error_kind(k))),
            k.as_str()
        );
    }
}

#[test]
fn every_transport_kind_round_trips_with_the_core_table() {
    for k in polargrid_core::TransportErrorKind::ALL {
        let ours = crate::convert::transport_kind(k);
        assert_eq!(snake(&format!("{ours:?}")), k.as_str());
        assert_eq!(crate::convert::transport_error(ours), k);
    }
}

#[test]
fn a_call_s_body_and_headers_go_with_every_attempt_of_it() {
    let (d, t) = driver(2);
    let body = br#"{"model":"llama-3.1-8b","messages":[]}"#;
    let call = d
        .start(post(body, vec![header("Content-Type", "application/json")]))
        .unwrap();
    let (first, reply) = next(&t);
    assert_eq!(first.body.as_deref(), Some(&body[..]));
    assert!(first.headers.contains("\r\nContent-Type: application/json"));
    assert_eq!(first.purpose, Purpose::Call);
    assert_eq!(first.connect_timeout_ms, 10_000);
    // An inference call is safe to repeat: a reset is retried, with the same body.
    reply.failed(TransportErrorKind::Aborted);
    d.advance_clock(5_000); // past the backoff
    let (second, reply) = next(&t);
    assert_ne!(second.id, first.id);
    assert_eq!(second.body.as_deref(), Some(&body[..]));
    assert!(second.headers.contains("Content-Type: application/json"));
    reply.response_head(200, vec![], vec![]);
    assert_eq!(
        d.wait_blocking(call, 0).unwrap().unwrap().request_id,
        second.id
    );
    d.close();
}

#[test]
fn a_header_value_with_a_line_break_is_an_invalid_call_and_nothing_is_sent() {
    let (d, t) = driver(2);
    let e = d
        .start(post(b"{}", vec![header("X-Evil", "a\r\nHost: elsewhere")]))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCall);
    let PolarGridError::Failed { failure } = e;
    assert!(failure.cause.contains("CR, LF, NUL"), "{}", failure.cause);
    assert!(!failure.fix.is_empty());
    assert!(t.sent.lock().unwrap().is_empty());
    d.close();
}

fn refused(options: Options) -> crate::Failure {
    let t = Arc::new(Scripted::default());
    match Driver::new(options, t, None) {
        Err(PolarGridError::Failed { failure }) => failure,
        Ok(_) => panic!("the options were accepted"),
    }
}

#[test]
fn options_follow_the_core_rules_with_its_kinds_causes_and_fixes() {
    let key = Some("pg_test_key_123".to_string());
    let handoff_with_key = refused(Options {
        api_key: key.clone(),
        mode: Some("handoff".into()),
        ..Options::default()
    });
    assert_eq!(handoff_with_key.kind, ErrorKind::InvalidConfig);
    assert_eq!(
        handoff_with_key.fix,
        polargrid_core::ConfigError::KeyInHandoff.fix()
    );
    let both = refused(Options {
        api_key: key.clone(),
        region: Some("yto-01".into()),
        base_url: Some("http://127.0.0.1:9".into()),
        ..Options::default()
    });
    assert_eq!(both.cause, "region and base url were both given");
    assert_eq!(
        refused(Options {
            api_key: key.clone(),
            mode: Some("sesion".into()),
            ..Options::default()
        })
        .kind,
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        refused(Options {
            api_key: key.clone(),
            key_visible_to_users: true,
            ..Options::default()
        })
        .kind,
        ErrorKind::KeyInBrowser
    );
    let no_key = refused(Options::default());
    assert!(
        no_key.message.starts_with("invalid_config: "),
        "{}",
        no_key.message
    );
    assert!(no_key.message.ends_with(&no_key.fix), "{}", no_key.message);
}

#[test]
fn connect_timeout_and_call_deadline_options_reach_the_requests() {
    let t = Arc::new(Scripted::default());
    let options = Options {
        api_key: Some("pg_test_key_123".into()),
        mode: Some("direct".into()),
        base_url: Some("http://127.0.0.1:9".into()),
        connect_timeout_ms: Some(1_500),
        call_deadline_ms: Some(5_000),
        ..Options::default()
    };
    let d = Driver::new(options, t.clone(), None).unwrap();
    d.start(models()).unwrap();
    let (req, _reply) = next(&t);
    assert_eq!(req.connect_timeout_ms, 1_500);
    assert!(req.timeout_ms <= 5_000, "{}", req.timeout_ms);
    d.close();
}

#[test]
fn the_model_hint_comes_from_the_body_when_the_call_names_none() {
    assert_eq!(
        crate::model_hint(br#" {"model":"m-1","x":1}"#.to_vec()).as_deref(),
        Some("m-1")
    );
    assert_eq!(crate::model_hint(b"[1]".to_vec()), None);
    let spec = crate::convert::call_spec(&post(br#"{"model":"m-2"}"#, vec![])).unwrap();
    assert_eq!(spec.model.as_deref(), Some("m-2"));
}

#[test]
fn no_printed_record_holds_a_secret() {
    let key = "pg_test_key_123";
    let snapshot = r#"{"v":1,"session_token":"eyJhbGciOi.secret.jwt","refresh_token":"rt_secret"}"#;
    let options = Options {
        api_key: Some(key.into()),
        session_json: Some(snapshot.into()),
        ..Options::default()
    };
    let auth = header("Authorization", &format!("Bearer {key}"));
    let (d, t) = driver(1);
    d.start(models()).unwrap();
    let (req, _reply) = next(&t);
    assert!(req.headers.contains(key), "the request does carry the key");
    let event = crate::DriverEvent::SessionChanged {
        reason: crate::SessionChange::Exchanged,
        session_id: Some("s1".into()),
        expires_at_ms: Some(1),
        snapshot_json: Some(snapshot.into()),
    };
    let printed = [
        format!("{options:?}"),
        format!("{options}"),
        format!("{auth:?}"),
        format!("{auth}"),
        format!("{req:?}"),
        format!("{req}"),
        format!("{event:?}"),
        format!("{event}"),
    ];
    for p in printed {
        for secret in [key, "eyJhbGciOi", "rt_secret"] {
            assert!(!p.contains(secret), "{p} holds {secret}");
        }
    }
    d.close();
}
