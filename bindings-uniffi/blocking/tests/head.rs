//! What goes out and what comes back on the wire, seen from a raw `TcpListener`: a call
//! without a body sends no `Content-Length`, and the answer's head reaches the app as the
//! server wrote it (read from ureq's parse, never copied).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use polargrid_blocking::{PolarGrid, Request};
use polargrid_core::Config;

/// Answers one request on one connection with `answer`; sends the request head's lines.
fn one_answer(answer: &'static [u8]) -> (String, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_string());
        }
        conn.write_all(answer).unwrap();
        tx.send(head).unwrap();
    });
    (url, rx)
}

#[test]
fn get_without_body_sends_no_content_length_and_the_app_reads_the_answer_head() {
    let (url, head) = one_answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Edge: a\r\nX-Edge: b\r\nContent-Length: 2\r\n\r\n{}",
    );
    let pg = PolarGrid::with_seed(
        Config::direct("pg_test_key_0123456789").with_base_url(&url),
        1,
    )
    .unwrap();
    let resp = pg.call(Request::get("/v1/models")).unwrap();
    let sent = head.recv().unwrap();
    assert!(sent[0].starts_with("GET /v1/models "), "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|l| l.to_ascii_lowercase().starts_with("content-length")),
        "a GET goes without a body: {sent:?}"
    );
    assert!(sent
        .iter()
        .any(|l| l.eq_ignore_ascii_case("authorization: Bearer pg_test_key_0123456789")));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("CONTENT-TYPE"), Some("application/json"));
    assert_eq!(resp.header("x-missing"), None);
    let edge: Vec<&str> = resp
        .headers()
        .filter(|(k, _)| *k == "x-edge")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(edge, ["a", "b"]);
    assert_eq!(resp.header_map().get_all("x-edge").iter().count(), 2);
    assert_eq!(resp.text().unwrap(), "{}");
}
