// The conformance adapter (tests/conformance/PROTOCOL.md) over the Swift package's public API:
// JSON lines in on stdin, JSON lines out on stdout, one client, no decisions of its own.
import Foundation
import PolarGridCore

struct BadRequest: Error { let message: String }

final class Adapter {
    var config: [String: Any]?
    var pg: PolarGrid?
    var offset: Int64 = 0

    func client() throws -> PolarGrid {
        guard let pg else { throw BadRequest(message: "not configured") }
        return pg
    }

    func build(_ c: [String: Any], seed: UInt64?, snapshot: String?) throws -> PolarGrid {
        let mode: PolarGrid.Mode
        switch c["mode"] as? String ?? "session" {
        case "session": mode = .session
        case "direct": mode = .direct
        case "handoff": mode = .handoff
        case let m: throw BadRequest(message: "unknown mode \(m)")
        }
        guard let endpoints = c["endpoints"], JSONSerialization.isValidJSONObject(endpoints) else {
            throw BadRequest(message: "endpoints missing")
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: endpoints), as: UTF8.self)
        let backoff = (c["backoff_ms"] as? [String: Any]).flatMap { b -> (base: UInt64, max: UInt64)? in
            guard let base = (b["base"] as? NSNumber)?.uint64Value, let max = (b["max"] as? NSNumber)?.uint64Value else { return nil }
            return (base: base, max: max)
        }
        let pg = try PolarGrid(apiKey: c["api_key"] as? String, mode: mode, region: c["region"] as? String,
                               scope: c["scope"] as? String ?? "country", baseURL: c["base_url"] as? String,
                               endpoints: json, maxAttempts: (c["max_attempts"] as? NSNumber)?.intValue,
                               failoverPinned: c["failover_pinned"] as? Bool ?? false,
                               requestTimeoutMs: (c["request_timeout_ms"] as? NSNumber)?.uint64Value,
                               callDeadlineMs: (c["call_deadline_ms"] as? NSNumber)?.uint64Value,
                               connectTimeoutMs: (c["connect_timeout_ms"] as? NSNumber)?.uint64Value,
                               authTimeoutMs: (c["auth_timeout_ms"] as? NSNumber)?.uint64Value,
                               backoffMs: backoff,
                               seed: seed ?? (c["seed"] as? NSNumber)?.uint64Value)
        // Same clock offset first, then the snapshot, as the app's restart would see them.
        if offset != 0 { pg.advanceClock(ms: offset) }
        if let snapshot { try pg.restore(snapshot) }
        return pg
    }

    func one(_ pg: PolarGrid, _ method: String, _ path: String, _ body: Data?, _ timeoutMs: UInt64?) async -> [String: Any] {
        let run: @Sendable () async -> [String: Any] = {
            do {
                let r = try await pg.request(method, path, body: body)
                let done = r.text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("data: [DONE]")
                return ["outcome": "ready", "status": r.status, "region": r.region ?? NSNull(), "stream_done": done]
            } catch let e as PolarGridError {
                return ["outcome": "error", "kind": e.kind.rawValue, "status": e.status ?? NSNull(), "retryable": e.retryable,
                        "retry_after_ms": e.retryAfter.map { Int(($0 * 1000).rounded()) } ?? NSNull(),
                        "request_id": e.requestId ?? NSNull(), "message": e.message,
                        "transport": e.transport ?? NSNull(), "cause": e.cause]
            } catch {
                return ["outcome": "error", "kind": "adapter_error", "message": "\(error)"]
            }
        }
        guard let timeoutMs else { return await run() }
        return await withTaskGroup(of: [String: Any]?.self) { g in
            g.addTask { await run() }
            g.addTask { try? await Task.sleep(nanoseconds: timeoutMs * 1_000_000); return nil }
            let first = await g.next()!
            g.cancelAll()
            return first ?? ["outcome": "error", "kind": "adapter_timeout", "status": NSNull(), "retryable": NSNull(),
                             "retry_after_ms": NSNull(), "request_id": NSNull(), "message": "no end within \(timeoutMs) ms"]
        }
    }

    /// Answers one request; the flag says whether to keep reading.
    func handle(_ line: String) async -> ([String: Any], Bool) {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)), let req = obj as? [String: Any] else {
            return (["id": NSNull(), "ok": false, "error": "not a JSON object"], true)
        }
        let id = req["id"] ?? NSNull()
        func str(_ k: String) throws -> String {
            guard let v = req[k] as? String else { throw BadRequest(message: "field \(k) missing or not a string") }
            return v
        }
        func num(_ k: String) throws -> NSNumber {
            guard let v = req[k] as? NSNumber else {
                throw BadRequest(message: "field \(k) missing or not a number")
            }
            return v
        }
        do {
            var fields: [String: Any] = [:]
            var keepGoing = true
            switch req["cmd"] as? String {
            case "configure":
                pg?.close(); pg = nil; config = nil
                do { pg = try build(req, seed: nil, snapshot: nil) } catch let e as PolarGridError {
                    // A refused configuration: the core's kind, and the adapter stays unconfigured.
                    return (["id": id, "ok": false, "error": e.message, "kind": e.kind.rawValue], true)
                }
                config = req
                #if canImport(FoundationNetworking)
                // corelibs Foundation (Linux) reports a refused TLS handshake and a head with a
                // NUL as URLErrors that name neither (seen: -1004 and unknown codes), so the
                // transport says opaque there (PROTOCOL.md, `opaque_kinds`). Apple's URLSession
                // has secureConnectionFailed and badServerResponse for them.
                fields["opaque_kinds"] = ["tls", "protocol"]
                #endif
            case "call":
                let count = try num("count").intValue
                if count < 1 { throw BadRequest(message: "count must be >= 1") }
                let method = try str("method"), path = try str("path")
                let body = try req["body"].flatMap { b -> Data? in
                    b is NSNull ? nil : try JSONSerialization.data(withJSONObject: b, options: [.fragmentsAllowed])
                }
                let timeout = (req["timeout_ms"] as? NSNumber)?.uint64Value
                let pg = try client()
                let outcomes = await withTaskGroup(of: [String: Any].self) { g in
                    for _ in 0..<count { g.addTask { await self.one(pg, method, path, body, timeout) } }
                    return await g.reduce(into: [[String: Any]]()) { $0.append($1) }
                }
                fields["outcomes"] = outcomes
            case "clock":
                let ms = try num("advance_ms").int64Value
                try client().advanceClock(ms: ms)
                offset += ms
            case "hand_over":
                try client().handOver(try str("grant"))
            case "restart":
                let old = try client()
                let snapshot = old.sessionSnapshot()
                old.close(); pg = nil
                guard let config else { throw BadRequest(message: "not configured") }
                pg = try build(config, seed: 2, snapshot: snapshot)
            case "logout":
                try client().logout()
            case "session":
                let s = try client().sessionStatus
                fields["status"] = s == .refreshing ? "active" : s.rawValue
            case "close":
                keepGoing = false
            case nil:
                throw BadRequest(message: "no cmd")
            case let cmd?:
                throw BadRequest(message: "unknown cmd \"\(cmd)\"")
            }
            fields["id"] = id
            fields["ok"] = true
            return (fields, keepGoing)
        } catch let e as BadRequest {
            return (["id": id, "ok": false, "error": e.message], true)
        } catch let e as PolarGridError {
            return (["id": id, "ok": false, "error": "\(e.kind): \(e.message)"], true)
        } catch {
            return (["id": id, "ok": false, "error": "\(error)"], true)
        }
    }
}

setvbuf(stdout, nil, _IOLBF, 0)
let adapter = Adapter()
while let line = readLine() {
    if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
    let (answer, keepGoing) = await adapter.handle(line)
    let data = (try? JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])) ?? Data(#"{"ok":false,"error":"unencodable answer"}"#.utf8)
    print(String(decoding: data, as: UTF8.self))
    if !keepGoing { break }
}
adapter.pg?.close()
exit(0)
