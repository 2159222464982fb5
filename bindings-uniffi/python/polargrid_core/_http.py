"""The httpx side of the shared driver: sends what it asks for, keeps success bodies.

Imported on first use (it loads httpx and the native library), so ``import polargrid_core``
stays fast. The calling thread or task sends its own call's requests inline (no hand-off
on the common path); anything else runs on a worker pool or as an asyncio task.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx

from . import _native as n
from ._errors import PolarGridError

_SKIP = frozenset({"authorization", "host", "content-length", "user-agent", "x-request-id",
                   "transfer-encoding", "connection"})
Item = Tuple[Any, Any]


def kind_of(e: BaseException) -> Any:
    """The transport error kind for an httpx exception."""
    if isinstance(e, httpx.TimeoutException):
        return n.TransportError.TIMEOUT
    if isinstance(e, httpx.ConnectError):
        s = str(e).lower()
        if "name or service" in s or "name resolution" in s or "nodename" in s:
            return n.TransportError.DNS
        return n.TransportError.TLS if "ssl" in s or "certificate" in s else n.TransportError.CONNECT
    return n.TransportError.ABORTED


def app_headers(headers: httpx.Headers) -> List[Tuple[str, str]]:
    """The app's headers minus those the core sets (credentials, User-Agent, request id)."""
    return [(k, v) for k, v in headers.multi_items() if k.lower() not in _SKIP]


def model_of(content: Optional[bytes]) -> Optional[str]:
    """The JSON body's ``model``, the routing hint."""
    if not content or not content.lstrip().startswith(b"{") or b'"model"' not in content:
        return None
    try:
        m = json.loads(content).get("model")
    except (ValueError, AttributeError):
        return None
    return m if isinstance(m, str) else None


def error_response(e: PolarGridError) -> httpx.Response:
    """A classified failure with a status, as the JSON error answer OpenAI clients read."""
    headers = {"x-request-id": e.request_id or ""}
    if e.retry_after is not None:
        headers["retry-after"] = str(int(e.retry_after))
    return httpx.Response(e.status or 500, headers=headers,
                          json={"error": {"message": str(e), "type": e.kind, "code": e.kind}})


class _Base(n.Transport):
    def __init__(self) -> None:
        self.kept: Dict[int, httpx.Response] = {}
        self.bodies: Dict[int, Tuple[Optional[bytes], List[Tuple[str, str]]]] = {}
        self.ready = threading.Condition()

    def put_body(self, call: int, body: Tuple[Optional[bytes], List[Tuple[str, str]]]) -> None:
        with self.ready:
            self.bodies[call] = body
            self.ready.notify_all()

    def build(self, req: Any) -> httpx.Request:
        headers = [(h.name, h.value) for h in req.headers]
        content = req.body
        if req.call is not None:
            with self.ready:  # a retry may be sent before start() has returned the call id
                self.ready.wait_for(lambda: req.call in self.bodies, timeout=2)
                content, extra = self.bodies.get(req.call, (None, []))
            headers += extra
        t = req.timeout_ms / 1000
        timeout = {"connect": min(t, 10.0), "read": t, "write": t, "pool": t}
        return httpx.Request(req.method, req.url, headers=headers, content=content,
                             extensions={"timeout": timeout})

    def answer(self, req: Any, reply: Any, resp: httpx.Response) -> bool:
        """Answers a 2xx app-call head (keeping the body) and says True, else False."""
        if req.body_rule == n.BodyRule.KEEP_SUCCESS and 200 <= resp.status_code < 300:
            self.kept[req.id] = resp
            reply.response_head(resp.status_code, _head(resp), b"")
            return True
        return False


def _head(resp: httpx.Response) -> bytes:
    return b"\n".join([k + b": " + v for k, v in resp.headers.raw])


def _limit(req: Any) -> int:
    return 65536 if req.body_rule == n.BodyRule.WHOLE else 4096


class SyncTransport(_Base):
    """Threads: the caller sends inline; other sends go to a small pool."""

    def __init__(self, http: httpx.BaseTransport) -> None:
        super().__init__()
        self.http = http
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
                reply.failed(n.TransportError.ABORTED)

    def release(self, request_id: int) -> None:
        resp = self.kept.pop(request_id, None)
        if resp is not None:
            resp.close()

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
        try:
            hreq = self.build(req)
            resp = self.http.handle_request(hreq)
            resp.request = hreq
        except httpx.HTTPError as e:
            return reply.failed(kind_of(e))
        except BaseException:
            reply.failed(n.TransportError.ABORTED)
            raise
        try:
            if self.answer(req, reply, resp):
                return None
            body = resp.read()[:_limit(req)]
            resp.close()
        except httpx.HTTPError:
            resp.close()
            return reply.failed(n.TransportError.ABORTED)
        except BaseException:
            resp.close()
            reply.failed(n.TransportError.ABORTED)
            raise
        return reply.response_head(resp.status_code, _head(resp), body)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.http.close()


class AsyncTransport(_Base):
    """asyncio: the calling task sends inline; other sends become tasks on its loop."""

    def __init__(self, http: httpx.AsyncBaseTransport) -> None:
        super().__init__()
        self.http = http
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
                                 kind="misuse")

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
            reply.failed(n.TransportError.ABORTED)
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
            task.cancel()
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
        try:
            hreq = self.build(req)
            resp = await self.http.handle_async_request(hreq)
            resp.request = hreq
            if not self.answer(req, reply, resp):
                try:
                    body = (await resp.aread())[:_limit(req)]
                finally:
                    await resp.aclose()
                reply.response_head(resp.status_code, _head(resp), body)
        except httpx.HTTPError as e:
            reply.failed(kind_of(e))
        except BaseException:
            reply.failed(n.TransportError.ABORTED)
            raise


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
