package ai.polargrid.core

import ai.polargrid.core.ffi.Purpose
import ai.polargrid.core.ffi.Reply
import ai.polargrid.core.ffi.Transport
import ai.polargrid.core.ffi.TransportErrorKind
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
import java.util.concurrent.atomic.AtomicInteger
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
 * The driver's `Transport` over an [HttpStack]: sends exactly what the core asks for on a worker
 * thread, answers through its `Reply` when the head arrives, and keeps a 2xx app answer's body (a
 * stream) here, keyed by request id, until the call claims it or the driver releases it. A request
 * that fails or is released (the core gave up on it: its deadline passed, the call was cancelled or
 * another attempt won) is aborted at once: its socket is closed, never left to a pool.
 */
internal class StackTransport(private val stack: HttpStack) : Transport {
    /** A 2xx app answer waiting for its call: head and the unread body stream. */
    class Kept(val status: Int, val headers: Map<String, List<String>>, val stream: InputStream)

    private val inFlight = ConcurrentHashMap<ULong, Flight>()
    private val kept = ConcurrentHashMap<ULong, Kept>()

    /** The call requests sent on this thread while it is inside `Driver.start` ([starting]). */
    private val sentByStart = ThreadLocal<ArrayList<Flight>?>()

    override fun send(request: CoreRequest, reply: Reply) {
        val flight = Flight(if (request.purpose == Purpose.CALL) request.call else null)
        inFlight[request.id] = flight
        if (flight.call != null) sentByStart.get()?.add(flight)
        workers.execute { run(request, reply, flight) }
    }

    /**
     * Runs [start] (a `Driver.start`) and arms a [Handoff] for the call it returns: the first of
     * the call's requests that `start` sent on this thread hands the call's ending to the caller
     * when it is answered. Null when there is none (an exchange or discovery goes first) or it was
     * already answered: then the caller asks the driver itself.
     */
    fun starting(driver: ai.polargrid.core.ffi.Driver, start: () -> ULong): Pair<ULong, Handoff?> {
        val sent = ArrayList<Flight>(1)
        sentByStart.set(sent)
        val call = try { start() } finally { sentByStart.set(null) }
        val flight = sent.firstOrNull { it.call == call } ?: return call to null
        val handoff = Handoff(driver, this, call)
        flight.handoff = handoff
        return call to if (flight.arm.compareAndSet(UNARMED, ARMED)) handoff else null
    }

    /** One request, start to answer, on a worker thread. */
    private fun run(request: CoreRequest, reply: Reply, flight: Flight) {
        try {
            exchange(request, reply, flight)
        } finally {
            // The Rust side of the reply now, not at the next GC (it was answered above, or its
            // request released).
            reply.destroy()
            // An armed call learns its ending here, on this thread (after the answer went in).
            if (!flight.arm.compareAndSet(UNARMED, ANSWERED)) flight.handoff?.collect()
        }
    }

    private fun exchange(request: CoreRequest, reply: Reply, flight: Flight) {
        val id = request.id
        val req = HttpStack.Request(
            request.method, request.url, headerLines(request.headers), request.body,
            request.connectTimeoutMs.toLong().coerceIn(1, Int.MAX_VALUE.toLong()).toInt(),
            if (request.purpose == Purpose.CALL) 0 else request.timeoutMs.toLong().coerceIn(1, Int.MAX_VALUE.toLong()).toInt(),
        )
        try {
            val resp = stack.open(req, flight)
            val status = resp.status
            val head = headBlock(resp.headers)
            if (request.purpose == Purpose.CALL && status in 200..299) {
                // The head is the answer: the body is the app's, unread.
                if (flight.aborted || flight.released) { close(resp.body); throw IOException("aborted before the answer was handed over") }
                val grouped = LinkedHashMap<String, MutableList<String>>()
                for ((k, v) in resp.headers) grouped.getOrPut(k) { ArrayList() }.add(v)
                kept[id] = Kept(status, grouped, resp.body)
                if (flight.aborted || flight.released) { kept.remove(id)?.stream?.let { close(it) }; return }
                inFlight.remove(id)
                reply.answer(status.toUShort(), head.size.toUInt(), head)
            } else {
                // Everything else the core reads itself, up to body_limit, under its deadline.
                val bytes = try { readUpTo(resp.body, request.bodyLimit.toInt()) } finally { close(resp.body) }
                if (flight.aborted || flight.released) throw IOException("aborted before the answer was handed over")
                inFlight.remove(id)
                reply.answer(status.toUShort(), head.size.toUInt(), head + bytes)
            }
        } catch (e: Throwable) {
            flight.abort()
            inFlight.remove(id)
            if (flight.released) return
            reply.failed(transportKind(e, flight.isConnected))
            if (e is Error) throw e
        }
    }

    override fun release(requestId: ULong) {
        // Called on the driver's own threads (its timer at a deadline): never block them. Closing a
        // JDK HttpURLConnection whose body read is blocked waits on that read's lock, so the abort
        // and the close run on a worker.
        val flight = inFlight.remove(requestId)
        val body = kept.remove(requestId)
        if (flight == null && body == null) return
        flight?.released = true
        if (flight?.arm?.get() == ARMED) flight.handoff?.release()
        workers.execute {
            flight?.abort()
            body?.let { close(it.stream) }
        }
    }

    /** Hands a kept success body to the call that won it (null if it was released). */
    fun claim(requestId: ULong): Kept? = kept.remove(requestId)

    /** The client's side of one request: whether it is connected, and how to abort it. */
    private class Flight(
        /** The app call this request is an attempt of (null: the core's own request). */
        val call: ULong?,
    ) : HttpStack.Exchange {
        /** [UNARMED], [ARMED] (a caller waits on [handoff]) or [ANSWERED] before it was armed. */
        val arm = AtomicInteger(UNARMED)
        @Volatile var handoff: Handoff? = null
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
        private const val UNARMED = 0
        private const val ARMED = 1
        private const val ANSWERED = 2

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

        /** An answer's headers as one block for `Reply.answer` (the head, then the body: one argument). */
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
