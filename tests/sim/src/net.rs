//! The simulated network between the client and the model: where each URL goes, and
//! how requests and answers cross (the client's `HttpRequest` becomes the model's
//! `Request`; the model's `Response` becomes an `HttpResponse` the way a real driver
//! would hand it over).

use polargrid_core::{
    Config, Endpoints, HttpRequest, HttpResponse, Purpose, RegionInfo, Routing, MAX_ERROR_BODY,
};
use polargrid_emulator::model::{ModelConfig, RegionConfig, Request, Response, Role};

use crate::plan::{RouteStyle, SimMode, UrlStyle, Variant, REGIONS};

/// Where every service lives, for one run.
#[derive(Clone, Debug)]
pub struct Urls {
    autorouter: String,
    auth: String,
    /// `(region id, base URL)` as the model serves and names them.
    edges: Vec<(String, String)>,
    /// `(authority, role)` of every service, to map a URL in one pass.
    roles: Vec<(String, Role)>,
    /// What the client is configured with.
    pub endpoints: Endpoints,
}

impl Urls {
    /// The layout of `style`.
    pub fn new(style: UrlStyle) -> Urls {
        let https_edge = |id: &str| format!("https://api.{id}.edge.polargrid.test");
        let (autorouter, auth, edges, template, explicit) = match style {
            UrlStyle::Loopback => (
                "http://127.0.0.1:7001".to_string(),
                "http://127.0.0.1:7002".to_string(),
                REGIONS
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (id.to_string(), format!("http://127.0.0.1:{}", 7101 + i)))
                    .collect::<Vec<_>>(),
                "http://{region}.localhost:7100".to_string(),
                true,
            ),
            UrlStyle::Https => (
                "https://autorouter.polargrid.test".to_string(),
                "https://auth.polargrid.test".to_string(),
                REGIONS
                    .iter()
                    .map(|id| (id.to_string(), https_edge(id)))
                    .collect(),
                "https://api.{region}.edge.polargrid.test".to_string(),
                false,
            ),
            UrlStyle::HttpsEdges => (
                "http://127.0.0.1:7001".to_string(),
                "http://127.0.0.1:7002".to_string(),
                REGIONS
                    .iter()
                    .map(|id| (id.to_string(), https_edge(id)))
                    .collect(),
                "https://api.{region}.edge.polargrid.test".to_string(),
                true,
            ),
            UrlStyle::PlainHttpEndpoints => (
                "https://autorouter.polargrid.test".to_string(),
                "https://auth.polargrid.test".to_string(),
                REGIONS
                    .iter()
                    .map(|id| {
                        (
                            id.to_string(),
                            format!("http://api.{id}.edge.polargrid.test"),
                        )
                    })
                    .collect(),
                "https://api.{region}.edge.polargrid.test".to_string(),
                false,
            ),
        };
        let regions = edges
            .iter()
            .map(|(id, url)| {
                let (name, country) = polargrid_emulator::model::region_name_country(id);
                RegionInfo {
                    id: id.clone(),
                    name,
                    country,
                    url: explicit.then(|| url.clone()),
                }
            })
            .collect();
        let endpoints = Endpoints {
            autorouter: autorouter.clone(),
            auth: auth.clone(),
            edge_template: template,
            regions,
        };
        let mut roles = vec![
            (authority(&autorouter), Role::Autorouter),
            (authority(&auth), Role::Auth),
        ];
        roles.extend(
            edges
                .iter()
                .map(|(id, u)| (authority(u), Role::Edge(id.clone()))),
        );
        Urls {
            autorouter,
            auth,
            edges,
            roles,
            endpoints,
        }
    }

    /// The model's configuration for this layout.
    pub fn model_config(&self, seed: u64, v: &Variant) -> ModelConfig {
        let mut cfg = ModelConfig::new(&REGIONS);
        cfg.seed = seed;
        cfg.autorouter_url = self.autorouter.clone();
        cfg.auth_url = self.auth.clone();
        cfg.admin_url = "http://127.0.0.1:7000".to_string();
        cfg.regions = self
            .edges
            .iter()
            .map(|(id, url)| RegionConfig::known(id, url))
            .collect();
        cfg.jwt_ttl_s = v.jwt_ttl_s;
        cfg.refresh_ttl_s = v.refresh_ttl_s;
        cfg.route_ttl_s = v.route_ttl_s;
        cfg.legacy_token_field = v.legacy_token_field;
        cfg.log_capacity = 64;
        cfg
    }

    /// Which service `url` reaches (scheme ignored: one host serves both), or `None`
    /// for a host nobody serves.
    pub fn role(&self, url: &str) -> Option<Role> {
        let a = authority(url);
        self.roles
            .iter()
            .find(|(r, _)| *r == a)
            .map(|(_, role)| role.clone())
    }
}

/// The client configuration of a run.
pub fn client_config(v: &Variant, urls: &Urls, key: &str) -> Config {
    let mut cfg = match v.mode {
        SimMode::Session => Config::new(key),
        SimMode::Direct => Config::direct(key),
        SimMode::Handoff => Config::handoff(),
    };
    cfg.endpoints = urls.endpoints.clone();
    if let RouteStyle::Pinned { region, failover } = v.route {
        cfg.routing = Routing::Region(REGIONS.get(region).copied().unwrap_or("yto-01").to_string());
        cfg.failover_pinned = failover;
    }
    cfg
}

/// `host[:port]` of a URL, lowercased.
pub fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or("").to_ascii_lowercase()
}

/// Whether the URL is `https`.
pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// Whether the URL's host is loopback (`127.x.y.z`, `localhost`, `*.localhost`, `[::1]`).
pub fn is_loopback(url: &str) -> bool {
    let a = authority(url);
    let host = if a.starts_with('[') {
        a.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        a.split(':').next().unwrap_or("").to_string()
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || (host.starts_with("127.")
            && host.split('.').count() == 4
            && host.split('.').all(|p| p.parse::<u8>().is_ok()))
}

/// `host[:port]/path` (no query) for traces.
pub fn host_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['?', '#']).next().unwrap_or("").to_string()
}

/// The model's view of a client request; `body` is the driver's own body for app calls.
pub fn to_model(req: &HttpRequest, body: Option<&[u8]>) -> Request {
    let rest = req
        .url
        .split_once("://")
        .map_or(req.url.as_str(), |(_, r)| r);
    let target = rest.find('/').map_or("/", |i| rest.get(i..).unwrap_or("/"));
    let mut r = Request::new(req.method.as_str(), target);
    r.headers = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = match req.purpose {
        Purpose::Call(_) => body.map(<[u8]>::to_vec),
        _ => req.body.clone(),
    };
    if let Some(b) = body {
        if !req.purpose.core_owned() && !b.is_empty() {
            r.headers
                .push(("Content-Type".to_string(), "application/json".to_string()));
        }
        r.body = b;
    }
    r
}

/// What a real driver hands the core: app-call success bodies stay with the driver,
/// app-call error bodies are cut to [`MAX_ERROR_BODY`], core-owned bodies pass whole.
pub fn to_client(purpose: Purpose, resp: &Response) -> HttpResponse {
    let mut out = HttpResponse::new(resp.status);
    out.headers = resp.headers.clone();
    let app = !purpose.core_owned();
    if app && (200..300).contains(&resp.status) {
        return out;
    }
    let mut body = resp.body_bytes();
    if app {
        body.truncate(MAX_ERROR_BODY);
    }
    out.body = body;
    out
}
