package ai.polargrid.core

import ai.polargrid.core.ffi.BodyRule
import ai.polargrid.core.ffi.Header
import ai.polargrid.core.ffi.Reply
import ai.polargrid.core.ffi.Transport
import ai.polargrid.core.ffi.TransportError
import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.ProtocolException
import java.net.SocketTimeoutException
import java.net.UnknownHostException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import javax.net.ssl.SSLException
import ai.polargrid.core.ffi.HttpRequest as CoreRequest

/**
 * Maps what an [HttpStack] threw onto the core's transport kinds: the Kotlin column of the table
 * in core/src/lib.rs, "The transport contract" (the one mapping function of this package).
 *
 * | platform failure | here |
 * |---|---|
 * | name not resolved | `UnknownHostException` → `dns` |
 * | refused, unreachable | `ConnectException`, `NoRouteToHostException` → `connect` |
 * | TLS handshake | `SSLException` before the connection is up → `tls` |
 * | connect timed out | `SocketTimeoutException` while connecting (the request's connect timeout) → `connect_timeout` |
 * | no answer in time | `SocketTimeoutException` while reading → `timeout` (the core's own deadline says `timeout` itself, and releases the request: its socket is closed at once) |
 * | malformed answer | [MalformedAnswer] (a head `HttpURLConnection` cannot read), a `ProtocolException` once connected (OkHttp: "Unexpected status line") → `protocol` |
 * | reset, closed after sending | any other `IOException` (an `SSLException` after the handshake too) → `aborted` |
 *
 * @param connected whether the stack said the connection was up ([HttpStack.Exchange.connected])
 */
internal fun transportKind(e: Throwable, connected: Boolean): TransportError = when {
    e is UnknownHostException -> TransportError.DNS
    e is ConnectException || e is NoRouteToHostException -> TransportError.CONNECT
    e is SSLException && !connected -> TransportError.TLS
    e is SocketTimeoutException -> if (connected) TransportError.TIMEOUT else TransportKinds.CONNECT_TIMEOUT
    e is MalformedAnswer -> TransportKinds.PROTOCOL
    e is ProtocolException && connected -> TransportKinds.PROTOCOL
    else -> TransportError.ABORTED
}

/**
 * The driver's `Transport` over an [HttpStack]: sends exactly what the core asks for on a worker
 * thread, answers through its `Reply` when the head arrives, and keeps a 2xx app answer's body (a
 * stream) here, keyed by request id, until the call claims it or the driver releases it. A request
 * that fails or is released (the core gave up on it: its deadline passed, the call was cancelled or
 * another attempt won) is aborted at once: its socket is closed, never left to a pool.
 */
internal class StackTransport(private val stack: HttpStack) : Transport {
    /** The app's own body and headers, kept per call id while the call runs. */
    class AppBody(val bytes: ByteArray?, val headers: Map<String, String>)

    /** A 2xx app answer waiting for its call: head and the unread body stream. */
    class Kept(val status: Int, val headers: Map<String, List<String>>, val stream: InputStream)

    private val appBodies = HashMap<ULong, AppBody>()
    /** App-call requests the driver handed over before their call's body was registered. */
    private val parked = HashMap<ULong, MutableList<Pair<CoreRequest, Reply>>>()
    private val lock = Any()
    private val inFlight = ConcurrentHashMap<ULong, Flight>()
    private val kept = ConcurrentHashMap<ULong, Kept>()

    /**
     * Registers a call's body. `Driver.start` may already have sent the call's first request
     * (it sends before it returns the id), so requests parked for this call go out now.
     */
    fun register(call: ULong, body: AppBody) {
        val ready = synchronized(lock) { appBodies[call] = body; parked.remove(call) }
        ready?.forEach { (r, reply) -> dispatch(r, reply, body) }
    }

    fun unregister(call: ULong) = synchronized(lock) { appBodies.remove(call); parked.remove(call) }

    override fun send(request: CoreRequest, reply: Reply) {
        val call = request.call ?: return dispatch(request, reply, null)
        val app = synchronized(lock) {
            appBodies[call] ?: null.also { parked.getOrPut(call) { ArrayList() }.add(request to reply) }
        } ?: return
        dispatch(request, reply, app)
    }

    private fun dispatch(request: CoreRequest, reply: Reply, app: AppBody?) {
        val flight = Flight()
        inFlight[request.id] = flight
        workers.execute { run(request, reply, app, flight) }
    }

    /** One request, start to answer, on a worker thread. */
    private fun run(request: CoreRequest, reply: Reply, app: AppBody?, flight: Flight) {
        val id = request.id
        val headers = ArrayList<Pair<String, String>>(request.headers.size + 4)
        val names = HashSet<String>()
        for (h in request.headers) { headers.add(h.name to h.value); names.add(h.name.lowercase()) }
        app?.headers?.forEach { (k, v) -> if (k.lowercase() !in names) headers.add(k to v) }
        val req = HttpStack.Request(request.method, request.url, headers, request.body ?: app?.bytes, connectTimeoutMs(request))
        try {
            val resp = stack.open(req, flight)
            val status = resp.status
            val pairs = resp.headers.map { (k, v) -> Header(k, v) }
            if (request.bodyRule == BodyRule.KEEP_SUCCESS && status in 200..299) {
                // The head is the answer: the body is the app's.
                if (flight.aborted) { close(resp.body); throw IOException("aborted before the answer was handed over") }
                val grouped = LinkedHashMap<String, MutableList<String>>()
                for ((k, v) in resp.headers) grouped.getOrPut(k) { ArrayList() }.add(v)
                kept[id] = Kept(status, grouped, resp.body)
                if (flight.aborted) { kept.remove(id)?.stream?.let { close(it) }; return }
                inFlight.remove(id)
                reply.response(status.toUShort(), pairs, ByteArray(0))
            } else {
                // The core's own requests, and error answers: read (bounded) under the core's deadline.
                val limit = if (request.bodyRule == BodyRule.WHOLE) WHOLE_LIMIT else ERROR_PREFIX
                val bytes = try { readUpTo(resp.body, limit) } finally { close(resp.body) }
                if (flight.aborted) throw IOException("aborted before the answer was handed over")
                inFlight.remove(id)
                reply.response(status.toUShort(), pairs, bytes)
            }
        } catch (e: Throwable) {
            flight.abort()
            inFlight.remove(id)
            if (flight.released) return
            reply.failed(transportKind(e, flight.isConnected))
            if (e is Error && e !is StackOverflowError) throw e
        }
    }

    override fun release(requestId: ULong) {
        synchronized(lock) { parked.values.forEach { l -> l.removeAll { it.first.id == requestId } } }
        inFlight.remove(requestId)?.let { it.released = true; it.abort() }
        kept.remove(requestId)?.let { close(it.stream) }
    }

    /** Hands a kept success body to the call that won it (null if it was released). */
    fun claim(requestId: ULong): Kept? = kept.remove(requestId)

    /** The client's side of one request: whether it is connected, and how to abort it. */
    private class Flight : HttpStack.Exchange {
        @Volatile var isConnected = false
        @Volatile var aborted = false
        @Volatile var released = false
        private var onAbort: Runnable? = null

        override fun connected() {
            if (aborted) throw IOException("the request was aborted")
            isConnected = true
        }

        override fun onAbort(abort: Runnable) {
            val now = synchronized(this) { if (aborted) true else { onAbort = abort; false } }
            if (now) runCatching { abort.run() }
        }

        fun abort() {
            val run = synchronized(this) {
                if (aborted) return
                aborted = true
                onAbort.also { onAbort = null }
            }
            if (run != null) runCatching { run.run() }
        }
    }

    companion object {
        private const val WHOLE_LIMIT = 64 * 1024
        private const val ERROR_PREFIX = 4096
        /** When the core sends no connect timeout of its own (it sends 10 s). */
        private const val DEFAULT_CONNECT_MS = 10_000L

        private fun connectTimeoutMs(request: CoreRequest): Int =
            minOf(request.timeoutMs.toLong(), TransportKinds.connectTimeoutMs(request) ?: DEFAULT_CONNECT_MS)
                .coerceIn(1, Int.MAX_VALUE.toLong()).toInt()

        /** Reads at most [limit] bytes (Java 8 and Android: no `readNBytes`). */
        private fun readUpTo(s: InputStream, limit: Int): ByteArray {
            val buf = ByteArray(minOf(limit, 8192))
            val out = java.io.ByteArrayOutputStream()
            while (out.size() < limit) {
                val n = s.read(buf, 0, minOf(buf.size, limit - out.size()))
                if (n < 0) break
                out.write(buf, 0, n)
            }
            return out.toByteArray()
        }

        private fun close(s: InputStream) { runCatching { s.close() } }

        /** Blocking sends, one thread each while in flight (idle threads end after 60 s). */
        private val workers: ExecutorService = Executors.newCachedThreadPool { r ->
            Thread(r, "polargrid-http").apply { isDaemon = true }
        }
    }
}
