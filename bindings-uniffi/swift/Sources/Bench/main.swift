// Per-call overhead of the Swift package vs the bare URLSession it rides on: sequential
// `GET /v1/models` against the emulator's edge (direct mode, pinned region: no exchange, no
// discovery, so both send the same one request per call). Medians, printed, never asserted.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridCore

func median(_ xs: [UInt64]) -> UInt64 { xs.sorted()[xs.count / 2] }

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 400 : 400
let emu = try Emulator()
let key = emu.key("read_write")
let edge = ((emu.info["regions"] as? [[String: Any]])?.first?["url"] as? String) ?? ""
let session = URLSession(configuration: .ephemeral)
var req = URLRequest(url: URL(string: edge + "/v1/models")!)
req.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
func bare() async throws -> UInt64 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let (_, r) = try await session.data(for: req)
    precondition((r as? HTTPURLResponse)?.statusCode == 200)
    return DispatchTime.now().uptimeNanoseconds - t0
}
let pg = try PolarGrid(apiKey: key, mode: .direct, region: "yto-01", endpoints: emu.startup)
func ours() async throws -> UInt64 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let r = try await pg.get("/v1/models")
    precondition(r.status == 200)
    return DispatchTime.now().uptimeNanoseconds - t0
}
for _ in 0..<(n / 2) { _ = try await bare(); _ = try await ours() }
var b: [UInt64] = [], o: [UInt64] = []
for _ in 0..<n { b.append(try await bare()); o.append(try await ours()) }
let mb = Int(median(b) / 1000), mo = Int(median(o) / 1000)
print("swift   GET /v1/models x\(n)  bare URLSession median \(mb) µs · PolarGrid median \(mo) µs · overhead \(mo - mb) µs/call")
pg.close()
emu.close()
