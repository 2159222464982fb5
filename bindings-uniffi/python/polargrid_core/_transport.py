"""httpx transports that run any httpx client (and so ``openai.OpenAI``) through PolarGrid."""

from __future__ import annotations

import httpx

from . import _http
from ._client import AsyncPolarGrid, PolarGrid
from ._errors import PolarGridError


def _timeout(request: httpx.Request) -> "float | None":
    read = request.extensions.get("timeout", {}).get("read")
    return float(read) if isinstance(read, (int, float)) else None


class PolarGridTransport(httpx.BaseTransport):
    """Sends every request of an ``httpx.Client`` through ``pg``: routed, authorised, retried.

    Only the URL's path is used. A failure the core classified with a status comes back as
    that status with an OpenAI-style JSON error body (so ``openai`` raises its own typed
    errors); one without a status raises ``PolarGridError``. Give ``openai`` ``max_retries=0``:
    the core already retries.
    """

    def __init__(self, pg: PolarGrid) -> None:
        self._pg = pg

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        try:
            return self._pg._call(request.method, request.url.raw_path.decode("ascii"), content,
                                  _http.app_headers(request.headers), _timeout(request))
        except PolarGridError as e:
            if e.status is None:
                raise
            return _http.error_response(e)


class AsyncPolarGridTransport(httpx.AsyncBaseTransport):
    """The ``httpx.AsyncClient`` (and ``openai.AsyncOpenAI``) twin of ``PolarGridTransport``."""

    def __init__(self, pg: AsyncPolarGrid) -> None:
        self._pg = pg

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        try:
            return await self._pg._call(request.method, request.url.raw_path.decode("ascii"), content,
                                        _http.app_headers(request.headers), _timeout(request))
        except PolarGridError as e:
            if e.status is None:
                raise
            return _http.error_response(e)
