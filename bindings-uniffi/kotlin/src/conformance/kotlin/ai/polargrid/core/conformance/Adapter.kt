package ai.polargrid.core.conformance

import ai.polargrid.core.Backoff
import ai.polargrid.core.Mode
import ai.polargrid.core.PolarGrid
import ai.polargrid.core.PolarGridException
import ai.polargrid.core.SessionStatus
import ai.polargrid.core.testing.Json
import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

// The conformance adapter (tests/conformance/PROTOCOL.md) over the Kotlin package's public API:
// JSON lines in on stdin, JSON lines out on stdout, one client, no decisions of its own.

private class BadRequest(msg: String) : Exception(msg)

private class Adapter {
    private val offset = AtomicLong(0)
    private var config: Map<String, Any?>? = null
    private var pg: PolarGrid? = null

    private fun client(): PolarGrid = pg ?: throw BadRequest("not configured")

    private fun build(c: Map<String, Any?>, seedOverride: Long?, snapshot: String?): PolarGrid {
        fun ms(k: String): Long? = (c[k] as Number?)?.toLong()
        val mode = when (val m = c["mode"]) {
            "session", null -> Mode.SESSION
            "direct" -> Mode.DIRECT
            "handoff" -> Mode.HANDOFF
            else -> throw BadRequest("unknown mode $m")
        }
        val backoff = (c["backoff_ms"] as? Map<*, *>)?.let {
            Backoff(baseMs = (it["base"] as Number).toLong(), maxMs = (it["max"] as Number).toLong())
        }
        return PolarGrid(
            apiKey = c["api_key"] as String?,
            mode = mode,
            region = c["region"] as String?,
            scope = c["scope"] as String?,
            baseUrl = c["base_url"] as String?,
            endpoints = Json.write(c["endpoints"] ?: throw BadRequest("endpoints missing")),
            maxAttempts = (c["max_attempts"] as Number?)?.toInt(),
            failoverPinned = c["failover_pinned"] == true,
            backoff = backoff,
            seed = seedOverride ?: (c["seed"] as Number?)?.toLong(),
            timeoutMs = ms("request_timeout_ms"),
            connectTimeoutMs = ms("connect_timeout_ms"),
            callDeadlineMs = ms("call_deadline_ms"),
            authTimeoutMs = ms("auth_timeout_ms"),
            // Same clock offset, then the snapshot, as the app's restart would see them.
            clockOffsetMs = offset.get(),
            session = snapshot,
        )
    }

    private suspend fun one(method: String, path: String, body: String?, timeoutMs: Long?): Map<String, Any?> {
        val run: suspend () -> Map<String, Any?> = {
            try {
                client().request(method, path, body?.toByteArray()).use { r ->
                    val text = r.text()
                    mapOf("outcome" to "ready", "status" to r.status, "region" to r.region,
                        "stream_done" to text.trimEnd().endsWith("data: [DONE]"))
                }
            } catch (e: PolarGridException) {
                mapOf("outcome" to "error", "kind" to e.kind, "transport" to (e as? PolarGridException.Connection)?.transport,
                    "cause" to e.causeText, "status" to e.status, "retryable" to e.retryable,
                    "retry_after_ms" to e.retryAfterMs, "request_id" to e.requestId, "message" to e.message)
            }
        }
        return if (timeoutMs == null) run() else withTimeoutOrNull(timeoutMs) { run() }
            ?: mapOf("outcome" to "error", "kind" to "adapter_timeout", "status" to null, "retryable" to null,
                "retry_after_ms" to null, "request_id" to null, "message" to "no end within $timeoutMs ms")
    }

    /** Answers one request; returns false when the adapter should exit. */
    fun handle(line: String): Pair<Map<String, Any?>, Boolean> {
        val req = try { Json.parse(line) as? Map<*, *> } catch (e: IllegalArgumentException) { null }
            ?: return mapOf("id" to null, "ok" to false, "error" to "not a JSON object") to true
        val id = req["id"]
        fun str(k: String): String = req[k] as? String ?: throw BadRequest("field $k missing or not a string")
        fun num(k: String): Number = req[k] as? Number ?: throw BadRequest("field $k missing or not a number")
        return try {
            var keepGoing = true
            val fields: Map<String, Any?> = when (val cmd = req["cmd"]) {
                "configure" -> {
                    @Suppress("UNCHECKED_CAST")
                    val c = req as Map<String, Any?>
                    pg?.close(); pg = null; config = null; offset.set(0)
                    pg = build(c, null, null) // refused: the adapter stays unconfigured
                    config = c
                    emptyMap()
                }
                "call" -> {
                    val count = num("count").toInt()
                    if (count < 1) throw BadRequest("count must be >= 1")
                    val body = req["body"]?.let { Json.write(it) }
                    val method = str("method"); val path = str("path")
                    val timeout = (req["timeout_ms"] as Number?)?.toLong()
                    val outcomes = runBlocking(Dispatchers.Default) {
                        coroutineScope { (1..count).map { async { one(method, path, body, timeout) } }.awaitAll() }
                    }
                    mapOf("outcomes" to outcomes)
                }
                "clock" -> { val ms = num("advance_ms").toLong(); client().advanceClock(ms); offset.addAndGet(ms); emptyMap() }
                "hand_over" -> { val g = str("grant"); client().handOver(g); emptyMap() }
                "restart" -> {
                    val old = client()
                    val snapshot = old.sessionSnapshot()
                    old.close(); pg = null
                    pg = build(config ?: throw BadRequest("not configured"), 2, snapshot)
                    emptyMap()
                }
                "logout" -> { client().logout(); emptyMap() }
                "session" -> mapOf("status" to when (client().sessionStatus) {
                    SessionStatus.NONE -> "none"
                    SessionStatus.EXCHANGING -> "exchanging"
                    SessionStatus.ACTIVE, SessionStatus.REFRESHING -> "active"
                    SessionStatus.ENDED -> "ended"
                    SessionStatus.DIRECT -> "direct"
                })
                "close" -> { keepGoing = false; emptyMap() }
                null -> throw BadRequest("no cmd")
                else -> throw BadRequest("unknown cmd \"$cmd\"")
            }
            (mapOf("id" to id, "ok" to true) + fields) to keepGoing
        } catch (e: BadRequest) {
            mapOf("id" to id, "ok" to false, "error" to e.message) to true
        } catch (e: PolarGridException) {
            mapOf("id" to id, "ok" to false, "error" to "${e.kind}: ${e.message}", "kind" to e.kind) to true
        } catch (e: RuntimeException) {
            mapOf("id" to id, "ok" to false, "error" to "bad request: $e") to true
        }
    }
}

fun main() {
    val adapter = Adapter()
    val out = System.out
    while (true) {
        val line = readLine() ?: break
        if (line.isBlank()) continue
        val (answer, keepGoing) = adapter.handle(line)
        out.println(Json.write(answer))
        out.flush()
        if (!keepGoing) break
    }
    // Answered: exit at once (the process's end frees the client; an orderly close of the driver,
    // its timer and the HttpClient's threads costs ~0.3 s per scenario for nothing).
    out.flush()
    Runtime.getRuntime().halt(0)
}
