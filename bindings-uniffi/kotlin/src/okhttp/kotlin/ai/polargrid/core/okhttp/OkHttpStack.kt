package ai.polargrid.core.okhttp

import ai.polargrid.core.HttpStack
import java.io.FilterInputStream
import java.io.IOException
import java.io.InputStream
import java.util.concurrent.TimeUnit
import okhttp3.Call
import okhttp3.Connection
import okhttp3.EventListener
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody

/**
 * An [HttpStack] on the app's own OkHttp client (3.x or 4.x: compiled against 3.13, whose Java API
 * 4.x keeps): its connection pool, dispatcher, TLS and interceptors are shared, with the settings a
 * PolarGrid transport must have layered on top: **no redirect followed, no silent retry on a
 * connection failure**, the core's connect timeout, no read/write/call timeout (the core's deadline
 * bounds the wait for the head; a body after the head is never cut). OkHttp adds `Accept-Encoding:
 * gzip` and decompresses transparently; the core's headers are sent as they are.
 *
 * ```
 * val pg = PolarGrid(mode = Mode.HANDOFF, httpStack = OkHttpStack(myOkHttpClient))
 * ```
 */
class OkHttpStack(client: OkHttpClient = OkHttpClient()) : HttpStack {
    private val base: OkHttpClient = client.newBuilder()
        .followRedirects(false)
        .followSslRedirects(false)
        .retryOnConnectionFailure(false)
        .readTimeout(0, TimeUnit.MILLISECONDS)
        .writeTimeout(0, TimeUnit.MILLISECONDS)
        .callTimeout(0, TimeUnit.MILLISECONDS)
        .build()

    override fun open(request: HttpStack.Request, exchange: HttpStack.Exchange): HttpStack.Response {
        val client = base.newBuilder()
            .connectTimeout(request.connectTimeoutMs.toLong().coerceAtLeast(1), TimeUnit.MILLISECONDS)
            .readTimeout(request.readTimeoutMs.toLong(), TimeUnit.MILLISECONDS)
            .eventListener(object : EventListener() {
                override fun connectionAcquired(call: Call, connection: Connection) {
                    try { exchange.connected() } catch (e: IOException) { call.cancel() }
                }
            })
            .build()
        val b = Request.Builder().url(request.url)
        for ((name, value) in request.headers) b.addHeader(name, value)
        val bytes = request.body ?: if (request.method.uppercase() in NEEDS_BODY) ByteArray(0) else null
        b.method(request.method, bytes?.let { RequestBody.create(null, it) })
        val call = client.newCall(b.build())
        exchange.onAbort(Runnable { call.cancel() })
        val resp = call.execute()
        val headers = ArrayList<Pair<String, String>>()
        val h = resp.headers()
        for (i in 0 until h.size()) headers.add(h.name(i) to h.value(i))
        val body = resp.body()
        val stream: InputStream = body?.byteStream() ?: Empty
        return HttpStack.Response(resp.code(), headers, Released(stream, call))
    }

    /** The body: closed before its end, the call is cancelled (its connection closed, not pooled). */
    private class Released(inner: InputStream, private val call: Call) : FilterInputStream(inner) {
        @Volatile private var ended = false
        override fun read(): Int = super.read().also { if (it < 0) ended = true }
        override fun read(b: ByteArray, off: Int, len: Int): Int =
            super.read(b, off, len).also { if (it < 0) ended = true }
        override fun close() {
            if (!ended) call.cancel()
            super.close()
        }
    }

    private object Empty : InputStream() {
        override fun read(): Int = -1
    }

    private companion object {
        val NEEDS_BODY = setOf("POST", "PUT", "PATCH", "PROPPATCH", "REPORT")
    }
}
