package ai.polargrid.core

import ai.polargrid.core.ffi.CallRequest
import ai.polargrid.core.ffi.Driver
import ai.polargrid.core.ffi.DriverEvent
import ai.polargrid.core.ffi.HttpRequest
import ai.polargrid.core.ffi.Listener
import ai.polargrid.core.ffi.Options
import ai.polargrid.core.ffi.PolarGridException as FfiError
import ai.polargrid.core.ffi.Purpose
import ai.polargrid.core.ffi.Reply
import ai.polargrid.core.ffi.Transport
import ai.polargrid.core.ffi.TransportErrorKind
import ai.polargrid.core.testing.Emulator
import ai.polargrid.core.testing.Json
import java.util.Collections

// Every generated record and event the driver hands the Kotlin side, printed with toString, must
// not hold the API key, a JWT or a refresh token (only the session snapshot the app asks to persist
// may). The driver runs for real against the emulator: exchange, calls, refresh, a failed call,
// logout, hand-over, restore. Its transport records each value it receives and sends it on the
// package's public HttpStack (HttpURLConnection).

/** A driver Transport that prints everything it is handed, then sends it for real. */
private class Recording(private val printed: MutableList<String>) : Transport {
    private val stack = UrlConnectionStack()

    override fun send(request: HttpRequest, reply: Reply) {
        printed.add(request.toString())
        printed.add(reply.toString())
        Thread {
            val exchange = object : HttpStack.Exchange {
                override fun connected() = Unit
                override fun onAbort(abort: Runnable) = Unit
            }
            try {
                val headers = request.headers.split("\r\n").map { it.substringBefore(':') to it.substringAfter(':').trim() }
                val r = stack.open(HttpStack.Request(request.method, request.url, headers, request.body, 10_000), exchange)
                val bytes = r.body.use { it.readBytes() }
                val keep = request.purpose == Purpose.CALL && r.status in 200..299
                val answer = r.headers.map { (k, v) -> ai.polargrid.core.ffi.Header(k, v) }
                answer.forEach { printed.add(it.toString()) }
                reply.response(r.status.toUShort(), answer, if (keep) ByteArray(0) else bytes)
            } catch (e: Exception) {
                reply.failed(TransportErrorKind.ABORTED)
            }
        }.start()
    }

    override fun release(requestId: ULong) = Unit
}

suspend fun everyGeneratedValue_printed_holdsNoSecret() = Emulator().use { emu ->
    val printed = Collections.synchronizedList(ArrayList<String>())
    val listener = object : Listener {
        override fun onEvent(event: DriverEvent) { printed.add(event.toString()) }
    }
    val key = emu.key("read_write")
    val options = Options(
        apiKey = key, mode = "session", endpointsJson = emu.startup, maxAttempts = 2u,
        backoffBaseMs = 10u, backoffMaxMs = 20u, seed = 7u,
    )
    val secrets = ArrayList<String>()
    secrets.add(key)
    printed.add(options.toString())
    var seen: String? = null
    Driver(options, Recording(printed), listener).use { d ->
        suspend fun call(path: String) {
            val auth = ai.polargrid.core.ffi.Header("Authorization", "Bearer $key") // a Header record holding the key
            printed.add(auth.toString())
            val id = d.start(CallRequest(method = "GET", path = path))
            try { printed.add(d.wait(id).toString()) } catch (e: FfiError) {
                printed.add(e.toString()); printed.add(e.message ?: "")
                if (e is FfiError.Failed) printed.add(e.failure.toString())
            }
        }
        call("/v1/models") // exchange, discovery, the call
        val snapshot = d.sessionSnapshot() ?: throw AssertionError("no session after the first call")
        seen = snapshot
        val snap = Json.parse(snapshot) as Map<*, *>
        fun collect(m: Map<*, *>) {
            for ((k, v) in m) {
                if (v is Map<*, *>) collect(v)
                if (v is String && (k.toString().contains("token") || k.toString().contains("jwt")) && v.length > 8) secrets.add(v)
            }
        }
        collect(snap)
        check(secrets.size >= 3) { "the snapshot should hold a JWT and a refresh token: ${snap.keys}" }
        emu.post("/admin/clock", mapOf("advance_ms" to 3_601_000))
        d.advanceClock(3_601_000)
        call("/v1/models") // refresh, then the call
        call("/v1/no-such-path") // a classified failure
        d.sessionSnapshot()?.let { s -> collect(Json.parse(s) as Map<*, *>) }
        d.logout() // cleared
        d.restore(snapshot) // restored
        call("/v1/models")
        printed.add(d.toString())
    }
    // A driver built with the snapshot in its options prints neither.
    printed.add(options.copy(sessionJson = seen).toString())
    val leaks = printed.filter { text -> secrets.any { text.contains(it) } }
    check(printed.size > 10) { "too little was printed to mean anything: $printed" }
    check(leaks.isEmpty()) {
        "${leaks.size} of ${printed.size} printed values hold a secret, e.g. ${leaks.first().let { l -> secrets.fold(l) { acc, s -> acc.replace(s, "<SECRET ${s.take(6)}…>") } }.take(300)}"
    }
}

private fun check(cond: Boolean, what: () -> String) { if (!cond) throw AssertionError(what()) }
