//! # polargrid-wasm
//!
//! The core for JavaScript. [`Core`] wraps a [`polargrid_core::Client`] for wasm-bindgen;
//! the hand-written driver in `npm/index.js` does all the IO (`fetch`, one `setTimeout`)
//! and decides nothing. This crate decides nothing either: it only converts.
//!
//! ## What crosses, and how (Node 20, measured: a call across ~20 ns, a string out ~120 ns)
//! - Long-lived strings stay here: the key, every URL, the JWT.
//! - Per app call: in, a method code, the path (or full URL) and the model hint when there
//!   is one, and the answer's head in one call (status, `Date`); out, one short string per
//!   request (`METHOD\nURL\nX-Request-ID`: the other headers cross only when they change).
//!   The numbers of a request and of an event (ids, connect timeout) are not returned: the
//!   driver reads them in place, in [`Core::info_ptr`]'s array. A call's region crosses
//!   only when it changed.
//! - Rare things (errors, session changes, region changes) cross as one string of fields
//!   separated by U+001F, in the order [`Core::event_fields`] documents.
//! - No serde in this crate and no JS objects built from Rust: the glue stays tiny.

mod alloc;
use polargrid_core::{
    resolve_region, CallError, CallSpec, Client, ConfigError, Endpoints, Event, HttpRequest,
    HttpResponse, Method, MisuseError, Offer, Purpose, RegionReason, RequestId, SessionChange,
    SessionSnapshot, SessionStatus, TabWaits, Timestamp, TransportErrorKind, Withheld,
};
use polargrid_core::{CallId, HeaderText, SessionInfo};
use wasm_bindgen::prelude::*;

/// Separates fields in the strings that cross for rare events.
const SEP: char = '\u{1f}';

/// The core behind one `PolarGrid` object of the npm package.
#[wasm_bindgen]
pub struct Core {
    client: Client,
    /// The request last returned by `next_request`, until its fields are read.
    req: Option<HttpRequest>,
    /// The event last returned by `poll_event`, until its fields are read.
    ev: Option<Event>,
    /// The region last handed to JS with a ready call.
    region: Option<String>,
    /// Full URLs starting with one of these (then `/`, `?` or nothing) are accepted by
    /// `pg.fetch` and reduced to their path: the base URL, every region, the autorouter.
    prefixes: Vec<String>,
    base_url: String,
    wants_model: bool,
    /// Why the last `start` returned 0.
    error: String,
    /// The headers (all but `X-Request-ID`) of the last request head handed out.
    last_headers: Vec<(HeaderText, HeaderText)>,
    /// The numbers of the last request and event handed out, read by the driver in place
    /// (a `Float64Array` over wasm memory at [`info_ptr`](Self::info_ptr)): no crossing
    /// each. [`INFO_REQUEST`]: id, call, connect timeout ms; [`INFO_EVENT`]: call, request.
    info: [f64; 6],
}

/// Where a request's numbers start in [`Core::info_ptr`]'s array.
const INFO_REQUEST: usize = 0;
/// Where an event's numbers start in [`Core::info_ptr`]'s array.
const INFO_EVENT: usize = 4;

/// The options of `PolarGrid.connect`, as the driver passes them: the core's own
/// [`polargrid_core::Options`], checked by its `build` (the one options → Config path, with
/// the core's rules and errors).
#[wasm_bindgen]
#[derive(Default)]
pub struct Options {
    inner: polargrid_core::Options,
}

#[wasm_bindgen]
impl Options {
    /// Empty options (every field at its default).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Options {
        Options::default()
    }
    /// Sets a string option by name; an unknown name is an error naming it.
    pub fn set(&mut self, name: &str, value: String) -> Result<(), JsValue> {
        let o = &mut self.inner;
        let slot = match name {
            "apiKey" => &mut o.api_key,
            "mode" => &mut o.mode,
            "region" => &mut o.region,
            "baseURL" => &mut o.base_url,
            "scope" => &mut o.scope,
            "endpoints" => &mut o.endpoints_json,
            "session" => &mut o.session_json,
            _ => return Err(config_error(&format!("unknown option {name}"), "")),
        };
        *slot = Some(value);
        Ok(())
    }
    /// Sets a number option by name: `maxAttempts`, `backoffBaseMs`, `backoffMaxMs`,
    /// `requestTimeoutMs`, `callDeadlineMs`, `connectTimeoutMs`, `authTimeoutMs`, and the flags
    /// `failoverPinned`, `keyVisibleToUsers`, `allowKeyInBrowser`, `transportObservesConnect`
    /// (0 only from the browser entry: a page's `fetch` cannot see connects) as 0/1. A value that is
    /// not a whole number from 0 to 2^53 is an error naming the option.
    pub fn set_number(&mut self, name: &str, value: f64) -> Result<(), JsValue> {
        if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9.0e15) {
            return Err(config_error(
                &format!("{name} is not a non-negative whole number"),
                &format!("pass a whole number for {name}"),
            ));
        }
        let v = value as u64;
        let o = &mut self.inner;
        match name {
            "maxAttempts" => o.max_attempts = Some(u32::try_from(v).unwrap_or(u32::MAX)),
            "backoffBaseMs" => o.backoff_base_ms = Some(v),
            "backoffMaxMs" => o.backoff_max_ms = Some(v),
            "requestTimeoutMs" => o.request_timeout_ms = Some(v),
            "callDeadlineMs" => o.call_deadline_ms = Some(v),
            "connectTimeoutMs" => o.connect_timeout_ms = Some(v),
            "authTimeoutMs" => o.auth_timeout_ms = Some(v),
            "failoverPinned" => o.failover_pinned = v != 0,
            "keyVisibleToUsers" => o.key_visible_to_users = v != 0,
            "allowKeyInBrowser" => o.allow_key_in_browser = v != 0,
            "transportObservesConnect" => o.transport_observes_connect = Some(v != 0),
            _ => return Err(config_error(&format!("unknown option {name}"), "")),
        }
        Ok(())
    }
}

/// A configuration error as it crosses: `invalid_config␟message␟fix`.
fn config_error(message: &str, fix: &str) -> JsValue {
    JsValue::from_str(&join(&["invalid_config", message, fix]))
}

/// The core's configuration error as it crosses: `kind␟cause␟fix`.
fn core_config_error(e: &ConfigError) -> JsValue {
    JsValue::from_str(&join(&[e.kind().as_str(), &e.cause(), e.fix()]))
}

/// A refused value (snapshot, grant) as it crosses: `invalid_call␟cause␟fix`.
fn misuse_error(e: &MisuseError) -> JsValue {
    JsValue::from_str(&join(&[e.kind().as_str(), e.cause(), e.fix()]))
}

fn join(fields: &[&str]) -> String {
    let mut s = String::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(SEP);
        }
        s.push_str(f);
    }
    s
}

fn ts(now: f64) -> Timestamp {
    // `as` saturates: NaN and negatives become 0, which the core takes as a clock jump.
    Timestamp::from_millis(now as u64)
}

fn trim_slash(s: &str) -> String {
    s.trim_end_matches('/').to_string()
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn region_url(e: &Endpoints, id: &str) -> String {
    match e
        .regions
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| r.url.as_deref())
    {
        Some(u) => trim_slash(u),
        None => trim_slash(&e.edge_template.replace("{region}", id)),
    }
}

#[wasm_bindgen]
impl Core {
    /// Checks the options and builds the core (no request is made). `seed` feeds jitter
    /// and request ids. A `session` option is restored at `now`.
    #[wasm_bindgen(constructor)]
    pub fn new(o: &Options, seed: f64, now: f64) -> Result<Core, JsValue> {
        let mut inner = o.inner.clone();
        if inner.user_agent.is_none() {
            inner.user_agent =
                Some(concat!("polargrid-core-js/", env!("CARGO_PKG_VERSION")).to_string());
        }
        let built = inner.build().map_err(|e| core_config_error(&e))?;
        let cfg = built.config;
        let endpoints = cfg.endpoints.clone();
        let routing = cfg.routing.clone();
        let mut client = Client::new(cfg, seed as u64).map_err(|e| core_config_error(&e))?;
        if let Some(snap) = &built.session {
            client
                .restore(ts(now), snap)
                .map_err(|e| misuse_error(&e))?;
        }
        let autorouter = trim_slash(&endpoints.autorouter);
        let mut prefixes: Vec<String> = endpoints
            .regions
            .iter()
            .map(|r| region_url(&endpoints, &r.id))
            .collect();
        let default_region = endpoints.regions.first().map(|r| r.id.as_str());
        let mut base = default_region.map(|id| region_url(&endpoints, id));
        let mut wants_model = true;
        match routing {
            polargrid_core::Routing::Region(r) => {
                if let Some(id) = resolve_region(&r) {
                    let u = region_url(&endpoints, &id);
                    prefixes.push(u.clone());
                    base = Some(u);
                }
                wants_model = false;
            }
            polargrid_core::Routing::BaseUrl(u) if !u.starts_with(&autorouter) => {
                let u = trim_slash(&u);
                prefixes.push(u.clone());
                base = Some(u);
                wants_model = false;
            }
            _ => {}
        }
        prefixes.push(autorouter);
        Ok(Core {
            client,
            req: None,
            ev: None,
            region: None,
            prefixes,
            base_url: format!("{}/v1", base.unwrap_or_default()),
            wants_model,
            error: String::new(),
            last_headers: Vec::new(),
            info: [0.0; 6],
        })
    }

    /// Whether `json` is a session snapshot this core wrote (not a grant): the browser
    /// entry's `session` option takes either, and only the core reads the format.
    pub fn is_snapshot(json: &str) -> bool {
        SessionSnapshot::from_json(json).is_ok()
    }

    /// The URL to give an OpenAI-style client as its base (`…/v1`); `pg.fetch` accepts
    /// full URLs under it (and under every region and the autorouter).
    #[wasm_bindgen(getter)]
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Whether the model hint is used (auto-routing): when not, the driver skips looking
    /// for it in the body.
    #[wasm_bindgen(getter)]
    pub fn wants_model(&self) -> bool {
        self.wants_model
    }

    /// Starts a call: `method` 0 GET, 1 POST, 2 PUT, 3 DELETE, 4 PATCH, 5 HEAD; `target` a
    /// path (`/v1/models`) or a full URL on a PolarGrid host; `deadline_ms` bounds the call
    /// as a whole (`CallSpec::deadline`; none: the configured call deadline). Returns the
    /// call id, or 0 with the reason in [`last_error`](Self::last_error).
    pub fn start(
        &mut self,
        now: f64,
        method: u8,
        target: &str,
        model: Option<String>,
        deadline_ms: Option<f64>,
    ) -> f64 {
        let method = match method {
            0 => Method::Get,
            1 => Method::Post,
            2 => Method::Put,
            3 => Method::Delete,
            4 => Method::Patch,
            5 => Method::Head,
            _ => return self.fail("the method is not GET, POST, PUT, DELETE, PATCH or HEAD"),
        };
        let path = if target.starts_with('/') {
            target
        } else {
            match self.path_of(target) {
                Some(p) => p,
                None => {
                    return self.fail(
                        "the URL is not on a PolarGrid host: pass a path like /v1/models or a URL under pg.baseURL",
                    )
                }
            }
        };
        let path = if path.is_empty() { "/" } else { path };
        let mut spec = CallSpec::new(method, path);
        spec.model = model;
        if let Some(ms) = deadline_ms {
            if !(ms.is_finite() && ms >= 1.0) {
                return self.fail("the deadline is not a number of milliseconds of at least 1");
            }
            spec.deadline = Some(core::time::Duration::from_millis(ms as u64));
        }
        match self.client.start_call(ts(now), spec) {
            Ok(CallId(id)) => id as f64,
            Err(e) => {
                self.error = e.to_string();
                0.0
            }
        }
    }

    fn fail(&mut self, why: &str) -> f64 {
        self.error = why.to_string();
        0.0
    }

    fn path_of<'a>(&self, url: &'a str) -> Option<&'a str> {
        self.prefixes.iter().find_map(|p| {
            let head = url.get(..p.len())?;
            let rest = url.get(p.len()..)?;
            let at_boundary = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
            (head.eq_ignore_ascii_case(p) && at_boundary).then_some(rest)
        })
    }

    /// Why the last [`start`](Self::start) returned 0.
    pub fn last_error(&self) -> String {
        self.error.clone()
    }

    /// Cancels a call (the app aborted it). `false` if it already ended.
    pub fn cancel(&mut self, now: f64, call: f64) -> bool {
        self.client.cancel_call(ts(now), CallId(call as u64))
    }

    /// Forgets the session.
    pub fn logout(&mut self, now: f64) {
        self.client.logout(ts(now));
    }

    /// Hands over a session minted by the app's backend (the auth service's JSON answer).
    pub fn hand_over(&mut self, now: f64, grant: &str) -> Result<(), JsValue> {
        self.client
            .hand_over(ts(now), grant)
            .map_err(|e| misuse_error(&e))
    }

    /// The session snapshot to persist (holds secrets), if a session is held.
    pub fn snapshot(&self) -> Option<String> {
        self.client.session_snapshot().map(|s| s.to_json())
    }

    /// `none`, `exchanging`, `active`, `refreshing`, `ended` or `direct`, as of the last
    /// input (the driver ticks the core at `now` first when a deadline is due).
    pub fn status(&self) -> String {
        match self.client.session_status() {
            SessionStatus::Direct => "direct",
            SessionStatus::None => "none",
            SessionStatus::Exchanging => "exchanging",
            SessionStatus::Active(_) => "active",
            SessionStatus::Refreshing(_) => "refreshing",
            _ => "ended",
        }
        .to_string()
    }

    /// The region the last call went to (the core's `current_region`), if any.
    pub fn current_region(&self) -> Option<String> {
        self.client.current_region().map(str::to_string)
    }

    /// Calls that have not ended.
    pub fn open_calls(&self) -> u32 {
        u32::try_from(self.client.open_calls()).unwrap_or(u32::MAX)
    }

    /// When the core next wants [`tick`](Self::tick) (Unix ms), or -1 for never.
    pub fn timeout(&self) -> f64 {
        self.client
            .poll_timeout()
            .map_or(-1.0, |t| t.as_millis() as f64)
    }

    /// Lets time pass.
    pub fn tick(&mut self, now: f64) {
        self.client.handle_timeout(ts(now));
    }

    // ----- clients sharing one session (npm/browser/tabs.js; the core decides) -----

    /// The bounds of the tab layer, ms, before a client exists: `storage`, `ask` or
    /// `ledgerKeep` ([`TabWaits`]); 0 for another name.
    pub fn tab_wait_ms(name: &str) -> f64 {
        waits_ms(&TabWaits::default(), name)
    }

    /// The longest wait for the tabs' lock, ms ([`TabWaits::lock`], this client's).
    pub fn lock_wait_ms(&self) -> f64 {
        waits_ms(&self.client.tab_waits(), "lock")
    }

    /// What pending request `id` spends (a refresh token), for the spent-token ledger; the
    /// JS hashes it and never reads it.
    pub fn spends(&self, id: f64) -> Option<String> {
        let s = self.client.spends(RequestId(id as u64))?;
        Some(s.expose().to_string())
    }

    /// Request `id` was not sent: `why` is `lock_timeout` or `spent`. True: send it after
    /// all; false: drop it (the core abandoned it and decides what instead).
    pub fn withhold(&mut self, now: f64, id: f64, why: &str) -> bool {
        let why = Withheld::parse(why).unwrap_or(Withheld::LockTimeout);
        let r = self.client.withhold(ts(now), RequestId(id as u64), why);
        r == Ok(polargrid_core::AfterWithheld::SendAnyway)
    }

    /// Another tab offers its session snapshot (as it crossed, unread by the JS): true when
    /// the core adopted it.
    pub fn offer(&mut self, now: f64, snapshot: &str) -> bool {
        let Ok(s) = SessionSnapshot::from_json(snapshot) else {
            return false;
        };
        self.client.offer_session(ts(now), &s) == Ok(Offer::Adopted)
    }

    // ----- requests out -----

    /// Where the numbers of the last request and event are (6 `f64`s, at a fixed address
    /// while this core lives): `[id, call, connect_ms, -, event call, event request]`.
    /// The driver reads them in place after [`next_request`](Self::next_request) and
    /// [`poll_event`](Self::poll_event) (a view it remakes when the memory grew).
    pub fn info_ptr(&self) -> u32 {
        self.info.as_ptr() as usize as u32
    }

    /// The next request to send, or `None`: its head as one string (one crossing per
    /// request), `METHOD\nURL\nX-Request-ID`, then — only when they differ from the previous
    /// request's — the other headers as `\nname\nvalue…` (the driver keeps the last ones:
    /// the JWT and the User-Agent cross once, not per call). Its numbers are in
    /// [`info_ptr`](Self::info_ptr): the request id; the app call it is an attempt of, or 0
    /// for the core's own requests (exchange, refresh, discovery), whose purpose comes from
    /// [`request_purpose`](Self::request_purpose) and body from
    /// [`request_body`](Self::request_body); its connect timeout in ms
    /// (`HttpRequest::connect_timeout`).
    pub fn next_request(&mut self, now: f64) -> Option<String> {
        self.req = self.client.poll_request(ts(now));
        let r = self.req.as_ref()?;
        let call = match r.purpose {
            Purpose::Call(CallId(c)) => c as f64,
            _ => 0.0,
        };
        self.info[INFO_REQUEST..INFO_REQUEST + 3].copy_from_slice(&[
            r.id.0 as f64,
            call,
            r.connect_timeout.as_millis() as f64,
        ]);
        let mut s = String::with_capacity(64 + r.url.len());
        s.push_str(r.method.as_str());
        s.push('\n');
        s.push_str(&r.url);
        s.push('\n');
        let is_rid = |k: &str| k.eq_ignore_ascii_case("x-request-id");
        if let Some((_, v)) = r.headers.iter().find(|(k, _)| is_rid(k)) {
            s.push_str(v);
        }
        let mut others = r.headers.iter().filter(|(k, _)| !is_rid(k));
        let same = others.clone().eq(self.last_headers.iter());
        if !same {
            self.last_headers = others.by_ref().cloned().collect();
            for (k, v) in &self.last_headers {
                s.push('\n');
                s.push_str(k);
                s.push('\n');
                s.push_str(v);
            }
        }
        Some(s)
    }

    /// Why the last request is sent (`exchange`, `refresh`, `discover`), read for the
    /// core's own requests only ([`Purpose::as_str`]; an app call's is `call`): the driver
    /// never guesses it from the URL.
    pub fn request_purpose(&self) -> String {
        self.req
            .as_ref()
            .map_or("", |r| r.purpose.as_str())
            .to_string()
    }

    /// The body of a core-owned request (JSON), if it has one.
    pub fn request_body(&mut self) -> Option<String> {
        let body = self.req.as_mut()?.body.take()?;
        String::from_utf8(body).ok()
    }

    // ----- answers in -----

    /// The answer to request `id`: the status, the two headers the core reads (`Date`,
    /// `Retry-After`) and the body — all of it for the core's own requests, the first
    /// 4096 bytes of a failed app call's, none for a successful app call's.
    pub fn response(
        &mut self,
        now: f64,
        id: f64,
        status: u16,
        date: Option<String>,
        retry_after: Option<String>,
        body: Option<String>,
    ) {
        let mut resp = HttpResponse::new(status);
        if let Some(d) = date {
            resp.headers.push(("date".to_string(), d));
        }
        if let Some(r) = retry_after {
            resp.headers.push(("retry-after".to_string(), r));
        }
        if let Some(b) = body {
            resp.body = b.into_bytes();
        }
        // An unknown id changes nothing in the core: nothing to report to the app.
        let _ = self
            .client
            .handle_response(ts(now), RequestId(id as u64), resp);
    }

    /// Request `id` failed below HTTP: `kind` is a [`TransportErrorKind`] name (`dns`,
    /// `connect`, `tls`, `connect_timeout`, `timeout`, `aborted`, `protocol`, `opaque`), as
    /// the driver's mapping function (the table in the core's docs) gives it. A name the
    /// core does not know is `opaque`: the cause was not said in words the core reads.
    pub fn transport_error(&mut self, now: f64, id: f64, kind: &str) {
        let kind = TransportErrorKind::parse(kind).unwrap_or(TransportErrorKind::Opaque);
        let _ = self
            .client
            .handle_transport_error(ts(now), RequestId(id as u64), kind);
    }

    // ----- events out -----

    /// The next event's kind, or 0 for none: 1 call ready (same region as the last one),
    /// 2 call ready in a new region ([`event_region`](Self::event_region)), 3 call failed,
    /// 4 call cancelled, 5 abort a request, 6 session changed, 7 session ended,
    /// 8 region changed. Its call id (ready, failed, cancelled; else 0) and request id
    /// (ready, abort; else 0) are in [`info_ptr`](Self::info_ptr) (no crossing each), the
    /// rest from [`event_fields`](Self::event_fields).
    pub fn poll_event(&mut self) -> u8 {
        self.ev = self.client.poll_event();
        let (call, request) = match &self.ev {
            Some(Event::CallReady { call, request, .. }) => (call.0, request.0),
            Some(Event::CallFailed { call, .. } | Event::CallCancelled { call }) => (call.0, 0),
            Some(Event::Abort { request }) => (0, request.0),
            _ => (0, 0),
        };
        self.info[INFO_EVENT..INFO_EVENT + 2].copy_from_slice(&[call as f64, request as f64]);
        match &self.ev {
            None => 0,
            Some(Event::CallReady { region, .. }) => {
                if *region == self.region {
                    1
                } else {
                    self.region.clone_from(region);
                    2
                }
            }
            Some(Event::CallFailed { .. }) => 3,
            Some(Event::CallCancelled { .. }) => 4,
            Some(Event::Abort { .. }) => 5,
            Some(Event::SessionChanged { .. }) => 6,
            Some(Event::SessionEnded { .. }) => 7,
            Some(Event::RegionChanged { .. }) => 8,
            // A kind this driver does not know yet: skip it.
            Some(_) => 9,
        }
    }

    /// The region of the last call-ready event that reported a new one.
    pub fn event_region(&self) -> Option<String> {
        self.region.clone()
    }

    /// The event's fields, joined by U+001F:
    /// - failed / session ended: the error's fields, see `error_fields`;
    /// - session changed: reason, session id, expires at, refresh expires at, refresh at
    ///   (Unix ms), scope words (space-separated), snapshot JSON (empty: forget it), `1`
    ///   when other tabs are to get it ([`SessionChange::is_new`]) else `0`;
    /// - region changed: region, endpoint, reason.
    pub fn event_fields(&self) -> String {
        match &self.ev {
            Some(Event::CallFailed { error, .. } | Event::SessionEnded { error }) => {
                error_fields(error)
            }
            Some(Event::SessionChanged {
                reason,
                info,
                snapshot,
            }) => session_fields(*reason, info.as_ref(), snapshot.as_ref()),
            Some(Event::RegionChanged {
                region,
                endpoint,
                reason,
            }) => join(&[region, endpoint, region_reason(*reason)]),
            _ => String::new(),
        }
    }
}

/// kind, status, retryable (0/1), retry after ms, request id, cause, fix, server message,
/// attempts, the whole human message (the core's `Display`: never a secret), and the
/// transport failure behind a `network` error (empty otherwise).
fn error_fields(e: &CallError) -> String {
    join(&[
        e.kind.as_str(),
        &opt_num(e.status),
        if e.retryable { "1" } else { "0" },
        &opt_num(
            e.retry_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        ),
        e.request_id.as_deref().unwrap_or(""),
        e.cause,
        e.fix,
        e.server_message.as_deref().unwrap_or(""),
        &e.attempts.to_string(),
        &e.to_string(),
        e.kind.transport().map_or("", TransportErrorKind::as_str),
    ])
}

fn session_fields(
    reason: SessionChange,
    info: Option<&SessionInfo>,
    snapshot: Option<&SessionSnapshot>,
) -> String {
    let name = match reason {
        SessionChange::Exchanged => "exchanged",
        SessionChange::Refreshed => "refreshed",
        SessionChange::HandedOver => "handedOver",
        SessionChange::Restored => "restored",
        _ => "cleared",
    };
    let snapshot = snapshot.map(SessionSnapshot::to_json).unwrap_or_default();
    let share = if reason.is_new() { "1" } else { "0" };
    match info {
        Some(i) => join(&[
            name,
            i.session_id.as_deref().unwrap_or(""),
            &i.expires_at.as_millis().to_string(),
            &opt_num(i.refresh_expires_at.map(Timestamp::as_millis)),
            &opt_num(i.refresh_at.map(Timestamp::as_millis)),
            &i.scope.as_ref().map(|s| s.join(" ")).unwrap_or_default(),
            &snapshot,
            share,
        ]),
        None => join(&[name, "", "", "", "", "", &snapshot, share]),
    }
}

fn waits_ms(w: &TabWaits, name: &str) -> f64 {
    let d = match name {
        "lock" => w.lock,
        "storage" => w.storage,
        "ask" => w.ask,
        "ledgerKeep" => w.ledger_keep,
        _ => return 0.0,
    };
    d.as_millis() as f64
}

fn region_reason(r: RegionReason) -> &'static str {
    match r {
        RegionReason::Discovered => "discovered",
        RegionReason::Fallback => "fallback",
        RegionReason::Failover => "failover",
        _ => "configured",
    }
}
