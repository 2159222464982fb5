"""``PolarGrid`` and ``AsyncPolarGrid``: thin skins over the shared Rust driver.

Every decision (sessions, routing, retries, classification) is made by the core; this
module only turns arguments into options, bodies into requests and failures into
exceptions.
"""

from __future__ import annotations

import json as _json
import os
import struct
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from ._errors import from_native

if TYPE_CHECKING:
    import httpx

__version__ = "0.1.0"
#: The base URL to give an OpenAI client that runs through a PolarGrid transport: only
#: its path is used; the transport routes to the right edge.
BASE_URL = "https://polargrid.invalid/v1"


def _ms(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else max(1, int(seconds * 1000))


_loaded: Any = None
_U16, _U32 = struct.Struct(">H").pack, struct.Struct(">I").pack
# blocks.rs NOT_GIVEN (u64::MAX): "the client's own" deadline or timeout; a 0 reaches the core.
_NOT_GIVEN = 2**64 - 1
_NO_DEADLINE = _NOT_GIVEN.to_bytes(8, "big")


def _native() -> Any:
    global _loaded
    if _loaded is None:
        from . import _native as n  # loads the library on first use: keeps the import fast
        _loaded = n
    return _loaded


def _call_block(method: str, path: str, content: Optional[bytes], headers: List[Tuple[str, str]]) -> bytes:
    """The call as ``Driver.start_block`` reads it: the header count, the call's deadline (``_NOT_GIVEN``:
    the client's ``call_deadline``), then method, path and each header's name and value
    length-prefixed, then the body (one argument, no records)."""
    parts = [_U16(len(headers)), _NO_DEADLINE]
    for field in [method, path, *(x for h in headers for x in h)]:
        b = field.encode()
        parts += (_U32(len(b)), b)
    if content:
        parts.append(content)
    return b"".join(parts)


class _Client:
    def __init__(self, api_key: Optional[str], mode: str, region: Optional[str], scope: str,
                 base_url: Optional[str], endpoints: Union[str, Mapping[str, Any], None],
                 session: Optional[str], on_session: Optional[Callable[[Optional[str]], None]],
                 max_attempts: Optional[int], failover_pinned: bool, seed: Optional[int],
                 backoff_ms: Optional[Tuple[int, int]], clock_offset_ms: int, timeout: Optional[float],
                 call_deadline: Optional[float], connect_timeout: Optional[float], auth_timeout: Optional[float],
                 transport: Any) -> None:
        n = _native()
        from . import _http
        if api_key is None and mode != "handoff":
            api_key = os.environ.get("POLARGRID_API_KEY")
        if endpoints is not None and not isinstance(endpoints, str):
            endpoints = _json.dumps(endpoints)
        options = n.Options(
            api_key=api_key, mode=mode, region=region, base_url=base_url, scope=scope,
            endpoints_json=endpoints, session_json=session, failover_pinned=failover_pinned,
            max_attempts=max_attempts, backoff_base_ms=backoff_ms[0] if backoff_ms else None,
            backoff_max_ms=backoff_ms[1] if backoff_ms else None, request_timeout_ms=_ms(timeout),
            call_deadline_ms=_ms(call_deadline), connect_timeout_ms=_ms(connect_timeout),
            auth_timeout_ms=_ms(auth_timeout),
            user_agent=f"polargrid-core-python/{__version__}", seed=seed, clock_offset_ms=clock_offset_ms)
        self._t = transport
        listener = _http.Listener(on_session) if on_session is not None else None
        try:
            self._driver = n.Driver.with_blocks(options, transport, listener)
        except n.PolarGridError as e:
            raise from_native(e) from None
        transport.bind_driver(self._driver)
        self._inline = _http.inline
        self._regions: Dict[int, Optional[str]] = {1: None}
        self.base_url = BASE_URL

    def _start(self, method: str, path: str, content: Optional[bytes], headers: List[Tuple[str, str]],
               timeout: Optional[float], q: List[Any]) -> int:
        """Starts the call (one block in); the requests its start sent come back in the same
        crossing and go first in ``q``, which this thread sends inline."""
        call, reqs = self._inline(self._driver.start_inline(_call_block(method, path, content, headers), _NOT_GIVEN if timeout is None else _ms(timeout)))
        q[:0] = reqs
        return call

    def _region(self, code: int) -> Optional[str]:
        """The region an ending code names (``Driver.region_name``, asked once per code)."""
        if code not in self._regions:
            self._regions[code] = self._driver.region_name(code)
        return self._regions[code]

    def hand_over(self, grant: Union[str, Mapping[str, Any]]) -> None:
        """Hands over a session your backend minted (the auth service's JSON answer, as is)."""
        self._native_call(self._driver.hand_over, grant if isinstance(grant, str) else _json.dumps(grant))

    def logout(self) -> None:
        """Forgets the session; ``on_session(None)`` follows. The next call exchanges the key again."""
        self._driver.logout()

    @property
    def session(self) -> Optional[str]:
        """The session snapshot to persist (JSON; holds secrets), or None."""
        snap: Optional[str] = self._driver.session_snapshot()
        return snap

    @property
    def session_status(self) -> str:
        """``none``, ``exchanging``, ``active``, ``refreshing``, ``ended`` or ``direct``."""
        return str(self._driver.session_state().name.lower())

    @property
    def region(self) -> Optional[str]:
        """The region the last call went to."""
        r: Optional[str] = self._driver.current_region()
        return r

    def advance_clock(self, ms: int) -> None:
        """Moves this client's clock by ``ms`` (tests and demos: expire a JWT without waiting)."""
        self._driver.advance_clock(ms)

    def _native_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except _native().PolarGridError as e:
            raise from_native(e) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} session={self.session_status} region={self.region}>"


def _body(json: Any, content: Union[str, bytes, None], headers: Optional[Mapping[str, str]]
          ) -> Tuple[Optional[bytes], List[Tuple[str, str]]]:
    hdrs = list(headers.items()) if headers else []
    if json is not None:
        content = _json.dumps(json).encode()
        hdrs.append(("Content-Type", "application/json"))
    elif isinstance(content, str):
        content = content.encode()
    return content, hdrs


class PolarGrid(_Client):
    """A PolarGrid client for threads: one per app, shared by any number of threads.

    ``PolarGrid()`` reads ``POLARGRID_API_KEY``. ``mode`` is ``session`` (exchange the key
    for a JWT; default), ``direct`` (key straight to the edges) or ``handoff`` (sessions
    from your backend via ``hand_over``). ``region`` pins a region, ``base_url`` an edge,
    ``scope`` is ``country`` or ``global``. ``endpoints`` points at another PolarGrid (the
    emulator's start-up JSON, str or dict, as is). ``session`` restores a snapshot saved
    from ``on_session(snapshot_or_none)``. A bad configuration raises ``ConfigError``.
    ``timeout`` bounds each attempt's wait for the answer head (s, default 60),
    ``call_deadline`` a call as a whole (s, default twice ``timeout``; a stream's body is
    never cut), ``connect_timeout`` connecting (s, default 10), ``auth_timeout`` each key
    exchange or refresh (s, default 10).
    Advanced/test options: ``failover_pinned``, ``seed``, ``backoff_ms=(base, max)``,
    ``clock_offset_ms`` (start with the client's clock moved). ``http_transport`` replaces
    the httpx transport underneath (proxies, TLS settings, connection limits).
    """

    def __init__(self, api_key: Optional[str] = None, *, mode: str = "session", region: Optional[str] = None,
                 scope: str = "country", base_url: Optional[str] = None,
                 endpoints: Union[str, Mapping[str, Any], None] = None, session: Optional[str] = None,
                 on_session: Optional[Callable[[Optional[str]], None]] = None,
                 max_attempts: Optional[int] = None, failover_pinned: bool = False,
                 seed: Optional[int] = None, backoff_ms: Optional[Tuple[int, int]] = None,
                 clock_offset_ms: int = 0, timeout: Optional[float] = None,
                 call_deadline: Optional[float] = None, connect_timeout: Optional[float] = None,
                 auth_timeout: Optional[float] = None,
                 http_transport: "Optional[httpx.BaseTransport]" = None) -> None:
        import httpx
        from . import _http
        super().__init__(api_key, mode, region, scope, base_url, endpoints, session, on_session, max_attempts,
                         failover_pinned, seed, backoff_ms, clock_offset_ms, timeout, call_deadline,
                         connect_timeout, auth_timeout,
                         _http.SyncTransport(http_transport or httpx.HTTPTransport()))

    def _call(self, method: str, path: str, content: Optional[bytes], headers: List[Tuple[str, str]],
              timeout: Optional[float]) -> "httpx.Response":
        n, t, q = _native(), self._t, []  # sends this call causes run inline, on this thread
        prev, t.local.q, call = getattr(t.local, "q", None), q, None
        try:
            call = self._start(method, path, content, headers, timeout, q)
            code, rid = t.drain(q, call)  # usually ends the call: its ending came with the answer
            if code:
                resp = t.kept.pop(rid)
                resp.extensions["polargrid_region"] = self._region(code)
                return resp
            while (r := self._driver.wait_blocking(call, 100)) is None:
                pass  # slices keep Ctrl-C deliverable
            resp = t.kept.pop(r.request_id)
            resp.extensions["polargrid_region"] = r.region
            return resp
        except n.PolarGridError as e:
            raise from_native(e) from None
        except BaseException:
            if call is not None:
                self._driver.cancel(call)
            raise
        finally:
            t.local.q = prev
            for req in q:
                t.pool().submit(t.worker, req)

    def request(self, method: str, path: str, *, json: Any = None, content: Union[str, bytes, None] = None,
                headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> "httpx.Response":
        """Makes one call (``path`` like ``/v1/models``) and returns the read ``httpx.Response``.

        Raises a ``PolarGridError`` subclass once the core gives up (after its retries).
        """
        body, hdrs = _body(json, content, headers)
        resp = self._call(method, path, body, hdrs, timeout)
        try:
            resp.read()
        finally:
            resp.close()
        return resp

    @contextmanager
    def stream(self, method: str, path: str, *, json: Any = None, content: Union[str, bytes, None] = None,
               headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None
               ) -> Iterator["httpx.Response"]:
        """Like ``request`` but the body is not read: iterate ``iter_lines()``/``iter_bytes()`` (SSE, audio)."""
        body, hdrs = _body(json, content, headers)
        resp = self._call(method, path, body, hdrs, timeout)
        try:
            yield resp
        finally:
            resp.close()

    def close(self) -> None:
        """Ends open calls, stops the driver's timer and closes connections. Idempotent."""
        self._driver.close()
        self._t.close()

    def __enter__(self) -> "PolarGrid":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncPolarGrid(_Client):
    """The asyncio twin of ``PolarGrid`` (same arguments); share one per event loop.

    1,000 tasks may call at once; cancelling a task cancels its call.
    """

    def __init__(self, api_key: Optional[str] = None, *, mode: str = "session", region: Optional[str] = None,
                 scope: str = "country", base_url: Optional[str] = None,
                 endpoints: Union[str, Mapping[str, Any], None] = None, session: Optional[str] = None,
                 on_session: Optional[Callable[[Optional[str]], None]] = None,
                 max_attempts: Optional[int] = None, failover_pinned: bool = False,
                 seed: Optional[int] = None, backoff_ms: Optional[Tuple[int, int]] = None,
                 clock_offset_ms: int = 0, timeout: Optional[float] = None,
                 call_deadline: Optional[float] = None, connect_timeout: Optional[float] = None,
                 auth_timeout: Optional[float] = None,
                 http_transport: "Optional[httpx.AsyncBaseTransport]" = None) -> None:
        import httpx
        from . import _http
        super().__init__(api_key, mode, region, scope, base_url, endpoints, session, on_session, max_attempts,
                         failover_pinned, seed, backoff_ms, clock_offset_ms, timeout, call_deadline,
                         connect_timeout, auth_timeout,
                         _http.AsyncTransport(http_transport or httpx.AsyncHTTPTransport()))

    async def _call(self, method: str, path: str, content: Optional[bytes], headers: List[Tuple[str, str]],
                    timeout: Optional[float]) -> "httpx.Response":
        n, t, q = _native(), self._t, []
        t.bind()
        token, call = t.q.set(q), None
        try:
            call = self._start(method, path, content, headers, timeout, q)
            code, rid = await t.drain(q, call)  # usually ends the call: its ending came with the answer
            if code:
                resp = t.kept.pop(rid)
                resp.extensions["polargrid_region"] = self._region(code)
                return resp
            r = self._driver.wait_blocking(call, 0)  # maybe done already: skip the future
            if r is None:
                r = await self._driver.wait(call)  # cancelling this task cancels the call
            resp = t.kept.pop(r.request_id)
            resp.extensions["polargrid_region"] = r.region
            return resp
        except n.PolarGridError as e:
            raise from_native(e) from None
        except BaseException:
            if call is not None:
                self._driver.cancel(call)
            raise
        finally:
            t.q.reset(token)
            for req in q:
                t.spawn(req)

    async def request(self, method: str, path: str, *, json: Any = None, content: Union[str, bytes, None] = None,
                      headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None
                      ) -> "httpx.Response":
        """Makes one call and returns the read ``httpx.Response`` (see ``PolarGrid.request``)."""
        body, hdrs = _body(json, content, headers)
        resp = await self._call(method, path, body, hdrs, timeout)
        try:
            await resp.aread()
        finally:
            await resp.aclose()
        return resp

    @asynccontextmanager
    async def stream(self, method: str, path: str, *, json: Any = None, content: Union[str, bytes, None] = None,
                     headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None
                     ) -> AsyncIterator["httpx.Response"]:
        """Like ``request`` with the body unread: ``async for line in resp.aiter_lines()``."""
        body, hdrs = _body(json, content, headers)
        resp = await self._call(method, path, body, hdrs, timeout)
        try:
            yield resp
        finally:
            await resp.aclose()

    async def aclose(self) -> None:
        """Ends open calls, stops the driver's timer and closes connections. Idempotent."""
        self.close()
        await self._t.http.aclose()

    def close(self) -> None:
        """Ends open calls and stops the driver's timer (``aclose`` also closes connections)."""
        self._driver.close()

    async def __aenter__(self) -> "AsyncPolarGrid":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

