// Per-call overhead of the Swift package vs the bare URLSession it rides on: sequential
// `GET /v1/models` against the emulator's edge (direct mode, pinned region: no exchange, no
// discovery, so both send the same one request per call). Medians, printed, never asserted.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridCore

func median(_ xs: [UInt64]) -> UInt64 { xs.sorted()[xs.count / 2] }
func spread(_ xs: [UInt64]) -> String {
    let s = xs.sorted()
    return "p10 \(s[s.count / 10] / 1000) p90 \(s[min(s.count - 1, s.count * 9 / 10)] / 1000)"
}

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
/// The same request through a URLSessionDataDelegate (the transport's path: head, chunks and the
/// end arrive as separate delegate callbacks), to tell the delegate path's cost from the layer's.
final class Collect: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    var conts: [Int: CheckedContinuation<Void, Error>] = [:]
    let lock = NSLock()
    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) { completionHandler(.allow) }
    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {}
    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let c = lock.withLock { conts.removeValue(forKey: task.taskIdentifier) }
        if let error { c?.resume(throwing: error) } else { c?.resume() }
    }
}
let collect = Collect()
let delegated = URLSession(configuration: .ephemeral, delegate: collect, delegateQueue: nil)
func bareDelegate() async throws -> UInt64 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
        let task = delegated.dataTask(with: req)
        collect.lock.withLock { collect.conts[task.taskIdentifier] = c }
        task.resume()
    }
    return DispatchTime.now().uptimeNanoseconds - t0
}
let pg = try PolarGrid(apiKey: key, mode: .direct, region: "yto-01", endpoints: emu.startup)
func ours() async throws -> UInt64 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let r = try await pg.get("/v1/models")
    precondition(r.status == 200)
    return DispatchTime.now().uptimeNanoseconds - t0
}
/// `stream()` to the head only (the body is then read outside the clock).
func head() async throws -> UInt64 {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let r = try await pg.stream("GET", "/v1/models")
    let t = DispatchTime.now().uptimeNanoseconds - t0
    _ = try await r.body.collect()
    return t
}
for _ in 0..<(n / 2) { _ = try await bare(); _ = try await bareDelegate(); _ = try await ours(); _ = try await head() }
var b: [UInt64] = [], d: [UInt64] = [], o: [UInt64] = [], h: [UInt64] = []
for _ in 0..<n {
    b.append(try await bare()); d.append(try await bareDelegate()); o.append(try await ours()); h.append(try await head())
}
let mb = Int(median(b) / 1000), md = Int(median(d) / 1000), mo = Int(median(o) / 1000)
print("swift   GET /v1/models x\(n)  bare URLSession median \(mb) µs (\(spread(b))) · PolarGrid median \(mo) µs (\(spread(o))) · overhead \(mo - mb) µs/call")
print("swift   (bare URLSession through a data delegate, the transport's path: median \(md) µs, +\(md - mb) µs;"
      + " PolarGrid stream() to the head: median \(Int(median(h) / 1000)) µs)")
// For `make bench`'s closing table (scripts/bench-record.sh --run records these lines), beside
// the figures at main 72704ee (middle of 3 runs of 400 calls, 2026-12-03).
print("bench-figure\tswift: overhead per call vs bare URLSession\t\(mo - mb)\tµs\t263\t-")
print("bench-figure\tswift: call through PolarGrid\t\(mo)\tµs\t936\t-")
pg.close()
emu.close()
