//! Nothing the driver starts outlives its call: a hostile server on 127.0.0.1 (a raw
//! `TcpListener` that trickles an error body or never answers) must not leave a thread or
//! a socket behind — after a call that timed out, and after the client was dropped with
//! requests still out. Counted from `/proc/self/task` and `/proc/self/fd` (Linux).
//!
//! The hostile server runs in a child process (this test binary again, running the
//! ignored `hostile_server_process` helper), so every thread and descriptor counted here
//! is the client's. One test function, so no other test runs beside it in this process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use polargrid_blocking::{Error, PolarGrid, Request};
use polargrid_core::{CallSpec, Config, Endpoints, Method};

const KEY: &str = "pg_test_key_0123456789";

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Threads and open descriptors of this process.
fn census() -> (usize, usize) {
    (count("/proc/self/task"), count("/proc/self/fd"))
}

/// The hostile server, in its own process; its address and the handle to stop it.
struct Hostile {
    child: Child,
    url: String,
}

impl Hostile {
    fn start(mode: &str) -> Hostile {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "hostile_server_process",
                "--ignored",
                "--nocapture",
            ])
            .env("PG_HOSTILE_MODE", mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let url = loop {
            let line = lines.next().expect("the server says its port").unwrap();
            if let Some(port) = line.strip_prefix("HOSTILE_PORT ") {
                break format!("http://127.0.0.1:{port}");
            }
        };
        Hostile { child, url }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Not a test: the server process the test starts (`PG_HOSTILE_MODE` = `trickle`: a 500
/// head at once, then one body byte every 20 ms of a 100,000-byte body; `stall`: reads
/// the request and never answers; `ok`: answers 200 `{}` with keep-alive, request after
/// request). Runs until its parent kills it.
#[test]
#[ignore = "helper process started by driver_leaves_no_thread_or_socket_behind"]
fn hostile_server_process() {
    let Ok(mode) = std::env::var("PG_HOSTILE_MODE") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("HOSTILE_PORT {}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        let mode = mode.clone();
        std::thread::spawn(move || serve(&mut conn, &mode));
    }
}

fn read_head(conn: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    true
}

fn serve(conn: &mut TcpStream, mode: &str) {
    if !read_head(conn) {
        return;
    }
    if mode == "ok" {
        loop {
            let ok =
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            if conn.write_all(ok).is_err() || !read_head(conn) {
                return;
            }
        }
    }
    let mut byte = [0u8; 1];
    if mode == "trickle" {
        let start = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";
        if conn.write_all(start).is_err() {
            return;
        }
        loop {
            std::thread::sleep(Duration::from_millis(20)); // the server's pace, not a sync
            if conn.write_all(b"x").is_err() {
                return;
            }
        }
    }
    // stall: hold the connection open, answer nothing, until the client goes away.
    while let Ok(n) = conn.read(&mut byte) {
        if n == 0 {
            return;
        }
    }
}

fn direct_client(url: &str) -> PolarGrid {
    let mut cfg = Config::direct(KEY).with_base_url(url);
    cfg.retry.max_attempts = 2;
    PolarGrid::with_seed(cfg, 7).unwrap()
}

fn get_with_timeout(ms: u64) -> Request {
    let mut r = Request::get("/v1/models");
    r.spec.timeout = Some(Duration::from_millis(ms));
    r
}

#[test]
fn driver_leaves_no_thread_or_socket_behind() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: needs Linux /proc");
        return;
    }
    let trickle = Hostile::start("trickle");
    let stall = Hostile::start("stall");
    let ok = Hostile::start("ok");
    let (threads0, fds0) = census();

    // 1. An edge that sends a 500 head, then trickles its body: each attempt times out
    //    in the core; its thread (stuck reading the body) and socket must go with it.
    {
        let pg = direct_client(&trickle.url);
        let out = pg.call(get_with_timeout(300));
        assert!(matches!(out, Err(Error::Call(_))), "{out:?}");
        assert_eq!(
            census(),
            (threads0 + 1, fds0),
            "after a trickled body: only the client's timer thread, no socket"
        );
        drop(pg);
        assert_eq!(census(), (threads0, fds0), "after the client was dropped");
    }

    // 2. An edge that never answers: the call times out, nothing of it stays.
    {
        let pg = direct_client(&stall.url);
        let out = pg.call(get_with_timeout(200));
        assert!(matches!(out, Err(Error::Call(_))), "{out:?}");
        assert_eq!(
            census(),
            (threads0 + 1, fds0),
            "after a timeout: only the client's timer thread, no socket"
        );
        drop(pg);
        assert_eq!(census(), (threads0, fds0), "after the client was dropped");
    }

    // 3. A healthy edge: the connection kept alive for the next call is the client's, and
    //    goes when the client does.
    {
        let pg = direct_client(&ok.url);
        for _ in 0..3 {
            let resp = pg.call(get_with_timeout(5_000)).unwrap();
            assert_eq!(resp.text().unwrap(), "{}");
        }
        drop(pg);
        assert_eq!(census(), (threads0, fds0), "after the client was dropped");
    }

    // 4. The client is dropped while its own requests (key exchange, discovery) are out
    //    against an auth service and autorouter that never answer.
    {
        let endpoints = Endpoints {
            auth: stall.url.clone(),
            autorouter: stall.url.clone(),
            ..Endpoints::default()
        };
        let pg = PolarGrid::with_seed(Config::new(KEY).with_endpoints(endpoints), 7).unwrap();
        let started =
            pg.with_core(|c, now| c.start_call(now, CallSpec::new(Method::Get, "/v1/models")));
        assert!(started.is_ok());
        drop(pg);
        assert_eq!(
            census(),
            (threads0, fds0),
            "after dropping a client with requests out"
        );
    }
}
