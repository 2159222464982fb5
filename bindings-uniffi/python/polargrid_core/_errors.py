"""Exceptions: one base class with the core's classification, and the subclasses to catch."""

from __future__ import annotations

from typing import Any, Optional


class PolarGridError(Exception):
    """A PolarGrid call failed; ``kind`` says why (``rate_limited``, ``invalid_api_key``, …).

    ``cause`` and ``fix`` are one line each. No field, ``str`` or ``repr`` ever holds the
    API key, a JWT or a refresh token.
    """

    kind: str
    status: Optional[int]
    retryable: bool
    retry_after: Optional[float]
    request_id: Optional[str]
    cause: str
    fix: str
    server_message: Optional[str]
    attempts: int

    def __init__(self, message: str, *, kind: str = "error", status: Optional[int] = None,
                 retryable: bool = False, retry_after: Optional[float] = None,
                 request_id: Optional[str] = None, cause: str = "", fix: str = "",
                 server_message: Optional[str] = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.kind, self.status, self.retryable, self.retry_after = kind, status, retryable, retry_after
        self.request_id, self.cause, self.fix = request_id, cause, fix
        self.server_message, self.attempts = server_message, attempts

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, status={self.status!r}, request_id={self.request_id!r})"


class AuthenticationError(PolarGridError):
    """The key or session was refused (``invalid_api_key``, ``session_expired``, ``no_session``)."""


class PermissionDeniedError(PolarGridError):
    """403: the key's permission level (``insufficient_scope``) or the CDN (``cdn_blocked``)."""


class BillingError(PolarGridError):
    """402: no credits or no payment method (``billing``)."""


class BadRequestError(PolarGridError):
    """400/422: the request was malformed (``validation``)."""


class NotFoundError(PolarGridError):
    """404: no such endpoint or model (``not_found``)."""


class RateLimitError(PolarGridError):
    """429 (``rate_limited``); ``retry_after`` says when to come back, in seconds."""


class InternalServerError(PolarGridError):
    """5xx from the service (``server``)."""


class APIConnectionError(PolarGridError):
    """The request failed below HTTP (``network``: DNS, connect, TLS, timeout, broken)."""


class UnexpectedResponseError(PolarGridError):
    """An answer the protocol does not use (``malformed_response``, ``unexpected_status``)."""


class ConfigError(PolarGridError, ValueError):
    """The configuration was rejected at construction; the message says how to fix it."""


class ClientClosedError(PolarGridError):
    """The client was closed."""


_BY_KIND = {
    "invalid_api_key": AuthenticationError, "session_expired": AuthenticationError,
    "no_session": AuthenticationError, "cdn_blocked": PermissionDeniedError,
    "insufficient_scope": PermissionDeniedError, "billing": BillingError,
    "validation": BadRequestError, "not_found": NotFoundError, "rate_limited": RateLimitError,
    "server": InternalServerError, "network": APIConnectionError,
    "malformed_response": UnexpectedResponseError, "unexpected_status": UnexpectedResponseError,
}


def from_failure(f: Any) -> PolarGridError:
    """Builds the exception for a native ``CallFailure``."""
    cls = _BY_KIND.get(f.kind, PolarGridError)
    retry = None if f.retry_after_ms is None else f.retry_after_ms / 1000
    return cls(f.message, kind=f.kind, status=f.status, retryable=f.retryable, retry_after=retry,
               request_id=f.request_id, cause=f.cause, fix=f.fix,
               server_message=f.server_message, attempts=f.attempts)


def from_native(e: Exception) -> BaseException:
    """Sorts a native ``PolarGridError`` into the public classes."""
    name = type(e).__name__
    if name == "Call":
        return from_failure(e.failure)  # type: ignore[attr-defined]
    if name == "Config":
        return ConfigError(e.message, kind="config")  # type: ignore[attr-defined]
    if name == "Misuse":
        return PolarGridError(e.message, kind="misuse")  # type: ignore[attr-defined]
    if name == "Closed":
        return ClientClosedError("the client is closed", kind="closed")
    return PolarGridError("the call was cancelled", kind="cancelled")
