//! Extra driving on top of `support::Harness` for routing and call scenarios: a server
//! loop that behaves like a real driver with held (slow) requests, and small lookups.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use polargrid_core::{Config, Event, HttpRequest, HttpResponse, Purpose, RegionReason, RequestId};

use crate::support::{endpoints, is_call, is_discover, route_answer, Harness, Reply, KEY};

/// A direct-mode client on the three test regions.
pub fn direct() -> Config {
    Config::direct(KEY).with_endpoints(endpoints())
}

/// Answers the outstanding discovery with `region` for `ttl_s`.
pub fn routed_to(h: &mut Harness, region: &str, ttl_s: u64) {
    let d = h.take(is_discover);
    h.respond(d.id, route_answer(region, &edge(region), ttl_s));
}

/// Answers the first outstanding call with 200 and returns it.
pub fn ok_call(h: &mut Harness) -> HttpRequest {
    let c = h.take(is_call);
    h.respond(c.id, HttpResponse::new(200));
    c
}

/// Like `Harness::run`, but as a real driver would: a held request stays outstanding
/// until the client aborts it (then it is dropped), and the clock only jumps to the next
/// wake-up when every outstanding request is held (or none is left while calls are open).
pub fn serve(
    h: &mut Harness,
    max_steps: usize,
    mut server: impl FnMut(&Harness, &HttpRequest) -> Reply,
) {
    let mut held = 0usize;
    for _ in 0..max_steps {
        h.pump();
        let aborted = aborted(h);
        h.outstanding.retain(|r| !aborted.contains(&r.id));
        if held < h.outstanding.len() {
            let r = h.outstanding.pop_front().unwrap();
            match server(h, &r) {
                Reply::Respond(resp) => {
                    held = 0;
                    h.respond(r.id, resp);
                }
                Reply::Fail(k) => {
                    held = 0;
                    h.fail(r.id, k);
                }
                Reply::Hold => {
                    held += 1;
                    h.outstanding.push_back(r);
                }
            }
            continue;
        }
        held = 0;
        if h.client.open_calls() == 0 || !h.next_wakeup() {
            return;
        }
    }
}

/// Requests the client asked the driver to abort.
pub fn aborted(h: &Harness) -> Vec<RequestId> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::Abort { request } => Some(*request),
            _ => None,
        })
        .collect()
}

/// The host of a URL (`https://host:port/path` → `host:port`).
pub fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or("")
}

/// App-call requests sent so far, in order.
pub fn calls_sent(h: &Harness) -> Vec<&HttpRequest> {
    h.sent
        .iter()
        .filter(|r| matches!(r.purpose, Purpose::Call(_)))
        .collect()
}

/// Discovery requests sent so far, in order.
pub fn discoveries(h: &Harness) -> Vec<&HttpRequest> {
    h.sent
        .iter()
        .filter(|r| r.purpose == Purpose::Discover)
        .collect()
}

/// `RegionChanged` events so far, as (region, reason).
pub fn region_changes(h: &Harness) -> Vec<(String, RegionReason)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            Event::RegionChanged { region, reason, .. } => Some((region.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// The edge host of a region on the real-looking template.
pub fn edge(region: &str) -> String {
    format!("https://api.{region}.edge.polargrid.ai")
}
