//! The route machine: which edge a call goes to.
//!
//! ```text
//!                 resolve (auto)                 200 {region, endpoint, ttl}, allowed
//!  Unresolved ───────────────────▶ Discovering ─────────────────────────────▶ Resolved{until = now+ttl}
//!      ▲                               │ 404 / non-200 / junk / hostile endpoint / network
//!      │                               ▼
//!      │                        Resolved{default region, until = now+discovery_retry} (fallback)
//!      └──── ttl over, or its region marked down (failures in a row ≥ threshold) ────┘
//! ```
//! A pinned region or base URL never discovers. A region marked down is avoided for a
//! cooldown: the next resolution asks the autorouter again, and if it names a downed
//! region too, takes the known-region table, same country first. Every transition is in
//! [`Router::step`].
//!
//! ## Failover within one call
//! Transport failures come in three kinds ([`Certainty`](crate::Certainty); the table of
//! which platform failure is which is in the `http` module docs), and the rule differs:
//! - **Certain** (refused, DNS, TLS, connect timeout: nothing reached the server). The
//!   call never sends to that region again: its next attempt goes to a region it has not
//!   failed on ([`Router::target_for`]), same country first, so within its attempt limit
//!   a call walks as many known regions as it has attempts — in a broad outage it finds
//!   the one that is up. When every known region has failed for it, it fails with the
//!   last error rather than try one again. Any call may be sent again after one, even a
//!   POST that is not safe to repeat: the server never saw it.
//! - **Ambiguous** (timeout, reset after sending, a malformed answer, 5xx: the server may
//!   be alive, slow or overloaded, and may have acted). Only a call that is safe to
//!   repeat is sent again, and it may retry the same region after its backoff: moving on
//!   at the first timeout would shift load (and cold model caches) onto the next region
//!   for a blip.
//! - **Opaque** (the platform will not say: a browser's `fetch` rejects with the same
//!   `TypeError` for offline, refused, DNS, CORS and CSP). A call that is safe to repeat
//!   treats it as certain — another region is worth a try, and a repeat can do no harm —
//!   and the region counts it toward being marked down, so a browser survives a regional
//!   outage as every other runtime does. A call that is not safe to repeat fails at once,
//!   with a cause that says the platform did not tell why (never "the connection broke
//!   after the request was sent", which nobody knows).
//!
//! Safe to repeat: idempotent methods, and PolarGrid's inference endpoints and
//! `/v1/tokens` ([`CallSpec::idempotent`](crate::CallSpec) overrides it). A second
//! generation or a second room token is the worst a repeat costs: neither changes server
//! state another request depends on.
//!
//! For everyone else, both kinds count the same toward marking a region down
//! (`failures_before_down` in a row): one refused connection seen by one call may be a
//! restart or a local flap, and the call that saw it already moved on. A fixed base URL
//! and a pinned region without failover have nowhere else to go: there a call retries
//! the same place whatever the failure.
//!
//! ### Unobserved connects
//! A page's `fetch` has no connect timeout and cannot tell "not connected yet" from
//! "connected, the answer is slow": a region whose listener never completes a connection
//! shows there only as the core's own attempt deadline (`timeout`, ambiguous), so a GET
//! retried in place until its call deadline and never reached the region that was up. A
//! driver whose transport cannot observe connects says so
//! (`Config::transport_observes_connect = false`, set only by the npm browser entry; every
//! other driver reports connect timeouts itself and keeps the default), and the core
//! watches the connect timeout in its place:
//! - **A call with a method idempotent by HTTP (GET, HEAD, PUT, DELETE), safe to repeat,
//!   with no answer head by the connect timeout** has failed *opaquely* on that attempt
//!   (it may be unconnected, it may be slow; nobody can say): the core aborts it
//!   ([`Event::Abort`](crate::Event::Abort)), the call moves to a region it has not
//!   failed on, as after any opaque failure, and the region counts it toward being marked
//!   down. Two silent regions then cost a page two connect timeouts, not two attempt
//!   deadlines (which is all its call deadline has).
//! - **Its last chance is never cut**: when the call cannot go anywhere else (a pinned
//!   region, a fixed base URL, every known region already failed for it), has no attempt
//!   or retry token left, or has no time before its deadline for a backoff and a connect,
//!   the attempt runs on to its own deadline, so a slow-but-working answer in the only
//!   place left still arrives.
//! - **A POST or PATCH** is not watched, even one safe to repeat (the inference
//!   endpoints, `/v1/tokens`): a non-streaming generation's head comes only after the
//!   whole generation, often past 10 s, and cutting it would pay for up to one generation
//!   per attempt and add a connect timeout each time, to move a call that was working. A
//!   region that refuses or fails to resolve still fails over (a page's `TypeError` is
//!   opaque, certain for such a call).
//! - **A call not safe to repeat** is not watched: its attempt deadline is a `timeout`,
//!   as everywhere. Nor are **the core's own requests**: discovery has its own short
//!   timeout and a fallback, and an exchange or a refresh goes to the one auth host, so
//!   there is nowhere else to go; and a refresh rotates its token: cut while the auth
//!   service may already have rotated it, and sent again, it would be a reuse that ends
//!   the session.
//!
//! The cost, accepted: in a page, a GET whose answer head takes longer than the connect
//! timeout is moved on while it has somewhere to go, and its region counts it; a POST to
//! a silent region (one whose listener never completes a connection) waits for its
//! attempt deadline there, and only the next call avoids it once it is marked down.
//! Hedging (keeping the first request alive while a second goes to the next region, the
//! first head winning) would keep a slow answer, at the price of running slow calls
//! twice and of a call holding several requests at once in every driver; it is not done.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::borrow::Cow;
use core::time::Duration;

use crate::idmap::{IdMap, VecMap};
use crate::json::{Any, Reader};

use crate::config::{resolve_region, Checked, DiscoveryScope, RouteMode};
use crate::ctx::Ctx;
use crate::event::RegionReason;
use crate::http::{HttpResponse, Method, Purpose, RequestId, MAX_CORE_BODY};
use crate::time::Timestamp;
use crate::url::BaseUrl;

/// `ttl` when the answer has none or a bad one (`PROTOCOL.md`: 24 h).
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A positive `ttl` shorter than this is raised to it: a route that expires the instant it
/// arrives would never carry a call and would be discovered again and again.
const MIN_TTL: Duration = Duration::from_secs(1);

/// What discovery is cached by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    pub(crate) scope: DiscoveryScope,
    pub(crate) model: Option<String>,
}

/// Where to send a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// Region id (for a fixed base URL, its host).
    pub(crate) region: Cow<'a, str>,
    pub(crate) url: Cow<'a, BaseUrl>,
    pub(crate) reason: RegionReason,
}

impl Target<'_> {
    /// A target of its own (to keep).
    fn into_owned(self) -> Target<'static> {
        Target {
            region: Cow::Owned(self.region.into_owned()),
            url: Cow::Owned(self.url.into_owned()),
            reason: self.reason,
        }
    }

    /// This target, borrowed (what a call is sent to is read, not copied: the call keeps
    /// its own copy of the region only).
    fn borrowed(&self) -> Target<'_> {
        Target {
            region: Cow::Borrowed(&self.region),
            url: Cow::Borrowed(&self.url),
            reason: self.reason,
        }
    }
}

#[derive(Clone, Debug)]
enum Entry {
    Discovering,
    Resolved {
        target: Target<'static>,
        until: Timestamp,
    },
}

#[derive(Clone, Debug, Default)]
struct Health {
    failures: u32,
    down_until: Option<Timestamp>,
}

/// What the route machine is told.
pub(crate) enum Input<'a> {
    /// A call needs a target for this key.
    Resolve(&'a RouteKey),
    /// The autorouter answered.
    Answer(RequestId, &'a HttpResponse),
    /// Discovery failed below HTTP (or timed out).
    Failed(RequestId),
    /// An edge failed in a way that suggests it is down (connect, timeout, 502/503/504).
    EdgeFailed(&'a str),
    /// An edge answered.
    EdgeOk(&'a str),
}

/// The route machine.
#[derive(Debug, Default)]
pub(crate) struct Router {
    entries: VecMap<RouteKey, Entry>,
    health: VecMap<String, Health>,
    discovering: IdMap<RequestId, RouteKey>,
    current: Option<String>,
}

impl Router {
    /// The target for a key, if known now (call `step(Resolve)` first to start discovery).
    pub(crate) fn target<'a>(
        &'a self,
        now: Timestamp,
        key: &RouteKey,
        cfg: &'a Checked,
    ) -> Option<Target<'a>> {
        match &cfg.route {
            RouteMode::Fixed { url } => Some(Target {
                region: Cow::Borrowed(&url.host),
                url: Cow::Borrowed(url),
                reason: RegionReason::Configured,
            }),
            RouteMode::Pinned {
                region,
                url,
                failover,
            } => {
                if *failover && self.is_down(now, region) {
                    Some(self.alternative(now, region, cfg))
                } else {
                    Some(Target {
                        region: Cow::Borrowed(region),
                        url: Cow::Borrowed(url),
                        reason: RegionReason::Configured,
                    })
                }
            }
            RouteMode::Auto => match self.entries.get(key) {
                Some(Entry::Resolved { target, until }) if *until > now => {
                    if !self.is_down(now, &target.region) {
                        Some(target.borrowed())
                    } else if self.all_down(now, cfg) {
                        // Asking the autorouter again cannot do better, and refusing here
                        // made every answer start the next discovery at once (a storm
                        // while calls waited): take the region that comes back first.
                        Some(self.alternative(now, &target.region, cfg))
                    } else {
                        None
                    }
                }
                _ => None,
            },
        }
    }

    /// The target for a call that already failed for certain on the regions in `avoid`
    /// (see the module docs): an alternative when the usual target is one of them. The
    /// answer is one of `avoid` only when every known region is.
    pub(crate) fn target_for<'a>(
        &'a self,
        now: Timestamp,
        key: &RouteKey,
        cfg: &'a Checked,
        avoid: &[String],
    ) -> Option<Target<'a>> {
        let t = self.target(now, key, cfg)?;
        if !avoid.iter().any(|a| *a == *t.region) {
            return Some(t);
        }
        Some(self.alternative_avoiding(now, &t.region, cfg, avoid))
    }

    /// Whether a call on `failed`, which already failed for certain on the regions in
    /// `avoid`, has a known region left that [`Router::target_for`] could pick instead.
    pub(crate) fn has_alternative(cfg: &Checked, failed: &str, avoid: &[String]) -> bool {
        Self::can_fail_over(cfg)
            && cfg
                .regions
                .iter()
                .any(|(r, _)| allowed(&r.id, failed, avoid))
    }

    /// Whether a call can go anywhere but its configured place.
    pub(crate) fn can_fail_over(cfg: &Checked) -> bool {
        match &cfg.route {
            RouteMode::Auto => true,
            RouteMode::Pinned { failover, .. } => *failover,
            RouteMode::Fixed { .. } => false,
        }
    }

    /// The driver's clock stepped back by `back_ms`: move local deadlines with it.
    pub(crate) fn rebase(&mut self, back_ms: i64) {
        for e in self.entries.values_mut() {
            if let Entry::Resolved { until, .. } = e {
                *until = until.offset(-back_ms);
            }
        }
        for h in self.health.values_mut() {
            h.down_until = h.down_until.map(|d| d.offset(-back_ms));
        }
    }

    /// Remembers the region a call was sent to; `true` when it differs from the last one.
    pub(crate) fn note_used(&mut self, region: &str) -> bool {
        if self.current.as_deref() == Some(region) {
            return false;
        }
        self.current = Some(region.to_string());
        true
    }

    /// The region the last call went to.
    pub(crate) fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The one place the state changes.
    pub(crate) fn step(&mut self, now: Timestamp, input: Input<'_>, ctx: &mut Ctx<'_>) {
        match input {
            Input::Resolve(key) => {
                if ctx.cfg.route != RouteMode::Auto || self.target(now, key, ctx.cfg).is_some() {
                    return;
                }
                if matches!(self.entries.get(key), Some(Entry::Discovering)) {
                    return;
                }
                let id = discover(key, ctx);
                self.discovering.insert(id, key.clone());
                self.entries.insert(key.clone(), Entry::Discovering);
            }
            Input::Answer(id, resp) => {
                let Some(key) = self.discovering.remove(&id) else {
                    return;
                };
                let entry = match read_route(resp, ctx.cfg) {
                    Some((target, ttl)) if !self.is_down(now, &target.region) => Entry::Resolved {
                        target,
                        until: now.plus(ttl),
                    },
                    Some((target, _)) => Entry::Resolved {
                        target: self.alternative(now, &target.region, ctx.cfg).into_owned(),
                        until: now.plus(ctx.cfg.cfg.discovery_retry),
                    },
                    None => self.fallback(now, ctx.cfg),
                };
                self.entries.insert(key, entry);
            }
            Input::Failed(id) => {
                if let Some(key) = self.discovering.remove(&id) {
                    let entry = self.fallback(now, ctx.cfg);
                    self.entries.insert(key, entry);
                }
            }
            Input::EdgeFailed(region) => {
                let threshold = ctx.cfg.cfg.failures_before_down;
                let cooldown = ctx.cfg.cfg.region_cooldown;
                if let Some(h) = self.health.get_or_default(region.to_string()) {
                    h.failures += 1;
                    if h.failures >= threshold {
                        h.down_until = Some(now.plus(cooldown));
                        h.failures = 0;
                    }
                }
            }
            Input::EdgeOk(region) => {
                if let Some(h) = self.health.get_mut(region) {
                    h.failures = 0;
                }
            }
        }
    }

    /// Whether every known region is marked down.
    fn all_down(&self, now: Timestamp, cfg: &Checked) -> bool {
        cfg.regions.iter().all(|(r, _)| self.is_down(now, &r.id))
    }

    fn is_down(&self, now: Timestamp, region: &str) -> bool {
        self.health
            .get(region)
            .and_then(|h| h.down_until)
            .is_some_and(|until| until > now)
    }

    /// The default region, or an alternative when it is down.
    fn fallback(&self, now: Timestamp, cfg: &Checked) -> Entry {
        let until = now.plus(cfg.cfg.discovery_retry);
        let Some((info, url)) = cfg.regions.first() else {
            // Unreachable: checked configs have at least one region.
            return Entry::Resolved {
                target: Target {
                    region: Cow::Owned(String::new()),
                    url: Cow::Owned(cfg.autorouter.clone()),
                    reason: RegionReason::Fallback,
                },
                until: now,
            };
        };
        let target = if self.is_down(now, &info.id) {
            self.alternative(now, &info.id, cfg).into_owned()
        } else {
            Target {
                region: Cow::Owned(info.id.clone()),
                url: Cow::Owned(url.clone()),
                reason: RegionReason::Fallback,
            }
        };
        Entry::Resolved { target, until }
    }

    /// Another region for one that is down: same country first, in table order; when
    /// every region is down, the one that comes back first.
    fn alternative<'a>(&self, now: Timestamp, failed: &str, cfg: &'a Checked) -> Target<'a> {
        self.alternative_avoiding(now, failed, cfg, &[])
    }

    /// [`Router::alternative`] that never picks a region in `avoid` while another is left.
    fn alternative_avoiding<'a>(
        &self,
        now: Timestamp,
        failed: &str,
        cfg: &'a Checked,
        avoid: &[String],
    ) -> Target<'a> {
        let country = cfg
            .regions
            .iter()
            .find(|(r, _)| r.id == failed)
            .map(|(r, _)| r.country.as_str());
        let up = |id: &str| allowed(id, failed, avoid) && !self.is_down(now, id);
        let pick = cfg
            .regions
            .iter()
            .find(|(r, _)| up(&r.id) && Some(r.country.as_str()) == country)
            .or_else(|| cfg.regions.iter().find(|(r, _)| up(&r.id)))
            .or_else(|| {
                let left = cfg
                    .regions
                    .iter()
                    .filter(|(r, _)| allowed(&r.id, failed, avoid));
                left.min_by_key(|(r, _)| {
                    self.health
                        .get(&r.id)
                        .and_then(|h| h.down_until)
                        .unwrap_or(now)
                })
            });
        match pick {
            Some((r, u)) => Target {
                region: Cow::Borrowed(&r.id),
                url: Cow::Borrowed(u),
                reason: RegionReason::Failover,
            },
            None => Target {
                region: Cow::Owned(failed.to_string()),
                url: Cow::Owned(
                    cfg.region_url(failed)
                        .unwrap_or_else(|| cfg.autorouter.clone()),
                ),
                reason: RegionReason::Failover,
            },
        }
    }
}

/// Whether a call that failed on `failed`, and for certain on `avoid`, may go to region `id`.
fn allowed(id: &str, failed: &str, avoid: &[String]) -> bool {
    id != failed && !avoid.iter().any(|a| a == id)
}

/// The discovery request: `GET {autorouter}/v1/route`, no query for the default (country
/// scope, no model), else `model` then `scope`. No credentials.
fn discover(key: &RouteKey, ctx: &mut Ctx<'_>) -> RequestId {
    let mut query = Vec::new();
    if let Some(m) = &key.model {
        query.push(["model=", &percent_encode(m)].concat());
    }
    if key.scope == DiscoveryScope::Global {
        query.push("scope=global".to_string());
    }
    let mut url = ctx.cfg.autorouter.join("/v1/route");
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    let headers = vec![
        ("Accept".into(), "application/json".into()),
        ctx.cfg.user_agent_header(),
    ];
    let timeout = ctx.cfg.cfg.timeouts.discovery;
    ctx.send(Purpose::Discover, Method::Get, url, headers, None, timeout)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            crate::json::push_hex(&mut out, u64::from(b), 2);
        }
    }
    out
}

#[derive(Default)]
struct RouteAnswer {
    region: Option<String>,
    endpoint: Option<String>,
    ttl: Option<Any>,
}

impl RouteAnswer {
    fn read(body: &[u8]) -> Option<RouteAnswer> {
        let mut a = RouteAnswer::default();
        Reader::document(body, false, |r| {
            r.fields(&["region", "endpoint", "ttl"], &mut |i, r| {
                match i {
                    0 => a.region = r.opt(Reader::string)?,
                    1 => a.endpoint = r.opt(Reader::string)?,
                    _ => a.ttl = r.any()?,
                }
                Some(())
            })
        })?;
        Some(a)
    }
}

/// Reads a 200 discovery answer; `None` for anything unusable, including an endpoint the
/// key must not be sent to.
fn read_route(resp: &HttpResponse, cfg: &Checked) -> Option<(Target<'static>, Duration)> {
    if resp.status != 200 || resp.body.len() > MAX_CORE_BODY {
        return None;
    }
    let a = RouteAnswer::read(&resp.body)?;
    let region = resolve_region(a.region.as_deref()?)?;
    let url = BaseUrl::parse(a.endpoint.as_deref()?).ok()?;
    if !cfg.edge_allowed(&url) {
        return None;
    }
    let ttl = a
        .ttl
        .as_ref()
        .and_then(Any::f64)
        .filter(|t| *t > 0.0 && t.is_finite())
        .map(|t| {
            Duration::from_millis(
                (t.clamp(MIN_TTL.as_secs_f64(), MAX_TTL.as_secs_f64()) * 1000.0) as u64,
            )
        })
        .unwrap_or(DEFAULT_TTL);
    Some((
        Target {
            region: Cow::Owned(region),
            url: Cow::Owned(url),
            reason: RegionReason::Discovered,
        },
        ttl,
    ))
}
