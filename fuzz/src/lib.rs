//! Shared pieces of the fuzz targets: a driver that runs a [`Client`] and checks the
//! core's invariants after every step, builders for PolarGrid's answers, and the
//! "where may a credential go" rules written out independently of the core.
//!
//! Every check panics with a message that names the broken invariant, so libFuzzer
//! reports it as a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine as _;
use polargrid_core::{
    CallId, Client, Config, Endpoints, Event, HttpRequest, HttpResponse, Mode, Purpose, RegionInfo,
    RequestId, RetryPolicy, Timeouts, Timestamp,
};

/// The key every target uses (shaped like a real one).
pub const KEY: &str = "pg_fuzz_key_0123456789abcdef";

/// 2027-01-15T08:00:00Z.
pub const T0: u64 = 1_799_913_600_000;

pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 24 * HOUR;

/// Real hosts.
pub const AUTOROUTER: &str = "autorouter.polargrid.ai";
pub const AUTH: &str = "auth.polargrid.ai";
pub const EDGE_SUFFIX: &str = ".edge.polargrid.ai";
/// A base URL an app may configure (calls may go there).
pub const CUSTOM_BASE: &str = "https://inference.customer.example/v1";

/// An unsigned JWT with these claims (seconds); `tag` makes each one unique.
pub fn jwt(claims: &serde_json::Value, tag: u64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims.to_string()),
        e.encode(format!("fuzz-signature-{tag:08}"))
    )
}

/// IMF-fixdate of a Unix-ms instant (years 1970..=9999).
pub fn http_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = (ms / 1000).min(253_402_300_799);
    let days = (secs / 86_400) as i64;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(mo - 1) as usize],
        y,
        h,
        m,
        s
    )
}

/// Deeply nested JSON arrays.
pub fn json_bomb(depth: usize) -> Vec<u8> {
    let mut v = vec![b'['; depth];
    v.extend(std::iter::repeat_n(b']', depth));
    v
}

// ----- where a request may go -----

/// Scheme, authority (as written) and lowercased host (port removed) of a URL the core
/// emitted. Panics on anything that is not `scheme://authority[/…]`.
pub fn split_url(url: &str) -> (&str, &str, String) {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("emitted url has no scheme: {url:?}"));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => &authority[..=i],
            None => authority,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    (scheme, authority, host.to_ascii_lowercase())
}

pub fn is_loopback_host(h: &str) -> bool {
    h == "localhost"
        || h.ends_with(".localhost")
        || h == "[::1]"
        || (h.starts_with("127.")
            && h.split('.').count() == 4
            && h.split('.').all(|p| p.parse::<u8>().is_ok()))
}

/// Whether `host` is a PolarGrid edge: `<label(s)>.edge.polargrid.ai`.
pub fn is_edge_host(host: &str) -> bool {
    host.strip_suffix(EDGE_SUFFIX).is_some_and(|label| {
        !label.is_empty()
            && !label.starts_with('.')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
}

/// Whether `secret` occurs in `text` other than right after a backslash: `Debug` escapes
/// a control character as `\r`, `\t`, `\n`, so text "\u{d}t_x" shows as `\rt_x`, which
/// contains "rt_x" without the secret being there.
pub fn shows(text: &str, secret: &str) -> bool {
    text.match_indices(secret)
        .any(|(i, _)| !text[..i].ends_with('\\'))
}

// ----- the driver -----

/// Which endpoints the client is configured with.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosts {
    /// The real PolarGrid hosts.
    Real,
    /// An emulator on loopback (plain http).
    Loopback,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeChoice {
    Session,
    Direct,
    Handoff,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingChoice {
    Auto,
    Region,
    RegionWithFailover,
    BaseUrl,
    AutorouterBaseUrl,
}

/// Retry and timing settings, including the extremes a careless app could pass.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuning {
    Default,
    /// Every duration zero, every count minimal.
    Zero,
    /// Every duration and count as large as the type allows.
    Max,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Setup {
    pub mode: ModeChoice,
    pub routing: RoutingChoice,
    pub hosts: Hosts,
    pub tuning: Tuning,
    pub seed: u64,
}

pub fn loopback_endpoints() -> Endpoints {
    Endpoints {
        autorouter: "http://127.0.0.1:9100".to_string(),
        auth: "http://127.0.0.1:9101".to_string(),
        edge_template: "http://{region}.edge.localhost:9102".to_string(),
        regions: vec![
            RegionInfo::new("yto-01", "Toronto", "CA"),
            RegionInfo::new("nyc-01", "New York", "US"),
        ],
    }
}

pub fn real_endpoints() -> Endpoints {
    Endpoints {
        regions: vec![
            RegionInfo::new("yto-01", "Toronto", "CA"),
            RegionInfo::new("nyc-01", "New York", "US"),
            RegionInfo::new("yul-01", "Montreal", "CA"),
        ],
        ..Endpoints::default()
    }
}

impl Setup {
    pub fn config(&self) -> Config {
        let mut c = match self.mode {
            ModeChoice::Session => Config::new(KEY),
            ModeChoice::Direct => Config::direct(KEY),
            ModeChoice::Handoff => Config::handoff(),
        };
        c = c.with_endpoints(match self.hosts {
            Hosts::Real => real_endpoints(),
            Hosts::Loopback => loopback_endpoints(),
        });
        c = match self.routing {
            RoutingChoice::Auto => c,
            RoutingChoice::Region => c.with_region("toronto"),
            RoutingChoice::RegionWithFailover => {
                c.failover_pinned = true;
                c.with_region("yto-01")
            }
            RoutingChoice::BaseUrl => match self.hosts {
                Hosts::Real => c.with_base_url(CUSTOM_BASE),
                Hosts::Loopback => c.with_base_url("http://localhost:9103/v1"),
            },
            RoutingChoice::AutorouterBaseUrl => match self.hosts {
                Hosts::Real => c.with_base_url("https://autorouter.polargrid.ai"),
                Hosts::Loopback => c.with_base_url("http://127.0.0.1:9100"),
            },
        };
        match self.tuning {
            Tuning::Default => {}
            Tuning::Zero => {
                c.retry = RetryPolicy {
                    max_attempts: 1,
                    base_backoff: Duration::ZERO,
                    max_backoff: Duration::ZERO,
                    max_retry_after: Duration::ZERO,
                    budget_capacity: 0,
                    budget_refill_tenths: 0,
                };
                c.timeouts = Timeouts {
                    auth: Duration::ZERO,
                    discovery: Duration::ZERO,
                    call: Duration::ZERO,
                    connect: Duration::ZERO,
                    call_deadline: Some(Duration::ZERO),
                };
                c.failures_before_down = 1;
                c.region_cooldown = Duration::ZERO;
                c.discovery_retry = Duration::ZERO;
                c.handoff_wait = Duration::ZERO;
            }
            Tuning::Max => {
                c.retry = RetryPolicy {
                    max_attempts: 20,
                    base_backoff: Duration::MAX,
                    max_backoff: Duration::MAX,
                    max_retry_after: Duration::MAX,
                    budget_capacity: u32::MAX,
                    budget_refill_tenths: u32::MAX,
                };
                c.timeouts = Timeouts {
                    auth: Duration::MAX,
                    discovery: Duration::MAX,
                    call: Duration::MAX,
                    connect: Duration::MAX,
                    call_deadline: Some(Duration::MAX),
                };
                c.failures_before_down = u32::MAX;
                c.region_cooldown = Duration::MAX;
                c.discovery_retry = Duration::MAX;
                c.handoff_wait = Duration::MAX;
            }
        }
        c
    }
}

/// Runs a client and checks, after every step, the invariants every driver relies on:
/// - every call ends at most once, only calls that were started end, and
///   `open_calls()` counts exactly the calls that have not ended;
/// - at most one exchange/refresh request is outstanding;
/// - no credential goes to the autorouter, no refresh request carries one, the key goes
///   only to the auth service (and, in direct mode, the edges), a JWT only to the edges;
/// - no plain `http://` request except to loopback;
/// - no secret in a URL, nor in the `Debug`/`Display` of any request, event or error;
/// - a client with open calls always has a wake-up or a request outstanding.
pub struct Driver {
    pub client: Client,
    pub setup: Setup,
    pub now: u64,
    /// Requests the core emitted, by id.
    pub sent: BTreeMap<RequestId, HttpRequest>,
    /// Emitted, not answered, not aborted.
    pub outstanding: BTreeSet<RequestId>,
    pub started: BTreeSet<CallId>,
    pub ended: BTreeSet<CallId>,
    /// Every secret the client has held: the key, and each JWT and refresh token that
    /// appeared in a snapshot it emitted (only the driver's own unique tokens: a short
    /// token chosen by the fuzzer could match non-secret text by coincidence).
    pub secrets: Vec<String>,
    /// Paths and model hints the app passed (a token the app itself put there is the
    /// app's business, not a leak).
    pub app_text: Vec<String>,
    /// The last snapshot the client emitted.
    pub last_snapshot: Option<polargrid_core::SessionSnapshot>,
    /// Counter for unique tokens.
    pub minted: u64,
    pub events: u64,
}

impl Driver {
    pub fn new(setup: Setup) -> Option<Driver> {
        let client = Client::new(setup.config(), setup.seed).ok()?;
        Some(Driver {
            client,
            setup,
            now: T0,
            sent: BTreeMap::new(),
            outstanding: BTreeSet::new(),
            started: BTreeSet::new(),
            ended: BTreeSet::new(),
            // A handoff client never has the key: text that merely contains it (a
            // session id in a hand-over the fuzzer wrote) is not a leak.
            secrets: if setup.mode == ModeChoice::Handoff {
                Vec::new()
            } else {
                vec![KEY.to_string()]
            },
            app_text: Vec::new(),
            last_snapshot: None,
            minted: 0,
            events: 0,
        })
    }

    pub fn t(&self) -> Timestamp {
        Timestamp(self.now)
    }

    /// A fresh, unique refresh token (a secret once the client holds it).
    pub fn mint_refresh(&mut self) -> String {
        self.minted += 1;
        format!("rt_fuzz_{:06}_9f8e7d6c5b4a", self.minted)
    }

    /// A fresh JWT with these claims (a secret once the client holds it).
    pub fn mint_jwt(&mut self, claims: &serde_json::Value) -> String {
        self.minted += 1;
        jwt(claims, self.minted)
    }

    /// A secret-free `Debug` check: panics if any handed-out secret shows up.
    pub fn assert_no_secret(&self, what: &str, text: &str) {
        for s in &self.secrets {
            let by_app = s != KEY && self.app_text.iter().any(|t| t.contains(s.as_str()));
            assert!(
                by_app || !shows(text, s),
                "secret leaked into {what}: {text}"
            );
        }
    }

    /// Drains requests and events, checking every invariant.
    pub fn pump(&mut self) {
        while let Some(r) = self.client.poll_request(self.t()) {
            self.check_request(&r);
            assert!(
                self.sent.insert(r.id, r.clone()).is_none(),
                "request id {:?} emitted twice",
                r.id
            );
            self.outstanding.insert(r.id);
        }
        while let Some(e) = self.client.poll_event() {
            self.events += 1;
            self.check_event(&e);
        }
        let auth_out = self
            .outstanding
            .iter()
            .filter(|id| matches!(self.sent[id].purpose, Purpose::Exchange | Purpose::Refresh))
            .count();
        assert!(
            auth_out <= 1,
            "{auth_out} exchange/refresh requests outstanding at once"
        );
        let open = self.started.len() - self.ended.len();
        assert_eq!(
            self.client.open_calls(),
            open,
            "open_calls() disagrees with the events"
        );
        if open > 0 {
            assert!(
                self.client.poll_timeout().is_some() || !self.outstanding.is_empty(),
                "{open} open calls but no wake-up and no request outstanding: they would hang"
            );
        }
        let status = format!("{:?}", self.client.session_status());
        self.assert_no_secret("SessionStatus", &status);
    }

    fn check_request(&self, r: &HttpRequest) {
        let (scheme, authority, host) = split_url(&r.url);
        assert!(
            !authority.contains('@'),
            "userinfo in an emitted url: {}",
            r.url
        );
        match scheme {
            "https" => {}
            "http" => assert!(
                is_loopback_host(&host),
                "plain http to a non-loopback host: {}",
                r.url
            ),
            other => panic!("scheme {other:?} in an emitted url: {}", r.url),
        }
        for s in &self.secrets {
            let by_app = s != KEY && self.app_text.iter().any(|t| t.contains(s.as_str()));
            assert!(
                by_app || !r.url.contains(s.as_str()),
                "a secret in a url: {}",
                r.url
            );
        }
        self.assert_no_secret("HttpRequest Debug", &format!("{r:?}"));
        let auth = r.header("authorization");
        let autorouter = match self.setup.hosts {
            Hosts::Real => AUTOROUTER.to_string(),
            Hosts::Loopback => "127.0.0.1".to_string(),
        };
        let auth_host = match self.setup.hosts {
            Hosts::Real => AUTH.to_string(),
            Hosts::Loopback => "127.0.0.1".to_string(),
        };
        match r.purpose {
            Purpose::Discover => {
                assert!(auth.is_none(), "discovery carries Authorization: {r:?}");
                assert_eq!(
                    host, autorouter,
                    "discovery not at the autorouter: {}",
                    r.url
                );
            }
            Purpose::Refresh => {
                assert!(auth.is_none(), "refresh carries Authorization: {r:?}");
                assert_eq!(
                    host, auth_host,
                    "refresh not at the auth service: {}",
                    r.url
                );
            }
            Purpose::Exchange => {
                assert_eq!(
                    self.setup.mode,
                    ModeChoice::Session,
                    "exchange outside session mode"
                );
                assert_eq!(
                    auth,
                    Some(format!("Bearer {KEY}").as_str()),
                    "exchange without the key"
                );
                assert_eq!(
                    host, auth_host,
                    "exchange not at the auth service: {}",
                    r.url
                );
            }
            Purpose::Call(_) => {
                let token = auth
                    .and_then(|a| a.strip_prefix("Bearer "))
                    .unwrap_or_else(|| panic!("call without a bearer token: {r:?}"));
                if self.setup.hosts == Hosts::Real {
                    assert_ne!(host, AUTOROUTER, "a call sent to the autorouter: {}", r.url);
                }
                let allowed = match self.setup.hosts {
                    Hosts::Real => {
                        is_edge_host(&host)
                            || (self.setup.routing == RoutingChoice::BaseUrl
                                && host == "inference.customer.example")
                    }
                    Hosts::Loopback => {
                        host == "yto-01.edge.localhost"
                            || host == "nyc-01.edge.localhost"
                            || (self.setup.routing == RoutingChoice::BaseUrl && host == "localhost")
                    }
                };
                assert!(
                    allowed,
                    "a credential sent to a host that is not an edge: {}",
                    r.url
                );
                match self.setup.mode {
                    ModeChoice::Direct => {
                        assert_eq!(token, KEY, "direct mode call without the key")
                    }
                    _ => assert_ne!(
                        token, KEY,
                        "the key sent to an edge in {:?} mode",
                        self.setup.mode
                    ),
                }
            }
        }
    }

    /// Learns the tokens of a snapshot the client emitted.
    pub fn learn(&mut self, snap: &polargrid_core::SessionSnapshot) {
        let mut tokens = vec![snap.session_token.expose().to_string()];
        tokens.extend(snap.refresh_token.as_ref().map(|r| r.expose().to_string()));
        for t in tokens {
            let ours = ["eyJ", "rt_fuzz_", "opaque_session_"]
                .iter()
                .any(|p| t.starts_with(p));
            if ours && t.len() >= 16 && !self.secrets.contains(&t) {
                self.secrets.push(t);
            }
        }
    }

    fn check_event(&mut self, e: &Event) {
        if let Event::SessionChanged {
            snapshot: Some(s), ..
        } = e
        {
            self.learn(s);
        }
        self.assert_no_secret("Event Debug", &format!("{e:?}"));
        match e {
            Event::CallReady { call, .. }
            | Event::CallFailed { call, .. }
            | Event::CallCancelled { call } => {
                assert!(
                    self.started.contains(call),
                    "ending event for a call never started: {e:?}"
                );
                assert!(
                    self.ended.insert(*call),
                    "second ending event for {call:?}: {e:?}"
                );
                if let Event::CallFailed { error, .. } = e {
                    self.assert_no_secret("CallError Display", &error.to_string());
                }
            }
            Event::Abort { request } => {
                assert!(
                    self.sent.contains_key(request),
                    "abort of a request never polled: {e:?}"
                );
                self.outstanding.remove(request);
            }
            Event::SessionChanged { snapshot, .. } => {
                if let Some(s) = snapshot {
                    self.last_snapshot = Some(s.clone());
                }
            }
            Event::SessionEnded { error } => {
                self.assert_no_secret("CallError Display", &error.to_string());
            }
            Event::RegionChanged { endpoint, .. } => {
                for s in &self.secrets {
                    assert!(!endpoint.contains(s.as_str()), "secret in an endpoint");
                }
            }
            _ => {}
        }
    }

    pub fn start(&mut self, spec: polargrid_core::CallSpec) -> Option<CallId> {
        self.app_text.push(spec.path.clone());
        self.app_text.extend(spec.model.clone());
        let r = self.client.start_call(self.t(), spec);
        if let Ok(id) = r {
            assert!(self.started.insert(id), "call id {id:?} handed out twice");
        }
        self.pump();
        r.ok()
    }

    pub fn respond(&mut self, id: RequestId, resp: HttpResponse) {
        let known = self.outstanding.remove(&id);
        let r = self.client.handle_response(self.t(), id, resp);
        if known {
            assert!(r.is_ok(), "answer to an outstanding request refused: {r:?}");
        }
        if let Err(e) = r {
            self.assert_no_secret("MisuseError", &format!("{e} {e:?}"));
        }
        self.pump();
    }

    pub fn fail(&mut self, id: RequestId, kind: polargrid_core::TransportErrorKind) {
        let known = self.outstanding.remove(&id);
        let r = self.client.handle_transport_error(self.t(), id, kind);
        if known {
            assert!(
                r.is_ok(),
                "transport error of an outstanding request refused: {r:?}"
            );
        }
        self.pump();
    }

    pub fn timeout(&mut self) {
        self.client.handle_timeout(self.t());
        self.pump();
    }

    /// The n-th outstanding request (wrapping), if any.
    pub fn outstanding_nth(&self, k: usize) -> Option<RequestId> {
        if self.outstanding.is_empty() {
            return None;
        }
        self.outstanding
            .iter()
            .nth(k % self.outstanding.len())
            .copied()
    }

    /// The first outstanding request with this purpose.
    pub fn outstanding_with(&self, want: impl Fn(&Purpose) -> bool) -> Option<RequestId> {
        self.outstanding
            .iter()
            .copied()
            .find(|id| want(&self.sent[id].purpose))
    }

    /// A healthy session answer for the current time.
    pub fn good_session_answer(&mut self, ttl_ms: u64) -> HttpResponse {
        let iat = self.now / 1000;
        let claims = serde_json::json!({"sub": "key_1", "iat": iat, "exp": iat + ttl_ms / 1000});
        let token = self.mint_jwt(&claims);
        let refresh = self.mint_refresh();
        let body = serde_json::json!({
            "session_token": token,
            "refresh_token": refresh,
            "session_id": "sess_fuzz",
            "expires_in": ttl_ms / 1000,
        });
        HttpResponse::new(200)
            .with_header("Date", &http_date(self.now))
            .with_body(body.to_string())
    }

    pub fn mode(&self) -> Mode {
        match self.setup.mode {
            ModeChoice::Session => Mode::Session,
            ModeChoice::Direct => Mode::Direct,
            ModeChoice::Handoff => Mode::Handoff,
        }
    }
}
