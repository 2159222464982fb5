package ai.polargrid.core

import ai.polargrid.core.ffi.Driver
import ai.polargrid.core.ffi.DriverEvent
import ai.polargrid.core.ffi.Header
import ai.polargrid.core.ffi.Listener
import ai.polargrid.core.ffi.Options
import ai.polargrid.core.ffi.SessionState
import java.io.InputStream
import java.nio.ByteBuffer
import kotlin.coroutines.cancellation.CancellationException
import ai.polargrid.core.ffi.PolarGridException as FfiError

/** How the client authenticates. */
enum class Mode {
    /** Exchange the `pg_` key for a session JWT and refresh it (default). */
    SESSION,
    /** Send the `pg_` key straight to the edges. */
    DIRECT,
    /** No key on this device: sessions minted by your backend arrive through [PolarGrid.handOver]. */
    HANDOFF,
}

/** Where the session is. */
enum class SessionStatus { NONE, EXCHANGING, ACTIVE, REFRESHING, ENDED, DIRECT }

/** Retry backoff bounds (tests and demos shorten them). */
data class Backoff(val baseMs: Long, val maxMs: Long)

/**
 * Where the session snapshot lives between app starts. It holds secrets: keep it where you would
 * keep a password — on Android, EncryptedSharedPreferences (backed by a Keystore key):
 * ```
 * class PrefsStore(private val prefs: SharedPreferences) : SessionStore {
 *     override fun load() = prefs.getString("polargrid.session", null)
 *     override fun save(snapshot: String?) =
 *         prefs.edit().apply { if (snapshot == null) remove("polargrid.session") else putString("polargrid.session", snapshot) }.apply()
 * }
 * ```
 */
interface SessionStore {
    /** The snapshot saved last, or null. Read once, when the client is built. */
    fun load(): String?
    /** Persist [snapshot] (a string); null means delete it. Called on whichever thread moved the session. */
    fun save(snapshot: String?)
}

/** A successful answer. Its body is the server's own stream, untouched: read it, then close it. */
class Response internal constructor(
    val status: Int,
    val headers: Map<String, List<String>>,
    /** The region that answered, if known. */
    val region: String?,
    private val stream: InputStream,
) : AutoCloseable {
    /** The body as a stream (SSE and audio arrive as they are sent). */
    fun body(): InputStream = stream
    fun bytes(): ByteArray = stream.use { it.readBytes() }
    fun text(): String = String(bytes(), Charsets.UTF_8)
    override fun close() = stream.close()
    override fun toString() = "Response(status=$status, region=$region)"
}

/**
 * A PolarGrid client: sessions, routing, retries and error classification from the shared Rust core,
 * HTTP on an [HttpStack] (`HttpURLConnection` unless you pass another, e.g. `OkHttpStack`).
 * Thread-safe and coroutine-safe; make one per app and share it. Cancelling a coroutine that waits on
 * a call cancels the call in the core. Every option left null takes the core's default; the core's
 * rules apply (a key in handoff mode, a region with a base URL, … are a [PolarGridException.Config]).
 *
 * @param apiKey the `pg_` key (null: `POLARGRID_API_KEY`, except in [Mode.HANDOFF]); a key in
 *   handoff mode is refused ([PolarGridException.Config], `invalid_config`): a key shipped in an app
 *   is extractable (package README)
 * @param endpoints where PolarGrid lives as JSON, e.g. the emulator's start-up line; null for the real service
 * @param region pin a region (`yto-01`, `toronto`, …); at most one of [region] and [baseUrl]
 * @param sessionStore restores the session at start (its `load` runs here, on the constructing
 *   thread: build the client off the main thread) and persists every change (see [SessionStore])
 * @param session a snapshot to restore at start instead of the store's
 * @param timeoutMs each attempt's time to the answer head (default 60 s)
 * @param connectTimeoutMs establishing a connection (default 10 s)
 * @param callDeadlineMs a call as a whole, start to answer head (default twice [timeoutMs]); a
 *   streamed body after the head is never cut
 * @param authTimeoutMs each key exchange or refresh request (default 10 s)
 * @param clockOffsetMs start with this client's clock moved (tests and demos)
 * @param httpStack the HTTP stack to send on (default [UrlConnectionStack]: no dependency)
 */
class PolarGrid(
    apiKey: String? = null,
    mode: Mode = Mode.SESSION,
    region: String? = null,
    scope: String? = null,
    baseUrl: String? = null,
    endpoints: String? = null,
    private val sessionStore: SessionStore? = null,
    maxAttempts: Int? = null,
    failoverPinned: Boolean = false,
    backoff: Backoff? = null,
    seed: Long? = null,
    timeoutMs: Long? = null,
    connectTimeoutMs: Long? = null,
    callDeadlineMs: Long? = null,
    authTimeoutMs: Long? = null,
    session: String? = null,
    clockOffsetMs: Long = 0,
    httpStack: HttpStack = UrlConnectionStack(),
) : AutoCloseable {
    private val transport = StackTransport(httpStack)
    private val driver: Driver

    init {
        val options = Options(
            // The key as given: the core refuses one in handoff mode (invalid_config). The
            // environment's is read only where a key belongs.
            apiKey = apiKey ?: if (mode == Mode.HANDOFF) null else System.getenv("POLARGRID_API_KEY"),
            mode = when (mode) { Mode.SESSION -> "session"; Mode.DIRECT -> "direct"; Mode.HANDOFF -> "handoff" },
            region = region, baseUrl = baseUrl, scope = scope, endpointsJson = endpoints,
            sessionJson = session ?: sessionStore?.load(),
            failoverPinned = failoverPinned, maxAttempts = maxAttempts?.toUInt(),
            backoffBaseMs = backoff?.baseMs?.toULong(), backoffMaxMs = backoff?.maxMs?.toULong(),
            requestTimeoutMs = timeoutMs?.toULong(), callDeadlineMs = callDeadlineMs?.toULong(),
            connectTimeoutMs = connectTimeoutMs?.toULong(), authTimeoutMs = authTimeoutMs?.toULong(),
            userAgent = "polargrid-core-kotlin/0.1.0",
            seed = seed?.toULong(), clockOffsetMs = clockOffsetMs,
        )
        val listener = sessionStore?.let { store ->
            object : Listener {
                override fun onEvent(event: DriverEvent) {
                    if (event is DriverEvent.SessionChanged) store.save(event.snapshotJson)
                }
            }
        }
        driver = ffi { Driver.withBlocks(options, transport, listener) }
        transport.attach(driver)
    }

    /**
     * Sends one API call through the core (session, region, retries) and returns the answer, or
     * throws a [PolarGridException]. A JSON body's `model` is the routing hint (the core reads it).
     *
     * @param timeoutMs how long each attempt may wait for the answer's head (null: the client's)
     * @param deadlineMs how long the call as a whole may take to its answer's head (null: the client's)
     */
    suspend fun request(
        method: String,
        path: String,
        body: ByteArray? = null,
        headers: Map<String, String> = emptyMap(),
        timeoutMs: Long? = null,
        deadlineMs: Long? = null,
    ): Response {
        val sent = ArrayList<Header>(headers.size + 1)
        for ((k, v) in headers) sent.add(Header(k, v))
        if (body != null && headers.keys.none { it.equals("content-type", true) }) sent.add(Header("Content-Type", "application/json"))
        var handoff: Handoff? = null
        // One crossing: the call as one block (its deadline included); back come its id and the
        // requests the start sent (usually the call's first attempt), which this caller hands to
        // a worker itself.
        val inline = ffi {
            driver.startInline(callBlock(method, path, sent, body, deadlineMs), timeoutMs?.toULong() ?: ULong.MAX_VALUE)
        }
        val b = ByteBuffer.wrap(inline)
        val call = b.getLong(0).toULong()
        var at = 12
        repeat(b.getInt(8)) {
            val id = b.getLong(at).toULong()
            val len = b.getInt(at + 8)
            val block = at + 12
            // The call's own attempt (purpose 3, this call) hands the ending over.
            val mine = handoff == null && inline[block] == 3.toByte() && b.getLong(block + 2).toULong() == call
            val h = if (mine) Handoff(driver, transport, call).also { handoff = it } else null
            transport.sendInline(id, inline, block, len, h)
            at = block + len
        }
        // Usually the worker that answered the call's request hands the ending over (Handoff.kt);
        // else (a retry, an exchange first, a deadline) the driver's own wait.
        val (requestId, region) = when (val r = handoff?.let { awaitHandoff(it) } ?: Handoff.NOT_YET) {
            is Handoff.Ended -> r.requestId to r.region
            is FfiError -> throw PolarGridException.from(r)
            else -> try {
                driver.wait(call).let { it.requestId to it.region }
            } catch (e: FfiError) {
                throw PolarGridException.from(e)
            } catch (e: IllegalStateException) {
                throw PolarGridException.closed() // closed while this call waited
            }
        }
        val kept = transport.claim(requestId) ?: throw PolarGridException.closed()
        return Response(kept.status, kept.headers, region, kept.stream)
    }

    /** The call block (blocks.rs): u16 header count, u64 deadline (all ones, NOT_GIVEN: the client's), then method,
     *  path, each header's name and value (u32 length + UTF-8 each), then the body. */
    private fun callBlock(method: String, path: String, headers: List<Header>, body: ByteArray?, deadlineMs: Long?): ByteArray {
        val fields = ArrayList<ByteArray>(2 + 2 * headers.size)
        fields.add(method.toByteArray()); fields.add(path.toByteArray())
        for (h in headers) { fields.add(h.name.toByteArray()); fields.add(h.value.toByteArray()) }
        val out = ByteBuffer.allocate(10 + fields.sumOf { 4 + it.size } + (body?.size ?: 0))
        out.putShort(headers.size.toShort())
        out.putLong(deadlineMs ?: -1L) // -1L: u64::MAX, NOT_GIVEN
        for (f in fields) { out.putInt(f.size); out.put(f) }
        if (body != null) out.put(body)
        return out.array()
    }

    private suspend fun awaitHandoff(handoff: Handoff): Any = try {
        handoff.result.await()
    } catch (e: CancellationException) {
        handoff.abandon()
        throw e
    }

    /** `GET path`. */
    suspend fun get(path: String): Response = request("GET", path)

    /** `POST path` with a JSON body. */
    suspend fun post(path: String, json: String): Response = request("POST", path, json.toByteArray())

    /** Hands over a session minted by your backend (the auth service's answer, verbatim). */
    fun handOver(grant: String) = ffi { driver.handOver(grant) }

    /** Restores a snapshot saved earlier (a [SessionStore] does this at start by itself). */
    fun restore(snapshot: String) = ffi { driver.restore(snapshot) }

    /** Forgets the session (the store is cleared); in session mode the next call exchanges again. */
    fun logout() = driver.logout()

    /** Where the session is now. */
    val sessionStatus: SessionStatus
        get() = when (driver.sessionState()) {
            SessionState.NONE -> SessionStatus.NONE
            SessionState.EXCHANGING -> SessionStatus.EXCHANGING
            SessionState.ACTIVE -> SessionStatus.ACTIVE
            SessionState.REFRESHING -> SessionStatus.REFRESHING
            SessionState.ENDED -> SessionStatus.ENDED
            SessionState.DIRECT -> SessionStatus.DIRECT
        }

    /** The snapshot to persist now, if a session is held (it holds secrets). */
    fun sessionSnapshot(): String? = driver.sessionSnapshot()

    /** The region calls go to now, if known. */
    val region: String? get() = driver.currentRegion()

    /** Moves this client's clock (tests and demos: expire a JWT without waiting). */
    fun advanceClock(ms: Long) = driver.advanceClock(ms)

    /** Ends open calls and releases everything; idempotent. */
    override fun close() { driver.shutdown(); driver.close() }

    override fun toString() =
        runCatching { "PolarGrid(region=${region ?: "unresolved"}, session=$sessionStatus)" }.getOrDefault("PolarGrid(closed)")

    private inline fun <T> ffi(f: () -> T): T = try { f() } catch (e: FfiError) { throw PolarGridException.from(e) }
}
