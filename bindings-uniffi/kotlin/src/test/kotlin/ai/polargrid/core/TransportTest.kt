package ai.polargrid.core

import ai.polargrid.core.okhttp.OkHttpStack
import ai.polargrid.core.testing.RawServer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch

// Every row of the transport table (core/src/lib.rs, "The transport contract") this machine can
// produce, through both stacks (HttpURLConnection and OkHttp), against real sockets on 127.0.0.1:
// the kind each failure reaches the app with, no redirect followed, and the connection closed at
// once when a request fails, times out or is cancelled. One attempt per call (maxAttempts = 1), so
// each failure is the transport's own.


private fun check(cond: Boolean, what: () -> String) { if (!cond) throw AssertionError(what()) }

private fun direct(baseUrl: String, stack: HttpStack) = PolarGrid(
    apiKey = "pg_transport_test_key_0123456789", mode = Mode.DIRECT, baseUrl = baseUrl,
    maxAttempts = 1, seed = 1, connectTimeoutMs = 300, httpStack = stack,
)

/** The call's failure; the call must fail with a `network` error whose transport is [kind]. */
private suspend fun failsWith(
    pg: PolarGrid, kind: String, timeoutMs: Long? = null, deadlineMs: Long? = null,
): PolarGridException.Connection {
    val e = try {
        pg.request("GET", "/v1/models", timeoutMs = timeoutMs, deadlineMs = deadlineMs).close(); null
    } catch (e: PolarGridException) { e }
    check(e is PolarGridException.Connection) { "expected a network failure ($kind), got $e" }
    e as PolarGridException.Connection
    check(e.transport == kind) { "expected transport $kind, got ${e.transport}: ${e.message}" }
    return e
}

suspend fun refusedPort_failsAsConnect(stack: HttpStack) {
    direct("http://127.0.0.1:${RawServer.closedPort()}", stack).use { failsWith(it, "connect") }
}

suspend fun unresolvableHost_failsAsDns(stack: HttpStack) {
    direct("https://polargrid-transport-test.invalid", stack).use { failsWith(it, "dns") }
}

suspend fun plainListenerAnsweringTls_failsAsTls(stack: HttpStack) {
    // Reads the ClientHello, answers plain HTTP: the handshake fails on the client's side.
    RawServer { s ->
        s.getInputStream().read(ByteArray(4096))
        s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".toByteArray())
        s.shutdownOutput()
        s.getInputStream().read(ByteArray(4096))
    }.start().use { server -> direct("https://127.0.0.1:${server.port}", stack).use { failsWith(it, "tls") } }
}

suspend fun fullAcceptQueue_failsAsConnectTimeout(stack: HttpStack) {
    RawServer.fullBacklog().use { server ->
        direct(server.url, stack).use { failsWith(it, "connect_timeout") }
    }
}

suspend fun notHttpAnswer_failsAsProtocol(stack: HttpStack) {
    RawServer { s ->
        RawServer.readHead(s)
        s.getOutputStream().write("SSH-2.0-not-http\r\n\r\n".toByteArray())
        s.shutdownOutput()
    }.start().use { server -> direct(server.url, stack).use { failsWith(it, "protocol") } }
}

suspend fun headNeverSent_failsAsTimeout_connectionClosedAtOnce(stack: HttpStack) {
    lateinit var server: RawServer
    server = RawServer { s -> server.holdUntilClientCloses(s) }.start()
    server.use {
        direct(server.url, stack).use { failsWith(it, "timeout", timeoutMs = 400) }
        check(server.clientClosedWithin(2_000)) { "the timed-out request's connection is still open" }
    }
}

/** A per-call deadline travels in the call block and bounds the attempt (the client's are 60 s). */
suspend fun headNeverSent_perCallDeadline_failsAsTimeoutOnTime(stack: HttpStack) {
    lateinit var server: RawServer
    server = RawServer { s -> server.holdUntilClientCloses(s) }.start()
    server.use {
        direct(server.url, stack).use {
            val t0 = System.nanoTime()
            failsWith(it, "timeout", deadlineMs = 400)
            val ms = (System.nanoTime() - t0) / 1_000_000
            check(ms in 350..10_000) { "the 400 ms deadline ended the call after $ms ms" }
        }
        check(server.clientClosedWithin(2_000)) { "the timed-out request's connection is still open" }
    }
}

suspend fun cancelledCall_closesItsConnectionAtOnce(stack: HttpStack) {
    lateinit var server: RawServer
    server = RawServer { s -> server.holdUntilClientCloses(s) }.start()
    server.use {
        direct(server.url, stack).use { pg ->
            coroutineScope {
                val job = launch(Dispatchers.Default) { pg.request("GET", "/v1/models").close() }
                val deadline = System.nanoTime() + 10_000_000_000
                while (server.accepted.get() == 0) {
                    check(System.nanoTime() < deadline) { "the request never arrived" }
                    kotlinx.coroutines.delay(5)
                }
                job.cancelAndJoin()
            }
            check(server.clientClosedWithin(2_000)) { "the cancelled request's connection is still open" }
        }
    }
}

suspend fun redirectToAnotherHost_notFollowed(stack: HttpStack) {
    RawServer { }.start().use { other ->
        RawServer { s ->
            RawServer.readHead(s)
            s.getOutputStream().write(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: ${other.url}/v1/models\r\nContent-Length: 0\r\n\r\n".toByteArray(),
            )
            s.getInputStream().read()
        }.start().use { server ->
            direct(server.url, stack).use { pg ->
                val e = try { pg.get("/v1/models").close(); null } catch (e: PolarGridException) { e }
                check(e != null && e.status == 307) { "a 307 should end the call as an answer: $e" }
            }
            check(server.accepted.get() == 1) { "attempts at the first host: ${server.accepted.get()}" }
            check(other.accepted.get() == 0) { "the redirect was followed to the other host" }
        }
    }
}

/** A header value with CR, LF or NUL never reaches a stack: the core refuses the call (`invalid_call`). */
suspend fun appHeaderWithBareCr_refusedBeforeSending(stack: HttpStack) {
    RawServer { }.start().use { server ->
        direct(server.url, stack).use { pg ->
            for (bad in listOf("a\rb", "a\nb", "a\u0000b")) {
                val e = try { pg.request("GET", "/v1/models", headers = mapOf("X-Note" to bad)).close(); null } catch (e: PolarGridException) { e }
                check(e is PolarGridException.Misuse && e.kind == "invalid_call") { "header ${bad.map { it.code }}: got $e" }
            }
        }
        check(server.accepted.get() == 0) { "a refused call reached the server" }
    }
}

/** Every transport test, once per stack. */
fun transportTests(): List<Pair<String, suspend () -> Unit>> {
    val stacks = listOf<Pair<String, () -> HttpStack>>("url" to { UrlConnectionStack() }, "okhttp" to { OkHttpStack() })
    val tests = listOf<Pair<String, suspend (HttpStack) -> Unit>>(
        "refused_port_fails_as_connect" to ::refusedPort_failsAsConnect,
        "unresolvable_host_fails_as_dns" to ::unresolvableHost_failsAsDns,
        "plain_listener_answering_tls_fails_as_tls" to ::plainListenerAnsweringTls_failsAsTls,
        "full_accept_queue_fails_as_connect_timeout" to ::fullAcceptQueue_failsAsConnectTimeout,
        "not_http_answer_fails_as_protocol" to ::notHttpAnswer_failsAsProtocol,
        "head_never_sent_fails_as_timeout_connection_closed_at_once" to ::headNeverSent_failsAsTimeout_connectionClosedAtOnce,
        "head_never_sent_per_call_deadline_fails_as_timeout_on_time" to ::headNeverSent_perCallDeadline_failsAsTimeoutOnTime,
        "cancelled_call_closes_its_connection_at_once" to ::cancelledCall_closesItsConnectionAtOnce,
        "redirect_to_another_host_not_followed" to ::redirectToAnotherHost_notFollowed,
        "app_header_with_bare_cr_refused_before_sending" to ::appHeaderWithBareCr_refusedBeforeSending,
    )
    return stacks.flatMap { (sname, make) -> tests.map { (t, f) -> "${t}_$sname" to suspend { f(make()) } } }
}
