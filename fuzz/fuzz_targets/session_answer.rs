//! The exchange answer parser, reached the three ways a session answer comes in:
//! `Client::hand_over` (handoff mode), the answer to an exchange (session mode) and the
//! answer to a refresh (session mode, with a session held). Never a panic; a typed
//! error or an adopted session; a refresh answer that cannot be read never drops a
//! session whose JWT is still valid; every driver invariant holds after each step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polargrid_core::{CallSpec, HttpResponse, Method, Purpose, SessionStatus};
use polargrid_core_fuzz::{Driver, Hosts, ModeChoice, RoutingChoice, Setup, Tuning, HOUR};

fn setup(mode: ModeChoice) -> Setup {
    Setup {
        mode,
        routing: RoutingChoice::Region,
        hosts: Hosts::Real,
        tuning: Tuning::Default,
        seed: 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // 1. Handoff: the app hands the answer over as is.
    let mut d = Driver::new(setup(ModeChoice::Handoff)).expect("config");
    match d.client.hand_over(d.t(), &text) {
        Ok(()) => {
            d.pump();
            let snap = d
                .client
                .session_snapshot()
                .expect("adopted session has a snapshot");
            // Tokens chosen by the fuzzer are tracked as secrets unless they could show up
            // by coincidence: short, or equal to non-secret text (session id, scope words,
            // hosts, the user agent).
            let public = format!(
                "{:?} https://api.yto-01.edge.polargrid.ai/v1/models polargrid-core/",
                d.client.session_status()
            );
            let mut tokens = vec![snap.session_token.expose().to_string()];
            tokens.extend(snap.refresh_token.as_ref().map(|r| r.expose().to_string()));
            for t in tokens {
                if t.len() >= 24 && !public.contains(t.as_str()) {
                    d.secrets.push(t);
                }
            }
            let _ = d.start(CallSpec::new(Method::Get, "/v1/models"));
            d.timeout();
        }
        Err(e) => {
            assert_eq!(d.client.session_snapshot(), None);
            let _ = e.to_string();
        }
    }

    // 2. Session mode: the same bytes answer the exchange.
    let mut d = Driver::new(setup(ModeChoice::Session)).expect("config");
    d.start(CallSpec::new(Method::Get, "/v1/models"))
        .expect("call");
    let ex = d
        .outstanding_with(|p| *p == Purpose::Exchange)
        .expect("exchange");
    d.respond(ex, HttpResponse::new(200).with_body(data.to_vec()));

    // 3. Session mode with a valid session: the same bytes answer a refresh.
    let mut d = Driver::new(setup(ModeChoice::Session)).expect("config");
    d.start(CallSpec::new(Method::Get, "/v1/models"))
        .expect("call");
    let ex = d
        .outstanding_with(|p| *p == Purpose::Exchange)
        .expect("exchange");
    let answer = d.good_session_answer(HOUR);
    d.respond(ex, answer);
    assert!(
        d.client.session_snapshot().is_some(),
        "no session after a good exchange"
    );
    // Into the refresh window, JWT still valid.
    d.now += HOUR - 2 * 60_000;
    d.timeout();
    let Some(rf) = d.outstanding_with(|p| *p == Purpose::Refresh) else {
        panic!("no refresh 2 minutes before expiry");
    };
    d.respond(rf, HttpResponse::new(200).with_body(data.to_vec()));
    let after = d.client.session_snapshot();
    assert!(
        after.is_some(),
        "a refresh answer dropped a still-valid session"
    );
    assert!(
        matches!(
            d.client.session_status(),
            SessionStatus::Active(_) | SessionStatus::Refreshing(_)
        ),
        "session status after a refresh answer: {:?}",
        d.client.session_status()
    );
});
