package ai.polargrid.core

/**
 * Reads the top-level `"model"` string of a JSON request body (the routing hint), without a JSON
 * library: skips nested values and strings, so a `model` inside `messages` never counts.
 */
internal object ModelHint {
    fun of(body: ByteArray): String? {
        if (body.size > 1 shl 20) return null
        val s = String(body, Charsets.UTF_8)
        var i = s.indexOfFirst { !it.isWhitespace() }
        if (i < 0 || s[i] != '{') return null
        var depth = 0
        var key: String? = null
        var expectKey = true
        while (i < s.length) {
            when (val c = s[i]) {
                '{', '[' -> { depth++; if (depth == 1) expectKey = true }
                '}', ']' -> depth--
                ',' -> if (depth == 1) { expectKey = true; key = null }
                '"' -> {
                    val (text, end) = string(s, i) ?: return null
                    i = end
                    if (depth == 1) {
                        if (expectKey) { key = text; expectKey = false }
                        else if (key == "model") return text
                    }
                    continue
                }
                else -> if (depth == 1 && !c.isWhitespace() && c != ':' && key == "model") return null
            }
            i++
        }
        return null
    }

    /** The string starting at the quote at [start] and the index after its closing quote. */
    private fun string(s: String, start: Int): Pair<String, Int>? {
        val sb = StringBuilder()
        var i = start + 1
        while (i < s.length) {
            val c = s[i]
            if (c == '"') return sb.toString() to i + 1
            if (c == '\\' && i + 1 < s.length) {
                val e = s[i + 1]
                if (e == 'u' && i + 5 < s.length) { sb.append(s.substring(i + 2, i + 6).toIntOrNull(16)?.toChar() ?: '?'); i += 6; continue }
                sb.append(when (e) { 'n' -> '\n'; 't' -> '\t'; 'r' -> '\r'; 'b' -> '\b'; 'f' -> '\u000c'; else -> e })
                i += 2
                continue
            }
            sb.append(c)
            i++
        }
        return null
    }
}
