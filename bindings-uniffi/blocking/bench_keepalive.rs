//! The Rust budget of issue 17: the blocking client (the shared driver over ureq) against
//! bare ureq on a local keep-alive HTTP stub, calls per second, budget ≥ 0.9×.
//!
//! `cargo run --release -p polargrid-blocking --example bench_keepalive [-- CALLS ROUNDS THREADS]`
//! prints each round's figures and the medians. Rounds alternate bare ureq and the
//! client (A B A B) so a machine that drifts moves both. `-- driver N` or `-- ureq N`
//! makes N calls with one side only (for `farm-bench`, which times whole processes).
//!
//! The stub is in-process: one thread per connection, a `200` with a 2-byte JSON body and
//! `Content-Length`, connection kept alive. Both sides make the same `GET /v1/models`
//! and read the whole body; the client in direct mode with a fixed base URL (no key
//! exchange, no discovery: the per-call cost of the driver and its transport only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use polargrid_blocking::{PolarGrid, Request};
use polargrid_core::Config;

const BUDGET: f64 = 0.9;

/// Connections the stub accepted: keep-alive holds if both sides open a handful.
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

fn serve(conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    let mut line = String::new();
    loop {
        // The request head: lines up to the empty one (GET: no body).
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let ok =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        if conn.write_all(ok).is_err() {
            return;
        }
    }
}

/// The stub's base URL; it serves until the process ends.
fn stub() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            CONNECTIONS.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || serve(conn));
        }
    });
    url
}

fn client(url: &str) -> PolarGrid {
    PolarGrid::with_seed(
        Config::direct("pg_bench_key_0123456789").with_base_url(url),
        1,
    )
    .unwrap()
}

fn bare_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
}

/// This thread's time on a CPU so far (user and system), in ns (Linux); 0 elsewhere.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `calls` calls on each of `threads` threads: calls per second, and the calling threads'
/// CPU time per call in µs (on a busy machine the figure to compare: a thread waiting for
/// a core is not slower code).
fn run(threads: usize, calls: usize, one: &(dyn Fn() + Sync)) -> (f64, f64) {
    let start = Instant::now();
    let cpu: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let c = cpu_ns();
                    for _ in 0..calls {
                        one();
                    }
                    cpu_ns().saturating_sub(c)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let n = (threads * calls) as f64;
    (n / start.elapsed().as_secs_f64(), cpu as f64 / 1000.0 / n)
}

fn driver_call(pg: &PolarGrid) {
    let resp = pg.call(Request::get("/v1/models")).unwrap();
    assert_eq!(resp.text().unwrap(), "{}");
}

/// `dressed`: with the headers the core sends (key, user agent, request id) and the
/// per-request timeouts the transport sets, so the difference left is the driver's own.
fn ureq_call(agent: &ureq::Agent, url: &str, dressed: bool) {
    let req = agent.get(url);
    let resp = if dressed {
        req.header("Authorization", "Bearer pg_bench_key_0123456789")
            .header("User-Agent", "polargrid-core-rust/0.1.0")
            .header("X-Request-ID", "pgc-0123456789abcdef0123456789ab")
            .config()
            .timeout_recv_response(Some(std::time::Duration::from_secs(60)))
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .build()
            .call()
    } else {
        req.call()
    }
    .unwrap();
    let mut body = String::new();
    resp.into_body()
        .into_reader()
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, "{}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = stub();
    let models = format!("{url}/v1/models");
    let pg = client(&url);
    let agent = bare_agent();
    if let Some(side) = args.first().filter(|a| *a == "driver" || *a == "ureq") {
        let calls = args.get(1).map_or(5000, |n| n.parse().unwrap());
        let (rate, cpu) = if side == "driver" {
            run(1, calls, &|| driver_call(&pg))
        } else {
            run(1, calls, &|| ureq_call(&agent, &models, false))
        };
        println!(
            "{side}: {rate:.0} calls/s, {cpu:.2} µs CPU per call, {} connection(s)",
            CONNECTIONS.load(Ordering::Relaxed)
        );
        return;
    }
    let calls: usize = args.first().map_or(3000, |n| n.parse().unwrap());
    let rounds: usize = args.get(1).map_or(5, |n| n.parse().unwrap());
    let threads: usize = args.get(2).map_or(1, |n| n.parse().unwrap());
    // Warm both (connections, pools, code).
    run(threads, 200, &|| ureq_call(&agent, &models, false));
    run(threads, 200, &|| driver_call(&pg));
    let (mut bare, mut ours, mut ratios, mut dressed) = (vec![], vec![], vec![], vec![]);
    let (mut cpu_bare, mut cpu_ours, mut cpu_ratios) = (vec![], vec![], vec![]);
    for round in 1..=rounds {
        let (b, bc) = run(threads, calls, &|| ureq_call(&agent, &models, false));
        let (d, dc) = run(threads, calls, &|| driver_call(&pg));
        let (h, _) = run(threads, calls, &|| ureq_call(&agent, &models, true));
        println!(
            "round {round}: bare ureq {b:>8.0} calls/s   polargrid-blocking {d:>8.0} calls/s   {:.3}×   (ureq with the core's headers and timeouts {h:>8.0} calls/s: {:.3}×); CPU per call {bc:.2} vs {dc:.2} µs: {:.3}×",
            d / b,
            d / h,
            bc / dc
        );
        bare.push(b);
        ours.push(d);
        ratios.push(d / b);
        dressed.push(d / h);
        cpu_bare.push(bc);
        cpu_ours.push(dc);
        cpu_ratios.push(bc / dc);
    }
    println!(
        "polargrid-blocking vs ureq sending the same headers with the same timeouts: {:.3}× (the driver's own share)",
        median(dressed)
    );
    let ratio = median(ratios);
    println!(
        "calling thread's CPU per call (medians): bare ureq {:.2} µs, polargrid-blocking {:.2} µs: {:.3}× (bare / ours; the throughput ratio on an idle machine is near it)",
        median(cpu_bare),
        median(cpu_ours),
        median(cpu_ratios)
    );
    println!(
        "the stub accepted {} connection(s) in all",
        CONNECTIONS.load(Ordering::Relaxed)
    );
    println!(
        "keep-alive stub, {threads} thread(s) × {calls} calls, {rounds} rounds (medians): bare ureq {:.0} calls/s, polargrid-blocking {:.0} calls/s: {ratio:.3}× bare ureq (budget ≥ {BUDGET}×: {})",
        median(bare),
        median(ours),
        if ratio >= BUDGET { "met" } else { "NOT met" }
    );
    // For scripts/bench-record.sh --run (the table `make bench` ends with).
    println!(
        "bench-figure\trust driver: throughput vs bare ureq, keep-alive stub\t{ratio:.3}\t×\t-\t>={BUDGET}\tmedian of {rounds} rounds A B A B, {threads} thread(s) × {calls} calls"
    );
}
