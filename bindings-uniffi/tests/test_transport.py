"""The httpx transport against real misbehaving sockets: each row of the core's failure table
(polargrid-core crate docs, "The transport contract", Python column) that a local socket can
produce maps to its kind, on threads and on asyncio; and a failed, timed-out or released
request closes its connection at once (the server sees it closed)."""

import asyncio
import socket
import threading
import time

import httpx
import pytest

from polargrid_core import _http
from polargrid_core import _native as n

K = n.TransportErrorKind


class Server:
    """A listener on 127.0.0.1 running ``behave(conn, server)`` for each connection."""

    def __init__(self, behave, backlog=16, accept=True):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.closed = threading.Event()  # a connection was seen closed by the client
        self.got = threading.Event()  # a request head arrived
        if accept:
            threading.Thread(target=self.accept, args=(behave,), daemon=True).start()

    def accept(self, behave):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=behave, args=(conn, self), daemon=True).start()

    def url(self, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}/v1/route"


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def silent(conn, server):
    read_head(conn)
    server.got.set()
    while conn.recv(4096):
        pass
    server.closed.set()


def close_at_once(conn, server):
    read_head(conn)
    conn.close()


def answer(raw):
    def behave(conn, server):
        read_head(conn)
        conn.sendall(raw)
        conn.close()
    return behave


def not_tls(conn, server):
    conn.recv(4096)  # the ClientHello
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
    conn.close()


def trickle_500(conn, server):
    read_head(conn)
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100000\r\n\r\n")
    try:
        while True:
            conn.sendall(b"x")
            time.sleep(0.02)
    except OSError:
        server.closed.set()


def request(url, timeout_ms=2000, connect_timeout_ms=2000, limit=65536):
    """A discovery request (purpose 2) as the driver's request block would describe it."""
    return _http.Request(1, 2, 0, timeout_ms, connect_timeout_ms, limit, "GET", url,
                         b"accept: application/json", None)


class Reply:
    """Stands for the driver: the answer (by request id) the transport gave."""

    def __init__(self):
        self.kind, self.status, self.done = None, None, threading.Event()

    def fail(self, request_id, kind, collect):
        self.kind = kind
        self.done.set()
        return 0

    def answer(self, request_id, status, head_len, message, collect):
        self.status = status
        self.done.set()
        return 0


def exchange(mode, req):
    """Sends ``req`` through the package's sync or async transport; the Reply it got."""
    reply = Reply()
    if mode == "sync":
        t = _http.SyncTransport(httpx.HTTPTransport())
        t.driver = lambda: reply
        t.exchange(req)
        t.close()
    else:
        async def run():
            t = _http.AsyncTransport(httpx.AsyncHTTPTransport())
            t.driver = lambda: reply
            await t.exchange(req)
            await t.http.aclose()
        asyncio.run(run())
    return reply


def refused_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1/route"


def full_backlog_url():
    """A listener that never accepts, its queue filled: a connect then never completes."""
    server = Server(None, backlog=0, accept=False)
    fillers = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", server.port))
        fillers.append(c)
    return server.url(), (server, fillers)


CASES = {
    "refused": (lambda: (refused_url(), None), K.CONNECT),
    "name not resolved": (lambda: ("http://polargrid-test.invalid/v1/route", None), K.DNS),
    "tls handshake": (lambda: (lambda s: (s.url("https"), s))(Server(not_tls)), K.TLS),
    "connect timed out": (full_backlog_url, K.CONNECT_TIMEOUT),
    "no answer in time": (lambda: (lambda s: (s.url(), s))(Server(silent)), K.TIMEOUT),
    "closed before answering": (lambda: (lambda s: (s.url(), s))(Server(close_at_once)), K.ABORTED),
    "closed mid-body": (lambda: (lambda s: (s.url(), s))(
        Server(answer(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789"))), K.ABORTED),
    "malformed status line": (lambda: (lambda s: (s.url(), s))(Server(answer(b"garbage\r\n\r\n"))), K.PROTOCOL),
    "CR in a header value": (lambda: (lambda s: (s.url(), s))(
        Server(answer(b"HTTP/1.1 200 OK\r\nx-a: b\rc\r\ncontent-length: 0\r\n\r\n"))), K.PROTOCOL),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_platform_failure_maps_to_the_core_table_kind(case, mode):
    make, expected = CASES[case]
    url, _keep = make()
    reply = exchange(mode, request(url, timeout_ms=300, connect_timeout_ms=300))
    assert reply.kind == expected, f"{case}: {reply.kind} (status {reply.status})"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_error_body_that_never_ends_is_cut_at_the_deadline_and_its_connection_closed(mode):
    server = Server(trickle_500)
    reply = exchange(mode, request(server.url(), timeout_ms=400))
    assert reply.kind == K.TIMEOUT
    assert server.closed.wait(5), "the connection was left open"


def test_an_error_body_is_read_only_to_its_limit_and_its_connection_closed():
    server = Server(trickle_500)
    reply = exchange("sync", request(server.url(), timeout_ms=10_000, limit=5))
    assert reply.status == 500
    assert server.closed.wait(5), "the connection was left open"


def test_a_released_request_closes_its_connection_at_once():
    server = Server(trickle_500)
    t = _http.SyncTransport(httpx.HTTPTransport())
    reply = Reply()
    t.driver = lambda: reply
    worker = threading.Thread(target=t.exchange, args=(request(server.url(), timeout_ms=60_000),))
    worker.start()
    while 1 not in t.reading:  # the error body is being read
        time.sleep(0.001)
    t.release(1)  # the core gave up on it (Abort)
    assert reply.done.wait(5) and reply.kind == K.ABORTED
    assert server.closed.wait(5), "the connection was left open"
    worker.join()
    t.close()


def test_a_cancelled_async_request_closes_its_connection_at_once():
    server = Server(silent)

    async def run():
        t = _http.AsyncTransport(httpx.AsyncHTTPTransport())
        t.bind()
        reply = Reply()
        t.driver = lambda: reply
        t.spawn(request(server.url(), timeout_ms=60_000))
        while not server.got.is_set():  # the request is out, waiting for its head
            await asyncio.sleep(0.001)
        t.release(1)
        await asyncio.sleep(0)
        await t.http.aclose()
        return reply
    reply = asyncio.run(run())
    assert reply.kind == K.ABORTED
    assert server.closed.wait(5), "the connection was left open"
