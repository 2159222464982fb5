"""Exceptions: one base class with the core's classification, and the subclasses to catch."""

from __future__ import annotations

import enum
from typing import Any, Optional


class ErrorKind(str, enum.Enum):
    """Why a call failed: the core's ``ErrorKind`` names (equal to their strings)."""

    INVALID_API_KEY = "invalid_api_key"
    SESSION_EXPIRED = "session_expired"
    NO_SESSION = "no_session"
    CDN_BLOCKED = "cdn_blocked"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    BILLING = "billing"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    NETWORK = "network"
    MALFORMED_RESPONSE = "malformed_response"
    UNEXPECTED_STATUS = "unexpected_status"
    INVALID_CONFIG = "invalid_config"
    KEY_IN_BROWSER = "key_in_browser"
    INVALID_CALL = "invalid_call"
    CANCELLED = "cancelled"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


class PolarGridError(Exception):
    """A PolarGrid call failed; ``kind`` (an ``ErrorKind``, equal to its name) says why.

    ``cause`` and ``fix`` are one line each; ``transport`` names the failure below HTTP for
    ``network`` (``dns``, ``connect``, ``tls``, ``connect_timeout``, ``timeout``, ``aborted``,
    ``protocol``, ``opaque``). No field, ``str`` or ``repr`` ever holds the API key, a JWT or
    a refresh token.
    """

    kind: ErrorKind
    transport: Optional[str]
    status: Optional[int]
    retryable: bool
    retry_after: Optional[float]
    request_id: Optional[str]
    cause: str
    fix: str
    server_message: Optional[str]
    attempts: int

    def __init__(self, message: str, *, kind: "ErrorKind | str", transport: Optional[str] = None,
                 status: Optional[int] = None, retryable: bool = False, retry_after: Optional[float] = None,
                 request_id: Optional[str] = None, cause: str = "", fix: str = "",
                 server_message: Optional[str] = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.kind, self.transport, self.status = ErrorKind(kind), transport, status
        self.retryable, self.retry_after = retryable, retry_after
        self.request_id, self.cause, self.fix = request_id, cause, fix
        self.server_message, self.attempts = server_message, attempts

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind.value!r}, status={self.status!r}, request_id={self.request_id!r})"


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
    """The request failed below HTTP (``network``; ``transport`` says how)."""


class UnexpectedResponseError(PolarGridError):
    """An answer the protocol does not use (``malformed_response``, ``unexpected_status``)."""


class ConfigError(PolarGridError, ValueError):
    """The configuration was refused at construction (``invalid_config``, ``key_in_browser``)."""


class InvalidCallError(PolarGridError, ValueError):
    """The call was refused before any request (``invalid_call``: path, method, header, grant)."""


class ClientClosedError(PolarGridError):
    """The client was closed (``closed``)."""


_BY_KIND = {
    "invalid_api_key": AuthenticationError, "session_expired": AuthenticationError,
    "no_session": AuthenticationError, "cdn_blocked": PermissionDeniedError,
    "insufficient_scope": PermissionDeniedError, "billing": BillingError,
    "validation": BadRequestError, "not_found": NotFoundError, "rate_limited": RateLimitError,
    "server": InternalServerError, "network": APIConnectionError,
    "malformed_response": UnexpectedResponseError, "unexpected_status": UnexpectedResponseError,
    "invalid_config": ConfigError, "key_in_browser": ConfigError, "invalid_call": InvalidCallError,
    "closed": ClientClosedError,
}


def from_failure(f: Any) -> PolarGridError:
    """Builds the exception for a native ``Failure`` (its fields, never its text parsed)."""
    kind = f.kind.name.lower()
    retry = None if f.retry_after_ms is None else f.retry_after_ms / 1000
    return _BY_KIND.get(kind, PolarGridError)(
        f.message, kind=kind, transport=None if f.transport is None else f.transport.name.lower(),
        status=f.status, retryable=f.retryable, retry_after=retry, request_id=f.request_id,
        cause=f.cause, fix=f.fix, server_message=f.server_message, attempts=f.attempts)


def from_native(e: Any) -> PolarGridError:
    """The public exception for a native ``PolarGridError`` (one shape: ``failure``)."""
    return from_failure(e.failure)
