package ai.polargrid.core

import ai.polargrid.core.ffi.ErrorKind
import ai.polargrid.core.ffi.Failure
import ai.polargrid.core.ffi.PolarGridException as FfiError

/**
 * Every failure of a PolarGrid call, classified by the core. Catch the subclass you can act on,
 * or this class and read its fields. No field, message or `toString` ever holds the API key, a JWT
 * or a refresh token.
 *
 * @property kind the core's stable lowercase class (`invalid_api_key`, `rate_limited`, `network`,
 *   `invalid_config`, `invalid_call`, `closed`, …: `polargrid_core::ErrorKind::NAMES`)
 * @property status the HTTP status, when there was an answer
 * @property retryable whether the same call may succeed later
 * @property retryAfterMs how long the server asked to wait (`Retry-After`), in ms (a `Long`, not a
 *   `java.time.Duration`: Android has `java.time` only from API 26)
 * @property requestId the `X-Request-ID` that was sent, for support tickets
 * @property causeText one line: what happened (`cause` in the Python and Swift packages; in Kotlin
 *   `Throwable.cause` already names the chained exception)
 * @property fix one line: how to fix it
 * @property serverMessage the server's own message, scrubbed and bounded
 * @property attempts how many attempts were made (0 when none was)
 */
sealed class PolarGridException(f: Failure) : Exception(f.message) {
    val kind: String = f.kind.name.lowercase()
    val status: Int? = f.status?.toInt()
    val retryable: Boolean = f.retryable
    val retryAfterMs: Long? = f.retryAfterMs?.toLong()
    val requestId: String? = f.requestId
    val causeText: String = f.cause
    val fix: String = f.fix
    val serverMessage: String? = f.serverMessage
    val attempts: Int = f.attempts.toInt()

    override fun toString(): String = "${javaClass.simpleName}(kind=$kind, status=$status, retryable=$retryable, requestId=$requestId): $message"

    /** The key is invalid or revoked, or the session ended (`invalid_api_key`, `session_expired`, `no_session`). */
    class Authentication internal constructor(f: Failure) : PolarGridException(f)
    /** Refused before or by the service: a CDN block or a key without the scope (`cdn_blocked`, `insufficient_scope`). */
    class PermissionDenied internal constructor(f: Failure) : PolarGridException(f)
    /** No credits or no payment method (`billing`). */
    class Billing internal constructor(f: Failure) : PolarGridException(f)
    /** The request was rejected as invalid (`validation`). */
    class InvalidRequest internal constructor(f: Failure) : PolarGridException(f)
    /** No such path or model (`not_found`). */
    class NotFound internal constructor(f: Failure) : PolarGridException(f)
    /** Too many requests; see [retryAfterMs] (`rate_limited`). */
    class RateLimited internal constructor(f: Failure) : PolarGridException(f)
    /** The service failed (`server`). */
    class Server internal constructor(f: Failure) : PolarGridException(f)
    /**
     * No answer (`network`): [transport] says how, in the core's words — `dns`, `connect`, `tls`,
     * `connect_timeout` (nothing reached the server), `timeout`, `aborted`, `protocol` or `opaque`.
     */
    class Connection internal constructor(f: Failure) : PolarGridException(f) { val transport: String? = f.transport?.name?.lowercase() }
    /** An answer the client could not use, or a redirect (never followed) (`malformed_response`, `unexpected_status`). */
    class UnexpectedResponse internal constructor(f: Failure) : PolarGridException(f)
    /** The configuration was rejected at construction; [fix] says how to fix it (`invalid_config`, `key_in_browser`). */
    class Config internal constructor(f: Failure) : PolarGridException(f)
    /** The client was used wrongly: a bad path, header, snapshot or grant (`invalid_call`). */
    class Misuse internal constructor(f: Failure) : PolarGridException(f)
    /** The client was closed (`closed`). */
    class Closed internal constructor(f: Failure) : PolarGridException(f)

    internal companion object {
        fun from(f: Failure): PolarGridException = when (f.kind) {
            ErrorKind.INVALID_API_KEY, ErrorKind.SESSION_EXPIRED, ErrorKind.NO_SESSION -> Authentication(f)
            ErrorKind.CDN_BLOCKED, ErrorKind.INSUFFICIENT_SCOPE -> PermissionDenied(f)
            ErrorKind.BILLING -> Billing(f)
            ErrorKind.VALIDATION -> InvalidRequest(f)
            ErrorKind.NOT_FOUND -> NotFound(f)
            ErrorKind.RATE_LIMITED -> RateLimited(f)
            ErrorKind.SERVER -> Server(f)
            ErrorKind.NETWORK -> Connection(f)
            ErrorKind.MALFORMED_RESPONSE, ErrorKind.UNEXPECTED_STATUS -> UnexpectedResponse(f)
            ErrorKind.INVALID_CONFIG, ErrorKind.KEY_IN_BROWSER -> Config(f)
            ErrorKind.INVALID_CALL -> Misuse(f)
            // A cancelled call reaches the app as its coroutine's cancellation (see the other from).
            ErrorKind.CANCELLED, ErrorKind.CLOSED -> Closed(f)
        }

        /** Sorts the driver's errors; `cancelled` becomes the coroutine's own cancellation. */
        fun from(e: FfiError): Exception = when (e) {
            is FfiError.Failed ->
                if (e.failure.kind == ErrorKind.CANCELLED) kotlinx.coroutines.CancellationException(e.failure.cause)
                else from(e.failure)
        }

        /** The client closed under a call that had already won its answer. */
        fun closed(): PolarGridException = Closed(
            Failure(kind = ErrorKind.CLOSED, transport = null, status = null, retryable = false, retryAfterMs = null,
                requestId = null, cause = "the client is closed", fix = "create a new PolarGrid", serverMessage = null,
                attempts = 0u, message = "closed: the client is closed. Fix: create a new PolarGrid"),
        )
    }
}
