//! The driver with a scripted in-process transport: no network, no sleeps (every answer is
//! given by the test before it looks; the default timeouts never fire within a test).

use std::sync::{Arc, Mutex};

use crate::{
    AuthMode, CallRequest, Driver, HttpRequest, Options, PolarGridError, Reply, Transport,
    TransportError,
};

#[derive(Default)]
struct Scripted {
    sent: Mutex<Vec<(HttpRequest, Arc<Reply>)>>,
    released: Mutex<Vec<u64>>,
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest, reply: Arc<Reply>) {
        self.sent.lock().unwrap().push((request, reply));
    }
    fn release(&self, request_id: u64) {
        self.released.lock().unwrap().push(request_id);
    }
}

fn driver(max_attempts: u32) -> (Arc<Driver>, Arc<Scripted>) {
    let t = Arc::new(Scripted::default());
    let options = Options {
        mode: AuthMode::Direct,
        region: None,
        base_url: Some("http://127.0.0.1:9".into()),
        scope: None,
        endpoints_json: None,
        failover_pinned: false,
        max_attempts: Some(max_attempts),
        backoff_base_ms: None,
        backoff_max_ms: None,
        seed: Some(7),
        user_agent: None,
    };
    let d = Driver::new(Some("pg_test_key_123".into()), options, t.clone(), None).unwrap();
    (d, t)
}

fn models() -> CallRequest {
    CallRequest {
        method: "GET".into(),
        path: "/v1/models".into(),
        model: None,
        idempotent: None,
        timeout_ms: None,
    }
}

fn next(t: &Scripted) -> (HttpRequest, Arc<Reply>) {
    t.sent.lock().unwrap().pop().expect("a request was sent")
}

#[test]
fn success_answer_is_claimed_by_its_request_id() {
    let (d, t) = driver(4);
    let call = d.start(models()).unwrap();
    let (req, reply) = next(&t);
    assert_eq!(req.call, Some(call));
    assert_eq!(req.body_rule, crate::BodyRule::KeepSuccess);
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
        Err(PolarGridError::Call { failure }) => {
            assert_eq!(failure.kind, "network");
            assert_eq!(failure.transport.as_deref(), Some("aborted"));
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
    assert_eq!(d.wait_blocking(call, 0), Err(PolarGridError::Closed));
    assert!(matches!(d.start(models()), Err(PolarGridError::Closed)));
    reply.failed(TransportError::Connect);
}
