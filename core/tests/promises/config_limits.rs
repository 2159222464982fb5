//! The configuration's limits, at their edges: an API key of 8 to 512 characters, a region
//! id of at most 32, endpoints JSON of at most 64 KiB.

use polargrid_core::{resolve_region, Client, Config, ConfigError, Endpoints};

use crate::support::endpoints;

fn key_problem(key: &str) -> Option<&'static str> {
    match Client::new(Config::direct(key).with_endpoints(endpoints()), 1) {
        Ok(_) => None,
        Err(ConfigError::MalformedApiKey { problem }) => Some(problem),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn api_key_of_8_to_512_characters_is_accepted() {
    assert_eq!(key_problem("pg_abcde"), None);
    assert_eq!(key_problem(&format!("pg_{}", "a".repeat(509))), None);
    assert_eq!(key_problem("pg_a-b_C9"), None);
}

#[test]
fn api_key_of_7_or_513_characters_is_refused() {
    assert!(key_problem("pg_abcd").unwrap().contains("short"));
    assert!(key_problem(&format!("pg_{}", "a".repeat(510)))
        .unwrap()
        .contains("512"));
}

#[test]
fn region_id_of_32_characters_is_accepted_and_33_is_not() {
    let id32 = format!("r{}", "0".repeat(31));
    assert_eq!(resolve_region(&id32), Some(id32.clone()));
    assert_eq!(resolve_region(&format!("{id32}0")), None);
    assert_eq!(resolve_region(" YTO-01 "), Some("yto-01".to_string()));
    assert_eq!(resolve_region("Toronto"), Some("yto-01".to_string()));
    assert_eq!(resolve_region("a-b"), Some("a-b".to_string()));
}

#[test]
fn endpoints_json_of_64_kib_is_read_and_one_byte_more_is_refused() {
    let json = r#"{"autorouter":"http://127.0.0.1:9","auth":"http://127.0.0.1:8","regions":[{"id":"yto-01"}]}"#;
    let sized = |n: usize| format!("{json}{}", " ".repeat(n - json.len()));
    let e = Endpoints::from_json(&sized(64 * 1024)).unwrap();
    assert_eq!(e.autorouter, "http://127.0.0.1:9");
    assert_eq!(e.regions[0].name, "yto-01");
    assert!(matches!(
        Endpoints::from_json(&sized(64 * 1024 + 1)),
        Err(ConfigError::BadEndpoints { .. })
    ));
    assert!(matches!(
        Endpoints::from_json(" [1]"),
        Err(ConfigError::BadEndpoints { .. })
    ));
    assert!(Endpoints::from_json("  {}").is_ok());
}

#[test]
fn region_name_that_is_or_holds_a_credential_is_redacted_in_the_error() {
    for name in [
        "pg_live_not_a_region",
        "  pg_live_not_a_region",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIi",
        "x/pg_test_key_0123456789/y",
    ] {
        match Client::new(Config::new(crate::support::KEY).with_region(name), 1) {
            Err(ConfigError::UnknownRegion { region }) => {
                assert_eq!(region, "[redacted]", "{name}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    match Client::new(Config::handoff().with_region("no such/region"), 1) {
        Err(ConfigError::UnknownRegion { region }) => assert_eq!(region, "no such/region"),
        other => panic!("{other:?}"),
    }
}
