package ai.polargrid.core.testing

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse

/**
 * The real emulator (`polargrid-emulator`, built by cargo) as a child process: its first stdout line
 * is the start-up JSON; closing its stdin stops it. The admin API sets it up and reads its log.
 * `POLARGRID_EMULATOR` names the binary (scripts/test-mobile.sh sets it).
 */
class Emulator(vararg args: String) : AutoCloseable {
    private val process: Process
    /** The start-up JSON exactly as printed (what `endpoints` takes). */
    val startup: String
    val info: Map<String, Any?>
    private val admin: String
    private val http = HttpClient.newHttpClient()

    init {
        val bin = System.getenv("POLARGRID_EMULATOR") ?: "target/debug/polargrid-emulator"
        process = ProcessBuilder(listOf(bin) + args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        startup = process.inputStream.bufferedReader().readLine() ?: error("emulator printed nothing")
        @Suppress("UNCHECKED_CAST")
        info = Json.parse(startup) as Map<String, Any?>
        admin = info["admin"] as String
    }

    fun key(name: String): String = (info["keys"] as Map<*, *>)[name] as String

    fun post(path: String, body: Any?): Any? = send("POST", path, body)

    fun get(path: String): Any? = send("GET", path, null)

    private fun send(method: String, path: String, body: Any?): Any? {
        val b = HttpRequest.newBuilder(URI.create(admin + path))
            .method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(Json.write(body)))
            .header("content-type", "application/json")
            .build()
        val r = http.send(b, HttpResponse.BodyHandlers.ofString())
        check(r.statusCode() == 200) { "admin $method $path -> ${r.statusCode()} ${r.body()}" }
        return Json.parse(r.body())
    }

    /** The request log, optionally filtered (`role`, `path`, `region`). */
    fun log(query: String = ""): List<Map<String, Any?>> {
        @Suppress("UNCHECKED_CAST")
        return (get("/admin/log" + (if (query.isEmpty()) "" else "?$query")) as Map<String, Any?>)["entries"] as List<Map<String, Any?>>
    }

    fun count(role: String, path: String): Int = log("role=$role&path=$path").size

    override fun close() {
        runCatching { process.outputStream.close() }
        if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly()
    }
}
