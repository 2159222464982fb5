package ai.polargrid.core

import ai.polargrid.core.ffi.Driver
import kotlinx.coroutines.CompletableDeferred
import java.util.concurrent.atomic.AtomicBoolean

/**
 * A call's ending handed straight from the worker thread that answered the call's first request
 * to the coroutine waiting for it: the driver's `answer(…, collect = true)` returns the ending in
 * the same crossing (heads.rs), instead of the driver's async `wait` (a Rust future: six JNA
 * crossings, a callback and a thread hop more per call).
 *
 * Exactly one party takes the handoff ([take]): the worker that answers the armed request (it
 * answers with `collect` and delivers what came back), the transport when the driver released that
 * request (the call is not over, or ended elsewhere: [NOT_YET], the caller then waits on the driver
 * as before), or the caller when its coroutine is cancelled (it cancels the call in the driver).
 * Only the taker collects the call's ending, so it is collected once. What is delivered after the
 * caller gave up is disposed of by whoever loses the race on [result]: a kept answer is released,
 * an uncollected call cancelled.
 */
internal class Handoff(private val driver: Driver, private val transport: StackTransport, val call: ULong) {
    /** The call succeeded with request [requestId]'s answer (its kept body), in [region] if known. */
    class Ended(val requestId: ULong, val region: String?)

    private val taken = AtomicBoolean(false)

    /** [Ended], a uniffi `PolarGridException`, [NOT_YET] or, from a cancelled caller, [GONE]. */
    val result = CompletableDeferred<Any>()

    /** The one chance to decide this call's handoff; false if another party already did. */
    fun take(): Boolean = taken.compareAndSet(false, true)

    /** The armed request was released: the caller waits on the driver. */
    fun release() {
        if (take()) deliver(NOT_YET)
    }

    /** Hands [r] to the caller (by the party that took the handoff). */
    fun deliver(r: Any) {
        if (!result.complete(r)) dispose(r)
    }

    /** The caller's coroutine was cancelled while waiting here. */
    @OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)
    fun abandon() {
        if (take()) {
            cancelCall()
        } else if (!result.complete(GONE)) {
            dispose(result.getCompleted())
        }
    }

    private fun dispose(r: Any) {
        when (r) {
            NOT_YET -> cancelCall()
            is Ended -> transport.claim(r.requestId)?.let { runCatching { it.stream.close() } }
        }
    }

    private fun cancelCall() {
        runCatching { driver.cancel(call) }
    }

    companion object {
        /** The call had not ended when the handoff was decided: wait on the driver. */
        val NOT_YET = Any()

        /** The caller gave up. */
        val GONE = Any()
    }
}
