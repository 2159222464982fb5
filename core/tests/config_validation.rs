//! Configuration: every `ConfigError`, key shapes (never echoed), URL rules, region
//! aliases, the autorouter-as-base-URL rule, and emulator-style endpoint overrides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core::time::Duration;

use polargrid_core::{
    resolve_region, CallSpec, Client, Config, ConfigError, Endpoints, ErrorKind, HttpResponse,
    Method, Mode, Purpose, RegionInfo, Routing, TransportErrorKind, KNOWN_REGIONS,
};
use support::*;

fn build(cfg: Config) -> Result<Client, ConfigError> {
    Client::new(cfg, 1)
}

fn err(cfg: Config) -> ConfigError {
    match build(cfg) {
        Ok(_) => panic!("config was accepted"),
        Err(e) => e,
    }
}

fn bad_url_field(cfg: Config) -> &'static str {
    match err(cfg) {
        ConfigError::BadUrl { field, .. } => field,
        other => panic!("expected BadUrl, got {other:?}"),
    }
}

/// The first request a fresh direct-mode client emits for `GET /v1/models`.
fn first_request(cfg: Config) -> polargrid_core::HttpRequest {
    let mut h = Harness::new(cfg);
    h.get_models();
    h.pump();
    h.outstanding.pop_front().expect("a request")
}

/// The URL the first app call of a direct-mode client goes to.
fn first_call_url(cfg: Config) -> String {
    let r = first_request(cfg);
    assert!(
        matches!(r.purpose, Purpose::Call(_)),
        "expected a call, got {r:?}"
    );
    r.url
}

// ----- API keys -----

#[test]
fn malformed_keys_are_rejected_without_echoing_the_key() {
    let jwt_key = jwt(T0, T0 + HOUR, None);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        (format!(" {KEY}"), "whitespace"),
        (format!("{KEY}\n"), "whitespace"),
        (format!("{KEY}\r\n"), "whitespace"),
        (format!("\t{KEY}"), "whitespace"),
        (format!("Bearer {KEY}"), "Bearer"),
        (format!("bearer {KEY}"), "Bearer"),
        (jwt_key.clone(), "JWT"),
        ("sk_live_0123456789abcdef".to_string(), "pg_"),
        ("PG_0123456789abcdef".to_string(), "pg_"),
        ("0123456789pg_abcdef".to_string(), "pg_"),
        ("pg_".to_string(), "short"),
        ("pg_abc".to_string(), "short"),
        ("pg_abc def_0123456789".to_string(), "characters"),
        ("pg_abc\ndef_0123456789".to_string(), "characters"),
        ("pg_abc$def_0123456789".to_string(), "characters"),
        ("pg_abcdef_0123456789\"".to_string(), "characters"),
        ("pg_abcdéf_0123456789".to_string(), "characters"),
        (format!("pg_{}", "a".repeat(600)), "512"),
    ];
    for (key, hint) in &cases {
        for cfg in [Config::new(key.clone()), Config::direct(key.clone())] {
            let e = err(cfg.with_endpoints(endpoints()));
            let ConfigError::MalformedApiKey { problem } = &e else {
                panic!("{key:?}: expected MalformedApiKey, got {e:?}");
            };
            assert!(
                problem.to_lowercase().contains(&hint.to_lowercase()),
                "{key:?}: problem {problem:?} should mention {hint:?}"
            );
            for shown in [format!("{e}"), format!("{e:?}")] {
                let core = key.trim();
                if core.len() >= 6 {
                    assert!(!shown.contains(core), "key echoed: {shown}");
                }
                assert!(!shown.contains(&jwt_key[..20]), "jwt echoed: {shown}");
                assert!(
                    !shown.contains("0123456789"),
                    "key material echoed: {shown}"
                );
            }
        }
    }
}

#[test]
fn handoff_mode_with_any_key_is_rejected_as_a_key_in_handoff() {
    // Handoff keeps no key on the device: one given there is refused, never dropped, and
    // the error names neither the key nor its shape.
    for key in ["Bearer pg_abcdef0123", "pg_abcdef0123"] {
        let mut cfg = Config::handoff().with_endpoints(endpoints());
        cfg.api_key = Some(polargrid_core::Secret::new(key));
        let e = err(cfg);
        assert_eq!(e, ConfigError::KeyInHandoff);
        assert_eq!(e.kind(), polargrid_core::ErrorKind::InvalidConfig);
        assert!(!e.to_string().contains("abcdef") && !e.cause().contains("abcdef"));
    }
}

#[test]
fn well_formed_keys_are_accepted_in_every_mode_that_takes_one() {
    for key in [KEY, "pg_live_AbC-123_xyz", "pg_12345"] {
        assert!(build(Config::new(key)).is_ok(), "{key}");
        assert!(build(Config::direct(key)).is_ok(), "{key}");
    }
    assert!(build(Config::handoff()).is_ok());
}

#[test]
fn missing_key_in_session_or_direct_mode_is_an_error() {
    for mode in [Mode::Session, Mode::Direct] {
        let mut cfg = Config::handoff();
        cfg.mode = mode;
        match err(cfg) {
            ConfigError::MissingApiKey { mode: m } => {
                assert_eq!(
                    m,
                    if mode == Mode::Session {
                        "session"
                    } else {
                        "direct"
                    }
                )
            }
            other => panic!("{mode:?}: expected MissingApiKey, got {other:?}"),
        }
    }
}

#[test]
fn config_debug_never_shows_the_key() {
    let cfg = Config::new(KEY);
    assert!(!format!("{cfg:?}").contains(KEY));
    let client = build(cfg).unwrap();
    assert!(!format!("{client:?}").contains(KEY));
}

// ----- URLs -----

#[test]
fn plain_http_is_rejected_unless_loopback() {
    for bad in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://127.0.0.1.evil.com",
        "http://0.0.0.0",
    ] {
        let field = bad_url_field(Config::direct(KEY).with_base_url(bad));
        assert_eq!(field, "base_url", "{bad}");
        let ep = Endpoints {
            autorouter: bad.to_string(),
            ..endpoints()
        };
        assert_eq!(
            bad_url_field(Config::direct(KEY).with_endpoints(ep)),
            "endpoints.autorouter"
        );
        let ep = Endpoints {
            auth: bad.to_string(),
            ..endpoints()
        };
        assert_eq!(
            bad_url_field(Config::new(KEY).with_endpoints(ep)),
            "endpoints.auth"
        );
        let ep = Endpoints {
            edge_template: format!("{bad}/{{region}}"),
            ..endpoints()
        };
        assert_eq!(
            bad_url_field(Config::direct(KEY).with_endpoints(ep)),
            "endpoints.edge_template"
        );
    }
    for ok in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ] {
        let cfg = Config::direct(KEY)
            .with_endpoints(endpoints())
            .with_base_url(ok);
        let url = first_call_url(cfg);
        assert_eq!(url, format!("{ok}/v1/models"));
    }
}

#[test]
fn loopback_http_base_url_receives_the_key() {
    let cfg = Config::direct(KEY).with_base_url("http://127.0.0.1:9000");
    let r = first_request(cfg);
    assert_eq!(r.url, "http://127.0.0.1:9000/v1/models");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[test]
fn userinfo_query_and_fragment_in_urls_are_rejected() {
    for bad in [
        "https://user:pw@api.yto-01.edge.polargrid.ai",
        "https://user@api.yto-01.edge.polargrid.ai",
        "https://api.yto-01.edge.polargrid.ai?x=1",
        "https://api.yto-01.edge.polargrid.ai#frag",
        "ftp://api.yto-01.edge.polargrid.ai",
        "api.yto-01.edge.polargrid.ai",
        "",
    ] {
        let e = err(Config::direct(KEY).with_base_url(bad));
        assert!(
            matches!(
                e,
                ConfigError::BadUrl {
                    field: "base_url",
                    ..
                }
            ),
            "{bad:?}: {e:?}"
        );
        // The message says what is wrong and how to fix it, without the password.
        assert!(!format!("{e}").contains("pw@"), "{e}");
    }
    let ep = Endpoints {
        auth: "https://a:b@auth.polargrid.ai".into(),
        ..endpoints()
    };
    assert_eq!(
        bad_url_field(Config::new(KEY).with_endpoints(ep)),
        "endpoints.auth"
    );
}

#[test]
fn edge_template_without_region_placeholder_is_rejected() {
    let ep = Endpoints {
        edge_template: "https://api.edge.polargrid.ai".into(),
        ..endpoints()
    };
    match err(Config::direct(KEY).with_endpoints(ep)) {
        ConfigError::BadUrl { field, fix, .. } => {
            assert_eq!(field, "endpoints.edge_template");
            assert!(fix.contains("{region}"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn per_region_url_must_be_usable() {
    let mut ep = endpoints();
    ep.regions[1].url = Some("http://nyc.example.com".into());
    assert_eq!(
        bad_url_field(Config::direct(KEY).with_endpoints(ep)),
        "endpoints.regions[].url"
    );
}

// ----- regions -----

#[test]
fn region_aliases_resolve_to_ids() {
    let table = [
        ("toronto", "yto-01"),
        ("yto", "yto-01"),
        ("vancouver", "yvr-02"),
        ("yvr", "yvr-02"),
        ("montreal", "yul-01"),
        ("yul", "yul-01"),
        ("new-york", "nyc-01"),
        ("newyork", "nyc-01"),
        ("nyc", "nyc-01"),
        ("dallas", "dfw-01"),
        ("dfw", "dfw-01"),
        ("san-francisco", "sfo-01"),
        ("sanfrancisco", "sfo-01"),
        ("sf", "sfo-01"),
        ("sfo", "sfo-01"),
        ("Toronto", "yto-01"),
        ("  NYC ", "nyc-01"),
        ("YTO-01", "yto-01"),
        ("sfo-03", "sfo-03"),
    ];
    for (alias, id) in table {
        assert_eq!(resolve_region(alias).as_deref(), Some(id), "{alias:?}");
        let url = first_call_url(Config::direct(KEY).with_region(alias));
        assert_eq!(
            url,
            format!("https://api.{id}.edge.polargrid.ai/v1/models"),
            "{alias:?}"
        );
    }
}

#[test]
fn every_known_region_pins_to_its_edge() {
    for (id, _, _) in KNOWN_REGIONS {
        let url = first_call_url(Config::direct(KEY).with_region(id));
        assert_eq!(url, format!("https://api.{id}.edge.polargrid.ai/v1/models"));
    }
}

#[test]
fn unknown_region_id_maps_to_the_edge_template() {
    for id in ["xyz-09", "fra-01", "abc"] {
        assert_eq!(resolve_region(id).as_deref(), Some(id));
        let url = first_call_url(Config::direct(KEY).with_region(id));
        assert_eq!(url, format!("https://api.{id}.edge.polargrid.ai/v1/models"));
    }
}

#[test]
fn malformed_region_names_are_unknown_region_errors() {
    for bad in [
        "",
        "   ",
        "-yto",
        "yto-",
        "to ronto",
        "yto/01",
        "yto.01",
        "evil.com/x",
        &"a".repeat(40),
    ] {
        assert_eq!(resolve_region(bad), None, "{bad:?}");
        match err(Config::direct(KEY).with_region(bad)) {
            ConfigError::UnknownRegion { region } => assert_eq!(region, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let mut ep = endpoints();
    ep.regions.push(RegionInfo::new("no good", "Nowhere", "XX"));
    assert!(matches!(
        err(Config::direct(KEY).with_endpoints(ep)),
        ConfigError::UnknownRegion { .. }
    ));
}

// ----- ranges -----

#[test]
fn out_of_range_settings_are_rejected() {
    let mut cfg = Config::direct(KEY);
    cfg.retry.max_attempts = 0;
    assert!(matches!(
        err(cfg),
        ConfigError::OutOfRange {
            field: "retry.max_attempts",
            ..
        }
    ));
    let mut cfg = Config::direct(KEY);
    cfg.retry.max_attempts = 21;
    assert!(matches!(
        err(cfg),
        ConfigError::OutOfRange {
            field: "retry.max_attempts",
            ..
        }
    ));
    let mut cfg = Config::direct(KEY);
    cfg.failures_before_down = 0;
    assert!(matches!(
        err(cfg),
        ConfigError::OutOfRange {
            field: "failures_before_down",
            ..
        }
    ));
    let cfg = Config::direct(KEY).with_endpoints(Endpoints {
        regions: vec![],
        ..Endpoints::default()
    });
    assert!(matches!(
        err(cfg),
        ConfigError::OutOfRange {
            field: "endpoints.regions",
            ..
        }
    ));
    let mut cfg = Config::direct(KEY);
    cfg.retry.max_attempts = 20;
    assert!(build(cfg).is_ok());
}

#[test]
fn every_config_error_message_says_how_to_fix_it() {
    let errors = [
        err(Config::new("nope")),
        err(Config {
            api_key: None,
            ..Config::new(KEY)
        }),
        err(Config::direct(KEY).with_base_url("http://example.com")),
        err(Config::direct(KEY).with_region("no good")),
    ];
    for e in errors {
        let s = e.to_string();
        assert!(s.contains("fix"), "{s}");
        assert!(!s.contains('\n'), "{s}");
    }
}

#[test]
fn defaults_follow_the_policy() {
    let cfg = Config::new(KEY);
    assert_eq!(cfg.mode, Mode::Session);
    assert_eq!(cfg.routing, Routing::Auto);
    assert_eq!(cfg.retry.max_attempts, 4);
    assert_eq!(cfg.retry.base_backoff, Duration::from_millis(250));
    assert_eq!(cfg.retry.max_backoff, Duration::from_secs(8));
    assert_eq!(cfg.retry.max_retry_after, Duration::from_secs(60));
    assert_eq!(cfg.retry.budget_capacity, 10);
    assert_eq!(cfg.failures_before_down, 2);
    assert_eq!(cfg.region_cooldown, Duration::from_secs(60));
    assert_eq!(cfg.discovery_retry, Duration::from_secs(30));
    assert_eq!(cfg.timeouts.discovery, Duration::from_secs(2));
    assert_eq!(
        cfg.endpoints.regions[0].id, "yto-01",
        "default region first"
    );
    assert_eq!(cfg.endpoints.regions.len(), KNOWN_REGIONS.len());
}

// ----- the autorouter is not an edge -----

#[test]
fn base_url_on_the_autorouter_host_means_auto_route() {
    for base in [
        "https://autorouter.polargrid.ai",
        "https://autorouter.polargrid.ai/",
        "https://autorouter.polargrid.ai/v1",
        "https://AutoRouter.PolarGrid.ai/v1/",
    ] {
        for cfg in [Config::direct(KEY), Config::new(KEY)] {
            let mut h = Harness::new(cfg.with_endpoints(endpoints()).with_base_url(base));
            let call = h.get_models();
            h.run(50, |_, r| match r.purpose {
                Purpose::Exchange | Purpose::Refresh => {
                    Reply::Respond(session_answer(T0, HOUR, "rt", None))
                }
                Purpose::Discover => Reply::Respond(route_answer(
                    "nyc-01",
                    "https://api.nyc-01.edge.polargrid.ai",
                    60,
                )),
                Purpose::Call(_) => Reply::Respond(HttpResponse::new(200)),
            });
            assert!(h.ready(call), "{base}");
            let d: Vec<_> = h
                .sent
                .iter()
                .filter(|r| r.purpose == Purpose::Discover)
                .collect();
            assert_eq!(d.len(), 1, "{base}: one discovery");
            assert_eq!(d[0].url, "https://autorouter.polargrid.ai/v1/route");
            for r in &h.sent {
                if matches!(r.purpose, Purpose::Call(_)) {
                    assert_eq!(
                        r.url, "https://api.nyc-01.edge.polargrid.ai/v1/models",
                        "{base}"
                    );
                }
                if r.url.contains("autorouter") {
                    assert_eq!(r.purpose, Purpose::Discover, "{base}: {r:?}");
                    assert_eq!(r.header("authorization"), None);
                }
            }
        }
    }
}

#[test]
fn autorouter_base_url_with_discovery_down_falls_back_to_an_edge_not_the_autorouter() {
    let cfg = Config::direct(KEY)
        .with_endpoints(endpoints())
        .with_base_url("https://autorouter.polargrid.ai/v1");
    let mut h = Harness::new(cfg);
    let call = h.get_models();
    h.run(50, |_, r| match r.purpose {
        Purpose::Discover => Reply::Fail(TransportErrorKind::Connect),
        _ => Reply::Respond(HttpResponse::new(200)),
    });
    assert!(h.ready(call));
    let calls: Vec<_> = h
        .sent
        .iter()
        .filter(|r| matches!(r.purpose, Purpose::Call(_)))
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].url,
        "https://api.yto-01.edge.polargrid.ai/v1/models"
    );
}

#[test]
fn fixed_edge_base_url_with_a_path_does_not_double_it() {
    let cfg = Config::direct(KEY).with_base_url("https://api.yto-01.edge.polargrid.ai/v1");
    assert_eq!(
        first_call_url(cfg),
        "https://api.yto-01.edge.polargrid.ai/v1/models"
    );
    let mut h = Harness::new(Config::direct(KEY).with_base_url("https://proxy.example.com/pg/"));
    h.start(CallSpec::new(Method::Post, "/v1/chat/completions?x=1"));
    let c = h.take(is_call);
    assert_eq!(
        c.url,
        "https://proxy.example.com/pg/v1/chat/completions?x=1"
    );
}

// ----- emulator-style overrides -----

fn emulator() -> Endpoints {
    let region = |id: &str, name: &str, country: &str, port: u16| RegionInfo {
        url: Some(format!("http://127.0.0.1:{port}")),
        ..RegionInfo::new(id, name, country)
    };
    Endpoints {
        autorouter: "http://127.0.0.1:9000".into(),
        auth: "http://localhost:9001".into(),
        edge_template: "http://127.0.0.1:9100/edge/{region}".into(),
        regions: vec![
            region("yto-01", "Toronto", "CA", 9101),
            region("nyc-01", "New York", "US", 9102),
            region("yul-01", "Montreal", "CA", 9103),
        ],
    }
}

#[test]
fn emulator_endpoints_route_exchange_and_call_over_loopback_http() {
    let mut h = Harness::new(Config::new(KEY).with_endpoints(emulator()));
    let call = h.get_models();
    let ex = h.take(is_exchange);
    assert_eq!(ex.url, "http://localhost:9001/v1/auth/session");
    h.respond(ex.id, session_answer(T0, HOUR, "rt_1", None));
    let d = h.take(is_discover);
    assert_eq!(d.url, "http://127.0.0.1:9000/v1/route");
    h.respond(d.id, route_answer("nyc-01", "http://127.0.0.1:9102", 60));
    let c = h.take(is_call);
    assert_eq!(c.url, "http://127.0.0.1:9102/v1/models");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn emulator_pinned_regions_use_their_own_urls_and_the_template_for_others() {
    let url = first_call_url(
        Config::direct(KEY)
            .with_endpoints(emulator())
            .with_region("montreal"),
    );
    assert_eq!(url, "http://127.0.0.1:9103/v1/models");
    let url = first_call_url(
        Config::direct(KEY)
            .with_endpoints(emulator())
            .with_region("xyz-09"),
    );
    assert_eq!(url, "http://127.0.0.1:9100/edge/xyz-09/v1/models");
}

#[test]
fn emulator_discovery_failure_falls_back_to_the_first_configured_region() {
    let mut h = Harness::new(Config::direct(KEY).with_endpoints(emulator()));
    let call = h.get_models();
    let d = h.take(is_discover);
    h.respond(d.id, json(500, "{}"));
    let c = h.take(is_call);
    assert_eq!(c.url, "http://127.0.0.1:9101/v1/models");
    h.respond(c.id, HttpResponse::new(200));
    assert!(h.ready(call));
}

#[test]
fn loopback_endpoint_from_a_public_autorouter_is_refused() {
    // Only a loopback autorouter may name a plain-http loopback edge.
    let mut h = Harness::new(Config::direct(KEY).with_endpoints(endpoints()));
    h.get_models();
    let d = h.take(is_discover);
    h.respond(d.id, route_answer("yto-01", "http://127.0.0.1:9101", 60));
    let c = h.take(is_call);
    assert_eq!(c.url, "https://api.yto-01.edge.polargrid.ai/v1/models");
}

#[test]
fn a_call_failing_for_a_configured_fixed_url_does_not_touch_other_hosts() {
    let mut h = Harness::new(Config::direct(KEY).with_base_url("http://localhost:8080"));
    let call = h.get_models();
    h.run(50, |_, _| Reply::Fail(TransportErrorKind::Connect));
    let e = h.failure(call).unwrap();
    assert_eq!(e.kind, ErrorKind::Network(TransportErrorKind::Connect));
    assert!(
        h.sent
            .iter()
            .all(|r| r.url.starts_with("http://localhost:8080/")),
        "{:?}",
        h.sent
    );
    assert_eq!(h.sent.len(), 4, "max_attempts");
}

#[test]
fn emulator_edge_on_the_autorouter_host_but_another_port_is_a_fixed_edge() {
    let cfg = Config::direct(KEY)
        .with_endpoints(emulator())
        .with_base_url("http://127.0.0.1:9101");
    let r = first_request(cfg);
    assert_eq!(r.url, "http://127.0.0.1:9101/v1/models");
    // The autorouter's own host and port still means auto-route.
    let cfg = Config::direct(KEY)
        .with_endpoints(emulator())
        .with_base_url("http://127.0.0.1:9000/v1");
    let r = first_request(cfg);
    assert_eq!(r.purpose, Purpose::Discover);
    assert_eq!(r.url, "http://127.0.0.1:9000/v1/route");
    // On the real host the default port is the autorouter's port.
    let cfg = Config::direct(KEY).with_base_url("https://autorouter.polargrid.ai:443/v1");
    assert_eq!(first_request(cfg).purpose, Purpose::Discover);
}

#[test]
fn autorouter_host_on_another_port_never_receives_the_key() {
    // Only loopback (the emulator) tells services apart by port; a public autorouter
    // host is never an edge, whatever the port.
    for base in [
        "https://autorouter.polargrid.ai:8443",
        "https://autorouter.polargrid.ai:8443/v1",
    ] {
        let mut h = Harness::new(
            Config::direct(KEY)
                .with_endpoints(endpoints())
                .with_base_url(base),
        );
        h.get_models();
        let r = h.outstanding.pop_front().unwrap();
        assert_eq!(r.purpose, Purpose::Discover, "{base}");
        assert_eq!(r.header("authorization"), None, "{base}");
    }
}

#[test]
fn endpoints_from_emulator_startup_json_are_used_and_extra_fields_ignored() {
    let json = r#"{"autorouter":"http://127.0.0.1:4001","auth":"http://127.0.0.1:4002",
        "admin":"http://127.0.0.1:4000","keys":{"read_write":"pg_x"},"jwt_ttl_s":60,
        "regions":[{"id":"yto-01","name":"Toronto","country":"CA","url":"http://127.0.0.1:4003"},
                   {"id":"nyc-01","url":"http://127.0.0.1:4004"}]}"#;
    let e = polargrid_core::Endpoints::from_json(json).unwrap();
    assert_eq!(e.autorouter, "http://127.0.0.1:4001");
    assert_eq!(e.auth, "http://127.0.0.1:4002");
    assert_eq!(e.regions.len(), 2);
    assert_eq!(e.regions[0].url.as_deref(), Some("http://127.0.0.1:4003"));
    assert_eq!(e.regions[1].name, "nyc-01");
    let cfg = polargrid_core::Config::new("pg_test_key_0123456789").with_endpoints(e);
    assert!(polargrid_core::Client::new(cfg, 1).is_ok());
}

#[test]
fn endpoints_json_that_is_not_an_object_or_has_no_regions_is_refused_with_a_fix() {
    for bad in ["", "[]", "{\"regions\": []}", "{\"auth\": 5}", "not json"] {
        let err = polargrid_core::Endpoints::from_json(bad).unwrap_err();
        assert!(err.to_string().contains("fix:"), "{bad:?}: {err}");
    }
    let partial = polargrid_core::Endpoints::from_json(r#"{"auth":"http://127.0.0.1:9"}"#).unwrap();
    assert_eq!(
        partial.autorouter,
        polargrid_core::Endpoints::default().autorouter
    );
}
