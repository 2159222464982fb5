package ai.polargrid.core

import ai.polargrid.core.ffi.BlockTransport
import ai.polargrid.core.ffi.Driver
import ai.polargrid.core.ffi.TransportErrorKind
import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.ProtocolException
import java.net.SocketTimeoutException
import java.net.UnknownHostException
import java.nio.ByteBuffer
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import javax.net.ssl.SSLException
import ai.polargrid.core.ffi.PolarGridException as FfiError

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
internal fun transportKind(e: Throwable, connected: Boolean): TransportErrorKind = when {
    e is UnknownHostException -> TransportErrorKind.DNS
    e is ConnectException || e is NoRouteToHostException -> TransportErrorKind.CONNECT
    e is SSLException && !connected -> TransportErrorKind.TLS
    e is SocketTimeoutException -> if (connected) TransportErrorKind.TIMEOUT else TransportErrorKind.CONNECT_TIMEOUT
    e is MalformedAnswer -> TransportErrorKind.PROTOCOL
    e is ProtocolException && connected -> TransportErrorKind.PROTOCOL
    else -> TransportErrorKind.ABORTED
}

/**
 * The driver's block transport (`Driver.withBlocks`, bindings-uniffi/src/heads.rs) over an
 * [HttpStack]: each request arrives as one byte block with its id and is answered by id on the
 * driver, so a call crosses JNA a handful of times (no request record, no `Reply` object, no
 * callback for a call's first attempt: [PolarGrid.request] gets it back from `startInline` and
 * hands it here with [sendInline]). Sends exactly what the core asks for on a worker thread and keeps
 * a 2xx app answer's body (a stream) here, keyed by request id, until the call claims it or the
 * driver releases it. A request that fails or is released (the core gave up on it: its deadline
 * passed, the call was cancelled or another attempt won) is aborted at once: its socket is closed,
 * never left to a pool.
 */
internal class StackTransport(private val stack: HttpStack) : BlockTransport {
    /** A 2xx app answer waiting for its call: head and the unread body stream. */
    class Kept(val status: Int, val headers: Map<String, List<String>>, val stream: InputStream)

    /** One request as the driver's request block describes it (heads.rs). */
    private class Request(
        val id: ULong, val isCall: Boolean, val call: ULong, val hasBody: Boolean, val timeoutMs: Long,
        val connectTimeoutMs: Long, val bodyLimit: Int, val method: String, val url: String, val headers: String,
        val body: ByteArray?,
    )

    private val inFlight = ConcurrentHashMap<ULong, Flight>()
    private val kept = ConcurrentHashMap<ULong, Kept>()
    private val ready = CountDownLatch(1)
    @Volatile private var driver: Driver? = null

    /** The driver this transport answers to (set once, right after it is built). */
    fun attach(driver: Driver) {
        this.driver = driver
        ready.countDown()
    }

    /** A request the driver sent from elsewhere (a retry, a refresh, a discovery). */
    override fun send(requestId: ULong, request: ByteArray) = dispatch(decode(requestId, request), null)

    /**
     * A request `startInline` handed back to its caller; [handoff] (if the caller waits for this
     * request's call) gets the call's ending when its answer ends the call.
     */
    fun sendInline(requestId: ULong, block: ByteArray, offset: Int, length: Int, handoff: Handoff?) =
        dispatch(decode(requestId, ByteBuffer.wrap(block, offset, length).slice()), handoff)

    private fun dispatch(request: Request, handoff: Handoff?) {
        val flight = Flight(handoff)
        inFlight[request.id] = flight
        workers.execute { exchange(request, flight) }
    }

    /** One request, start to answer, on a worker thread. */
    private fun exchange(request: Request, flight: Flight) {
        val id = request.id
        val req = HttpStack.Request(
            request.method, request.url, headerLines(request.headers), request.body,
            request.connectTimeoutMs.coerceIn(1, Int.MAX_VALUE.toLong()).toInt(),
            if (request.isCall) 0 else request.timeoutMs.coerceIn(1, Int.MAX_VALUE.toLong()).toInt(),
        )
        try {
            val resp = stack.open(req, flight)
            val status = resp.status
            val head = headBlock(resp.headers)
            if (request.isCall && status in 200..299) {
                // The head is the answer: the body is the app's, unread.
                if (flight.aborted || flight.released) { close(resp.body); throw IOException("aborted before the answer was handed over") }
                val grouped = LinkedHashMap<String, MutableList<String>>()
                for ((k, v) in resp.headers) grouped.getOrPut(k) { ArrayList() }.add(v)
                kept[id] = Kept(status, grouped, resp.body)
                if (flight.aborted || flight.released) { kept.remove(id)?.stream?.let { close(it) }; return }
                inFlight.remove(id)
                answer(request, flight) { d, collect -> d.answer(id, status.toUShort(), head.size.toUInt(), head, collect) }
            } else {
                // Everything else the core reads itself, up to body_limit, under its deadline.
                val bytes = try { readUpTo(resp.body, request.bodyLimit) } finally { close(resp.body) }
                if (flight.aborted || flight.released) throw IOException("aborted before the answer was handed over")
                inFlight.remove(id)
                answer(request, flight) { d, collect -> d.answer(id, status.toUShort(), head.size.toUInt(), head + bytes, collect) }
            }
        } catch (e: Throwable) {
            flight.abort()
            inFlight.remove(id)
            if (!flight.released) {
                val kind = transportKind(e, flight.isConnected)
                answer(request, flight) { d, collect -> d.fail(id, kind, collect) }
            }
            if (e is Error) throw e
        }
    }

    /**
     * Gives the answer to the driver by id; the armed request of a waiting caller collects the
     * call's ending in the same crossing and hands it over (0: not ended, the caller waits).
     */
    private inline fun answer(request: Request, flight: Flight, give: (Driver, Boolean) -> ULong) {
        ready.await()
        val d = driver!!
        val handoff = flight.handoff
        val collect = handoff != null && handoff.take()
        val outcome: Any = try {
            val code = give(d, collect)
            when {
                code == 0uL -> Handoff.NOT_YET
                else -> Handoff.Ended(request.id, if (code >= 2uL) regionName(d, code) else null)
            }
        } catch (e: FfiError) {
            e
        } catch (e: IllegalStateException) {
            // The client was closed (its driver destroyed): nobody to answer; the caller learns it
            // from the driver.
            Handoff.NOT_YET
        } catch (e: Throwable) {
            if (collect) handoff!!.deliver(Handoff.NOT_YET) // never leave the caller waiting
            throw e
        }
        if (collect) handoff!!.deliver(outcome)
    }

    private val regions = ConcurrentHashMap<ULong, String>()

    /** An ending code's region (the same name per code forever: asked once). */
    private fun regionName(d: Driver, code: ULong): String? =
        regions[code] ?: d.regionName(code)?.also { regions[code] = it }

    override fun release(requestId: ULong) {
        // Called on the driver's own threads (its timer at a deadline): never block them. Closing a
        // JDK HttpURLConnection whose body read is blocked waits on that read's lock, so the abort
        // and the close run on a worker.
        val flight = inFlight.remove(requestId)
        val body = kept.remove(requestId)
        if (flight == null && body == null) return
        flight?.released = true
        flight?.handoff?.release()
        workers.execute {
            flight?.abort()
            body?.let { close(it.stream) }
        }
    }

    /** Hands a kept success body to the call that won it (null if it was released). */
    fun claim(requestId: ULong): Kept? = kept.remove(requestId)

    /** The client's side of one request: whether it is connected, and how to abort it. */
    private class Flight(
        /** The caller waiting for this request's call, if it is the armed one. */
        val handoff: Handoff?,
    ) : HttpStack.Exchange {
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
        /** Decodes a request block (heads.rs: purpose u8, has_body u8, call u64, timeout_ms u64,
         *  connect_timeout_ms u64, body_limit u32, m u32, u u32, h u32, method, URL, headers, body). */
        private fun decode(id: ULong, block: ByteArray): Request = decode(id, ByteBuffer.wrap(block))

        private fun decode(id: ULong, b: ByteBuffer): Request {
            val purpose = b.get().toInt()
            val hasBody = b.get().toInt() != 0
            val call = b.getLong().toULong()
            val timeout = b.getLong()
            val connect = b.getLong()
            val limit = b.getInt()
            val m = b.getInt(); val u = b.getInt(); val h = b.getInt()
            val method = utf8(b, m); val url = utf8(b, u); val headers = utf8(b, h)
            val body = if (hasBody) ByteArray(b.remaining()).also { b.get(it) } else null
            return Request(id, purpose == 3, call, hasBody, timeout, connect, limit, method, url, headers, body)
        }

        private fun utf8(b: ByteBuffer, n: Int): String {
            val bytes = ByteArray(n)
            b.get(bytes)
            return String(bytes, Charsets.UTF_8)
        }

        /** The core's header block (`Name: value` lines joined by CRLF) as pairs. */
        private fun headerLines(block: String): List<Pair<String, String>> {
            val out = ArrayList<Pair<String, String>>(8)
            var i = 0
            while (i < block.length) {
                var end = block.indexOf("\r\n", i)
                if (end < 0) end = block.length
                val colon = block.indexOf(':', i)
                if (colon in i until end) out.add(block.substring(i, colon) to block.substring(colon + 1, end).trimStart())
                i = end + 2
            }
            return out
        }

        /** An answer's headers as one block for `Driver.answer` (the head, then the body: one argument). */
        private fun headBlock(headers: List<Pair<String, String>>): ByteArray {
            val sb = StringBuilder(headers.size * 32)
            for ((k, v) in headers) sb.append(k).append(": ").append(v).append("\r\n")
            return sb.toString().toByteArray(Charsets.UTF_8)
        }

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
