//! The autorouter role: `GET /v1/route` and nothing else.

use serde_json::json;

use super::faults::Target;
use super::{error_json, json_response, Answer, Model, Request};

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space; bad escapes kept as-is).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match b {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The route query: preferred model and whether the scope is `global`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteQuery {
    pub(crate) model: Option<String>,
    pub(crate) global: bool,
}

/// Parses `model=M&scope=S` (unknown parameters ignored; scope trimmed,
/// case-insensitive, anything but `global` is `country`).
pub(crate) fn parse_query(query: Option<&str>) -> RouteQuery {
    let mut out = RouteQuery {
        model: None,
        global: false,
    };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(k).as_str() {
            "model" => {
                let v = percent_decode(v);
                out.model = (!v.trim().is_empty()).then(|| v.trim().to_string());
            }
            "scope" => out.global = percent_decode(v).trim().eq_ignore_ascii_case("global"),
            _ => {}
        }
    }
    out
}

/// `GET /v1/route`; anything else gets the CDN's 403 (without CORS headers).
pub(crate) fn handle(m: &mut Model, req: &Request) -> Answer {
    if req.method != "GET" || req.path != "/v1/route" {
        return Answer {
            resp: m.cdn_forbidden(),
            cors: false,
        };
    }
    // The emulator has no notion of the caller's country: `scope` is parsed
    // (and logged with the query) but both scopes choose the same way.
    let query = parse_query(req.query.as_deref());
    let serves = |models: &[String]| match &query.model {
        Some(wanted) => models.iter().any(|have| have == wanted),
        None => true,
    };
    let serving: Vec<_> = m.cfg.regions.iter().filter(|r| serves(&r.models)).collect();
    if serving.is_empty() {
        let model = query.model.unwrap_or_default();
        return Answer::cors(error_json(
            404,
            &format!("No edge serves model {model:?}"),
            "model_not_found",
        ));
    }
    let chosen = serving
        .into_iter()
        .find(|r| !m.faults.is_down(&Target::Region(r.id.clone())));
    let resp = match chosen {
        Some(r) => json_response(
            200,
            &json!({
                "region": r.id,
                "endpoint": r.url,
                "name": r.name,
                "ttl": m.cfg.route_ttl_s,
            }),
        ),
        None => error_json(503, "No edge region available", "no_region_available"),
    };
    Answer::cors(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_handles_escapes_plus_and_garbage() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn scope_is_trimmed_and_case_insensitive() {
        assert!(parse_query(Some("scope=%20GLOBAL%20")).global);
        assert!(!parse_query(Some("scope=country")).global);
        assert!(!parse_query(Some("scope=globally")).global);
        assert!(!parse_query(None).global);
    }

    #[test]
    fn model_parameter_is_decoded() {
        assert_eq!(
            parse_query(Some("model=llama%2D3.1-8b&scope=global"))
                .model
                .as_deref(),
            Some("llama-3.1-8b")
        );
        assert_eq!(parse_query(Some("model=")).model, None);
    }
}
