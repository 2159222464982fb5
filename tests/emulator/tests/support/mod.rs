//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream` for the tests.
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `http://127.0.0.1:P` → socket address.
pub fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("bad base URL {base}: {e}"))
}

pub fn connect(base: &str) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr(base), Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    Ok(stream)
}

/// Sends raw bytes and reads everything until the server closes.
pub fn raw(base: &str, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = connect(base)?;
    stream.write_all(bytes)?;
    // Half-close: a request the server cannot complete ends instead of timing out.
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    Ok(out)
}

/// Parses a full response (`Connection: close` framing).
pub fn parse(bytes: &[u8]) -> Reply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        assert_eq!(body.len(), len, "body length differs from content-length");
        body.truncate(len);
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// One request; `body` gets a `content-length`.
pub fn request(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Reply> {
    let mut msg = format!("{method} {target} HTTP/1.1\r\nhost: {}\r\n", addr(base));
    for (n, v) in headers {
        msg.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(b) = body {
        msg.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    msg.push_str("\r\n");
    let mut bytes = msg.into_bytes();
    bytes.extend_from_slice(body.unwrap_or(&[]));
    Ok(parse(&raw(base, &bytes)?))
}

pub fn get(base: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    request(base, "GET", target, headers, None)
        .unwrap_or_else(|e| panic!("GET {base}{target}: {e}"))
}

pub fn post_json(base: &str, target: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut h = headers.to_vec();
    h.push(("content-type", "application/json"));
    let bytes = body.to_string().into_bytes();
    request(base, "POST", target, &h, Some(&bytes))
        .unwrap_or_else(|e| panic!("POST {base}{target}: {e}"))
}
