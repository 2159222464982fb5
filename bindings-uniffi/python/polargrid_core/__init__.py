"""PolarGrid for Python: the polargrid-core engine (sessions, routing, retries, classified
errors) on httpx.

    from polargrid_core import PolarGrid
    pg = PolarGrid()                      # POLARGRID_API_KEY from the environment
    print(pg.request("GET", "/v1/models").json())

``PolarGridTransport`` / ``AsyncPolarGridTransport`` run ``openai.OpenAI`` / ``AsyncOpenAI``
through it. httpx and the native library load on first use, not at import.
"""

from typing import Any

from ._client import BASE_URL, AsyncPolarGrid, PolarGrid, __version__
from ._errors import (APIConnectionError, AuthenticationError, BadRequestError, BillingError,
                      ClientClosedError, ConfigError, ErrorKind, InternalServerError, InvalidCallError,
                      NotFoundError, PermissionDeniedError, PolarGridError, RateLimitError,
                      UnexpectedResponseError)

__all__ = ["PolarGrid", "AsyncPolarGrid", "PolarGridTransport", "AsyncPolarGridTransport", "BASE_URL",
           "PolarGridError", "AuthenticationError", "PermissionDeniedError", "BillingError",
           "BadRequestError", "NotFoundError", "RateLimitError", "InternalServerError",
           "APIConnectionError", "UnexpectedResponseError", "ConfigError", "InvalidCallError",
           "ClientClosedError", "ErrorKind",
           "__version__"]


def __getattr__(name: str) -> Any:
    """The transports subclass httpx's, so they load httpx: only when asked for."""
    if name in ("PolarGridTransport", "AsyncPolarGridTransport"):
        from . import _transport
        return getattr(_transport, name)
    raise AttributeError(f"module 'polargrid_core' has no attribute {name!r}")
