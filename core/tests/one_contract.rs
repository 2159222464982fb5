//! What every binding shares instead of writing it again: one options → config path with
//! one set of rules, the model-routing hint, and the names of kinds, states and reasons.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use polargrid_core::{
    model_hint, Client, ConfigError, ErrorKind, Mode, Options, RegionReason, Routing,
    SessionChange, SessionStatus, TransportErrorKind,
};
use support::*;

fn opts() -> Options {
    Options {
        api_key: Some(KEY.to_string()),
        endpoints_json: Some(r#"{"regions":[{"id":"yto-01"}]}"#.to_string()),
        ..Options::default()
    }
}

fn snapshot_json() -> String {
    let mut h = Harness::new(session_config());
    h.get_models();
    h.exchanged(HOUR, "rt_1");
    h.client.session_snapshot().unwrap().to_json()
}

#[test]
fn defaults_are_session_mode_auto_routing_and_no_session() {
    let built = opts().build().unwrap();
    assert_eq!(built.config.mode, Mode::Session);
    assert_eq!(built.config.routing, Routing::Auto);
    assert!(built.session.is_none());
    Client::new(built.config, 1).unwrap();
}

#[test]
fn contested_combinations_are_refused_the_same_way_everywhere() {
    let snap = snapshot_json();
    let cases: Vec<(&str, Options, ConfigError)> = vec![
        (
            "key in handoff mode",
            Options {
                mode: Some("handoff".into()),
                ..opts()
            },
            ConfigError::KeyInHandoff,
        ),
        (
            "session mode restoring a session without a key",
            Options {
                api_key: None,
                session_json: Some(snap.clone()),
                ..opts()
            },
            ConfigError::MissingApiKey { mode: "session" },
        ),
        (
            "direct mode without a key",
            Options {
                api_key: None,
                mode: Some("direct".into()),
                ..opts()
            },
            ConfigError::MissingApiKey { mode: "direct" },
        ),
        (
            "region and base url together",
            Options {
                region: Some("yto-01".into()),
                base_url: Some("https://api.yto-01.edge.polargrid.ai".into()),
                ..opts()
            },
            ConfigError::RegionAndBaseUrl,
        ),
        (
            "unknown mode",
            Options {
                mode: Some("magic".into()),
                ..opts()
            },
            ConfigError::UnknownMode,
        ),
        (
            "a key in a page",
            Options {
                key_visible_to_users: true,
                ..opts()
            },
            ConfigError::KeyInBrowser,
        ),
        (
            "direct mode restoring a session",
            Options {
                mode: Some("direct".into()),
                session_json: Some(snap.clone()),
                ..opts()
            },
            ConfigError::BadSession {
                problem: "direct mode keeps no session",
            },
        ),
        (
            "zero request timeout",
            Options {
                request_timeout_ms: Some(0),
                ..opts()
            },
            ConfigError::OutOfRange {
                field: "request_timeout_ms",
                problem: "must be from 1 ms to 24 h",
            },
        ),
        (
            "zero connect timeout",
            Options {
                connect_timeout_ms: Some(0),
                ..opts()
            },
            ConfigError::OutOfRange {
                field: "connect_timeout_ms",
                problem: "must be from 1 ms to 24 h",
            },
        ),
        (
            "auth timeout over a day",
            Options {
                auth_timeout_ms: Some(86_400_001),
                ..opts()
            },
            ConfigError::OutOfRange {
                field: "auth_timeout_ms",
                problem: "must be from 1 ms to 24 h",
            },
        ),
    ];
    for (what, o, want) in cases {
        let e = o.build().unwrap_err();
        assert_eq!(e, want, "{what}");
        assert!(!e.cause().is_empty() && !e.fix().is_empty(), "{what}");
        assert!(
            !e.cause().contains(KEY) && !e.to_string().contains(KEY),
            "{what}"
        );
        let kind = if want == ConfigError::KeyInBrowser {
            ErrorKind::KeyInBrowser
        } else {
            ErrorKind::InvalidConfig
        };
        assert_eq!(e.kind(), kind, "{what}");
    }
}

#[test]
fn handoff_restores_a_session_alone_and_a_page_may_opt_in_to_a_key() {
    let snap = snapshot_json();
    let o = Options {
        api_key: None,
        mode: Some("handoff".into()),
        session_json: Some(snap),
        key_visible_to_users: true,
        ..opts()
    };
    let built = o.build().unwrap();
    assert!(built.session.is_some());
    let o = Options {
        key_visible_to_users: true,
        allow_key_in_browser: true,
        ..opts()
    };
    assert!(o.build().is_ok());
}

#[test]
fn unreadable_session_is_a_config_error_that_names_no_secret() {
    let o = Options {
        session_json: Some("{\"schema_version\": 99}".into()),
        ..opts()
    };
    let e = o.build().unwrap_err();
    assert!(matches!(e, ConfigError::BadSession { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn numbers_reach_the_config() {
    let o = Options {
        max_attempts: Some(3),
        backoff_base_ms: Some(10),
        backoff_max_ms: Some(20),
        request_timeout_ms: Some(1500),
        call_deadline_ms: Some(4000),
        connect_timeout_ms: Some(700),
        auth_timeout_ms: Some(900),
        failover_pinned: true,
        scope: Some(" GLOBAL ".into()),
        user_agent: Some("polargrid-core-test/1".into()),
        ..opts()
    };
    let c = o.build().unwrap().config;
    assert_eq!(c.retry.max_attempts, 3);
    assert_eq!(c.retry.base_backoff.as_millis(), 10);
    assert_eq!(c.retry.max_backoff.as_millis(), 20);
    assert_eq!(c.timeouts.call.as_millis(), 1500);
    assert_eq!(c.timeouts.call_deadline.unwrap().as_millis(), 4000);
    assert_eq!(c.timeouts.connect.as_millis(), 700);
    assert_eq!(c.timeouts.auth.as_millis(), 900);
    assert!(c.failover_pinned);
    assert_eq!(c.scope, polargrid_core::DiscoveryScope::Global);
    assert_eq!(c.user_agent, "polargrid-core-test/1");
    // The checks Client::new makes report through the same type.
    let o = Options {
        max_attempts: Some(0),
        ..opts()
    };
    let e = Client::new(o.build().unwrap().config, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn options_debug_never_shows_the_key_or_the_session() {
    let o = Options {
        session_json: Some(snapshot_json()),
        ..opts()
    };
    let shown = format!("{o:?}");
    assert!(
        !shown.contains(KEY) && !shown.contains("rt_1") && !shown.contains("eyJ"),
        "{shown}"
    );
}

#[test]
fn model_hint_is_the_top_level_model_string_of_a_json_object() {
    let cases: [(&[u8], Option<&str>); 10] = [
        (br#"{"model":"llama-3","messages":[]}"#, Some("llama-3")),
        (
            b"  \n{\"messages\":[{\"model\":\"inner\"}],\"model\":\"outer\"}",
            Some("outer"),
        ),
        (br#"{"messages":[{"model":"inner"}]}"#, None),
        (br#"{"model":42}"#, None),
        (br#"{"model":""}"#, None),
        (br#"[{"model":"x"}]"#, None),
        (b"model=x", None),
        (br#"{"model":"x""#, None),
        (b"", None),
        (br#"{"model":"caf\u00e9"}"#, Some("café")),
    ];
    for (body, want) in cases {
        assert_eq!(
            model_hint(body).as_deref(),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let long = ["{\"model\":\"", &"m".repeat(257), "\"}"].concat();
    assert_eq!(model_hint(long.as_bytes()), None, "longer than 256");
    let big = ["{\"model\":\"m\",\"pad\":\"", &"x".repeat(70 * 1024), "\"}"].concat();
    assert_eq!(model_hint(big.as_bytes()), None, "over 64 KiB");
}

#[test]
fn names_come_from_the_core() {
    assert_eq!(SessionChange::HandedOver.as_str(), "handed_over");
    assert_eq!(RegionReason::Failover.as_str(), "failover");
    assert_eq!(SessionStatus::Ended.as_str(), "ended");
    assert_eq!(
        ErrorKind::Network(TransportErrorKind::Opaque).as_str(),
        "network"
    );
    assert_eq!(
        ErrorKind::Network(TransportErrorKind::Opaque).transport(),
        Some(TransportErrorKind::Opaque)
    );
    let kinds = [
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
        ErrorKind::Network(TransportErrorKind::Dns),
        ErrorKind::MalformedResponse,
        ErrorKind::UnexpectedStatus,
        ErrorKind::InvalidConfig,
        ErrorKind::KeyInBrowser,
        ErrorKind::InvalidCall,
        ErrorKind::Cancelled,
        ErrorKind::Closed,
    ];
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, ErrorKind::NAMES);
}

#[test]
fn a_timeout_of_exactly_a_day_is_accepted_and_reaches_the_config() {
    let o = Options {
        request_timeout_ms: Some(86_400_000),
        auth_timeout_ms: Some(86_400_000),
        ..opts()
    };
    let c = o.build().unwrap().config;
    assert_eq!(c.timeouts.call.as_millis(), 86_400_000);
    assert_eq!(c.timeouts.auth.as_millis(), 86_400_000);
}

#[test]
fn options_debug_names_its_fields_and_hides_the_key_and_session() {
    let o = Options {
        session_json: Some(snapshot_json()),
        ..opts()
    };
    let shown = format!("{o:?}");
    assert!(
        shown.contains("Options") && shown.contains("api_key"),
        "{shown}"
    );
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains("rt_1"), "{shown}");
}

#[test]
fn the_key_is_handed_out_only_as_a_secret_and_only_when_given() {
    assert_eq!(opts().api_key_secret().unwrap().expose(), KEY);
    let none = Options {
        api_key: None,
        ..opts()
    };
    assert!(none.api_key_secret().is_none());
}
