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
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx

from . import _native as n
from ._errors import PolarGridError

Item = Tuple[Any, Any]
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


def build(req: Any) -> httpx.Request:
    """The httpx request for a driver request: exactly its method, URL, headers and body."""
    headers = [tuple(line.split(": ", 1)) for line in req.headers.split("\r\n")] if req.headers else []
    t, c = req.timeout_ms / 1000, req.connect_timeout_ms / 1000
    return httpx.Request(req.method, req.url, headers=headers, content=req.body,
                         extensions={"timeout": {"connect": c, "read": t, "write": t, "pool": t}})


def _head(resp: httpx.Response) -> bytes:
    return b"\n".join([k + b": " + v for k, v in resp.headers.raw])


def _answer(reply: Any, resp: httpx.Response, body: bytes = b"") -> None:
    """The answer as one block (``Reply.answer``): the head, then the body read for the core."""
    head = _head(resp)
    reply.answer(resp.status_code, len(head), head + body if body else head)


def _kept(req: Any, resp: httpx.Response) -> bool:
    return bool(req.purpose == n.Purpose.CALL and 200 <= resp.status_code < 300)


def _shutdown(resp: httpx.Response) -> None:
    """Shuts the response's socket down, which wakes a thread blocked reading it."""
    stream = resp.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SyncTransport(n.Transport):
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

    def send(self, request: Any, reply: Any) -> None:
        q = getattr(self.local, "q", None)
        if q is not None:
            q.append((request, reply))
        else:
            try:
                self.pool().submit(self.worker, (request, reply))
            except RuntimeError:  # shut down
                reply.failed(K.ABORTED)

    def release(self, request_id: int) -> None:
        """Closes a kept body, or cuts a body being read (the core gave up on it)."""
        resp = self.kept.pop(request_id, None)
        if resp is not None:
            resp.close()
        resp = self.reading.get(request_id)
        if resp is not None:
            _shutdown(resp)

    def worker(self, item: Item) -> None:
        self.local.q = q = [item]
        try:
            self.drain(q)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        finally:
            self.local.q = None

    def drain(self, q: List[Item]) -> None:
        while q:
            req, reply = q.pop(0)
            while q:
                self.pool().submit(self.worker, q.pop())
            self.exchange(req, reply)

    def exchange(self, req: Any, reply: Any) -> None:
        started = time.monotonic()
        try:
            hreq = build(req)
            resp = self.http.handle_request(hreq)
            resp.request = hreq
        except httpx.HTTPError as e:
            return reply.failed(kind_of(e))  # httpcore closed the connection
        except BaseException:
            reply.failed(K.ABORTED)
            raise
        if _kept(req, resp):
            self.kept[req.id] = resp
            return _answer(reply, resp)
        self.reading[req.id] = resp
        try:
            body = self.read_limited(req, resp, started)
        except httpx.HTTPError as e:
            return reply.failed(kind_of(e))
        except BaseException:
            reply.failed(K.ABORTED)
            raise
        finally:
            self.reading.pop(req.id, None)
            resp.close()  # not read to its end: httpcore closes the connection
        if body is None:
            return reply.failed(K.TIMEOUT)
        return _answer(reply, resp, body)

    @staticmethod
    def read_limited(req: Any, resp: httpx.Response, started: float) -> Optional[bytes]:
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


class AsyncTransport(n.Transport):
    """asyncio: the calling task sends inline; other sends become tasks on its loop."""

    def __init__(self, http: httpx.AsyncBaseTransport) -> None:
        self.http = http
        self.kept: Dict[int, httpx.Response] = {}
        self.q: contextvars.ContextVar[Optional[List[Item]]] = contextvars.ContextVar("pg_q", default=None)
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

    def send(self, request: Any, reply: Any) -> None:
        q = self.q.get() if threading.get_ident() == self.thread else None
        if q is not None:
            q.append((request, reply))
        elif self.loop is None or self.loop.is_closed():
            reply.failed(K.ABORTED)
        else:
            self._on_loop(self.spawn, (request, reply))

    def spawn(self, item: Item) -> None:
        assert self.loop is not None
        task = self.loop.create_task(self.worker(item), context=contextvars.Context())
        rid = item[0].id
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

    async def worker(self, item: Item) -> None:
        q = [item]
        self.q.set(q)
        await self.drain(q)

    async def drain(self, q: List[Item]) -> None:
        while q:
            req, reply = q.pop(0)
            while q:
                self.spawn(q.pop())
            await self.exchange(req, reply)

    async def exchange(self, req: Any, reply: Any) -> None:
        started = time.monotonic()
        try:
            hreq = build(req)
            resp = await self.http.handle_async_request(hreq)
            resp.request = hreq
            if _kept(req, resp):
                self.kept[req.id] = resp
                _answer(reply, resp)
                return
            try:
                left = started + req.timeout_ms / 1000 - time.monotonic()
                body = await asyncio.wait_for(self.read_limited(req, resp), max(left, 0.001))
            finally:
                await resp.aclose()  # not read to its end: httpcore closes the connection
            _answer(reply, resp, body)
        except httpx.HTTPError as e:
            reply.failed(kind_of(e))
        except asyncio.TimeoutError:
            reply.failed(K.TIMEOUT)
        except BaseException:
            reply.failed(K.ABORTED)
            raise

    @staticmethod
    async def read_limited(req: Any, resp: httpx.Response) -> bytes:
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
