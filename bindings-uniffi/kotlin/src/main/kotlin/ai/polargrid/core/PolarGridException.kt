package ai.polargrid.core

import ai.polargrid.core.ffi.CallFailure
import ai.polargrid.core.ffi.PolarGridException as FfiError

/**
 * Every failure of a PolarGrid call, classified by the core. Catch the subclass you can act on,
 * or this class and read its fields. No field, message or `toString` ever holds the API key, a JWT
 * or a refresh token.
 *
 * @property kind stable lowercase class (`invalid_api_key`, `rate_limited`, `network`, …; `config`,
 *   `misuse` and `closed` for the client's own errors)
 * @property status the HTTP status, when there was an answer
 * @property retryable whether the same call may succeed later
 * @property retryAfterMs how long the server asked to wait (`Retry-After`), in ms (a `Long`, not a
 *   `java.time.Duration`: Android has `java.time` only from API 26)
 * @property requestId the `X-Request-ID` that was sent, for support tickets
 * @property causeText one line: what happened (`cause` in the Python and Swift packages; in Kotlin
 *   `Throwable.cause` already names the chained exception)
 * @property fix one line: how to fix it
 * @property serverMessage the server's own message, scrubbed and bounded
 */
sealed class PolarGridException(
    val kind: String,
    val status: Int?,
    val retryable: Boolean,
    val retryAfterMs: Long?,
    val requestId: String?,
    val causeText: String,
    val fix: String,
    val serverMessage: String?,
    message: String,
) : Exception(message) {
    private constructor(f: CallFailure) : this(
        f.kind, f.status?.toInt(), f.retryable, f.retryAfterMs?.toLong(),
        f.requestId, f.cause, f.fix, f.serverMessage, f.message,
    )
    private constructor(kind: String, message: String, fix: String) :
        this(kind, null, false, null, null, message, fix, null, message)

    override fun toString(): String = "${javaClass.simpleName}(kind=$kind, status=$status, retryable=$retryable, requestId=$requestId): $message"

    /** The key is invalid or revoked, or the session ended (`invalid_api_key`, `session_expired`, `no_session`). */
    class Authentication internal constructor(f: CallFailure) : PolarGridException(f)
    /** Refused before or by the service: a CDN block or a key without the scope (`cdn_blocked`, `insufficient_scope`). */
    class PermissionDenied internal constructor(f: CallFailure) : PolarGridException(f)
    /** No credits or no payment method (`billing`). */
    class Billing internal constructor(f: CallFailure) : PolarGridException(f)
    /** The request was rejected as invalid (`validation`). */
    class InvalidRequest internal constructor(f: CallFailure) : PolarGridException(f)
    /** No such path or model (`not_found`). */
    class NotFound internal constructor(f: CallFailure) : PolarGridException(f)
    /** Too many requests; see [retryAfterMs] (`rate_limited`). */
    class RateLimited internal constructor(f: CallFailure) : PolarGridException(f)
    /** The service failed (`server`). */
    class Server internal constructor(f: CallFailure) : PolarGridException(f)
    /** No answer: DNS, connect, TLS, timeout or a broken connection (`network`); [transport] says which. */
    class Connection internal constructor(f: CallFailure) : PolarGridException(f) { val transport: String? = f.transport }
    /** An answer the client could not use (`malformed_response`, `unexpected_status`, or a kind newer than this package). */
    class UnexpectedResponse internal constructor(f: CallFailure) : PolarGridException(f)
    /** The configuration was rejected at construction; [fix] says how to fix it (`config`). */
    class Config internal constructor(message: String) : PolarGridException("config", message, fixOf(message))
    /** The client was used wrongly: bad path, unreadable snapshot or grant (`misuse`). */
    class Misuse internal constructor(message: String) : PolarGridException("misuse", message, fixOf(message))
    /** The client was closed (`closed`). */
    class Closed internal constructor() : PolarGridException("closed", "the client is closed", "create a new PolarGrid")

    internal companion object {
        /** The core writes "…; fix: …" into configuration and misuse messages. */
        private fun fixOf(message: String): String = message.substringAfter("fix: ", "").ifEmpty { message }

        fun from(f: CallFailure): PolarGridException = when (f.kind) {
            "invalid_api_key", "session_expired", "no_session" -> Authentication(f)
            "cdn_blocked", "insufficient_scope" -> PermissionDenied(f)
            "billing" -> Billing(f)
            "validation" -> InvalidRequest(f)
            "not_found" -> NotFound(f)
            "rate_limited" -> RateLimited(f)
            "server" -> Server(f)
            "network" -> Connection(f)
            else -> UnexpectedResponse(f)
        }

        /** Sorts the driver's errors; `Cancelled` becomes the coroutine's own cancellation. */
        fun from(e: FfiError): Exception = when (e) {
            is FfiError.Call -> from(e.failure)
            is FfiError.Config -> Config(e.detail)
            is FfiError.Misuse -> Misuse(e.detail)
            is FfiError.Cancelled -> kotlinx.coroutines.CancellationException("the call was cancelled")
            is FfiError.Closed -> Closed()
        }
    }
}
