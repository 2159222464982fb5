import Foundation
import XCTest
import PolarGridCore

/// The Swift package against the real emulator over real HTTP on 127.0.0.1, built by the real
/// swiftc. Names follow <situation>_<expected outcome>.
final class PolarGridTests: XCTestCase {
    private func client(_ emu: Emulator, key: String = "read_write", store: SessionStore? = nil,
                        maxAttempts: Int? = nil) throws -> PolarGrid {
        try PolarGrid(apiKey: emu.key(key), endpoints: emu.startup, sessionStore: store,
                      maxAttempts: maxAttempts, backoffMs: (base: 50, max: 400), seed: 1)
    }

    /// Waits (polling the admin log, bounded) until `cond` holds: a condition, not a sleep.
    private func waitFor(_ what: String, _ cond: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while try await !cond() {
            if Date() > deadline { XCTFail("timed out waiting for \(what)"); return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    func testHundredConcurrentCalls_acrossJwtExpiry_refreshOnce() async throws {
        let emu = try Emulator(); defer { emu.close() }
        try await emu.post("/admin/config", ["jwt_ttl_s": 3600])
        let pg = try client(emu); defer { pg.close() }
        let first = try await pg.get("/v1/models").status
        XCTAssertEqual(first, 200)
        try await emu.post("/admin/log/clear")
        // Both clocks past the JWT's expiry: every one of the 100 calls needs a fresh JWT.
        try await emu.post("/admin/clock", ["advance_ms": 3_601_000])
        pg.advanceClock(ms: 3_601_000)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 { group.addTask { try await pg.get("/v1/models").status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: 100))
        let refreshes = try await emu.count("auth", "/v1/auth/refresh")
        XCTAssertEqual(refreshes, 1)
        let exchanges = try await emu.count("auth", "/v1/auth/session")
        XCTAssertEqual(exchanges, 0)
        let edge = try await emu.log("role=edge")
        XCTAssertEqual(edge.filter { $0["status"] as? Int == 401 }.count, 0, "an expired JWT reached an edge")
        XCTAssertEqual(edge.filter { $0["status"] as? Int == 200 }.count, 100)
    }

    func testCancelledCall_endsInCore_noRetryAfterIt() async throws {
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu); defer { pg.close() }
        _ = try await pg.get("/v1/models")
        try await emu.post("/admin/log/clear")
        // The next edge answer is a 503 (retryable for a GET) held back 2 s: the call is in flight.
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "status", "status": 503, "count": 1])
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "slow", "delay_ms": 2000, "count": 1])
        let task = Task { try await pg.get("/v1/models") }
        try await waitFor("the call's request at the edge") { try await !emu.log("role=edge").isEmpty }
        task.cancel()
        switch await task.result {
        case .success: XCTFail("a cancelled call answered")
        case .failure(let e): XCTAssertTrue(e is CancellationError, "got \(e)")
        }
        let cancelled = try await emu.log("role=edge")
        XCTAssertEqual(cancelled.count, 1)
        let cancelledId = cancelled.first?["request_id"] as? String
        // When its backoff would long have passed (client clock +60 s) and another call has run to
        // the end on the same client, the log still shows no retry of the cancelled call.
        pg.advanceClock(ms: 60_000)
        let next = try await pg.get("/v1/models").status
        XCTAssertEqual(next, 200)
        let edge = try await emu.log("role=edge")
        XCTAssertEqual(edge.filter { $0["request_id"] as? String == cancelledId }.count, 1, "the cancelled call was retried")
    }

    func testRateLimited_errorFieldsArriveIntact() async throws {
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu, maxAttempts: 1); defer { pg.close() }
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "rate_limit", "retry_after": "7", "count": 1])
        do {
            _ = try await pg.get("/v1/models")
            XCTFail("no error")
        } catch let e as PolarGridError {
            XCTAssertEqual(e.kind, .rateLimited)
            XCTAssertEqual(e.status, 429)
            XCTAssertTrue(e.retryable)
            XCTAssertEqual(e.retryAfter, 7)
            let logged = try await emu.log("role=edge").last?["request_id"] as? String
            XCTAssertNotNil(e.requestId)
            XCTAssertEqual(e.requestId, logged)
            XCTAssertFalse(e.cause.isEmpty)
            XCTAssertFalse(e.fix.isEmpty)
            XCTAssertFalse("\(e)".contains(emu.key("read_write")))
        }
    }

    func testRevokedKey_throwsInvalidApiKeyWithFix_noSecretInDescription() async throws {
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu, key: "revoked"); defer { pg.close() }
        do {
            _ = try await pg.get("/v1/models")
            XCTFail("no error")
        } catch let e as PolarGridError {
            XCTAssertEqual(e.kind, .invalidApiKey)
            XCTAssertEqual(e.status, 401)
            XCTAssertFalse(e.retryable)
            let text = "\(e) \(String(reflecting: e)) \(e.localizedDescription) \(pg)"
            XCTAssertFalse(text.contains(emu.key("revoked")), "the key leaked into an error's text")
        }
    }

    func testSnapshotSavedToStore_restoredWithoutExchange() async throws {
        final class Box: SessionStore, @unchecked Sendable {
            let lock = NSLock(); var data: Data?
            func load() -> Data? { lock.withLock { data } }
            func save(_ snapshot: Data?) { lock.withLock { data = snapshot } }
        }
        let emu = try Emulator(); defer { emu.close() }
        let store = Box()
        do {
            let pg = try client(emu, store: store); defer { pg.close() }
            _ = try await pg.get("/v1/models")
        }
        XCTAssertNotNil(store.load(), "no snapshot was saved")
        let pg = try client(emu, store: store); defer { pg.close() }
        XCTAssertEqual(pg.sessionStatus, .active)
        let status = try await pg.get("/v1/models").status
        XCTAssertEqual(status, 200)
        XCTAssertFalse("\(pg)".contains("eyJ"), "a JWT in description")
        let exchanges = try await emu.count("auth", "/v1/auth/session")
        XCTAssertEqual(exchanges, 1, "restore exchanged again")
    }

    func testStreamedChat_bodyArrivesUntouched() async throws {
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu); defer { pg.close() }
        let r = try await pg.post("/v1/chat/completions",
                                  json: #"{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.region, "yto-01")
        XCTAssertTrue(r.text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("data: [DONE]"))
    }

    func testStreamedChat_bodyReadChunkByChunk_sameBytesAsBuffered() async throws {
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu); defer { pg.close() }
        let json = #"{"model":"llama-3.1-8b","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let r = try await pg.stream("POST", "/v1/chat/completions", body: Data(json.utf8))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.headers["content-type"]?.hasPrefix("text/event-stream"), true)
        var chunks = 0
        var all = Data()
        for try await chunk in r.body { chunks += 1; all.append(chunk) }
        XCTAssertGreaterThan(chunks, 0)
        let text = String(decoding: all, as: UTF8.self)
        XCTAssertTrue(text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("data: [DONE]"), text)
        let buffered = try await pg.post("/v1/chat/completions", json: json)
        XCTAssertEqual(buffered.text.components(separatedBy: "data:").count, text.components(separatedBy: "data:").count)
    }

    func testEdge307_reachesCoreAsAnAnswer_notFollowed() async throws {
        // A 3xx from the edge is the core's to classify: the transport hands it over as it is.
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu, maxAttempts: 1); defer { pg.close() }
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "status", "status": 307, "count": 1])
        do {
            _ = try await pg.get("/v1/models")
            XCTFail("a 307 answered as success")
        } catch let e as PolarGridError {
            XCTAssertEqual(e.status, 307)
        }
    }

    func testPostAnsweredSlowerThanConnectTimeout_notCut_oneEdgeRequest() async throws {
        // The body went out (the connection exists): a head slower than the connect timeout is no
        // connect timeout, and a POST that is not safe to repeat must not be cut and re-sent.
        let emu = try Emulator(); defer { emu.close() }
        let pg = try PolarGrid(apiKey: emu.key("read_write"), endpoints: emu.startup, maxAttempts: 3,
                               connectTimeoutMs: 200, backoffMs: (base: 50, max: 400), seed: 1)
        defer { pg.close() }
        _ = try await pg.get("/v1/models")
        try await emu.post("/admin/log/clear")
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "slow", "delay_ms": 800, "count": 1])
        let r = try await pg.post("/v1/chat/completions", json: #"{"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi"}]}"#)
        XCTAssertEqual(r.status, 200)
        let edge = try await emu.log("role=edge")
        XCTAssertEqual(edge.count, 1, "the POST was cut and re-sent")
    }

    func testSlowEdge_perCallDeadline_failsAsTimeoutOnTime() async throws {
        // The deadline travels in the call block and bounds the attempt (the client's is 120 s).
        let emu = try Emulator(); defer { emu.close() }
        let pg = try client(emu, maxAttempts: 1); defer { pg.close() }
        _ = try await pg.get("/v1/models")
        try await emu.post("/admin/fault", ["target": "region:yto-01", "kind": "slow", "delay_ms": 3000, "count": 1])
        let t0 = Date()
        do {
            _ = try await pg.request("GET", "/v1/models", deadlineMs: 300)
            XCTFail("a 3 s answer beat a 300 ms deadline")
        } catch let e as PolarGridError {
            XCTAssertEqual(e.kind, .network)
            XCTAssertEqual(e.transport, "timeout")
        }
        let ms = Date().timeIntervalSince(t0) * 1000
        XCTAssertTrue((250..<2500).contains(ms), "the 300 ms deadline ended the call after \(Int(ms)) ms")
    }

    func testBadEndpoints_throwsConfigWithFix() throws {
        XCTAssertThrowsError(try PolarGrid(apiKey: "pg_x", endpoints: "{not json")) { e in
            XCTAssertEqual((e as? PolarGridError)?.kind, .invalidConfig)
            XCTAssertFalse((e as? PolarGridError)?.fix.isEmpty ?? true)
        }
    }

    func testKeyPassedInHandoffMode_refusedAsInvalidConfig_keyNotInMessage() throws {
        XCTAssertThrowsError(try PolarGrid(apiKey: "pg_handoff_secret", mode: .handoff)) { e in
            XCTAssertEqual((e as? PolarGridError)?.kind, .invalidConfig)
            XCTAssertFalse("\(e)".contains("pg_handoff_secret"))
        }
    }

    static let allTests = [
        ("testHundredConcurrentCalls_acrossJwtExpiry_refreshOnce", asyncTest(testHundredConcurrentCalls_acrossJwtExpiry_refreshOnce)),
        ("testCancelledCall_endsInCore_noRetryAfterIt", asyncTest(testCancelledCall_endsInCore_noRetryAfterIt)),
        ("testRateLimited_errorFieldsArriveIntact", asyncTest(testRateLimited_errorFieldsArriveIntact)),
        ("testRevokedKey_throwsInvalidApiKeyWithFix_noSecretInDescription", asyncTest(testRevokedKey_throwsInvalidApiKeyWithFix_noSecretInDescription)),
        ("testSnapshotSavedToStore_restoredWithoutExchange", asyncTest(testSnapshotSavedToStore_restoredWithoutExchange)),
        ("testStreamedChat_bodyArrivesUntouched", asyncTest(testStreamedChat_bodyArrivesUntouched)),
        ("testStreamedChat_bodyReadChunkByChunk_sameBytesAsBuffered", asyncTest(testStreamedChat_bodyReadChunkByChunk_sameBytesAsBuffered)),
        ("testEdge307_reachesCoreAsAnAnswer_notFollowed", asyncTest(testEdge307_reachesCoreAsAnAnswer_notFollowed)),
        ("testPostAnsweredSlowerThanConnectTimeout_notCut_oneEdgeRequest", asyncTest(testPostAnsweredSlowerThanConnectTimeout_notCut_oneEdgeRequest)),
        ("testSlowEdge_perCallDeadline_failsAsTimeoutOnTime", asyncTest(testSlowEdge_perCallDeadline_failsAsTimeoutOnTime)),
        ("testBadEndpoints_throwsConfigWithFix", testBadEndpoints_throwsConfigWithFix),
        ("testKeyPassedInHandoffMode_refusedAsInvalidConfig_keyNotInMessage", testKeyPassedInHandoffMode_refusedAsInvalidConfig_keyNotInMessage),
    ]
}
