package ai.polargrid.core.testing

import java.io.IOException
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * A TCP listener on 127.0.0.1 that behaves as a test says (answers garbage, never answers, closes at
 * once, …): the transport failures the emulator does not produce. [accepted] counts connections;
 * [peerClosed] is released each time the client closes its end (read sees EOF or a reset).
 */
class RawServer(backlog: Int = 50, private val handler: (Socket) -> Unit) : AutoCloseable {
    val socket = ServerSocket(0, backlog, InetAddress.getLoopbackAddress())
    val port: Int get() = socket.localPort
    val url: String get() = "http://127.0.0.1:$port"
    val accepted = AtomicInteger(0)
    private val closes = java.util.concurrent.LinkedBlockingQueue<Long>()
    @Volatile private var accepting = true

    /** Starts accepting (a listener that never accepts is made with [idle]). */
    fun start(): RawServer {
        Thread {
            while (accepting) {
                val s = try { socket.accept() } catch (e: IOException) { break }
                accepted.incrementAndGet()
                Thread { s.use { runCatching { handler(it) } } }.apply { isDaemon = true }.start()
            }
        }.apply { isDaemon = true }.start()
        return this
    }

    /** Reads the request head, then waits until the client closes its end; records when. */
    fun holdUntilClientCloses(s: Socket) {
        val input = s.getInputStream()
        val buf = ByteArray(4096)
        try { while (input.read(buf) >= 0) Unit } catch (e: IOException) { /* reset: closed too */ }
        closes.add(System.nanoTime())
    }

    /** Waits (bounded) for the client to close a connection; true if it did within [ms]. */
    fun clientClosedWithin(ms: Long): Boolean = closes.poll(ms, TimeUnit.MILLISECONDS) != null

    override fun close() {
        accepting = false
        fillers.forEach { runCatching { it.close() } }
        runCatching { socket.close() }
    }

    companion object {
        /** Reads the request head (to the blank line). */
        fun readHead(s: Socket) {
            val input = s.getInputStream()
            var tail = 0
            while (tail != 0x0d0a0d0a) {
                val b = input.read()
                if (b < 0) return
                tail = (tail shl 8) or b
            }
        }

        /** A port nothing listens on (bound, then closed). */
        fun closedPort(): Int = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }

        /**
         * A listener whose accept queue is full and that never accepts: a new connection's SYN is
         * dropped, so connecting hangs until the client's connect timeout (Linux).
         */
        fun fullBacklog(): RawServer {
            val server = RawServer(backlog = 1) { }
            val fillers = ArrayList<Socket>()
            // Fill the queue: stop when a connect no longer completes quickly.
            while (fillers.size < 64) {
                val s = Socket()
                try { s.connect(java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), server.port), 200) }
                catch (e: IOException) { s.close(); break }
                fillers.add(s)
            }
            server.fillers = fillers
            return server
        }
    }

    private var fillers: List<Socket> = emptyList()

}
