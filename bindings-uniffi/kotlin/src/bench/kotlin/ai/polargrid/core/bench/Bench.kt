package ai.polargrid.core.bench

import ai.polargrid.core.Mode
import ai.polargrid.core.PolarGrid
import ai.polargrid.core.testing.Emulator
import java.net.HttpURLConnection
import java.net.URL
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

// Per-call overhead of the Kotlin package vs the bare HttpURLConnection it rides on: sequential
// `GET /v1/models` against the emulator's edge (direct mode, pinned region: no exchange, no
// discovery, so both send the same one request per call). Medians, printed, never asserted.
//
// Two baselines: the bare call blocking the caller's thread (no thread switch at all), and the same
// bare call as a coroutine makes it (`withContext(Dispatchers.IO)`, as Android requires: no network
// on the main thread). `PolarGrid.request` is a suspend call that sends on a worker thread and
// resumes the caller, the same two thread switches as the second; on a loaded machine each switch
// is a scheduler wake-up of tens to hundreds of µs, so the first overhead is mostly those.

private fun median(xs: List<Long>): Long = xs.sorted()[xs.size / 2]
private fun pct(xs: List<Long>, p: Int): Long = xs.sorted()[(xs.size * p / 100).coerceAtMost(xs.size - 1)]

fun main(args: Array<String>) {
    val n = args.firstOrNull()?.toInt() ?: 400
    Emulator().use { emu ->
        val key = emu.key("read_write")
        val edge = ((emu.info["regions"] as List<*>)[0] as Map<*, *>)["url"] as String
        val url = URL("$edge/v1/models")
        fun bare(): Long {
            val t0 = System.nanoTime()
            val c = url.openConnection() as HttpURLConnection
            c.instanceFollowRedirects = false
            c.setRequestProperty("Authorization", "Bearer $key")
            check(c.responseCode == 200)
            c.inputStream.use { it.readBytes() } // read to the end: the connection goes back to the pool
            return System.nanoTime() - t0
        }
        PolarGrid(apiKey = key, mode = Mode.DIRECT, region = "yto-01", endpoints = emu.startup).use { pg ->
            fun bareIo(): Long = runBlocking {
                val t0 = System.nanoTime()
                withContext(Dispatchers.IO) { bare() }
                System.nanoTime() - t0
            }
            fun ours(): Long = runBlocking {
                val t0 = System.nanoTime()
                pg.get("/v1/models").use { check(it.status == 200); it.bytes() }
                System.nanoTime() - t0
            }
            // Warm-up: connections, the .so and the JIT. The PolarGrid path is far more code than a
            // bare call (the uniffi glue, JNA, coroutines): after n / 2 = 200 rounds C2 was still
            // compiling it (a third of the process's CPU, perf) and the overhead read ~650 µs where a
            // warm JVM shows ~220. So: 5,000 rounds (JIT thresholds count calls, not time; ~5 s on an
            // idle machine) or n / 2 if more; the first rounds' medians are printed too (cold: what
            // an app's first calls cost).
            val cold = ArrayList<Long>(); val coldBare = ArrayList<Long>()
            var rounds = 0
            while (rounds < maxOf(n / 2, 5000)) {
                val b0 = bare(); bareIo(); val o0 = ours()
                if (rounds < 200) { coldBare.add(b0); cold.add(o0) }
                rounds++
            }
            println("kotlin  cold (first 200 rounds): bare median ${median(coldBare) / 1000} µs · PolarGrid median ${median(cold) / 1000} µs; warm-up $rounds rounds")
            val b = ArrayList<Long>(); val io = ArrayList<Long>(); val o = ArrayList<Long>()
            repeat(n) { b.add(bare()); io.add(bareIo()); o.add(ours()) } // interleaved, so drift hits all alike
            val mb = median(b) / 1000; val mio = median(io) / 1000; val mo = median(o) / 1000
            fun spread(xs: List<Long>) = "p10 ${pct(xs, 10) / 1000} p90 ${pct(xs, 90) / 1000}"
            println("kotlin  GET /v1/models x$n  bare HttpURLConnection median ${mb} µs (${spread(b)}) · PolarGrid median ${mo} µs (${spread(o)}) · overhead ${mo - mb} µs/call")
            println("kotlin  bare HttpURLConnection on Dispatchers.IO from a coroutine median ${mio} µs (${spread(io)}) · PolarGrid overhead over it ${mo - mio} µs/call")
            // For `make bench`'s closing table (scripts/bench-record.sh --run records these lines),
            // beside the figures at main 72704ee (middle of 3 runs of 400 calls, 2026-12-03).
            println("bench-figure\tkotlin: overhead per call vs bare HttpURLConnection\t${mo - mb}\tµs\t570\t-")
            println("bench-figure\tkotlin: call through PolarGrid\t${mo}\tµs\t832\t-")
            println("bench-figure\tkotlin: overhead per call vs bare HttpURLConnection on Dispatchers.IO (both suspend)\t${mo - mio}\tµs\t-\t<=50")
        }
    }
    kotlin.system.exitProcess(0)
}
