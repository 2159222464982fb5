//! Configuration: what the app says, checked before any request is made.

#[allow(unused_imports)]
use crate::prelude::*;
use core::time::Duration;

use crate::error::ConfigError;
use crate::http::HeaderText;
use crate::json::Reader;
use crate::secret::Secret;
use crate::url::BaseUrl;

/// How the client authenticates at the edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exchange the `pg_` key for a session JWT at the auth service, refresh it, and send
    /// the JWT to the edges (the default).
    Session,
    /// Send the `pg_` key straight to the edges (the documented raw-HTTP flow; no session).
    Direct,
    /// No key on this device: the app hands over a session minted by its backend
    /// (the right mode for browsers). When the session ends the app hands over another.
    Handoff,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Direct => "direct",
            Mode::Handoff => "handoff",
        }
    }
}

/// Where calls go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Ask the autorouter (the default). Also what a base URL on the autorouter's host means.
    Auto,
    /// A region id (`yto-01`) or alias (`toronto`); discovery is skipped.
    Region(String),
    /// A fixed edge base URL; discovery is skipped and there is no failover.
    BaseUrl(String),
}

/// Discovery scope (`PROTOCOL.md`: anything but `global` means `country`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscoveryScope {
    /// Stay in the caller's country (the default; no query parameter).
    Country,
    /// Ignore borders (`scope=global`).
    Global,
}

impl DiscoveryScope {
    /// Reads a scope the way the autorouter does: trimmed, case-insensitive, anything
    /// but `global` is `country`.
    pub fn parse(s: &str) -> DiscoveryScope {
        if s.trim().eq_ignore_ascii_case("global") {
            DiscoveryScope::Global
        } else {
            DiscoveryScope::Country
        }
    }
}

/// A region the client knows without asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// Id, like `yto-01`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO country code, used to fail over within the same country first.
    pub country: String,
    /// Edge base URL; `None` means the edge template.
    pub url: Option<String>,
}

impl RegionInfo {
    /// A region served at the edge template's URL.
    pub fn new(id: &str, name: &str, country: &str) -> Self {
        RegionInfo {
            id: id.to_string(),
            name: name.to_string(),
            country: country.to_string(),
            url: None,
        }
    }
}

/// The known regions (`PROTOCOL.md`, from PolarGrid's SDK 0.10.0); a fallback, the
/// autorouter's answer is authoritative.
pub const KNOWN_REGIONS: [(&str, &str, &str); 16] = [
    ("yto-01", "Toronto", "CA"),
    ("yvr-02", "Vancouver", "CA"),
    ("yul-01", "Montreal", "CA"),
    ("yul-02", "Montreal 02", "CA"),
    ("nyc-01", "New York", "US"),
    ("nyc-02", "New York 02", "US"),
    ("dfw-01", "Dallas", "US"),
    ("dfw-02", "Dallas 02", "US"),
    ("sfo-01", "San Francisco", "US"),
    ("lax-01", "Los Angeles", "US"),
    ("sea-01", "Seattle", "US"),
    ("chi-01", "Chicago", "US"),
    ("phx-01", "Phoenix", "US"),
    ("was-01", "Washington DC", "US"),
    ("mia-01", "Miami", "US"),
    ("sfo-03", "San Francisco", "US"),
];

/// Region aliases (`PROTOCOL.md`).
const ALIASES: [(&str, &str); 19] = [
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
    ("new york", "nyc-01"),
    ("san francisco", "sfo-01"),
    ("la", "lax-01"),
    ("los-angeles", "lax-01"),
];

/// Resolves a region alias or id to an id (`toronto` → `yto-01`); ids pass through
/// lowercased. `None` for something that is neither.
pub fn resolve_region(name: &str) -> Option<String> {
    let n = name.trim().to_ascii_lowercase();
    if let Some((_, id)) = ALIASES.iter().find(|(a, _)| *a == n) {
        return Some((*id).to_string());
    }
    let well_formed = !n.is_empty()
        && n.len() <= 32
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-');
    well_formed.then_some(n)
}

/// Where PolarGrid lives. Override for the emulator or staging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The autorouter (discovery only).
    pub autorouter: String,
    /// The auth service.
    pub auth: String,
    /// Edge URL template; `{region}` is replaced by the region id.
    pub edge_template: String,
    /// Known regions, in preference order; the first is the default/fallback region.
    pub regions: Vec<RegionInfo>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            autorouter: "https://autorouter.polargrid.ai".to_string(),
            auth: "https://auth.polargrid.ai".to_string(),
            edge_template: "https://api.{region}.edge.polargrid.ai".to_string(),
            regions: KNOWN_REGIONS
                .iter()
                .map(|(id, name, c)| RegionInfo::new(id, name, c))
                .collect(),
        }
    }
}

impl Endpoints {
    /// Reads endpoints from JSON shaped like the emulator's start-up line
    /// (`{"autorouter", "auth", "regions": [{"id", "name", "country", "url"}], …}`);
    /// other fields (admin URL, test keys) are ignored, missing ones keep their defaults.
    /// Every binding's `endpoints` option goes through here, so one option points any
    /// binding at the emulator. URLs are checked later, by [`crate::Client::new`].
    pub fn from_json(json: &str) -> Result<Endpoints, ConfigError> {
        let bad = |problem: &'static str| ConfigError::BadEndpoints { problem };
        if json.len() > 64 * 1024 {
            return Err(bad("longer than 64 KiB"));
        }
        if !json.trim_start().starts_with('{') {
            return Err(bad("not a JSON object"));
        }
        let mut e = Endpoints::default();
        let mut regions: Option<Vec<RegionInfo>> = None;
        Reader::document(json.as_bytes(), false, |r| {
            r.fields(
                &["autorouter", "auth", "edge_template", "regions"],
                &mut |i, r| {
                    let slot = match i {
                        0 => &mut e.autorouter,
                        1 => &mut e.auth,
                        2 => &mut e.edge_template,
                        _ => {
                            regions = r.opt(|r| {
                                let mut list = Vec::new();
                                r.array(&mut |r| {
                                    list.push(read_region(r)?);
                                    Some(())
                                })?;
                                Some(list)
                            })?;
                            return Some(());
                        }
                    };
                    if let Some(v) = r.opt(Reader::string)? {
                        *slot = v;
                    }
                    Some(())
                },
            )
        })
        .ok_or(bad("not a JSON object of the expected shape"))?;
        if let Some(regions) = regions {
            if regions.is_empty() {
                return Err(bad("`regions` is empty"));
            }
            e.regions = regions;
        }
        Ok(e)
    }
}

/// One region of an endpoints JSON: `id` required; `name` defaults to it.
fn read_region(r: &mut Reader<'_>) -> Option<RegionInfo> {
    let mut f: [Option<String>; 4] = Default::default();
    r.fields(&["id", "name", "country", "url"], &mut |i, r| {
        let v = r.opt(Reader::string)?;
        if i == 0 {
            // `id` is a String, not an Option: `null` is of the wrong type.
            v.as_ref()?;
        }
        if let Some(slot) = f.get_mut(i) {
            *slot = v;
        }
        Some(())
    })?;
    let [id, name, country, url] = f;
    let id = id?;
    Some(RegionInfo {
        name: name.unwrap_or_else(|| id.clone()),
        country: country.unwrap_or_default(),
        id,
        url,
    })
}

/// Retry policy for app calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (a replay after a refresh is extra).
    pub max_attempts: u32,
    /// First backoff; doubles each retry, with jitter.
    pub base_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// Largest `Retry-After` the client waits out; a longer one fails the call at once
    /// with `retry_after` set, so the app decides.
    pub max_retry_after: Duration,
    /// Retry budget: at most this many retries in a burst across all calls…
    pub budget_capacity: u32,
    /// …refilled by this many tenths of a retry for each call that succeeds.
    pub budget_refill_tenths: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            budget_capacity: 10,
            budget_refill_tenths: 1,
        }
    }
}

/// Timeouts per kind of request (time to the answer the core needs), and for a call as a
/// whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Exchange and refresh.
    pub auth: Duration,
    /// Discovery (`PROTOCOL.md`: about 2 s).
    pub discovery: Duration,
    /// Each attempt of an app call (time to the first byte of the answer; streams then
    /// flow freely).
    pub call: Duration,
    /// Establishing a connection, for every request (capped by the request's timeout).
    pub connect: Duration,
    /// An app call as a whole, from `start_call` to its answer head or its failure, every
    /// attempt and backoff included. `None` (the default) means twice the call's attempt
    /// timeout: 120 s with the default 60 s, which lets one attempt use all of its time
    /// and leaves room for retries and failover (without it a failing edge whose answers
    /// trickle held a call for attempts × 60 s). A stream's body after the call is ready
    /// belongs to the app and is never cut by it.
    pub call_deadline: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            auth: Duration::from_secs(10),
            discovery: Duration::from_secs(2),
            call: Duration::from_secs(60),
            connect: Duration::from_secs(10),
            call_deadline: None,
        }
    }
}

/// Everything the client needs to know. Build with [`Config::new`] (session mode),
/// [`Config::direct`] or [`Config::handoff`], then adjust fields or use the `with_*`
/// helpers.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `pg_` key; `None` in handoff mode.
    pub api_key: Option<Secret>,
    /// How to authenticate.
    pub mode: Mode,
    /// Where calls go.
    pub routing: Routing,
    /// Discovery scope.
    pub scope: DiscoveryScope,
    /// Whether a pinned region may fail over to another when it is down.
    pub failover_pinned: bool,
    /// Hosts.
    pub endpoints: Endpoints,
    /// `User-Agent` product token, like `polargrid-core/0.1.0`.
    pub user_agent: String,
    /// Retries.
    pub retry: RetryPolicy,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Failures in a row (connect errors, timeouts, 502/503/504) that mark an edge down.
    pub failures_before_down: u32,
    /// How long a downed edge is avoided.
    pub region_cooldown: Duration,
    /// How long, after a discovery failure, the fallback is used before asking again.
    pub discovery_retry: Duration,
    /// How long calls wait for a session to be handed over (handoff mode) before failing.
    pub handoff_wait: Duration,
    /// Whether the transport sees connection establishment and reports a connect timeout
    /// on its own (`true`, the default: every runtime but a web page). `false` (a page's
    /// `fetch`, set by the npm browser entry): the core watches the connect timeout itself
    /// and, for a GET (a method idempotent by HTTP) that could go elsewhere, takes no answer
    /// head by then as an opaque failure of that attempt (the rule and why: `route` module docs,
    /// "Unobserved connects").
    pub transport_observes_connect: bool,
}

impl Config {
    /// Session mode with a `pg_` key: the key is exchanged for a session JWT.
    pub fn new(api_key: impl Into<String>) -> Self {
        Config::with_mode(Some(Secret::new(api_key)), Mode::Session)
    }

    /// Direct mode: the key goes straight to the edges.
    pub fn direct(api_key: impl Into<String>) -> Self {
        Config::with_mode(Some(Secret::new(api_key)), Mode::Direct)
    }

    /// Handoff mode: no key; the app hands over sessions minted by its backend.
    pub fn handoff() -> Self {
        Config::with_mode(None, Mode::Handoff)
    }

    fn with_mode(api_key: Option<Secret>, mode: Mode) -> Self {
        Config {
            api_key,
            mode,
            routing: Routing::Auto,
            scope: DiscoveryScope::Country,
            failover_pinned: false,
            endpoints: Endpoints::default(),
            user_agent: concat!("polargrid-core/", env!("CARGO_PKG_VERSION")).to_string(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            failures_before_down: 2,
            region_cooldown: Duration::from_secs(60),
            discovery_retry: Duration::from_secs(30),
            handoff_wait: Duration::from_secs(30),
            transport_observes_connect: true,
        }
    }

    /// Pins a region (id or alias).
    pub fn with_region(mut self, region: &str) -> Self {
        self.routing = Routing::Region(region.to_string());
        self
    }

    /// Uses a fixed base URL (an autorouter URL means auto-routing).
    pub fn with_base_url(mut self, url: &str) -> Self {
        self.routing = Routing::BaseUrl(url.to_string());
        self
    }

    /// Overrides the hosts (emulator, staging).
    pub fn with_endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }
}

/// A checked configuration.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    pub(crate) api_key: Option<Secret>,
    pub(crate) mode: Mode,
    pub(crate) route: RouteMode,
    pub(crate) scope: DiscoveryScope,
    pub(crate) autorouter: BaseUrl,
    pub(crate) auth: BaseUrl,
    /// Known regions with their resolved URLs, default first.
    pub(crate) regions: Vec<(RegionInfo, BaseUrl)>,
    /// Host suffix of edges built from the template (`.edge.polargrid.ai`), for checking
    /// endpoints the autorouter names.
    pub(crate) edge_suffix: Option<String>,
    pub(crate) edge_template: String,
    /// `cfg.user_agent`, shared by every request's `User-Agent` header.
    pub(crate) user_agent: alloc::sync::Arc<str>,
    pub(crate) cfg: Config,
}

/// How calls are routed, after checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteMode {
    Auto,
    Pinned {
        region: String,
        url: BaseUrl,
        failover: bool,
    },
    Fixed {
        url: BaseUrl,
    },
}

fn url(field: &'static str, s: &str) -> Result<BaseUrl, ConfigError> {
    BaseUrl::parse(s).map_err(|problem| ConfigError::BadUrl {
        field,
        problem,
        fix: "use an https:// URL (plain http only to 127.0.0.1/localhost), with no user:password@, query or fragment",
    })
}

/// Checks an API key's shape without ever echoing it.
pub(crate) fn check_key(key: &Secret) -> Result<(), ConfigError> {
    let k = key.expose();
    let problem = if k.is_empty() {
        "it is empty"
    } else if k.trim() != k {
        "it has leading or trailing whitespace (a copied newline?)"
    } else if k.starts_with("Bearer ") || k.starts_with("bearer ") {
        "it starts with `Bearer `; pass the key alone"
    } else if k.starts_with("eyJ") {
        "it looks like a session JWT, not an API key; hand it over as a session instead"
    } else if !k.starts_with("pg_") {
        "it does not start with `pg_`"
    } else if k.len() < 8 {
        "it is too short to be a key"
    } else if k.len() > 512 {
        "it is longer than 512 characters"
    } else if !k
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        "it contains characters a key cannot have"
    } else {
        return Ok(());
    };
    Err(ConfigError::MalformedApiKey { problem })
}

impl Checked {
    /// The `User-Agent` header, its value shared by every request.
    pub(crate) fn user_agent_header(&self) -> (HeaderText, HeaderText) {
        (
            HeaderText::Static("User-Agent"),
            HeaderText::Shared(self.user_agent.clone()),
        )
    }

    pub(crate) fn new(cfg: Config) -> Result<Checked, ConfigError> {
        if cfg.mode == Mode::Handoff && cfg.api_key.is_some() {
            return Err(ConfigError::KeyInHandoff);
        }
        match (&cfg.api_key, cfg.mode) {
            (Some(k), _) => check_key(k)?,
            (None, Mode::Session | Mode::Direct) => {
                return Err(ConfigError::MissingApiKey {
                    mode: cfg.mode.name(),
                })
            }
            (None, Mode::Handoff) => {}
        }
        if cfg.retry.max_attempts == 0 || cfg.retry.max_attempts > 20 {
            return Err(ConfigError::OutOfRange {
                field: "retry.max_attempts",
                problem: "must be from 1 to 20",
            });
        }
        if cfg.failures_before_down == 0 {
            return Err(ConfigError::OutOfRange {
                field: "failures_before_down",
                problem: "must be at least 1",
            });
        }
        let autorouter = url("endpoints.autorouter", &cfg.endpoints.autorouter)?;
        let auth = url("endpoints.auth", &cfg.endpoints.auth)?;
        let template = &cfg.endpoints.edge_template;
        if !template.contains("{region}") {
            return Err(ConfigError::BadUrl {
                field: "endpoints.edge_template",
                problem: "it has no {region} placeholder",
                fix: "use a template like https://api.{region}.edge.polargrid.ai",
            });
        }
        let sample = url(
            "endpoints.edge_template",
            &template.replace("{region}", "x"),
        )?;
        let edge_suffix = template
            .split_once("{region}")
            .map(|(_, after)| {
                after
                    .split(['/', ':'])
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .filter(|s| s.starts_with('.') && s.matches('.').count() >= 2 && sample.https);
        let mut regions = Vec::new();
        for r in &cfg.endpoints.regions {
            let id = resolve_region(&r.id).ok_or_else(|| ConfigError::UnknownRegion {
                region: shown_region(&r.id, cfg.api_key.as_ref()),
            })?;
            let u = match &r.url {
                Some(u) => url("endpoints.regions[].url", u)?,
                None => url(
                    "endpoints.edge_template",
                    &template.replace("{region}", &id),
                )?,
            };
            let info = RegionInfo { id, ..r.clone() };
            regions.push((info, u));
        }
        if regions.is_empty() {
            return Err(ConfigError::OutOfRange {
                field: "endpoints.regions",
                problem: "at least one region (the default) is needed",
            });
        }
        let route = match &cfg.routing {
            Routing::Auto => RouteMode::Auto,
            Routing::Region(name) => {
                let region = resolve_region(name).ok_or_else(|| ConfigError::UnknownRegion {
                    region: shown_region(name, cfg.api_key.as_ref()),
                })?;
                let url = edge_url(&regions, template, &region)?;
                RouteMode::Pinned {
                    region,
                    url,
                    failover: cfg.failover_pinned,
                }
            }
            Routing::BaseUrl(s) => {
                let u = url("base_url", s)?;
                // Only loopback (the emulator) serves the autorouter and edges on one host
                // apart by port; a public autorouter host never gets the key, on any port.
                let same_port = u.effective_port() == autorouter.effective_port();
                if u.host == autorouter.host && (same_port || !u.is_loopback()) {
                    // The autorouter is not a proxy: a base URL on its host means auto-route.
                    RouteMode::Auto
                } else {
                    RouteMode::Fixed { url: u }
                }
            }
        };
        Ok(Checked {
            api_key: cfg.api_key.clone(),
            mode: cfg.mode,
            route,
            scope: cfg.scope,
            autorouter,
            auth,
            regions,
            edge_suffix,
            edge_template: template.clone(),
            user_agent: cfg.user_agent.as_str().into(),
            cfg,
        })
    }

    /// The edge URL of a region: the known table first, then the template.
    pub(crate) fn region_url(&self, region: &str) -> Option<BaseUrl> {
        edge_url(&self.regions, &self.edge_template, region).ok()
    }

    /// Whether an endpoint named by the autorouter may receive credentials: https (or
    /// loopback http when the autorouter itself is loopback), no userinfo, and a host that
    /// is a known region's or under the edge template's domain.
    pub(crate) fn edge_allowed(&self, u: &BaseUrl) -> bool {
        if !(u.https || (u.is_loopback() && self.autorouter.is_loopback())) {
            return false;
        }
        if self.regions.iter().any(|(_, r)| r.same_origin(u)) {
            return true;
        }
        match &self.edge_suffix {
            Some(suffix) => {
                u.https && u.host.ends_with(suffix.as_str()) && u.host.len() > suffix.len()
            }
            None => false,
        }
    }
}

/// A region name as an error shows it: redacted when it is (or holds) a credential
/// pasted in the wrong place, so the error cannot leak it into a log.
fn shown_region(name: &str, key: Option<&Secret>) -> String {
    let n = name.trim_start();
    let holds_key = key.is_some_and(|k| !k.is_empty() && name.contains(k.expose()));
    if holds_key || n.starts_with("pg_") || n.starts_with("eyJ") {
        "[redacted]".to_string()
    } else {
        name.to_string()
    }
}

fn edge_url(
    regions: &[(RegionInfo, BaseUrl)],
    template: &str,
    region: &str,
) -> Result<BaseUrl, ConfigError> {
    if let Some((_, u)) = regions.iter().find(|(r, _)| r.id == region) {
        return Ok(u.clone());
    }
    url(
        "endpoints.edge_template",
        &template.replace("{region}", region),
    )
}
