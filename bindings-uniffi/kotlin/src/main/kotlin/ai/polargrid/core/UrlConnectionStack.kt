package ai.polargrid.core

import java.io.FilterInputStream
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URL

/**
 * The default [HttpStack]: `java.net.HttpURLConnection`, present on every JVM and on Android (where
 * it is OkHttp inside the platform). No dependency, no configuration: keep-alive and TLS are the
 * platform's. Redirects are never followed (`instanceFollowRedirects = false`); the connect timeout
 * is the core's; a read timeout only for the core's own requests (an app's stream is never cut; the
 * core's deadline bounds its head, and the client aborts through [HttpStack.Exchange]).
 *
 * On a JDK (not Android), `disconnect()` cannot close a connection whose body read is blocked, and
 * an abandoned body is drained by the JDK's keep-alive cleaner for up to 5 s before its socket
 * closes; run with `-Dhttp.KeepAlive.remainingData=0` to close at once (the tests here do). Android's
 * `HttpURLConnection` and [ai.polargrid.core.okhttp] close at once.
 *
 * `HttpURLConnection` refuses the `PATCH` method (the OpenAI API does not use it); use
 * another stack (OkHttp) for an endpoint that needs it.
 */
class UrlConnectionStack : HttpStack {
    override fun open(request: HttpStack.Request, exchange: HttpStack.Exchange): HttpStack.Response {
        val conn = URL(request.url).openConnection() as HttpURLConnection
        exchange.onAbort(Runnable { conn.disconnect() })
        try {
            conn.instanceFollowRedirects = false
            conn.useCaches = false
            conn.connectTimeout = request.connectTimeoutMs.coerceAtLeast(1)
            conn.readTimeout = request.readTimeoutMs
            conn.requestMethod = request.method
            for ((name, value) in request.headers) conn.addRequestProperty(name, value)
            val body = request.body
            if (body != null) {
                conn.doOutput = true
                conn.setFixedLengthStreamingMode(body.size)
            }
            conn.connect()
            exchange.connected()
            if (body != null) conn.outputStream.use { it.write(body) }
            val status = conn.responseCode
            if (status < 0) throw MalformedAnswer("not an HTTP answer")
            // Header by header, in order: a line without a name after the status line, or a value
            // holding CR, LF or NUL, is a head the core refuses (`protocol`), never passed on.
            val headers = ArrayList<Pair<String, String>>()
            var i = 1
            while (true) {
                val value = conn.getHeaderField(i) ?: break
                val name = conn.getHeaderFieldKey(i) ?: throw MalformedAnswer("a header line without a name")
                if (value.any { it == '\r' || it == '\n' || it == '\u0000' }) throw MalformedAnswer("a header value with CR, LF or NUL")
                headers.add(name to value)
                i++
            }
            val raw: InputStream? = if (status >= 400) conn.errorStream else try {
                conn.inputStream
            } catch (e: IOException) {
                conn.errorStream ?: throw e
            }
            return HttpStack.Response(status, headers, Released(raw ?: Empty, conn))
        } catch (e: Throwable) {
            conn.disconnect()
            throw e
        }
    }

    /** The body: closed before its end, the connection closes too (never left to the pool). */
    private class Released(inner: InputStream, private val conn: HttpURLConnection) : FilterInputStream(inner) {
        @Volatile private var ended = false
        @Volatile private var closed = false

        override fun read(): Int = super.read().also { if (it < 0) ended = true }
        override fun read(b: ByteArray, off: Int, len: Int): Int =
            super.read(b, off, len).also { if (it < 0) ended = true }

        override fun close() {
            if (closed) return
            closed = true
            try { super.close() } finally { if (!ended) conn.disconnect() }
        }
    }

    private object Empty : InputStream() {
        override fun read(): Int = -1
    }
}

/** The server's answer was not HTTP, or its head could not be read: the `protocol` row of the table. */
class MalformedAnswer(message: String) : IOException(message)
