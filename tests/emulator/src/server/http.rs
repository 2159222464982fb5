//! A small, strict HTTP/1.1 request reader and response writer.
//!
//! HTTP/1.1 keep-alive: [`read_request_on`] keeps bytes read past one request for the
//! next, [`write_response_on`] says `keep-alive` unless the client asked to close, spoke
//! HTTP/1.0 without asking to keep it, or the body is a stream (closed to end it). Request
//! bodies by
//! `Content-Length` or `Transfer-Encoding: chunked`, at most [`MAX_BODY`] bytes:
//! a larger declared length is answered `413` without reading the body.

use std::io::{self, ErrorKind, Read, Write};
use std::time::Instant;

use crate::model::{Body, Request, Response};

/// Largest request head (request line + headers), bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body, bytes.
pub const MAX_BODY: usize = 1024 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_CHUNK_LINE: usize = 1024;

/// Why no request could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Closed, timed out or truncated: close without answering.
    Closed,
    /// Answer this status and message, then close.
    Reject(u16, String),
}

fn reject(status: u16, message: &str) -> ReadError {
    ReadError::Reject(status, message.to_string())
}

/// Buffered reading from the connection with an overall deadline.
struct Input<'a, S> {
    stream: &'a mut S,
    buf: Vec<u8>,
    pos: usize,
    deadline: Instant,
}

impl<S: Read + Write> Input<'_, S> {
    /// Reads more bytes into the buffer; `Closed` on EOF, error or deadline.
    fn fill(&mut self) -> Result<(), ReadError> {
        let mut tmp = [0u8; 8192];
        loop {
            if Instant::now() >= self.deadline {
                return Err(ReadError::Closed);
            }
            match self.stream.read(&mut tmp) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(tmp.get(..n).unwrap_or(&[]));
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    fn available(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes exactly `n` bytes.
    fn take(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.available() < n {
            self.fill()?;
        }
        let out = self.buf.get(self.pos..self.pos + n).unwrap_or(&[]).to_vec();
        self.pos += n;
        Ok(out)
    }

    /// Takes one line (without its `\n` / `\r\n`), at most `max` bytes.
    fn line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            let rest = self.buf.get(self.pos..).unwrap_or(&[]);
            if let Some(i) = rest.iter().position(|b| *b == b'\n') {
                let mut line = rest.get(..i).unwrap_or(&[]).to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.pos += i + 1;
                return Ok(line);
            }
            if rest.len() > max {
                return Err(reject(400, "Line too long"));
            }
            self.fill()?;
        }
    }
}

/// Position just after the blank line ending the head, skipping leading blank lines.
fn head_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    let rest = buf.get(start..)?;
    let mut i = 0;
    while let Some(off) = rest.get(i..)?.iter().position(|b| *b == b'\n') {
        let nl = i + off;
        match rest.get(nl + 1..nl + 3) {
            Some([b'\r', b'\n']) => return Some(start + nl + 3),
            _ if rest.get(nl + 1) == Some(&b'\n') => return Some(start + nl + 2),
            _ => i = nl + 1,
        }
    }
    None
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_tchar)
}

/// Splits an origin-form (or absolute-form) target into path and query.
fn parse_target(target: &str) -> Option<(String, Option<String>)> {
    if target.is_empty() || !target.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return None;
    }
    let origin_form = if target.starts_with('/') {
        target
    } else {
        let lower = target.to_ascii_lowercase();
        let after_scheme = if lower.starts_with("http://") {
            target.get(7..)?
        } else if lower.starts_with("https://") {
            target.get(8..)?
        } else {
            return None;
        };
        match after_scheme.find(['/', '?']) {
            Some(i) if after_scheme.get(i..)?.starts_with('/') => after_scheme.get(i..)?,
            _ => "/",
        }
    };
    let without_fragment = origin_form.split('#').next().unwrap_or("/");
    Some(match without_fragment.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (without_fragment.to_string(), None),
    })
}

/// How the request body is framed.
enum Framing {
    Length(usize),
    Chunked,
}

fn framing(headers: &[(String, String)]) -> Result<Framing, ReadError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(reject(400, "Invalid Content-Length"));
                }
                let n: u64 = part
                    .parse()
                    .map_err(|_| reject(413, "Request body too large"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(reject(400, "Conflicting Content-Length"));
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(reject(400, "Unsupported Transfer-Encoding"));
            }
            chunked = true;
        }
    }
    match (chunked, length) {
        (true, Some(_)) => Err(reject(400, "Both Content-Length and Transfer-Encoding")),
        (true, None) => Ok(Framing::Chunked),
        (false, Some(n)) if n > MAX_BODY as u64 => Err(reject(413, "Request body too large")),
        (false, Some(n)) => Ok(Framing::Length(n as usize)),
        (false, None) => Ok(Framing::Length(0)),
    }
}

fn read_chunked<S: Read + Write>(input: &mut Input<'_, S>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = input.line(MAX_CHUNK_LINE)?;
        let text = std::str::from_utf8(&line).map_err(|_| reject(400, "Invalid chunk size"))?;
        let size_text = text.split(';').next().unwrap_or("").trim();
        if size_text.is_empty() || size_text.len() > 8 {
            return Err(reject(400, "Invalid chunk size"));
        }
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| reject(400, "Invalid chunk size"))?;
        if size == 0 {
            // Trailers until the blank line.
            for _ in 0..MAX_HEADERS {
                if input.line(MAX_CHUNK_LINE * 8)?.is_empty() {
                    return Ok(body);
                }
            }
            return Err(reject(400, "Too many trailers"));
        }
        if body.len() + size > MAX_BODY {
            return Err(reject(413, "Request body too large"));
        }
        body.extend(input.take(size)?);
        if !input.line(2)?.is_empty() {
            return Err(reject(400, "Invalid chunk terminator"));
        }
    }
}

/// Reads one request from `stream`, writing `100 Continue` when asked for it.
pub fn read_request<S: Read + Write>(
    stream: &mut S,
    deadline: Instant,
) -> Result<Request, ReadError> {
    read_request_on(stream, &mut Vec::new(), deadline).map(|(r, _)| r)
}

/// Reads one request of a persistent connection: starts with the bytes in `carry` (read
/// past the previous request) and leaves there what it reads past this one. Also says
/// whether the client wants the connection kept open.
pub fn read_request_on<S: Read + Write>(
    stream: &mut S,
    carry: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(Request, bool), ReadError> {
    let mut input = Input {
        stream,
        buf: std::mem::take(carry),
        pos: 0,
        deadline,
    };
    let result = read_one(&mut input);
    *carry = input.buf.split_off(input.pos.min(input.buf.len()));
    result
}

fn read_one<S: Read + Write>(input: &mut Input<'_, S>) -> Result<(Request, bool), ReadError> {
    let end = loop {
        // A TLS ClientHello (a client given an https URL for this plain-HTTP port) is
        // answered at once, in plain text, as a server without TLS would: the client's
        // handshake fails instead of waiting for a head that never comes.
        if input.buf.get(input.pos) == Some(&0x16) {
            return Err(reject(400, "TLS handshake on a plain HTTP port"));
        }
        if let Some(end) = head_end(&input.buf) {
            break end;
        }
        if input.buf.len() > MAX_HEAD {
            return Err(reject(431, "Request header fields too large"));
        }
        input.fill()?;
    };
    if end > MAX_HEAD {
        return Err(reject(431, "Request header fields too large"));
    }
    let head = std::str::from_utf8(input.buf.get(..end).unwrap_or(&[]))
        .map_err(|_| reject(400, "Request head is not valid UTF-8"))?
        .to_string();
    input.pos = end;
    let mut lines = head
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let request_line = lines.next().unwrap_or("");
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(reject(400, "Malformed request line"));
    };
    if !is_token(method) || method.len() > 32 {
        return Err(reject(400, "Malformed method"));
    }
    if *version != "HTTP/1.1" && *version != "HTTP/1.0" {
        return Err(reject(400, "Unsupported HTTP version"));
    }
    let (path, query) =
        parse_target(target).ok_or_else(|| reject(400, "Malformed request target"))?;
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if headers.len() >= MAX_HEADERS {
            return Err(reject(431, "Too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| reject(400, "Malformed header"))?;
        let value = value.trim_matches([' ', '\t']);
        if !is_token(name) || value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(reject(400, "Malformed header"));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    let framing = framing(&headers)?;
    let expects_continue = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"));
    let has_body = !matches!(framing, Framing::Length(0));
    if expects_continue && has_body && input.available() == 0 {
        let _ = input.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = input.stream.flush();
    }
    let body = match framing {
        Framing::Length(n) => input.take(n)?,
        Framing::Chunked => read_chunked(input)?,
    };
    let connection = |token: &str| {
        headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    let keep_alive = if *version == "HTTP/1.1" {
        !connection("close")
    } else {
        connection("keep-alive")
    };
    Ok((
        Request {
            method: method.to_string(),
            path,
            query,
            headers,
            body,
        },
        keep_alive,
    ))
}

pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn header_ok(name: &str, value: &str) -> bool {
    is_token(name) && !value.chars().any(|c| c.is_control() && c != '\t')
}

/// Writes `resp` with `Connection: close` (and `Content-Length` for byte bodies).
pub fn write_response<W: Write>(w: &mut W, resp: &Response) -> io::Result<()> {
    write_response_on(w, resp, false).map(|_| ())
}

/// Writes `resp`, keeping the connection open when `keep_alive` and the body has a length
/// (a stream ends by closing). Answers whether the connection stays open.
pub fn write_response_on<W: Write>(
    w: &mut W,
    resp: &Response,
    keep_alive: bool,
) -> io::Result<bool> {
    let keep_alive = keep_alive && matches!(resp.body, Body::Bytes(_));
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in &resp.headers {
        let framing = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f));
        if !framing && header_ok(name, value) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let no_body = resp.status < 200 || resp.status == 204 || resp.status == 304;
    if let (Body::Bytes(b), false) = (&resp.body, no_body) {
        head.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    head.push_str(if keep_alive {
        "connection: keep-alive\r\n\r\n"
    } else {
        "connection: close\r\n\r\n"
    });
    w.write_all(head.as_bytes())?;
    if no_body {
        return w.flush().map(|()| keep_alive);
    }
    match &resp.body {
        Body::Bytes(b) => w.write_all(b)?,
        Body::Sse(events) => {
            for event in events {
                w.write_all(format!("data: {event}\n\n").as_bytes())?;
                w.flush()?;
            }
        }
    }
    w.flush().map(|()| keep_alive)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::time::Duration;

    /// An in-memory connection: reads `input`, collects what is written.
    struct Mock {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Mock {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Mock {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn read(raw: &[u8]) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut mock = Mock {
            input: Cursor::new(raw.to_vec()),
            output: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let r = read_request(&mut mock, deadline);
        (r, mock.output)
    }

    fn status(raw: &[u8]) -> Option<u16> {
        match read(raw).0 {
            Err(ReadError::Reject(s, _)) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn simple_get_with_query_parses() {
        let (r, _) =
            read(b"GET /v1/route?model=x HTTP/1.1\r\nHost: a\r\nAccept: application/json\r\n\r\n");
        let r = r.unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/v1/route");
        assert_eq!(r.query.as_deref(), Some("model=x"));
        assert_eq!(r.header("accept"), Some("application/json"));
    }

    #[test]
    fn content_length_body_is_read_exactly() {
        let (r, _) = read(b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
        assert_eq!(r.unwrap().body, b"hello");
    }

    #[test]
    fn chunked_body_is_decoded() {
        let (r, _) = read(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        assert_eq!(r.unwrap().body, b"hello world");
    }

    #[test]
    fn bare_lf_line_endings_are_accepted() {
        let (r, _) = read(b"GET / HTTP/1.0\nHost: a\n\n");
        assert_eq!(r.unwrap().path, "/");
    }

    #[test]
    fn absolute_form_target_is_reduced_to_path() {
        let (r, _) = read(b"GET http://127.0.0.1:1/v1/route?scope=global HTTP/1.1\r\n\r\n");
        let r = r.unwrap();
        assert_eq!(
            (r.path.as_str(), r.query.as_deref()),
            ("/v1/route", Some("scope=global"))
        );
    }

    #[test]
    fn declared_huge_body_is_rejected_with_413_before_reading() {
        assert_eq!(
            status(b"POST /x HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n"),
            Some(413)
        );
        assert_eq!(
            status(b"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            Some(413)
        );
    }

    #[test]
    fn chunked_body_over_limit_is_rejected_with_413() {
        let mut raw = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..20 {
            raw.extend_from_slice(b"10000\r\n");
            raw.extend(vec![b'a'; 0x10000]);
            raw.extend_from_slice(b"\r\n");
        }
        assert_eq!(status(&raw), Some(413));
    }

    #[test]
    fn malformed_request_lines_are_rejected_with_400() {
        for raw in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET /x\r\n\r\n",
            b"GET  /x HTTP/1.1\r\n\r\n",
            b"GET /x HTTP/2.0\r\n\r\n",
            b"G(T /x HTTP/1.1\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET /x\x01 HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(status(raw), Some(400), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn bad_headers_are_rejected_with_400() {
        for raw in [
            &b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: \xff\xfe\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert_eq!(status(raw), Some(400), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn oversized_head_is_rejected_with_431() {
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.extend(vec![b'a'; MAX_HEAD + 10]);
        raw.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&raw), Some(431));
    }

    #[test]
    fn truncated_requests_just_close() {
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost").0, Err(ReadError::Closed));
        assert_eq!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").0,
            Err(ReadError::Closed)
        );
        assert_eq!(read(b"").0, Err(ReadError::Closed));
    }

    #[test]
    fn expect_continue_gets_an_interim_response() {
        let mut mock = Mock {
            input: Cursor::new(
                b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".to_vec(),
            ),
            output: Vec::new(),
        };
        let r = read_request(&mut mock, Instant::now() + Duration::from_secs(1));
        assert_eq!(r, Err(ReadError::Closed));
        assert_eq!(mock.output, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn random_bytes_never_panic_the_reader() {
        let mut rng = crate::model::SplitMix64::new(7);
        let seeds: [&[u8]; 4] = [
            b"GET / HTTP/1.1\r\n",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
            b"",
        ];
        for _ in 0..2000 {
            let mut raw = seeds[rng.below(4) as usize].to_vec();
            let n = rng.below(300) as usize;
            raw.extend(rng.bytes(n).into_iter().map(|b| match b % 8 {
                0 => b'\r',
                1 => b'\n',
                2 => b':',
                _ => b,
            }));
            let _ = read(&raw);
        }
    }

    #[test]
    fn response_has_length_and_drops_injected_headers() {
        let resp = Response {
            status: 200,
            headers: vec![
                ("x-ok".to_string(), "1".to_string()),
                ("x-bad".to_string(), "a\r\nInjected: 1".to_string()),
                ("content-length".to_string(), "999".to_string()),
            ],
            body: Body::Bytes(b"hi".to_vec()),
        };
        let mut out = Vec::new();
        write_response(&mut out, &resp).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("x-ok: 1\r\n"));
        assert!(!text.contains("Injected"));
        assert!(text.contains("content-length: 2\r\n"));
        assert!(text.ends_with("connection: close\r\n\r\nhi"));
    }

    #[test]
    fn keep_alive_reads_back_to_back_requests_on_one_connection() {
        let mut mock = Mock {
            input: Cursor::new(
                b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /c HTTP/1.0\r\n\r\n".to_vec(),
            ),
            output: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut carry = Vec::new();
        let (a, keep_a) = read_request_on(&mut mock, &mut carry, deadline).unwrap();
        assert_eq!(
            (a.path.as_str(), a.body.as_slice(), keep_a),
            ("/a", &b"hi"[..], true)
        );
        let (b, keep_b) = read_request_on(&mut mock, &mut carry, deadline).unwrap();
        assert_eq!((b.path.as_str(), keep_b), ("/b", false));
        let (c, keep_c) = read_request_on(&mut mock, &mut carry, deadline).unwrap();
        assert_eq!((c.path.as_str(), keep_c), ("/c", false));
        assert_eq!(
            read_request_on(&mut mock, &mut carry, deadline).map(|_| ()),
            Err(ReadError::Closed)
        );
    }

    #[test]
    fn keep_alive_answer_says_so_but_a_stream_still_closes() {
        let bytes = Response {
            status: 200,
            headers: vec![],
            body: Body::Bytes(b"hi".to_vec()),
        };
        let mut out = Vec::new();
        assert!(write_response_on(&mut out, &bytes, true).unwrap());
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("connection: keep-alive\r\n"));
        let sse = Response {
            status: 200,
            headers: vec![],
            body: Body::Sse(vec!["[DONE]".to_string()]),
        };
        let mut out = Vec::new();
        assert!(!write_response_on(&mut out, &sse, true).unwrap());
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("connection: close\r\n"));
    }

    #[test]
    fn sse_response_frames_events_without_length() {
        let resp = Response {
            status: 200,
            headers: vec![],
            body: Body::Sse(vec!["{}".to_string(), "[DONE]".to_string()]),
        };
        let mut out = Vec::new();
        write_response(&mut out, &resp).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("content-length"));
        assert!(text.ends_with("\r\n\r\ndata: {}\n\ndata: [DONE]\n\n"));
    }
}
