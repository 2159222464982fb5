package ai.polargrid.core

import ai.polargrid.core.testing.Emulator
import kotlin.system.exitProcess
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

// The Kotlin package against the real emulator over real HTTP on 127.0.0.1, in a real JVM.
// No JUnit here (Maven Central is unreachable): each test is a function, `main` runs them all and
// exits 1 if any failed. Names follow <situation>_<expected outcome>.

private fun check(cond: Boolean, what: () -> String) { if (!cond) throw AssertionError(what()) }

private fun client(emu: Emulator, key: String = "read_write", store: SessionStore? = null, maxAttempts: Int? = null) =
    PolarGrid(
        apiKey = emu.key(key),
        endpoints = emu.startup,
        sessionStore = store,
        maxAttempts = maxAttempts,
        backoff = Backoff(baseMs = 50, maxMs = 400),
        seed = 1,
    )

/** Waits (polling the admin log, bounded) until [cond] holds: a condition, not a sleep. */
private suspend fun waitFor(what: String, cond: () -> Boolean) {
    val deadline = System.nanoTime() + 20_000_000_000
    while (!cond()) {
        check(System.nanoTime() < deadline) { "timed out waiting for $what" }
        kotlinx.coroutines.delay(10)
    }
}

suspend fun hundredConcurrentCalls_acrossJwtExpiry_refreshOnce() = Emulator().use { emu ->
    emu.post("/admin/config", mapOf("jwt_ttl_s" to 3600))
    client(emu).use { pg ->
        check(pg.get("/v1/models").use { it.status } == 200) { "first call" }
        emu.post("/admin/log/clear", null)
        // Both clocks past the JWT's expiry: every one of the 100 calls needs a fresh JWT.
        emu.post("/admin/clock", mapOf("advance_ms" to 3_601_000))
        pg.advanceClock(3_601_000)
        val statuses = coroutineScope {
            (1..100).map { async(Dispatchers.Default) { pg.get("/v1/models").use { it.text(); it.status } } }.awaitAll()
        }
        check(statuses.all { it == 200 }) { "statuses $statuses" }
        check(emu.count("auth", "/v1/auth/refresh") == 1) { "refreshes: ${emu.count("auth", "/v1/auth/refresh")}" }
        check(emu.count("auth", "/v1/auth/session") == 0) { "no new exchange" }
        val edge = emu.log("role=edge")
        check(edge.none { it["status"] == 401L }) { "an expired JWT reached an edge" }
        check(edge.count { it["status"] == 200L } == 100) { "edge 200s: ${edge.size}" }
    }
}

suspend fun cancelledCall_endsInCore_noRetryAfterIt() = Emulator().use { emu ->
    client(emu).use { pg ->
        check(pg.get("/v1/models").use { it.status } == 200) { "warm-up call" }
        emu.post("/admin/log/clear", null)
        // The next edge answer is a 503 (retryable for a GET) held back 2 s: the call is in flight.
        emu.post("/admin/fault", mapOf("target" to "region:yto-01", "kind" to "status", "status" to 503, "count" to 1))
        emu.post("/admin/fault", mapOf("target" to "region:yto-01", "kind" to "slow", "delay_ms" to 2000, "count" to 1))
        coroutineScope {
            val job = launch(Dispatchers.Default) { pg.get("/v1/models").use { it.status } }
            waitFor("the call's request at the edge") { emu.log("role=edge").isNotEmpty() }
            job.cancelAndJoin()
            check(job.isCancelled) { "job not cancelled" }
        }
        val cancelledId = emu.log("role=edge").single()["request_id"]
        // When its backoff would long have passed (client clock +60 s) and another call has
        // run to the end on the same client, the log still shows no retry of the cancelled one.
        pg.advanceClock(60_000)
        check(pg.get("/v1/models").use { it.status } == 200) { "the next call works" }
        val edge = emu.log("role=edge")
        check(edge.count { it["request_id"] == cancelledId } == 1) { "the cancelled call was retried: $edge" }
    }
}

suspend fun rateLimited_errorFieldsArriveIntact() = Emulator().use { emu ->
    client(emu, maxAttempts = 1).use { pg ->
        emu.post("/admin/fault", mapOf("target" to "region:yto-01", "kind" to "rate_limit", "retry_after" to "7", "count" to 1))
        val e = try { pg.get("/v1/models").close(); null } catch (e: PolarGridException) { e }
        check(e is PolarGridException.RateLimited) { "got $e" }
        e!!
        check(e.kind == "rate_limited") { "kind ${e.kind}" }
        check(e.status == 429) { "status ${e.status}" }
        check(e.retryable) { "retryable" }
        check(e.retryAfterMs == 7_000L) { "retryAfterMs ${e.retryAfterMs}" }
        val logged = emu.log("role=edge").last()["request_id"]
        check(e.requestId != null && e.requestId == logged) { "requestId ${e.requestId} vs $logged" }
        check(e.causeText.isNotBlank() && e.fix.isNotBlank()) { "cause/fix" }
        check(!e.toString().contains(emu.key("read_write"))) { "key in toString" }
    }
}

suspend fun revokedKey_raisesAuthenticationWithFix_noSecretInText() = Emulator().use { emu ->
    client(emu, key = "revoked").use { pg ->
        val e = try { pg.get("/v1/models").close(); null } catch (e: PolarGridException) { e }
        check(e is PolarGridException.Authentication) { "got $e" }
        e!!
        check(e.kind == "invalid_api_key" && e.status == 401 && !e.retryable) { "fields ${e.kind} ${e.status} ${e.retryable}" }
        val text = "$e ${e.message} ${e.fix} ${e.causeText} ${e.stackTraceToString()} $pg"
        check(!text.contains(emu.key("revoked"))) { "the key leaked into an error's text" }
    }
}

suspend fun snapshotSavedToStore_restoredWithoutExchange() = Emulator().use { emu ->
    val saved = java.util.concurrent.atomic.AtomicReference<String?>(null)
    val store = object : SessionStore {
        override fun load(): String? = saved.get()
        override fun save(snapshot: String?) = saved.set(snapshot)
    }
    client(emu, store = store).use { pg -> check(pg.get("/v1/models").use { it.status } == 200) { "call" } }
    check(saved.get() != null) { "no snapshot was saved" }
    client(emu, store = store).use { pg ->
        check(pg.sessionStatus == SessionStatus.ACTIVE) { "restored status ${pg.sessionStatus}" }
        check(pg.get("/v1/models").use { it.status } == 200) { "call after restore" }
        check(!pg.toString().contains("eyJ")) { "a JWT in toString" }
    }
    check(emu.count("auth", "/v1/auth/session") == 1) { "restore exchanged again" }
}

suspend fun streamedChat_bodyArrivesUntouched() = Emulator().use { emu ->
    client(emu).use { pg ->
        val body = """{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"hi"}]}"""
        pg.post("/v1/chat/completions", body).use { r ->
            check(r.status == 200 && r.region == "yto-01") { "status ${r.status} region ${r.region}" }
            check(r.text().trimEnd().endsWith("data: [DONE]")) { "stream did not end with [DONE]" }
        }
    }
}

suspend fun badEndpoints_failsAtConstructionWithFix() {
    val e = try { PolarGrid(apiKey = "pg_x", endpoints = "{not json"); null } catch (e: PolarGridException) { e }
    check(e is PolarGridException.Config) { "got $e" }
    check(e!!.fix.isNotBlank()) { "no fix" }
}

suspend fun keyInHandoffMode_refusedAtConstruction() {
    val e = try { PolarGrid(apiKey = "pg_handoff_key_0123456789", mode = Mode.HANDOFF); null } catch (e: PolarGridException) { e }
    check(e is PolarGridException.Config && e.kind == "invalid_config") { "got $e" }
    check(!e.toString().contains("pg_handoff_key")) { "the key leaked into the error" }
}

fun main(args: Array<String>) {
    val tests: List<Pair<String, suspend () -> Unit>> = listOf(
        "hundred_concurrent_calls_across_jwt_expiry_refresh_once" to ::hundredConcurrentCalls_acrossJwtExpiry_refreshOnce,
        "cancelled_call_ends_in_core_no_retry_after_it" to ::cancelledCall_endsInCore_noRetryAfterIt,
        "rate_limited_error_fields_arrive_intact" to ::rateLimited_errorFieldsArriveIntact,
        "revoked_key_raises_authentication_with_fix_no_secret_in_text" to ::revokedKey_raisesAuthenticationWithFix_noSecretInText,
        "snapshot_saved_to_store_restored_without_exchange" to ::snapshotSavedToStore_restoredWithoutExchange,
        "streamed_chat_body_arrives_untouched" to ::streamedChat_bodyArrivesUntouched,
        "bad_endpoints_fails_at_construction_with_fix" to ::badEndpoints_failsAtConstructionWithFix,
        "key_in_handoff_mode_refused_at_construction" to ::keyInHandoffMode_refusedAtConstruction,
    ).plus(transportTests()).plus(
        "every_generated_value_printed_holds_no_secret" to ::everyGeneratedValue_printed_holdsNoSecret,
    ).filter { args.isEmpty() || it.first in args }
    var failed = 0
    for ((name, test) in tests) {
        val t0 = System.nanoTime()
        try {
            runBlocking { test() }
            println("ok   $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
            e.printStackTrace()
        }
    }
    println("kotlin: ${tests.size - failed} passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}

