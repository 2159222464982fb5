package ai.polargrid.core

import ai.polargrid.core.ffi.CallResponse
import ai.polargrid.core.ffi.Driver
import kotlinx.coroutines.CompletableDeferred
import java.util.concurrent.atomic.AtomicBoolean
import ai.polargrid.core.ffi.PolarGridException as FfiError

/**
 * A call's ending handed straight from the worker thread that answered its first request to the
 * coroutine waiting for it, instead of through the driver's async `wait` (a Rust future: six JNA
 * crossings, a callback and a thread hop more per call, measured in Bench.kt's notes).
 *
 * Exactly one party takes the handoff ([take]): the worker that answered the armed request (it
 * then collects the ending with `waitBlocking(call, 0)`, which never blocks: the answer it just
 * gave is in), the transport when the driver released that request (the call is not over, or
 * ended elsewhere: [NOT_YET], the caller then waits on the driver as before), or the caller when
 * its coroutine is cancelled (it cancels the call in the driver). Only the taker ever collects the
 * call's ending, so it is collected once. What is delivered after the caller gave up is disposed
 * of by whoever loses the race on [result]: a kept answer is released, an uncollected call cancelled.
 */
internal class Handoff(private val driver: Driver, private val transport: StackTransport, val call: ULong) {
    private val taken = AtomicBoolean(false)

    /** [CallResponse], an [FfiError], [NOT_YET] or, from a cancelled caller, [GONE]. */
    val result = CompletableDeferred<Any>()

    /** The one chance to decide this call's handoff; false if another party already did. */
    fun take(): Boolean = taken.compareAndSet(false, true)

    /** The armed request was answered (on its worker thread, after the reply). */
    fun collect() {
        if (!take()) return
        deliver(
            try {
                driver.waitBlocking(call, 0u) ?: NOT_YET
            } catch (e: FfiError) {
                e
            } catch (e: IllegalStateException) {
                NOT_YET // the client was closed meanwhile: its waiter learns it from the driver
            },
        )
    }

    /** The armed request was released: the caller waits on the driver. */
    fun release() {
        if (take()) deliver(NOT_YET)
    }

    private fun deliver(r: Any) {
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
            is CallResponse -> transport.claim(r.requestId)?.let { runCatching { it.stream.close() } }
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
