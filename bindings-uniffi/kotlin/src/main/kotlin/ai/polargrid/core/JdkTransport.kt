package ai.polargrid.core

import ai.polargrid.core.ffi.BodyRule
import ai.polargrid.core.ffi.Header
import ai.polargrid.core.ffi.Reply
import ai.polargrid.core.ffi.Transport
import ai.polargrid.core.ffi.TransportError
import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.URI
import java.net.UnknownHostException
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpResponse
import java.net.http.HttpTimeoutException
import java.nio.channels.UnresolvedAddressException
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.Executors
import javax.net.ssl.SSLException
import ai.polargrid.core.ffi.HttpRequest as CoreRequest
import java.net.http.HttpRequest as JdkRequest

/**
 * The shared driver's `Transport` on the JDK's `java.net.http.HttpClient`: sends exactly what the
 * core asks for, answers through its `Reply`, and keeps a 2xx app answer's body (a stream) here,
 * keyed by request id, until the call claims it or the driver releases it. No policy: no retries,
 * no redirects, no reading of headers beyond handing them over.
 */
internal class JdkTransport(private val http: HttpClient) : Transport {
    /** The app's own body and headers, kept per call id while the call runs. */
    class AppBody(val bytes: ByteArray?, val headers: Map<String, String>)

    private val appBodies = HashMap<ULong, AppBody>()
    /** App-call requests the driver handed over before their call's body was registered. */
    private val parked = HashMap<ULong, MutableList<Pair<CoreRequest, Reply>>>()
    private val lock = Any()

    /**
     * Registers a call's body. `Driver.start` may already have sent the call's first request
     * (it sends before it returns the id), so requests parked for this call go out now.
     */
    fun register(call: ULong, body: AppBody) {
        val ready = synchronized(lock) { appBodies[call] = body; parked.remove(call) }
        ready?.forEach { (r, reply) -> dispatch(r, reply, body) }
    }

    fun unregister(call: ULong) = synchronized(lock) { appBodies.remove(call); parked.remove(call) }
    private val inFlight = ConcurrentHashMap<ULong, CompletableFuture<*>>()
    private val kept = ConcurrentHashMap<ULong, Kept>()

    /** A 2xx app answer waiting for its call: head and the unread body stream. */
    class Kept(val status: Int, val headers: Map<String, List<String>>, val stream: InputStream)

    override fun send(request: CoreRequest, reply: Reply) {
        val call = request.call ?: return dispatch(request, reply, null)
        val app = synchronized(lock) {
            appBodies[call] ?: null.also { parked.getOrPut(call) { ArrayList() }.add(request to reply) }
        } ?: return
        dispatch(request, reply, app)
    }

    private fun dispatch(request: CoreRequest, reply: Reply, app: AppBody?) {
        try {
            start(request, reply, app)
        } catch (e: IllegalArgumentException) { // a URL or header the JDK refuses
            callbacks.execute { reply.failed(TransportError.CONNECT) }
        }
    }

    private fun start(request: CoreRequest, reply: Reply, app: AppBody?) {
        val id = request.id
        val body = request.body ?: app?.bytes
        val b = JdkRequest.newBuilder(URI.create(request.url))
            .timeout(Duration.ofMillis(request.timeoutMs.toLong().coerceAtLeast(1)))
            .method(request.method, if (body == null) JdkRequest.BodyPublishers.noBody() else JdkRequest.BodyPublishers.ofByteArray(body))
        // Plain http is only the local emulator: no h2c upgrade dance there.
        if (request.url.startsWith("http://")) b.version(HttpClient.Version.HTTP_1_1)
        val names = HashSet<String>()
        for (h in request.headers) { b.header(h.name, h.value); names.add(h.name.lowercase()) }
        app?.headers?.forEach { (k, v) -> if (k.lowercase() !in names && k.lowercase() !in RESTRICTED) b.header(k, v) }
        val future = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream())
        inFlight[id] = future
        // Answer on the HttpClient's own worker thread (an extra hop costs ~0.2 ms a call), unless
        // the future is already done: then this is still inside the driver's send, which must not
        // be answered on its own thread.
        val answer = java.util.function.BiConsumer<HttpResponse<InputStream>?, Throwable?> { resp, err ->
            inFlight.remove(id)
            if (err != null || resp == null) {
                reply.failed(classify(err))
                return@BiConsumer
            }
            val status = resp.statusCode()
            val headers = resp.headers().map().flatMap { (k, vs) -> vs.map { Header(k, it) } }
            val stream = resp.body()
            try {
                when {
                    request.bodyRule == BodyRule.WHOLE -> reply.response(status.toUShort(), headers, stream.use { it.readNBytes(WHOLE_LIMIT) })
                    status in 200..299 -> { kept[id] = Kept(status, resp.headers().map(), stream); reply.response(status.toUShort(), headers, ByteArray(0)) }
                    else -> reply.response(status.toUShort(), headers, stream.use { it.readNBytes(ERROR_PREFIX) })
                }
            } catch (e: IOException) {
                kept.remove(id)?.stream?.close()
                reply.failed(TransportError.ABORTED)
            }
        }
        if (future.isDone) future.whenCompleteAsync(answer, callbacks) else future.whenComplete(answer)
    }

    override fun release(requestId: ULong) {
        synchronized(lock) { parked.values.forEach { l -> l.removeAll { it.first.id == requestId } } }
        inFlight.remove(requestId)?.cancel(true)
        kept.remove(requestId)?.let { runCatching { it.stream.close() } }
    }

    /** Hands a kept success body to the call that won it (null if it was released). */
    fun claim(requestId: ULong): Kept? = kept.remove(requestId)

    private fun classify(err: Throwable?): TransportError {
        var e: Throwable? = err
        while (e is CompletionException && e.cause != null) e = e.cause
        return when (e) {
            is HttpConnectTimeoutException -> TransportError.CONNECT
            is HttpTimeoutException -> TransportError.TIMEOUT
            is UnknownHostException, is UnresolvedAddressException -> TransportError.DNS
            is ConnectException -> TransportError.CONNECT
            is SSLException -> TransportError.TLS
            else -> if (e?.cause is UnresolvedAddressException) TransportError.DNS else TransportError.ABORTED
        }
    }

    companion object {
        private const val WHOLE_LIMIT = 64 * 1024
        private const val ERROR_PREFIX = 4096
        private val RESTRICTED = setOf("connection", "content-length", "expect", "host", "upgrade")
        /** Where answers are read and handed to the driver (never the HttpClient's selector thread). */
        private val callbacks = Executors.newCachedThreadPool { r -> Thread(r, "polargrid-http").apply { isDaemon = true } }
    }
}
