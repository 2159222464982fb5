// The Kotlin quickstart: an authenticated, routed call in three lines.
//
// With POLARGRID_API_KEY set it talks to the real service. Without it, it starts the bundled
// PolarGrid emulator (`cargo build -p polargrid-emulator`; POLARGRID_EMULATOR names the binary)
// and points the client at it through `endpoints`, the emulator's start-up JSON.
import ai.polargrid.core.PolarGrid
import ai.polargrid.core.PolarGridException
import kotlinx.coroutines.runBlocking

fun main() = runBlocking {
    val key = System.getenv("POLARGRID_API_KEY")
    var emulator: Process? = null
    val pg = if (key != null) {
        PolarGrid(apiKey = key)
    } else {
        val bin = System.getenv("POLARGRID_EMULATOR") ?: "target/debug/polargrid-emulator"
        emulator = ProcessBuilder(bin).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val startup = emulator.inputStream.bufferedReader().readLine()
        val testKey = Regex("\"read_write\":\"(pg_[^\"]+)\"").find(startup)!!.groupValues[1]
        println("no POLARGRID_API_KEY: using the local emulator")
        PolarGrid(apiKey = testKey, endpoints = startup)
    }
    pg.use {
        // 1. Models: the key is exchanged for a session JWT, the region discovered, the call made.
        it.get("/v1/models").use { r -> println("GET /v1/models -> ${r.status} from ${r.region}: ${r.text().take(80)}…") }
        // 2. A streamed chat completion: the SSE body arrives untouched.
        val chat = """{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"Say hi"}]}"""
        it.post("/v1/chat/completions", chat).use { r -> println("streamed chat -> ${r.status}, ${r.text().lines().count { l -> l.startsWith("data:") }} SSE events") }
        // 3. Errors carry what to do about them.
        try {
            it.get("/v1/no-such-thing").close()
        } catch (e: PolarGridException) {
            println("error kind=${e.kind} status=${e.status} retryable=${e.retryable}\n  cause: ${e.causeText}\n  fix:   ${e.fix}")
        }
    }
    emulator?.outputStream?.close()
    emulator?.waitFor()
    Unit
}
