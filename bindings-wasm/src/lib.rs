//! # polargrid-wasm
//!
//! The core for JavaScript. [`Core`] wraps a [`polargrid_core::Client`] for wasm-bindgen;
//! the hand-written driver in `npm/index.js` does all the IO (`fetch`, one `setTimeout`)
//! and decides nothing. This crate decides nothing either: it only converts.
//!
//! ## What crosses, and how (Node 20, measured: a call across ~20 ns, a string out ~120 ns)
//! - Long-lived strings stay here: the key, every URL, the JWT.
//! - One crossing per input: an input's strings are written by the driver into this core's
//!   input buffer ([`Core::reserve`]) and given as lengths; what the input caused (every
//!   request to send, every event) is left in one block in wasm memory (`block.rs` says its
//!   layout), with the core's next deadline and open calls beside it, in
//!   [`Core::info_ptr`]'s array. The driver reads both in place.
//! - A request's URL and its headers but `X-Request-ID` cross only when they changed; a
//!   call's region only when it changed; rare things (errors, session changes, region
//!   changes) as one text of fields separated by U+001F.
//! - No serde in this crate and no JS objects built from Rust: the glue stays tiny.

mod alloc;
mod block;
use block::{join, Out};
use polargrid_core::CallId;
use polargrid_core::{
    resolve_region, CallSpec, Client, ConfigError, Endpoints, HttpResponse, Method, MisuseError,
    Offer, RequestId, SessionSnapshot, SessionStatus, TabWaits, Timestamp, TransportErrorKind,
    Withheld, MAX_CORE_BODY,
};
use wasm_bindgen::prelude::*;

/// The core behind one `PolarGrid` object of the npm package.
#[wasm_bindgen]
pub struct Core {
    client: Client,
    /// The block the last input left (see `block.rs`).
    out: Out,
    /// Where the driver writes an input's strings (see [`reserve`](Self::reserve)).
    input: Vec<u8>,
    /// Full URLs starting with one of these (then `/`, `?` or nothing) are accepted by
    /// `pg.fetch` and reduced to their path: the base URL, every region, the autorouter.
    prefixes: Vec<String>,
    base_url: String,
    wants_model: bool,
    /// Why the last `start` returned 0.
    error: String,
    /// Read by the driver in place (a `Float64Array` or `DataView` over wasm memory at
    /// [`info_ptr`](Self::info_ptr)): see [`INFO_OUT`] and the constants after it.
    info: [f64; 6],
}

/// In [`Core::info_ptr`]'s array: the block's address, then its length in bytes.
const INFO_OUT: usize = 0;
/// In [`Core::info_ptr`]'s array: the core's next deadline (Unix ms, -1 for none), then
/// the calls that have not ended, as of the last input.
const INFO_TIMEOUT: usize = 2;
/// In [`Core::info_ptr`]'s array: the input buffer's address, then its capacity.
const INFO_INPUT: usize = 4;
/// The input buffer's first capacity: a path, a model name and a `Date` fit.
const INPUT_START: usize = 1024;

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

fn ts(now: f64) -> Timestamp {
    // `as` saturates: NaN and negatives become 0, which the core takes as a clock jump.
    Timestamp::from_millis(now as u64)
}

fn trim_slash(s: &str) -> String {
    s.trim_end_matches('/').to_string()
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
        let mut core = Core {
            client,
            out: Out::default(),
            input: vec![0; INPUT_START],
            prefixes,
            base_url: format!("{}/v1", base.unwrap_or_default()),
            wants_model,
            error: String::new(),
            info: [0.0; 6],
        };
        core.reserve(0);
        core.flush(now); // a restored session announces itself
        Ok(core)
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

    /// The longest body (in bytes) the core reads a model hint from, 0 when the hint is
    /// not used (a region or a base URL, not auto-routing): the driver passes a call's body
    /// into [`start`](Self::start) only when its byte length can be at most this, and
    /// never looks into it itself ([`polargrid_core::model_hint`] is the one rule).
    #[wasm_bindgen(getter)]
    pub fn hint_limit(&self) -> u32 {
        if self.wants_model {
            MAX_CORE_BODY as u32
        } else {
            0
        }
    }

    /// Starts a call: `method` 0 GET, 1 POST, 2 PUT, 3 DELETE, 4 PATCH, 5 HEAD; the target
    /// (the first `target_len` bytes of the input buffer) a path (`/v1/models`) or a full URL
    /// on a PolarGrid host, the call's body as it is sent the `body_len` bytes after it (-1:
    /// none), from which the core reads the model hint ([`polargrid_core::model_hint`]);
    /// `deadline_ms` bounds the call as a whole (`CallSpec::deadline`; none: the configured
    /// call deadline). A deadline the clock passed (device sleep) is handled first. Returns
    /// the call id, or 0 with the reason in [`last_error`](Self::last_error); the block
    /// holds what the call caused (its first request, when it can go at once).
    pub fn start(
        &mut self,
        now: f64,
        method: u8,
        target_len: i32,
        body_len: i32,
        deadline_ms: Option<f64>,
    ) -> f64 {
        if self.client.poll_timeout().is_some_and(|t| t <= ts(now)) {
            self.client.handle_timeout(ts(now));
        }
        let input = core::mem::take(&mut self.input);
        let id = self.start_call(now, method, &input, target_len, body_len, deadline_ms);
        self.input = input;
        self.flush(now);
        id
    }

    fn start_call(
        &mut self,
        now: f64,
        method: u8,
        input: &[u8],
        target_len: i32,
        body_len: i32,
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
        let Some(target) = text_at(input, 0, target_len) else {
            return self.fail("the URL is not UTF-8");
        };
        let model = match bytes_at(input, target_len as usize, body_len) {
            Some(body) if self.wants_model => polargrid_core::model_hint(body),
            _ => None,
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
        let r = self.client.cancel_call(ts(now), CallId(call as u64));
        self.flush(now);
        r
    }

    /// Forgets the session.
    pub fn logout(&mut self, now: f64) {
        self.client.logout(ts(now));
        self.flush(now);
    }

    /// Hands over a session minted by the app's backend (the auth service's JSON answer).
    pub fn hand_over(&mut self, now: f64, grant: &str) -> Result<(), JsValue> {
        let r = self.client.hand_over(ts(now), grant);
        self.flush(now);
        r.map_err(|e| misuse_error(&e))
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

    /// Lets time pass.
    pub fn tick(&mut self, now: f64) {
        self.client.handle_timeout(ts(now));
        self.flush(now);
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
        self.flush(now);
        r == Ok(polargrid_core::AfterWithheld::SendAnyway)
    }

    /// Another tab offers its session snapshot (as it crossed, unread by the JS): true when
    /// the core adopted it.
    pub fn offer(&mut self, now: f64, snapshot: &str) -> bool {
        let Ok(s) = SessionSnapshot::from_json(snapshot) else {
            return false;
        };
        let r = self.client.offer_session(ts(now), &s);
        self.flush(now);
        r == Ok(Offer::Adopted)
    }

    // ----- the block out, the input buffer in -----

    /// Where this core's numbers are (6 `f64`s, at a fixed address while it lives): the
    /// block's address and length (`block.rs`), the core's next deadline (Unix ms, -1 for
    /// none) and its open calls as of the last input, the input buffer's address and
    /// capacity. The driver reads them in place (a view it remakes when the memory grew).
    pub fn info_ptr(&self) -> u32 {
        self.info.as_ptr() as usize as u32
    }

    /// Makes the input buffer hold at least `n` bytes (its address may change: read it again
    /// from [`info_ptr`](Self::info_ptr)'s array).
    pub fn reserve(&mut self, n: u32) {
        let n = n as usize;
        if n > self.input.len() {
            self.input.resize(n.next_power_of_two(), 0);
        }
        self.info[INFO_INPUT..INFO_INPUT + 2]
            .copy_from_slice(&[self.input.as_ptr() as usize as f64, self.input.len() as f64]);
    }

    /// Writes every request the last input caused and every event into the block, and the
    /// numbers beside it.
    fn flush(&mut self, now: f64) {
        self.out.buf.clear();
        while let Some(r) = self.client.poll_request(ts(now)) {
            self.out.request(r);
        }
        while let Some(e) = self.client.poll_event() {
            self.out.event(&e);
        }
        let timeout = self
            .client
            .poll_timeout()
            .map_or(-1.0, |t| t.as_millis() as f64);
        self.info[INFO_OUT..INFO_TIMEOUT + 2].copy_from_slice(&[
            self.out.buf.as_ptr() as usize as f64,
            self.out.buf.len() as f64,
            timeout,
            self.client.open_calls() as f64,
        ]);
    }

    // ----- answers in -----

    /// The answer to request `id`: the status and, from the input buffer one after the
    /// other, the two headers the core reads (`Date`, `Retry-After`; each length -1 when
    /// absent) and the body — of the core's own requests' and of a failed app call's, at most
    /// the limit its request record carries (`HttpRequest::body_limit`, see `block.rs`),
    /// none (-1) for a successful app call's, whose headers the core
    /// does not read either (`HttpRequest::reads_answer_headers`).
    pub fn response(
        &mut self,
        now: f64,
        id: f64,
        status: u16,
        date_len: i32,
        retry_after_len: i32,
        body_len: i32,
    ) {
        let mut resp = HttpResponse::new(status);
        let mut at = 0;
        for (name, n) in [("date", date_len), ("retry-after", retry_after_len)] {
            if let Some(v) = text_at(&self.input, at, n) {
                resp.headers.push((name.to_string(), v.to_string()));
                at += n as usize;
            }
        }
        if let Some(b) = bytes_at(&self.input, at, body_len) {
            resp.body = b.to_vec();
        }
        // An unknown id changes nothing in the core: nothing to report to the app.
        let _ = self
            .client
            .handle_response(ts(now), RequestId(id as u64), resp);
        self.flush(now);
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
        self.flush(now);
    }
}

/// The `n` bytes of `input` at `at`; `None` when `n` is negative (absent) or past its end.
fn bytes_at(input: &[u8], at: usize, n: i32) -> Option<&[u8]> {
    input.get(at..at.checked_add(usize::try_from(n).ok()?)?)
}

/// [`bytes_at`] as UTF-8 (the driver writes what `TextEncoder` writes).
fn text_at(input: &[u8], at: usize, n: i32) -> Option<&str> {
    core::str::from_utf8(bytes_at(input, at, n)?).ok()
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
