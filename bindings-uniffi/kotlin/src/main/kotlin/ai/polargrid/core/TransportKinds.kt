package ai.polargrid.core

import ai.polargrid.core.ffi.TransportError
import ai.polargrid.core.ffi.HttpRequest as CoreRequest

/**
 * The transport kinds and request fields the generated records do not carry yet (the uniffi
 * records gain `connect_timeout`, `protocol`, `opaque` and `connect_timeout_ms`): until then the
 * nearest kind with the same certainty.
 */
internal object TransportKinds {
    /** `connect_timeout` (certain: nothing reached the server), as `connect` until the records have it. */
    val CONNECT_TIMEOUT: TransportError = TransportError.CONNECT
    /** `protocol` (ambiguous), as `aborted` until the records have it. */
    val PROTOCOL: TransportError = TransportError.ABORTED
    /** The request's connect timeout, when the record carries one. */
    @Suppress("UNUSED_PARAMETER")
    fun connectTimeoutMs(request: CoreRequest): Long? = null
}
