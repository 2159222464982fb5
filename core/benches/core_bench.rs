//! `make bench`: what the core costs a driver, in numbers printed (never asserted —
//! shared machines make timed assertions flaky). Each figure is the median of several
//! runs, as wall-clock time and as the thread's own CPU time (Linux
//! `/proc/thread-self/schedstat`: on a busy machine the CPU figure is the one to compare);
//! the allocation counts come from a counting global allocator.
#![allow(
    clippy::disallowed_methods,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// The bench measures the core from the outside, so it may read the clock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use base64::Engine as _;
use polargrid_core::{
    classify_response, CallSpec, Client, Config, Credential, Endpoints, Event, HttpResponse,
    Method, Purpose, SessionSnapshot, Stage, Timestamp,
};

/// Counts allocations, so the bench can print how many a call costs.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T0: u64 = 1_799_913_600_000;
/// Runs per figure; the median is printed.
const RUNS: usize = 5;

fn jwt(iat_s: u64, exp_s: u64) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims =
        format!(r#"{{"sub":"k","sid":"s","scope":"read-write","iat":{iat_s},"exp":{exp_s}}}"#);
    format!(
        "{}.{}.{}",
        e.encode(br#"{"alg":"HS256"}"#),
        e.encode(claims),
        e.encode("sig")
    )
}

fn session_answer(now_ms: u64, ttl_s: u64, rt: &str) -> HttpResponse {
    let body = format!(
        r#"{{"session_token":"{}","refresh_token":"{rt}","session_id":"s","expires_in":{ttl_s}}}"#,
        jwt(now_ms / 1000, now_ms / 1000 + ttl_s)
    );
    HttpResponse::new(200).with_body(body)
}

fn route_answer() -> HttpResponse {
    HttpResponse::new(200).with_body(
        r#"{"region":"yto-01","endpoint":"https://api.yto-01.edge.polargrid.ai","ttl":86400}"#,
    )
}

/// What a settle saw: calls ready, and the core-owned requests it answered.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
struct Seen {
    ready: usize,
    exchanges: usize,
    refreshes: usize,
    discoveries: usize,
}

/// Answers everything the client asks until it is quiet. `eager`: a driver that asks
/// `poll_timeout` and calls `handle_timeout` after every answer (as a loop that re-arms
/// its timer on each wake-up does).
fn settle(c: &mut Client, now: u64, eager: bool) -> Seen {
    let mut seen = Seen::default();
    loop {
        let mut progressed = false;
        while let Some(r) = c.poll_request(Timestamp(now)) {
            progressed = true;
            let resp = match r.purpose {
                Purpose::Exchange => {
                    seen.exchanges += 1;
                    session_answer(now, 86_400, "rt")
                }
                Purpose::Refresh => {
                    seen.refreshes += 1;
                    session_answer(now, 86_400, "rt")
                }
                Purpose::Discover => {
                    seen.discoveries += 1;
                    route_answer()
                }
                Purpose::Call(_) => HttpResponse::new(200),
            };
            c.handle_response(Timestamp(now), r.id, resp).unwrap();
            if eager {
                black_box(c.poll_timeout());
                c.handle_timeout(Timestamp(now));
            }
        }
        while let Some(e) = c.poll_event() {
            if matches!(e, Event::CallReady { .. }) {
                seen.ready += 1;
            }
        }
        if !progressed {
            return seen;
        }
    }
}

/// This thread's time on a CPU so far, in ns (Linux); `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Wall and CPU time of `f`, in ns (CPU falls back to wall where it cannot be read).
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let c = cpu_ns();
    let t = Instant::now();
    f();
    let wall = t.elapsed().as_nanos() as f64;
    let cpu = match (c, cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64,
        _ => wall,
    };
    (wall, cpu)
}

/// Prints one figure for `make bench`'s closing table (`scripts/bench-record.sh --run` records
/// the line and hides it; see that script): name, value, unit, baseline, budget, note.
fn figure(name: &str, value: f64, unit: &str, budget: &str) {
    let baseline = BASELINES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| "-".to_string(), |(_, b)| b.to_string());
    println!("bench-figure\t{name}\t{value:.2}\t{unit}\t{baseline}\t{budget}");
}

/// The figures before issue 17's work (main at 72704ee, this bench on the project's 2-core
/// build machine, CPU medians of 5, 2026-12-03): what the closing table compares with.
/// Another machine's figures differ; the ratios (budget ≤ 2×) hardly depend on it.
const BASELINES: [(&str, f64); 6] = [
    ("core: call, direct mode", 500.0),
    ("core: call, session JWT", 601.0),
    ("core: per call, 10,000 vs 100 on one refresh (lazy)", 1.21),
    ("core: per call, 10,000 vs 100 on one refresh (eager)", 1.14),
    ("core: classify_response (CDN 403)", 61.0),
    ("core: session snapshot round trip", 2148.0),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f` (which does `ops` operations) `RUNS` times; prints the median ns/op (wall and
/// CPU) and the allocations per op of the last run. Returns the CPU median.
fn report(name: &str, ops: u64, mut f: impl FnMut()) -> f64 {
    let mut runs = Vec::with_capacity(RUNS);
    let mut allocs = 0;
    for _ in 0..RUNS {
        let a = ALLOCS.load(Ordering::Relaxed);
        runs.push(timed(&mut f));
        allocs = ALLOCS.load(Ordering::Relaxed) - a;
    }
    print_line(name, ops, runs, allocs)
}

fn print_line(name: &str, ops: u64, runs: Vec<(f64, f64)>, allocs: u64) -> f64 {
    let per = |v: f64| v / ops as f64;
    let cpus: Vec<f64> = runs.iter().map(|r| per(r.1)).collect();
    let min = cpus.iter().copied().fold(f64::INFINITY, f64::min);
    let max = cpus.iter().copied().fold(0.0, f64::max);
    let wall = median(runs.iter().map(|r| per(r.0)).collect());
    let cpu = median(cpus);
    let a = allocs as f64 / ops as f64;
    println!(
        "{name:<58} {cpu:>8.0} ns/op cpu [{min:.0}–{max:.0}] {wall:>8.0} wall {a:>5.1} allocs/op ({ops} × {RUNS})"
    );
    cpu
}

/// A session client that has made one call at `T0` (session, route and JWT held).
fn warmed() -> Client {
    let mut c = Client::new(Config::new("pg_bench_key_123456"), 1).unwrap();
    c.start_call(Timestamp(T0), CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    let s = settle(&mut c, T0, false);
    assert_eq!((s.ready, s.exchanges, s.refreshes), (1, 1, 0));
    c
}

/// `n` calls started together when the JWT (and the route's ttl) ran out: one refresh and
/// one discovery serve them all. Prints and returns ns per call (median of `RUNS`); the
/// warmed clients are built outside the timed part.
fn burst(n: u64, eager: bool) -> f64 {
    // Enough rounds that each run starts ~20,000 calls (at least one round).
    let rounds = (20_000 / n).max(1);
    let name = format!(
        "{n:>6} calls waiting on one refresh{} (per call)",
        if eager { ", eager driver" } else { "" }
    );
    let mut runs = Vec::with_capacity(RUNS);
    let mut allocs = 0;
    for _ in 0..RUNS {
        let mut clients: Vec<Client> = (0..rounds).map(|_| warmed()).collect();
        let a = ALLOCS.load(Ordering::Relaxed);
        let (wall, cpu) = timed(|| {
            for c in &mut clients {
                let at = T0 + 86_400_000;
                for _ in 0..n {
                    c.start_call(Timestamp(at), CallSpec::new(Method::Get, "/v1/models"))
                        .unwrap();
                }
                let s = settle(c, at, eager);
                // What the figure claims: all ready, on exactly one refresh (no exchange),
                // and one discovery for the expired route.
                assert_eq!(
                    s,
                    Seen {
                        ready: n as usize,
                        exchanges: 0,
                        refreshes: 1,
                        discoveries: 1
                    },
                    "n = {n}, eager = {eager}"
                );
                assert_eq!(c.open_calls(), 0);
            }
        });
        runs.push((wall, cpu));
        allocs = ALLOCS.load(Ordering::Relaxed) - a;
    }
    print_line(&name, rounds * n, runs, allocs)
}

fn main() {
    println!(
        "polargrid-core bench (release, one thread; median of {RUNS} runs: CPU [min–max], wall)"
    );

    let n = 100_000u64;
    let mut c = Client::new(Config::direct("pg_bench_key_123456"), 1).unwrap();
    c.start_call(Timestamp(T0), CallSpec::new(Method::Get, "/v1/models"))
        .unwrap();
    settle(&mut c, T0, false);
    let mut t = T0;
    let direct = report(
        "call through the core (direct mode, route cached)",
        n,
        || {
            for _ in 0..n {
                t += 1;
                c.start_call(Timestamp(t), CallSpec::new(Method::Get, "/v1/models"))
                    .unwrap();
                assert_eq!(settle(&mut c, t, false).ready, 1);
            }
        },
    );

    let mut c = Client::new(
        Config::new("pg_bench_key_123456").with_endpoints(Endpoints::default()),
        1,
    )
    .unwrap();
    c.start_call(
        Timestamp(T0),
        CallSpec::new(Method::Post, "/v1/chat/completions"),
    )
    .unwrap();
    settle(&mut c, T0, false);
    let mut t = T0;
    let session = report(
        "call through the core (session JWT, route cached)",
        n,
        || {
            for _ in 0..n {
                t += 1;
                c.start_call(
                    Timestamp(t),
                    CallSpec::new(Method::Post, "/v1/chat/completions"),
                )
                .unwrap();
                let s = settle(&mut c, t, false);
                assert_eq!((s.ready, s.refreshes, s.exchanges), (1, 0, 0));
            }
        },
    );

    figure("core: call, direct mode", direct, "ns", "-");
    figure("core: call, session JWT", session, "ns", "-");
    for eager in [false, true] {
        let base = burst(100, eager);
        burst(1_000, eager);
        let big = burst(10_000, eager);
        println!(
            "{:<58} {:>8.2}× cpu (target ≤ 2×)",
            "  10,000 vs 100, per call",
            big / base
        );
        let driver = if eager { "eager" } else { "lazy" };
        figure(
            &format!("core: per call, 10,000 vs 100 on one refresh ({driver})"),
            big / base,
            "×",
            "<=2",
        );
    }

    let cdn = HttpResponse::new(403)
        .with_header("x-amz-cf-id", "abc")
        .with_header("via", "1.1 x.cloudfront.net (CloudFront)")
        .with_body(r#"{"Message": null}"#);
    let n = 200_000u64;
    let classify = report("classify_response (CDN 403)", n, || {
        for _ in 0..n {
            black_box(classify_response(
                Stage::Call,
                Credential::Jwt,
                black_box(&cdn),
                Timestamp(T0),
                &[],
            ));
        }
    });

    let snap: SessionSnapshot = warmed().session_snapshot().unwrap();
    let snapshot = report("session snapshot to_json + from_json", n, || {
        for _ in 0..n {
            black_box(SessionSnapshot::from_json(&black_box(&snap).to_json()).unwrap());
        }
    });
    figure("core: classify_response (CDN 403)", classify, "ns", "-");
    figure("core: session snapshot round trip", snapshot, "ns", "-");
}
