"""The httpx side of the shared driver: sends what it asks for, keeps success bodies.

Imported on first use (it loads httpx and the native library), so ``import polargrid_core``
stays fast. The calling thread or task sends its own call's requests inline (no hand-off
on the common path); anything else runs on a worker pool or as an asyncio task. Each
request arrives complete (the app's body and headers included): this module decides
nothing, it follows the transport contract in polargrid-core's crate docs.
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
import struct
import sys
import threading
import time
import traceback
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx

from . import _ffi
from . import _native as n
from ._errors import PolarGridError
from ._native import polargrid_uniffi

FAST_BLOCKS = _ffi.install(polargrid_uniffi)  # byte blocks in one allocation (see _ffi)

K = n.TransportErrorKind


def kind_of(e: BaseException) -> Any:
    """The core's transport error kind for an httpx exception: the Python (httpx) column of
    the failure table in polargrid-core's crate docs ("The transport contract")."""
    if isinstance(e, httpx.ConnectTimeout):
        return K.CONNECT_TIMEOUT  # nothing reached the server
    if isinstance(e, httpx.TimeoutException):  # ReadTimeout, WriteTimeout, PoolTimeout
        return K.TIMEOUT
    if isinstance(e, httpx.ConnectError):
        s = str(e).lower()
        if any(m in s for m in ("name or service", "name resolution", "nodename", "getaddrinfo",
                                "no address associated")):
            return K.DNS
        return K.TLS if "ssl" in s or "certificate" in s or "tls" in s else K.CONNECT
    if isinstance(e, httpx.RemoteProtocolError):
        # httpcore words a peer that closed the connection "Server disconnected ..." or
        # "... closed ..."; anything else is a malformed answer.
        s = str(e).lower()
        return K.ABORTED if "disconnect" in s or "closed" in s else K.PROTOCOL
    if isinstance(e, httpx.ProtocolError):  # LocalProtocolError: we could not frame it
        return K.PROTOCOL
    return K.ABORTED  # ReadError, WriteError, CloseError: broken after sending began


def app_headers(headers: httpx.Headers) -> List[Tuple[str, str]]:
    """An httpx request's headers as (name, value) pairs (the core drops those it sets)."""
    return headers.multi_items()


def error_response(e: PolarGridError) -> httpx.Response:
    """A classified failure with a status, as the JSON error answer OpenAI clients read."""
    headers = {"x-request-id": e.request_id or ""}
    if e.retry_after is not None:
        headers["retry-after"] = str(int(e.retry_after))
    return httpx.Response(e.status or 500, headers=headers,
                          json={"error": {"message": str(e), "type": e.kind.value, "code": e.kind.value}})


_REQ = struct.Struct(">BBQQQIIII")
CALL = 3  # the request block's purpose byte for an attempt of an app call


class Request:
    """One request the driver wants sent, read from its block (the request block of
    polargrid-uniffi's ``heads`` module: one crossing, no record): exactly what to send."""

    __slots__ = ("id", "purpose", "call", "timeout_ms", "connect_timeout_ms", "body_limit", "method", "url",
                 "headers", "body")

    def __init__(self, id: int, purpose: int, call: int, timeout_ms: int, connect_timeout_ms: int,
                 body_limit: int, method: str, url: str, headers: bytes, body: Optional[bytes]) -> None:
        self.id, self.purpose, self.call, self.timeout_ms = id, purpose, call, timeout_ms
        self.connect_timeout_ms, self.body_limit, self.method, self.url = connect_timeout_ms, body_limit, method, url
        self.headers, self.body = headers, body


def decode(request_id: int, block: bytes) -> Request:
    """The request a block describes: purpose, has_body, call, timeout_ms, connect_timeout_ms,
    body_limit and the three lengths (42 bytes, big-endian), then method, URL, headers, body."""
    purpose, has_body, call, timeout, connect, limit, m, u, h = _REQ.unpack_from(block)
    a = 42 + m
    b = a + u
    c = b + h
    return Request(request_id, purpose, call, timeout, connect, limit, block[42:a].decode("ascii"),
                   block[a:b].decode(), block[b:c], block[c:] if has_body else None)


def inline(block: bytes) -> Tuple[int, List[Request]]:
    """``Driver.start_inline``'s answer: the call id, then the requests its start sent on this
    thread (count, then each request's id, its block's length and the block)."""
    call, count = _INLINE.unpack_from(block)
    at, reqs = 12, []
    for _ in range(count):
        rid, size = _INLINE.unpack_from(block, at)
        reqs.append(decode(rid, block[at + 12:at + 12 + size]))
        at += 12 + size
    return call, reqs


_INLINE = struct.Struct(">QI")


def build(req: Request) -> httpx.Request:
    """The httpx request for a driver request: exactly its method, URL, headers and body."""
    headers = [tuple(line.split(b": ", 1)) for line in req.headers.split(b"\r\n")] if req.headers else []
    t, c = req.timeout_ms / 1000, req.connect_timeout_ms / 1000
    return httpx.Request(req.method, req.url, headers=headers, content=req.body,
                         extensions={"timeout": {"connect": c, "read": t, "write": t, "pool": t}})


def _head(resp: httpx.Response) -> bytes:
    return b"\n".join([k + b": " + v for k, v in resp.headers.raw])


def _kept(req: Request, resp: httpx.Response) -> bool:
    return req.purpose == CALL and 200 <= resp.status_code < 300


def _shutdown(resp: httpx.Response) -> None:
    """Shuts the response's socket down, which wakes a thread blocked reading it."""
    stream = resp.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Answers:
    """The way back: each request is answered by id on the driver (``Driver.answer`` with head
    and body in one block, or ``Driver.fail``). ``own``: the caller that waits for the request's
    call answers it, so the call's ending comes back in the same crossing (the ending code;
    a failed call raises)."""

    driver: Callable[[], Any] = staticmethod(lambda: None)

    def bind_driver(self, driver: Any) -> None:
        self.driver = weakref.ref(driver)  # the driver holds this transport: no cycle through Rust

    def answer(self, req: Request, resp: httpx.Response, body: bytes, own: bool) -> int:
        d, head = self.driver(), _head(resp)
        if d is None:
            return 0
        code: int = d.answer(req.id, resp.status_code, len(head), head + body if body else head, own)
        return code

    def fail(self, req: Request, kind: Any, own: bool) -> int:
        d = self.driver()
        code: int = d.fail(req.id, kind, own) if d is not None else 0
        return code


class SyncTransport(_Answers, n.BlockTransport):
    """Threads: the caller sends inline; other sends go to a small pool."""

    def __init__(self, http: httpx.BaseTransport) -> None:
        self.http = http
        self.kept: Dict[int, httpx.Response] = {}
        self.reading: Dict[int, httpx.Response] = {}  # error bodies being read, by request id
        self.local = threading.local()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(64, thread_name_prefix="polargrid-http")
            return self._pool

    def send(self, request_id: int, request: bytes) -> None:
        req = decode(request_id, request)
        q = getattr(self.local, "q", None)
        if q is not None:
            q.append(req)
        else:
            try:
                self.pool().submit(self.worker, req)
            except RuntimeError:  # shut down
                self.fail(req, K.ABORTED, False)

    def release(self, request_id: int) -> None:
        """Closes a kept body, or cuts a body being read (the core gave up on it)."""
        resp = self.kept.pop(request_id, None)
        if resp is not None:
            resp.close()
        resp = self.reading.get(request_id)
        if resp is not None:
            _shutdown(resp)

    def worker(self, req: Request) -> None:
        self.local.q = q = [req]
        try:
            self.drain(q)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        finally:
            self.local.q = None

    def drain(self, q: List[Request], call: Optional[int] = None) -> Tuple[int, int]:
        """Sends what is queued, the first inline, the rest on the pool; for the caller of
        ``call``, its ending code and the request that ended it (0, 0: not ended here)."""
        code = rid = 0
        while q:
            req = q.pop(0)
            while q:
                self.pool().submit(self.worker, q.pop())
            c = self.exchange(req, req.call == call)
            if c:
                code, rid = c, req.id
        return code, rid

    def exchange(self, req: Request, own: bool = False) -> int:
        started = time.monotonic()
        try:
            hreq = build(req)
            resp = self.http.handle_request(hreq)
            resp.request = hreq
        except httpx.HTTPError as e:
            return self.fail(req, kind_of(e), own)  # httpcore closed the connection
        except BaseException:
            self.fail(req, K.ABORTED, False)
            raise
        if _kept(req, resp):
            self.kept[req.id] = resp
            return self.answer(req, resp, b"", own)
        self.reading[req.id] = resp
        try:
            body = self.read_limited(req, resp, started)
        except httpx.HTTPError as e:
            return self.fail(req, kind_of(e), own)
        except BaseException:
            self.fail(req, K.ABORTED, False)
            raise
        finally:
            self.reading.pop(req.id, None)
            resp.close()  # not read to its end: httpcore closes the connection
        if body is None:
            return self.fail(req, K.TIMEOUT, own)
        return self.answer(req, resp, body, own)

    @staticmethod
    def read_limited(req: Request, resp: httpx.Response, started: float) -> Optional[bytes]:
        """At most ``body_limit`` bytes, by the request's deadline (``None`` past it)."""
        deadline, body = started + req.timeout_ms / 1000, b""
        for chunk in resp.iter_bytes():
            body += chunk
            if len(body) >= req.body_limit:
                break
            if time.monotonic() > deadline:
                return None
        return body[:req.body_limit]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()


class AsyncTransport(_Answers, n.BlockTransport):
    """asyncio: the calling task sends inline; other sends become tasks on its loop."""

    def __init__(self, http: httpx.AsyncBaseTransport) -> None:
        self.http = http
        self.kept: Dict[int, httpx.Response] = {}
        self.q: contextvars.ContextVar[Optional[List[Request]]] = contextvars.ContextVar("pg_q", default=None)
        self.tasks: Dict[int, "asyncio.Task[None]"] = {}
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.thread = -1

    def bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop, self.thread = loop, threading.get_ident()
        elif loop is not self.loop:
            raise PolarGridError("this AsyncPolarGrid is used by another event loop; make one per loop",
                                 kind="invalid_call", cause="an AsyncPolarGrid was used by a second event loop",
                                 fix="make one AsyncPolarGrid per event loop")

    def _on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self.thread:
            fn(*args)
        elif self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def send(self, request_id: int, request: bytes) -> None:
        req = decode(request_id, request)
        q = self.q.get() if threading.get_ident() == self.thread else None
        if q is not None:
            q.append(req)
        elif self.loop is None or self.loop.is_closed():
            self.fail(req, K.ABORTED, False)
        else:
            self._on_loop(self.spawn, req)

    def spawn(self, req: Request) -> None:
        assert self.loop is not None
        task = self.loop.create_task(self.worker(req), context=contextvars.Context())
        rid = req.id
        self.tasks[rid] = task
        task.add_done_callback(lambda _t: self.tasks.pop(rid, None))

    def release(self, request_id: int) -> None:
        self._on_loop(self._release, request_id)

    def _release(self, request_id: int) -> None:
        task = self.tasks.pop(request_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()  # httpcore closes a connection whose exchange was cancelled
        resp = self.kept.pop(request_id, None)
        if resp is not None and self.loop is not None:
            self.loop.create_task(resp.aclose())

    async def worker(self, req: Request) -> None:
        q = [req]
        self.q.set(q)
        await self.drain(q)

    async def drain(self, q: List[Request], call: Optional[int] = None) -> Tuple[int, int]:
        """As ``SyncTransport.drain``: the rest become tasks."""
        code = rid = 0
        while q:
            req = q.pop(0)
            while q:
                self.spawn(q.pop())
            c = await self.exchange(req, req.call == call)
            if c:
                code, rid = c, req.id
        return code, rid

    async def exchange(self, req: Request, own: bool = False) -> int:
        started, body = time.monotonic(), b""
        try:
            hreq = build(req)
            resp = await self.http.handle_async_request(hreq)
            resp.request = hreq
            if _kept(req, resp):
                self.kept[req.id] = resp
            else:
                try:
                    left = started + req.timeout_ms / 1000 - time.monotonic()
                    body = await asyncio.wait_for(self.read_limited(req, resp), max(left, 0.001))
                finally:
                    await resp.aclose()  # not read to its end: httpcore closes the connection
        except httpx.HTTPError as e:
            return self.fail(req, kind_of(e), own)
        except asyncio.TimeoutError:
            return self.fail(req, K.TIMEOUT, own)
        except BaseException:
            self.fail(req, K.ABORTED, False)
            raise
        return self.answer(req, resp, body, own)

    @staticmethod
    async def read_limited(req: Request, resp: httpx.Response) -> bytes:
        body = b""
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) >= req.body_limit:
                break
        return body[:req.body_limit]


class Listener(n.Listener):
    """Passes session changes to the app's ``on_session``."""

    def __init__(self, on_session: Callable[[Optional[str]], None]) -> None:
        self.on_session = on_session

    def on_event(self, event: Any) -> None:
        try:
            if event.is_session_changed():
                self.on_session(event.snapshot_json)
        except Exception:
            traceback.print_exc(file=sys.stderr)
