import Foundation
import XCTest
import PolarGridCore
import PolarGridUniFFI

/// No secret (the API key, the session JWT, the refresh token) is printed by any record or event
/// the driver emits, through `description`, `debugDescription` or `dump`; and the one mapping of
/// URLSession failures follows the core's table.
final class SecretsTests: XCTestCase {
    /// Records every request the driver sends and every event it emits, on the real transport.
    final class Recorder: Transport, Listener, @unchecked Sendable {
        let inner = URLSessionTransport()
        let lock = NSLock()
        var requests: [HttpRequest] = []
        var events: [DriverEvent] = []
        func send(request: HttpRequest, reply: Reply) {
            lock.withLock { requests.append(request) }
            inner.send(request: request, reply: reply)
        }
        func release(requestId: UInt64) { inner.release(requestId: requestId) }
        func onEvent(event: DriverEvent) { lock.withLock { events.append(event) } }
    }

    private func printed(_ v: Any) -> String {
        var d = ""
        dump(v, to: &d)
        return "\(v)\n\(String(reflecting: v))\n\(d)"
    }

    func testEveryRecordAndEvent_printedThreeWays_holdsNoKeyJwtOrRefreshToken() async throws {
        let emu = try Emulator(); defer { emu.close() }
        try await emu.post("/admin/config", ["jwt_ttl_s": 3600])
        let key = emu.key("read_write")
        let rec = Recorder()
        let options = Options(apiKey: key, endpointsJson: emu.startup, backoffBaseMs: 50, backoffMaxMs: 400, seed: 1)
        let driver = try Driver(options: options, transport: rec, listener: rec)
        defer { driver.close(); rec.inner.invalidate() }
        var errors: [Error] = []
        var answers: [CallResponse] = []
        func call(_ method: String, _ path: String, _ body: String? = nil) async throws {
            let id = try driver.start(call: CallRequest(method: method, path: path, body: body.map { Data($0.utf8) },
                                                        headers: [Header(name: "Content-Type", value: "application/json")]))
            do {
                let r = try await driver.wait(call: id)
                answers.append(r)
                rec.inner.release(requestId: r.requestId)
            } catch { errors.append(error) }
        }
        // Exchange, discovery and a call; then a refresh past the JWT's expiry; a failure; a logout.
        try await call("GET", "/v1/models")
        let snapshot = try XCTUnwrap(driver.sessionSnapshot())
        let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(snapshot.utf8)) as? [String: Any])
        let jwt = try XCTUnwrap(fields["session_token"] as? String)
        let refresh = try XCTUnwrap(fields["refresh_token"] as? String)
        try await emu.post("/admin/clock", ["advance_ms": 3_601_000])
        driver.advanceClock(ms: 3_601_000)
        try await call("POST", "/v1/chat/completions", #"{"model":"llama-3.1-8b","messages":[]}"#)
        try await call("GET", "/v1/no-such-thing")
        driver.logout()
        let pg = try PolarGrid(apiKey: key, endpoints: emu.startup, seed: 1)
        defer { pg.close() }
        _ = try await pg.get("/v1/models")
        do { _ = try await pg.get("/v1/no-such-thing") } catch { errors.append(error) }

        let (requests, events) = rec.lock.withLock { (rec.requests, rec.events) }
        // The material holds the secrets (else this test could not fail).
        let secrets = ["API key": key, "JWT": jwt, "refresh token": refresh]
        XCTAssertTrue(requests.contains { $0.headers.contains(key) }, "no request carried the key")
        XCTAssertTrue(requests.contains { $0.headers.contains(jwt) }, "no request carried the JWT")
        XCTAssertTrue(requests.contains { String(decoding: $0.body ?? Data(), as: UTF8.self).contains(refresh) }, "no refresh was sent")
        XCTAssertTrue(events.contains { if case .sessionChanged(.refreshed, _, _, let s?) = $0 { return s.contains(refresh) || s.contains("refresh_token") }; return false })
        XCTAssertGreaterThanOrEqual(errors.count, 2)

        var values: [(String, Any)] = [("options", options), ("driver", driver), ("client", pg)]
        values += requests.map { ("HttpRequest \($0.purpose)", $0) }
        values += requests.flatMap { r in
            r.headers.components(separatedBy: "\r\n").compactMap { line -> (String, Any)? in
                guard let c = line.firstIndex(of: ":") else { return nil }
                return ("Header", Header(name: String(line[..<c]), value: String(line[line.index(after: c)...])))
            }
        }
        values += events.map { ("DriverEvent", $0) }
        values += errors.map { ("error", $0) }
        values += answers.map { ("CallResponse", $0) }
        XCTAssertTrue(events.contains { if case .regionChanged = $0 { return true }; return false }, "no region event")
        for (what, v) in values {
            let text = printed(v)
            for (name, secret) in secrets {
                XCTAssertFalse(text.contains(secret), "the \(name) printed by a \(what): \(text.suffix(500))")
            }
        }
    }

    /// core/src/lib.rs, "The transport contract", column "Swift (`URLSession`)": each row.
    func testUrlErrorCodes_mapToTheCoreTable() {
        func kind(_ c: URLError.Code, connected: Bool = false) -> TransportErrorKind {
            URLSessionTransport.classify(URLError(c), connected: connected)
        }
        XCTAssertEqual(kind(.cannotFindHost), .dns)
        XCTAssertEqual(kind(.dnsLookupFailed), .dns)
        XCTAssertEqual(kind(.cannotConnectToHost), .connect)
        XCTAssertEqual(kind(.secureConnectionFailed), .tls)
        XCTAssertEqual(kind(.serverCertificateUntrusted), .tls)
        XCTAssertEqual(kind(.serverCertificateHasBadDate), .tls)
        XCTAssertEqual(kind(.serverCertificateNotYetValid), .tls)
        XCTAssertEqual(kind(.serverCertificateHasUnknownRoot), .tls)
        XCTAssertEqual(kind(.timedOut, connected: false), .connectTimeout)
        XCTAssertEqual(kind(.timedOut, connected: true), .timeout)
        XCTAssertEqual(kind(.networkConnectionLost, connected: true), .aborted)
        XCTAssertEqual(kind(.badServerResponse, connected: true), .protocol)
        XCTAssertEqual(kind(.unknown), .opaque)
        XCTAssertEqual(URLSessionTransport.classify(CocoaError(.fileNoSuchFile), connected: false), .opaque)
    }

    func testRefusedPort_failsAsConnect() async throws {
        // A port nothing listens on (bound, then closed): URLSession says cannotConnectToHost.
        let pg = try PolarGrid(apiKey: "pg_test_x", mode: .direct, baseURL: "http://127.0.0.1:9", maxAttempts: 1)
        defer { pg.close() }
        do {
            _ = try await pg.get("/v1/models")
            XCTFail("answered")
        } catch let e as PolarGridCore.PolarGridError {
            XCTAssertEqual(e.kind, .network)
            XCTAssertEqual(e.transport, "connect", e.message)
        }
    }

    static let allTests = [
        ("testEveryRecordAndEvent_printedThreeWays_holdsNoKeyJwtOrRefreshToken",
         asyncTest(testEveryRecordAndEvent_printedThreeWays_holdsNoKeyJwtOrRefreshToken)),
        ("testUrlErrorCodes_mapToTheCoreTable", testUrlErrorCodes_mapToTheCoreTable),
        ("testRefusedPort_failsAsConnect", asyncTest(testRefusedPort_failsAsConnect)),
    ]
}
