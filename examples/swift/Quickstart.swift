// The Swift quickstart: an authenticated, routed call in three lines.
//
// With POLARGRID_API_KEY set it talks to the real service. Without it, it starts the bundled
// PolarGrid emulator (`cargo build -p polargrid-emulator`; POLARGRID_EMULATOR names the binary)
// and points the client at it through `endpoints`, the emulator's start-up JSON.
import Foundation
import PolarGridCore

let env = ProcessInfo.processInfo.environment
var emulator: Process?
let emulatorInput = Pipe()
let pg: PolarGrid
if let key = env["POLARGRID_API_KEY"] {
    pg = try PolarGrid(apiKey: key)
} else {
    let p = Process(), out = Pipe()
    p.executableURL = URL(fileURLWithPath: env["POLARGRID_EMULATOR"] ?? "target/debug/polargrid-emulator")
    p.standardInput = emulatorInput
    p.standardOutput = out
    try p.run()
    emulator = p
    var line = Data()
    while case let byte = out.fileHandleForReading.readData(ofLength: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
    let startup = String(decoding: line, as: UTF8.self)
    let keys = (try JSONSerialization.jsonObject(with: line) as? [String: Any])?["keys"] as? [String: String]
    print("no POLARGRID_API_KEY: using the local emulator")
    pg = try PolarGrid(apiKey: keys?["read_write"], endpoints: startup)
}

// 1. Models: the key is exchanged for a session JWT, the region discovered, the call made.
let models = try await pg.get("/v1/models")
print("GET /v1/models -> \(models.status) from \(models.region ?? "?"): \(models.text.prefix(80))…")
// 2. A streamed chat completion: the SSE body arrives untouched.
let chat = try await pg.post("/v1/chat/completions",
                             json: #"{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"Say hi"}]}"#)
print("streamed chat -> \(chat.status), \(chat.text.split(separator: "\n").filter { $0.hasPrefix("data:") }.count) SSE events")
// 3. Errors carry what to do about them.
do {
    _ = try await pg.get("/v1/no-such-thing")
} catch let e as PolarGridError {
    print("error kind=\(e.kind) status=\(e.status.map(String.init) ?? "-") retryable=\(e.retryable)\n  cause: \(e.cause)\n  fix:   \(e.fix)")
}
pg.close()
try? emulatorInput.fileHandleForWriting.close()
emulator?.waitUntilExit()
