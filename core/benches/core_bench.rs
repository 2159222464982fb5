//! `make bench`: what the core costs a driver, in wall-clock numbers printed (never
//! asserted — shared machines make timed assertions flaky).
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// The bench measures the core from the outside, so it may read the clock.

use std::hint::black_box;
use std::time::Instant;

use base64::Engine as _;
use polargrid_core::{
    classify_response, CallSpec, Client, Config, Credential, Endpoints, Event, HttpResponse,
    Method, Purpose, SessionSnapshot, Stage, Timestamp,
};

const T0: u64 = 1_799_913_600_000;

fn jwt(iat_s: u64, exp_s: u64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims =
        format!(r#"{{"sub":"k","sid":"s","scope":"read-write","iat":{iat_s},"exp":{exp_s}}}"#);
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256"}"#),
        e.encode(claims),
        e.encode("sig")
    )
}

fn session_answer(now_ms: u64, ttl_s: u64, rt: &str) -> HttpResponse {
    let body = format!(
        r#"{{"session_token":"{}","refresh_token":"{rt}","session_id":"s","expires_in":{ttl_s}}}"#,
        jwt(now_ms / 1000, now_ms / 1000 + ttl_s)
    );
    HttpResponse::new(200).with_body(body)
}

fn route_answer() -> HttpResponse {
    HttpResponse::new(200).with_body(
        r#"{"region":"yto-01","endpoint":"https://api.yto-01.edge.polargrid.ai","ttl":86400}"#,
    )
}

/// Answers everything the client asks until it is quiet.
fn settle(c: &mut Client, now: u64) -> usize {
    let mut ready = 0;
    loop {
        let mut progressed = false;
        while let Some(r) = c.poll_request(Timestamp(now)) {
            progressed = true;
            let resp = match r.purpose {
                Purpose::Exchange | Purpose::Refresh => session_answer(now, 86_400, "rt"),
                Purpose::Discover => route_answer(),
                Purpose::Call(_) => HttpResponse::new(200),
            };
            c.handle_response(Timestamp(now), r.id, resp).unwrap();
        }
        while let Some(e) = c.poll_event() {
            if matches!(e, Event::CallReady { .. }) {
                ready += 1;
            }
        }
        if !progressed {
            return ready;
        }
    }
}

fn report(name: &str, iters: u64, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    let ns = t.elapsed().as_nanos() as f64 / iters as f64;
    println!("{name:<58} {ns:>10.0} ns/op  ({iters} ops)");
}

fn main() {
    println!("polargrid-core bench (release, one core)");

    let n = 100_000u64;
    let mut c = Client::new(Config::direct("pg_bench_key_123456"), 1).unwrap();
    c.start_call(Timestamp(T0), CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    settle(&mut c, T0);
    report(
        "call through the core (direct mode, route cached)",
        n,
        || {
            for i in 0..n {
                c.start_call(Timestamp(T0 + i), CallSpec::new(Method::Get, "/v1/models"))
                    .unwrap();
                assert_eq!(settle(&mut c, T0 + i), 1);
            }
        },
    );

    let mut c = Client::new(
        Config::new("pg_bench_key_123456").with_endpoints(Endpoints::default()),
        1,
    )
    .unwrap();
    c.start_call(
        Timestamp(T0),
        CallSpec::new(Method::Post, "/v1/chat/completions"),
    )
    .unwrap();
    settle(&mut c, T0);
    report(
        "call through the core (session JWT, route cached)",
        n,
        || {
            for i in 0..n {
                c.start_call(
                    Timestamp(T0 + i),
                    CallSpec::new(Method::Post, "/v1/chat/completions"),
                )
                .unwrap();
                assert_eq!(settle(&mut c, T0 + i), 1);
            }
        },
    );

    let rounds = 20u64;
    report(
        "1,000 calls at JWT expiry → one refresh, all ready (per call)",
        rounds * 1000,
        || {
            for _ in 0..rounds {
                let mut c = Client::new(Config::new("pg_bench_key_123456"), 1).unwrap();
                c.start_call(Timestamp(T0), CallSpec::new(Method::Get, "/v1/models"))
                    .unwrap();
                settle(&mut c, T0);
                let at = T0 + 86_400_000;
                for _ in 0..1000 {
                    c.start_call(Timestamp(at), CallSpec::new(Method::Get, "/v1/models"))
                        .unwrap();
                }
                assert_eq!(settle(&mut c, at), 1000);
            }
        },
    );

    let cdn = HttpResponse::new(403)
        .with_header("x-amz-cf-id", "abc")
        .with_header("via", "1.1 x.cloudfront.net (CloudFront)")
        .with_body(r#"{"Message": null}"#);
    let n = 200_000u64;
    report("classify_response (CDN 403)", n, || {
        for _ in 0..n {
            black_box(classify_response(
                Stage::Call,
                Credential::Jwt,
                black_box(&cdn),
                Timestamp(T0),
                &[],
            ));
        }
    });

    let mut c = Client::new(Config::new("pg_bench_key_123456"), 1).unwrap();
    c.start_call(Timestamp(T0), CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    settle(&mut c, T0);
    let snap: SessionSnapshot = c.session_snapshot().unwrap();
    report("session snapshot to_json + from_json", n, || {
        for _ in 0..n {
            black_box(SessionSnapshot::from_json(&black_box(&snap).to_json()).unwrap());
        }
    });
}
