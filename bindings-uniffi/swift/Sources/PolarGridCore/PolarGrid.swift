import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridUniFFI

/// Where the session snapshot lives between app starts. It holds secrets: keep it where you keep
/// a password — the Keychain:
/// ```swift
/// struct KeychainStore: SessionStore {
///     let query: [String: Any] = [kSecClass as String: kSecClassGenericPassword,
///                                 kSecAttrService as String: "ai.polargrid.session"]
///     func load() -> Data? {
///         var out: AnyObject?
///         var q = query; q[kSecReturnData as String] = true
///         return SecItemCopyMatching(q as CFDictionary, &out) == errSecSuccess ? out as? Data : nil
///     }
///     func save(_ snapshot: Data?) {
///         SecItemDelete(query as CFDictionary)
///         if let snapshot { var q = query; q[kSecValueData as String] = snapshot
///                           q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
///                           SecItemAdd(q as CFDictionary, nil) }
///     }
/// }
/// ```
public protocol SessionStore: Sendable {
    /// The snapshot saved last, or nil. Read once, when the client is built.
    func load() -> Data?
    /// Persist `snapshot`; nil means delete it. Called on whichever thread moved the session.
    func save(_ snapshot: Data?)
}

/// A successful answer, read whole: status, headers, the region that answered, and the body untouched.
public struct PolarGridResponse: Sendable, CustomStringConvertible {
    public let status: Int
    /// Header names are lowercased.
    public let headers: [String: String]
    public let region: String?
    public let body: Data
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var description: String { "PolarGridResponse(status: \(status), region: \(region ?? "?"), \(body.count) bytes)" }
}

/// A successful answer whose body is still arriving (`PolarGrid.stream`): the head now, the body
/// as it comes — `for try await chunk in response.body`.
public struct PolarGridStreamingResponse: Sendable, CustomStringConvertible {
    public let status: Int
    /// Header names are lowercased.
    public let headers: [String: String]
    public let region: String?
    /// The body, chunk by chunk; read it once (or `cancel()` it).
    public let body: PolarGridBody
    public var description: String { "PolarGridStreamingResponse(status: \(status), region: \(region ?? "?"))" }
}

/// A PolarGrid client: sessions, routing, retries and error classification from the shared Rust
/// core, HTTP on `URLSession`. Thread-safe; make one per app and share it. Cancelling the `Task`
/// that awaits a call cancels the call in the core.
public final class PolarGrid: @unchecked Sendable, CustomStringConvertible, CustomReflectable {
    public enum Mode: Sendable { case session, direct, handoff }
    public enum SessionStatus: String, Sendable { case none, exchanging, active, refreshing, ended, direct }

    private let driver: Driver
    private let transport: URLSessionTransport

    /// - Parameters:
    ///   - apiKey: the `pg_` key (nil: `POLARGRID_API_KEY`, except in `.handoff`, which an app
    ///     should use: its backend mints sessions and no key ships in the app; a key passed with
    ///     `.handoff` is refused by the core, kind `invalidConfig`).
    ///   - endpoints: where PolarGrid lives as JSON, e.g. the emulator's start-up line; nil for the real service.
    ///   - region: pin a region (`yto-01`, `toronto`, …); at most one of `region` and `baseURL`.
    ///   - sessionStore: restores the session at start and persists every change.
    ///   - requestTimeoutMs: each attempt's time to its answer head; `callDeadlineMs`: the call as a
    ///     whole to its answer head; `connectTimeoutMs`: establishing a connection;
    ///     `authTimeoutMs`: each exchange or refresh (nil: the core's).
    ///   - backoffMs: retry backoff bounds (tests shorten them); `seed`: jitter and request ids (tests).
    public init(apiKey: String? = nil,
                mode: Mode = .session, region: String? = nil, scope: String = "country",
                baseURL: String? = nil, endpoints: String? = nil, sessionStore: SessionStore? = nil,
                maxAttempts: Int? = nil, failoverPinned: Bool = false,
                requestTimeoutMs: UInt64? = nil, callDeadlineMs: UInt64? = nil, connectTimeoutMs: UInt64? = nil,
                authTimeoutMs: UInt64? = nil,
                backoffMs: (base: UInt64, max: UInt64)? = nil, seed: UInt64? = nil,
                configuration: URLSessionConfiguration = .ephemeral) throws {
        let options = Options(
            apiKey: apiKey ?? (mode == .handoff ? nil : ProcessInfo.processInfo.environment["POLARGRID_API_KEY"]),
            mode: mode == .session ? "session" : mode == .direct ? "direct" : "handoff",
            region: region, baseUrl: baseURL, scope: scope, endpointsJson: endpoints,
            sessionJson: sessionStore?.load().map { String(decoding: $0, as: UTF8.self) },
            failoverPinned: failoverPinned, maxAttempts: maxAttempts.map { UInt32(clamping: $0) },
            backoffBaseMs: backoffMs?.base, backoffMaxMs: backoffMs?.max,
            requestTimeoutMs: requestTimeoutMs, callDeadlineMs: callDeadlineMs, connectTimeoutMs: connectTimeoutMs,
            authTimeoutMs: authTimeoutMs,
            userAgent: "polargrid-core-swift/0.1.0", seed: seed)
        let transport = URLSessionTransport(configuration: configuration)
        let listener = sessionStore.map { StoreListener(store: $0) }
        do {
            driver = try Driver.withBlocks(options: options, transport: transport, listener: listener)
            self.transport = transport
            transport.attach(driver)
        } catch {
            transport.invalidate()
            throw PolarGridError.from(error)
        }
    }

    deinit { close() }

    /// Sends one API call through the core and returns the answer, read whole, or throws a
    /// `PolarGridError`. A JSON body's `model` is the routing hint.
    public func request(_ method: String, _ path: String, body: Data? = nil,
                        headers: [String: String] = [:], deadlineMs: UInt64? = nil) async throws -> PolarGridResponse {
        let r = try await send(method, path, body, headers, deadlineMs, whole: true)
        let data = try await r.body.collect()
        return PolarGridResponse(status: r.status, headers: r.headers, region: r.region, body: data)
    }

    /// Sends one API call through the core and returns as soon as the answer's head is in; the
    /// body follows as `response.body` (an `AsyncSequence` of chunks). The core's deadline ends at
    /// the head: a long stream (a chat answer, audio) is never cut or retried once it started.
    /// `deadlineMs` bounds this call from start to its answer head (nil: the client's).
    public func stream(_ method: String, _ path: String, body: Data? = nil,
                       headers: [String: String] = [:], deadlineMs: UInt64? = nil) async throws -> PolarGridStreamingResponse {
        try await send(method, path, body, headers, deadlineMs, whole: false)
    }

    /// `stream`, or with `whole` (`request`) returning once the body has ended too.
    private func send(_ method: String, _ path: String, _ body: Data?, _ headers: [String: String],
                      _ deadlineMs: UInt64?, whole: Bool) async throws -> PolarGridStreamingResponse {
        var sent = headers.map { ($0.key, $0.value) }
        if let first = body?.first(where: { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }), first == 0x7b || first == 0x5b,
           !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            sent.append(("Content-Type", "application/json"))
        }
        // One crossing: the call as one block; back come its id and the requests the start sent
        // (usually the call's first attempt), which this caller hands to URLSession itself.
        let inline: Data
        do {
            inline = try driver.startInline(block: Self.callBlock(method, path, sent, body, deadlineMs), timeoutMs: UInt64.max)
        } catch { throw PolarGridError.from(error) }
        let b = inline.startIndex
        let call = inline.be64(b)
        var handoff: Handoff?
        var at = b + 12
        for _ in 0..<inline.be32(b + 8) {
            let id = inline.be64(at), len = Int(inline.be32(at + 8)), block = at + 12
            // The call's own attempt (purpose 3, this call) hands the ending over.
            let mine = handoff == nil && inline[block] == 3 && inline.be64(block + 2) == call
            let h = mine ? Handoff(call: call, whole: whole, driver: driver, transport: transport) : nil
            if let h { handoff = h }
            transport.sendInline(id, inline[block..<block + len], handoff: h)
            at = block + len
        }
        // Usually the delegate that answered the call's request hands the ending over
        // (Handoff.swift); else (a retry, an exchange first, a deadline) the driver's own wait.
        let outcome = await handoff?.wait() ?? .notYet
        let requestId: UInt64, region: String?
        switch outcome {
        case let .ended(id, r): (requestId, region) = (id, r)
        case .failed(let error): throw PolarGridError.from(error)
        case .cancelled: throw PolarGridError.from(CancellationError())
        case .notYet:
            do {
                let done = try await waitCancellable(call)
                (requestId, region) = (done.requestId, done.region)
            } catch { throw PolarGridError.from(error) }
        }
        guard let kept = transport.claim(requestId) else { throw PolarGridError(.closed, "the client is closed; its answer was released") }
        return PolarGridStreamingResponse(status: kept.status, headers: kept.headers, region: region, body: kept.body)
    }

    /// The call block (bindings-uniffi/src/blocks.rs): u16 header count, u64 deadline (UInt64.max,
    /// NOT_GIVEN: the client's), then method, path, each header's name and value (u32 length + UTF-8 each), then
    /// the body.
    private static func callBlock(_ method: String, _ path: String, _ headers: [(String, String)], _ body: Data?,
                                  _ deadlineMs: UInt64?) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(64 + method.utf8.count + path.utf8.count + headers.count * 48 + (body?.count ?? 0))
        func put<T: FixedWidthInteger>(_ n: T) { for i in (0..<T.bitWidth / 8).reversed() { out.append(UInt8(truncatingIfNeeded: n >> (i * 8))) } }
        func field(_ s: String) { put(UInt32(s.utf8.count)); out += s.utf8 }
        put(UInt16(clamping: headers.count))
        put(deadlineMs ?? UInt64.max)
        field(method); field(path)
        for (name, value) in headers { field(name); field(value) }
        if let body { out += body }
        return Data(out)
    }

    /// Waits for the call; cancelling the Task cancels the call in the core at once. uniffi 0.32.2's
    /// Swift async calls ignore Task cancellation (its generated `uniffiRustCallAsync` has no
    /// cancellation handler and `fatalError`s on a cancelled status), so the wait runs in its own
    /// task and the handler cancels the call through the driver and resumes the caller itself.
    private func waitCancellable(_ call: UInt64) async throws -> CallResponse {
        let once = Once()
        let driver = self.driver
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<CallResponse, Error>) in
                guard once.arm(cont) else { return }
                Task.detached {
                    do { once.resume(.success(try await driver.wait(call: call))) } catch { once.resume(.failure(error)) }
                }
            }
        } onCancel: {
            _ = driver.cancel(call: call)
            once.resume(.failure(CancellationError()))
        }
    }

    /// `GET path`.
    public func get(_ path: String) async throws -> PolarGridResponse { try await request("GET", path) }

    /// `POST path` with a JSON body.
    public func post(_ path: String, json: String) async throws -> PolarGridResponse {
        try await request("POST", path, body: Data(json.utf8))
    }

    /// Hands over a session minted by your backend (the auth service's answer, verbatim).
    public func handOver(_ grant: String) throws {
        do { try driver.handOver(grantJson: grant) } catch { throw PolarGridError.from(error) }
    }

    /// Restores a snapshot saved earlier (a `SessionStore` does this at start by itself).
    public func restore(_ snapshot: String) throws {
        do { try driver.restore(snapshotJson: snapshot) } catch { throw PolarGridError.from(error) }
    }

    /// Forgets the session (the store is cleared); in session mode the next call exchanges again.
    public func logout() { driver.logout() }

    /// The snapshot to persist now, if a session is held (it holds secrets).
    public func sessionSnapshot() -> String? { driver.sessionSnapshot() }

    public var sessionStatus: SessionStatus {
        switch driver.sessionState() {
        case .direct: return .direct
        case .exchanging: return .exchanging
        case .active: return .active
        case .refreshing: return .refreshing
        case .ended: return .ended
        default: return .none
        }
    }

    /// The region calls go to now, if known.
    public var region: String? { driver.currentRegion() }

    /// Moves this client's clock (tests and demos: expire a JWT without waiting).
    public func advanceClock(ms: Int64) { driver.advanceClock(ms: ms) }

    /// Ends open calls and releases everything; idempotent.
    public func close() {
        driver.close()
        transport.invalidate()
    }

    public var description: String { "PolarGrid(region: \(region ?? "unresolved"), session: \(sessionStatus.rawValue))" }
    /// `dump()` shows the description only: the driver and the transport's tasks (their requests
    /// carry `Authorization`) stay out of reflection.
    public var customMirror: Mirror { Mirror(self, children: ["description": description], displayStyle: .class) }
}

private final class StoreListener: Listener, @unchecked Sendable {
    let store: SessionStore
    init(store: SessionStore) { self.store = store }
    func onEvent(event: DriverEvent) {
        if case .sessionChanged(_, _, _, let snapshot) = event { store.save(snapshot.map { Data($0.utf8) }) }
    }
}

/// Resumes a continuation exactly once, whichever of the answer and the cancellation comes first
/// (a cancellation before the continuation exists resumes it as soon as it is armed).
private final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<CallResponse, Error>?
    private var early: Result<CallResponse, Error>?
    private var done = false

    /// Returns false if the outcome was already known (the continuation is resumed here).
    func arm(_ c: CheckedContinuation<CallResponse, Error>) -> Bool {
        let early: Result<CallResponse, Error>? = lock.withLock {
            if let e = self.early { self.done = true; self.early = nil; return e }
            cont = c
            return nil
        }
        if let early { c.resume(with: early); return false }
        return true
    }

    func resume(_ r: Result<CallResponse, Error>) {
        let c: CheckedContinuation<CallResponse, Error>? = lock.withLock {
            if done { return nil }
            guard let c = cont else { if early == nil { early = r }; return nil }
            done = true; cont = nil
            return c
        }
        c?.resume(with: r)
    }
}
