package ai.polargrid.core.bench

import ai.polargrid.core.Mode
import ai.polargrid.core.PolarGrid
import ai.polargrid.core.testing.Emulator
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import kotlinx.coroutines.runBlocking

// Per-call overhead of the Kotlin package vs the bare java.net.http client it rides on: sequential
// `GET /v1/models` against the emulator's edge (direct mode, pinned region: no exchange, no
// discovery, so both send the same one request per call). Medians, printed, never asserted.

private fun median(xs: List<Long>): Long = xs.sorted()[xs.size / 2]

fun main(args: Array<String>) {
    val n = args.firstOrNull()?.toInt() ?: 400
    Emulator().use { emu ->
        val key = emu.key("read_write")
        val edge = ((emu.info["regions"] as List<*>)[0] as Map<*, *>)["url"] as String
        val http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
        val req = HttpRequest.newBuilder(URI.create("$edge/v1/models")).header("Authorization", "Bearer $key").build()
        fun bare(): Long {
            val t0 = System.nanoTime()
            val r = http.send(req, HttpResponse.BodyHandlers.ofByteArray())
            check(r.statusCode() == 200)
            return System.nanoTime() - t0
        }
        PolarGrid(apiKey = key, mode = Mode.DIRECT, region = "yto-01", endpoints = emu.startup).use { pg ->
            fun ours(): Long = runBlocking {
                val t0 = System.nanoTime()
                pg.get("/v1/models").use { check(it.status == 200); it.bytes() }
                System.nanoTime() - t0
            }
            repeat(n / 2) { bare(); ours() } // warm-up: JIT, connections, the .so
            val b = ArrayList<Long>(); val o = ArrayList<Long>()
            repeat(n) { b.add(bare()); o.add(ours()) } // interleaved, so drift hits both alike
            val mb = median(b) / 1000; val mo = median(o) / 1000
            println("kotlin  GET /v1/models x$n  bare java.net.http median ${mb} µs · PolarGrid median ${mo} µs · overhead ${mo - mb} µs/call")
        }
    }
    kotlin.system.exitProcess(0)
}
