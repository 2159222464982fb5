package ai.polargrid.core

import java.io.IOException
import java.io.InputStream

/**
 * The HTTP stack a [PolarGrid] client sends on. The default is [UrlConnectionStack]
 * (`java.net.HttpURLConnection`: on every JVM and on Android from API 1, no dependency). An app that
 * already has OkHttp can pass `OkHttpStack(okHttpClient)` (see the package README) or its own.
 *
 * A stack is a pipe, never a policy: it sends exactly the request it is given, **never follows a
 * redirect** (a 3xx is an answer, passed back as it is), and does not retry. Timeouts, retries,
 * failover and error classification are the core's. The client calls [open] on one of its own worker
 * threads, aborts through [Exchange.onAbort] when the core gives up on the request, and maps whatever
 * [open] throws onto the core's transport kinds with one function (see `transportKind` in
 * StackTransport.kt): throw the platform's own exceptions (`UnknownHostException`,
 * `ConnectException`, `SSLException`, `SocketTimeoutException`, other `IOException`s), unwrapped.
 */
interface HttpStack {
    /**
     * Sends [request] and blocks until the answer's head arrived; returns it with the body unread.
     * Call [Exchange.connected] once the connection (and TLS handshake) is up, before the request is
     * written: a failure before that is certain not to have reached the server.
     */
    @Throws(IOException::class)
    fun open(request: Request, exchange: Exchange): Response

    /** What to send. [headers] may hold the API key or a JWT: never log them. */
    class Request(
        /** `GET`, `POST`, … */
        val method: String,
        /** The full URL. */
        val url: String,
        /** Every header to send, in order (names as given). */
        val headers: List<Pair<String, String>>,
        /** The body, or null for none. */
        val body: ByteArray?,
        /** How long connecting (DNS, TCP, TLS) may take, in ms (the core's `connect_timeout`). */
        val connectTimeoutMs: Int,
        /**
         * How long one read may block, in ms; 0 for no limit. Set only for answers the core reads
         * whole (its own requests): an app's stream after the head is never cut.
         */
        val readTimeoutMs: Int = 0,
    ) {
        override fun toString() = "HttpStack.Request($method $url, ${headers.size} headers redacted)"
    }

    /**
     * An answer's head and its unread body. Closing [body] releases the connection: back to the
     * pool when it was read to its end, closed at once otherwise.
     */
    class Response(
        /** The HTTP status (a 3xx included: redirects are never followed). */
        val status: Int,
        /** Every header of the answer; names as the server sent them. */
        val headers: List<Pair<String, String>>,
        /** The body, unread (empty for an answer without one). */
        val body: InputStream,
    )

    /** The client's side of one request in flight: phase and abort. */
    interface Exchange {
        /**
         * Tells the client the connection is established (after TLS), before the request is
         * written. Throws if the request was aborted meanwhile: the stack then cleans up and throws.
         */
        @Throws(IOException::class)
        fun connected()

        /**
         * Registers how to abort this request at once (close its socket, cancel its call). Runs at
         * most once, from another thread, when the core's deadline passes or it no longer needs the
         * request; runs at once if that already happened.
         */
        fun onAbort(abort: Runnable)
    }
}
