//! The scenario format (documented in `tests/conformance/README.md`).

use serde::Deserialize;
use serde_json::Value;

/// Default for a scenario's `call_timeout_ms`.
pub const DEFAULT_CALL_TIMEOUT_MS: u64 = 30_000;

/// One scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (the file's stem).
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Emulator set-up.
    #[serde(default)]
    pub emulator: EmulatorSetup,
    /// Client configuration.
    #[serde(default)]
    pub client: ClientSetup,
    /// How long one `call` step may take before the adapter reports `adapter_timeout`
    /// (default [`DEFAULT_CALL_TIMEOUT_MS`]).
    #[serde(default)]
    pub call_timeout_ms: Option<u64>,
    /// The adapter must refuse `configure` with this `ConfigError` kind (`invalid_config`,
    /// …); the scenario then has no steps.
    #[serde(default)]
    pub configure_refused: Option<String>,
    /// What happens, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// Emulator set-up: `POST /admin/config` then each `POST /admin/fault`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorSetup {
    /// Body for `POST /admin/config` (`jwt_ttl_s`, `refresh_ttl_s`, `route_ttl_s`, `legacy_token_field`).
    #[serde(default)]
    pub config: Option<Value>,
    /// Bodies for `POST /admin/fault`.
    #[serde(default)]
    pub faults: Vec<Value>,
}

/// Client configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSetup {
    /// `session` (default), `direct` or `handoff`.
    #[serde(default = "default_mode")]
    pub mode: String,
    /// Which emulator key: `read_write` (default), `read_only`, `admin`, `revoked`, `no_credits`.
    #[serde(default = "default_key")]
    pub key: String,
    /// `auto` (default), `region:<id or alias>`, `base_url:autorouter`, `base_url:region:<id>`.
    #[serde(default = "default_routing")]
    pub routing: String,
    /// `country` (default) or `global`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Let a pinned region fail over.
    #[serde(default)]
    pub failover_pinned: bool,
    /// Attempts per call.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Each app-call attempt's time to its answer head, ms (`Timeouts.call`).
    #[serde(default)]
    pub request_timeout_ms: Option<u64>,
    /// Establishing a connection, ms (`Timeouts.connect`).
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    /// A call as a whole to its answer head, ms (`Timeouts.call_deadline`).
    #[serde(default)]
    pub call_deadline_ms: Option<u64>,
    /// Each exchange/refresh request, ms (`Timeouts.auth`).
    #[serde(default)]
    pub auth_timeout_ms: Option<u64>,
    /// Regions whose URL the client is given as `https://` while the emulator speaks plain
    /// HTTP there: the TLS handshake fails (a `tls` transport failure).
    #[serde(default)]
    pub tls_regions: Vec<String>,
}

impl Default for ClientSetup {
    fn default() -> Self {
        ClientSetup {
            mode: default_mode(),
            key: default_key(),
            routing: default_routing(),
            scope: None,
            failover_pinned: false,
            max_attempts: None,
            request_timeout_ms: None,
            connect_timeout_ms: None,
            call_deadline_ms: None,
            auth_timeout_ms: None,
            tls_regions: Vec::new(),
        }
    }
}

fn default_mode() -> String {
    "session".into()
}
fn default_key() -> String {
    "read_write".into()
}
fn default_routing() -> String {
    "auto".into()
}

/// One step.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Make `count` identical calls concurrently (default 1) and check each outcome.
    Call {
        /// `GET` or `POST`.
        method: String,
        /// Path like `/v1/models`.
        path: String,
        /// JSON body (its `model` is used as the routing hint).
        #[serde(default)]
        body: Option<Value>,
        /// Concurrent copies.
        #[serde(default)]
        count: Option<usize>,
        /// Expected outcome of each.
        expect: Box<Expect>,
        /// What a platform that cannot observe something this scenario relies on does
        /// instead, declared here for reviewers (see [`Unobserved`]).
        #[serde(default)]
        unobserved: Option<Box<Unobserved>>,
    },
    /// Move both clocks (client and emulator) forward.
    AdvanceMs(i64),
    /// Move only the client's clock (skew, device clock corrections).
    ClientClockMs(i64),
    /// Move only the emulator's clock.
    ServerClockMs(i64),
    /// `POST /admin/fault` with this body.
    Fault(Value),
    /// `POST /admin/revoke` with this body.
    Revoke(Value),
    /// `POST /admin/models` with this body: `{"region": "yto-01", "models": ["…"]}`.
    Models(Value),
    /// `POST /admin/log/clear`.
    ClearLog,
    /// Check the emulator's request log.
    ExpectLog(Vec<LogExpect>),
    /// Check the client's session status: `none`, `active`, `ended`, `direct`.
    ExpectSession(String),
    /// Check how many connections to a listener are open (`GET /admin/connections`),
    /// re-read until it holds or `within_ms` has gone by.
    ExpectConnections(ConnExpect),
    /// The app's backend exchanges the key itself and hands the answer over.
    HandOver,
    /// Persist the session snapshot, drop the client, start a new one and restore it.
    Restart,
    /// Log out.
    Logout,
}

/// Expected outcome of a call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ready` or `error`.
    pub outcome: String,
    /// Error kind (`ErrorKind::as_str`) when `error`.
    #[serde(default)]
    pub kind: Option<String>,
    /// HTTP status of the answer (ready) or the error.
    #[serde(default)]
    pub status: Option<u16>,
    /// The region that answered (ready).
    #[serde(default)]
    pub region: Option<String>,
    /// A region that must NOT have answered.
    #[serde(default)]
    pub region_not: Option<String>,
    /// For streams: the body ends with `data: [DONE]`.
    #[serde(default)]
    pub stream_done: bool,
    /// Error is retryable.
    #[serde(default)]
    pub retryable: Option<bool>,
    /// The error's `retry_after_ms` (from the server's `Retry-After`).
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    /// The transport failure behind a `network` error (`TransportErrorKind::as_str`).
    #[serde(default)]
    pub transport: Option<String>,
    /// A substring of the error's `cause`.
    #[serde(default)]
    pub cause_contains: Option<String>,
}

/// A call step's declared alternatives for platforms that cannot observe what the step
/// relies on. They apply only when the adapter's `configure` answer says so
/// (`"observes_connect": false`, `"observes_head": false`); every other adapter is held to
/// the step's `expect`. Each gives the reason, in words a reviewer can check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unobserved {
    /// For a platform that cannot observe connection establishment (a page's `fetch`).
    #[serde(default)]
    pub connect: Option<Alternative>,
    /// For a platform that cannot observe the raw answer head (a page sees only
    /// CORS-safelisted and exposed headers, after the browser's own parser).
    #[serde(default)]
    pub head: Option<Alternative>,
}

/// One declared alternative expectation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// Why the platform cannot meet `expect`, and why this outcome is what its user gets.
    pub why: String,
    /// The outcome expected there instead.
    pub expect: Expect,
}

/// How many connections to one listener may be open.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnExpect {
    /// `autorouter`, `auth`, `region:<id>` or `trap`.
    pub target: String,
    /// Exactly this many open.
    pub open: usize,
    /// How long a wrong count is re-read before the step fails (default 2000 ms).
    #[serde(default)]
    pub within_ms: Option<u64>,
}

/// A count over the emulator's request log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    /// `autorouter`, `auth` or `edge`.
    #[serde(default)]
    pub role: Option<String>,
    /// Exact path.
    #[serde(default)]
    pub path: Option<String>,
    /// Region (edges).
    #[serde(default)]
    pub region: Option<String>,
    /// `none`, `key`, `jwt`, `refresh_token`, `other`; `any_secret` = anything but none.
    #[serde(default)]
    pub credential: Option<String>,
    /// Answer status, or `refused`.
    #[serde(default)]
    pub status: Option<Value>,
    /// Exact query string.
    #[serde(default)]
    pub query: Option<String>,
    /// `true`: the request had no query string.
    #[serde(default)]
    pub no_query: bool,
    /// Exactly this many.
    #[serde(default)]
    pub count: Option<usize>,
    /// At least.
    #[serde(default)]
    pub min: Option<usize>,
    /// At most.
    #[serde(default)]
    pub max: Option<usize>,
    /// The counts a platform that cannot observe connects produces instead, with the
    /// reason (see [`Unobserved`]; only `connect` applies to a log count).
    #[serde(default)]
    pub unobserved: Option<Box<LogUnobserved>>,
}

/// A log count's declared alternative for a platform that cannot observe connects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogUnobserved {
    /// For a platform that cannot observe connection establishment (a page's `fetch`).
    pub connect: LogAlternative,
}

/// The counts expected instead, and why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogAlternative {
    /// Why the platform's requests differ, in words a reviewer can check.
    pub why: String,
    /// Exactly this many.
    #[serde(default)]
    pub count: Option<usize>,
    /// At least.
    #[serde(default)]
    pub min: Option<usize>,
    /// At most.
    #[serde(default)]
    pub max: Option<usize>,
}
