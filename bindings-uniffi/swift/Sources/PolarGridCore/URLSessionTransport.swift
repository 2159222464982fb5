import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridUniFFI

/// The shared driver's transport on `URLSession`, as a `URLSessionDataDelegate` (the same code on
/// Apple platforms and on Linux's corelibs Foundation): sends exactly what the core asks for and
/// answers as soon as the answer's head arrives. A 2xx app answer's body is not read here: it is
/// kept as a `PolarGridBody` (an `AsyncSequence` the delegate feeds chunk by chunk) under the
/// request id until the call claims it or the driver releases it. No policy: no retries, never a
/// redirect, every failure mapped by `classify` (core/src/lib.rs, "The transport contract").
///
/// Two spellings of the same contract: `BlockTransport` (what `PolarGrid` uses: each request
/// arrives as one byte block with its id and is answered by id on the driver, in one crossing;
/// bindings-uniffi/src/heads.rs), and the record `Transport` (an `HttpRequest` and a `Reply`), for
/// apps and tests that drive a `Driver(options:transport:listener:)` of their own.
public final class URLSessionTransport: NSObject, Transport, BlockTransport, URLSessionDataDelegate, @unchecked Sendable {
    /// A 2xx app answer waiting for its call: the head, and the body still arriving.
    struct Kept { let status: Int; let headers: [String: String]; let body: PolarGridBody }

    /// One request as the core describes it (an `HttpRequest` record or a request block).
    private struct Request {
        let id: UInt64
        let isCall: Bool
        let method: String
        let url: String
        /// `Name: value` lines joined by CRLF (UTF-8).
        let headers: Data
        let body: Data?
        let connectTimeoutMs: UInt64
        let bodyLimit: Int

        /// Stands in for a request block that could not be read, to fail it by id.
        static func bad(_ id: UInt64) -> Request {
            Request(id: id, isCall: false, method: "", url: "", headers: Data(), body: nil, connectTimeoutMs: 0, bodyLimit: 0)
        }
    }

    /// Where a request's answer goes: its `Reply` (records), or the driver by id (blocks).
    private enum Way { case reply(Reply), byId }

    /// One request on the wire. Touched under `lock` only.
    private final class Flight {
        let id: UInt64
        let way: Way
        /// A 2xx answer streams to the app (an app call); else the core reads `limit` bytes.
        let keeps: Bool
        let limit: Int
        let hasBody: Bool
        var task: URLSessionDataTask?
        /// Evidence that a connection was made: the answer's head or request body bytes went out.
        var connected = false
        /// The answer was given (the core heard the head, or the failure).
        var answered = false
        var status = 0
        /// The answer's header block (`Name: value` lines, each ended by CRLF).
        var head = Data()
        /// The answer's body while the core needs it (a core-owned request, or a non-2xx).
        var buffer = Data()
        /// Feeds the app's body (a 2xx app answer), once the head is answered.
        var feed: PolarGridBody.Feed?
        var connectTimer: DispatchWorkItem?
        /// The caller waiting for this request's call (its first attempt, sent inline): the
        /// answer collects the call's ending in the same crossing and hands it over.
        var handoff: Handoff?
        /// The ending for a caller that reads the body whole (`Handoff.whole`), held until the
        /// body has ended: the caller then wakes once and finds it all there.
        var deferred: (Handoff, Handoff.Outcome)?

        init(_ r: Request, way: Way, handoff: Handoff?) {
            id = r.id; self.way = way; keeps = r.isCall; limit = r.bodyLimit
            hasBody = !(r.body?.isEmpty ?? true); self.handoff = handoff
        }
    }

    private let lock = NSLock()
    private var flights: [Int: Flight] = [:]
    private var byRequest: [UInt64: Flight] = [:]
    private var kept: [UInt64: Kept] = [:]
    private var regions: [UInt64: String] = [:]
    private var session: URLSession!
    private let timers = DispatchQueue(label: "ai.polargrid.connect-timers")
    /// The driver answered by id (blocks); weak: the driver holds this transport.
    private weak var driver: Driver?
    /// Open once `attach` ran: a request the driver sends while it is still being built waits.
    private let ready = DispatchGroup()

    /// A transport on a `URLSession` of `configuration` (its timeouts are replaced by the core's).
    public init(configuration: URLSessionConfiguration = .ephemeral) {
        super.init()
        ready.enter()
        let configuration = configuration
        // A body after the head is never cut (the core's rule): the core bounds the head, the
        // connect timer the connection, the app the body (by cancelling its Task).
        configuration.timeoutIntervalForResource = Self.noTimeout
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    /// The driver this transport answers by id (`Driver.withBlocks(…, transport: self, …)`),
    /// right after it is built; once.
    public func attach(_ driver: Driver) {
        lock.withLock { self.driver = driver }
        ready.leave()
    }

    /// URLSession's timeouts are idle timers; the core's timers replace them (a day: finite, since
    /// corelibs converts it to integer milliseconds).
    static let noTimeout: TimeInterval = 86_400

    /// Hands a kept 2xx answer to its call; from here the app owns the body.
    func claim(_ requestId: UInt64) -> Kept? { lock.withLock { kept.removeValue(forKey: requestId) } }

    /// `Transport`: sends `request` as it is (the app's body already attached by the driver) and
    /// returns at once; answers through `reply`.
    public func send(request: HttpRequest, reply: Reply) {
        let r = Request(id: request.id, isCall: request.purpose == .call, method: request.method, url: request.url,
                        headers: Data(request.headers.utf8), body: request.body, connectTimeoutMs: request.connectTimeoutMs,
                        bodyLimit: Int(request.bodyLimit))
        start(r, way: .reply(reply), handoff: nil)
    }

    /// `BlockTransport`: a request the driver sent from elsewhere (a retry, a refresh, a discovery).
    public func send(requestId: UInt64, request: Data) {
        guard let r = Self.decode(requestId, request) else { answer(Flight(Request.bad(requestId), way: .byId, handoff: nil), .failed(.protocol)); return }
        start(r, way: .byId, handoff: nil)
    }

    /// A request `startInline` handed back to its caller (`block`: the request block); `handoff`
    /// (the caller waits for this request's call) gets the call's ending from its answer.
    func sendInline(_ requestId: UInt64, _ block: Data, handoff: Handoff?) {
        guard let r = Self.decode(requestId, block) else {
            answer(Flight(Request.bad(requestId), way: .byId, handoff: handoff), .failed(.protocol)); return
        }
        start(r, way: .byId, handoff: handoff)
    }

    private func start(_ request: Request, way: Way, handoff: Handoff?) {
        let flight = Flight(request, way: way, handoff: handoff)
        guard let url = URL(string: request.url) else { answer(flight, .failed(.connect)); return }
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: Self.noTimeout)
        r.httpMethod = request.method
        r.httpBody = request.body
        r.allHTTPHeaderFields = Self.fields(request.headers)
        let task = session.dataTask(with: r)
        flight.task = task
        let timer = DispatchWorkItem { [weak self] in self?.connectTimedOut(flight) }
        flight.connectTimer = timer
        lock.withLock {
            flights[task.taskIdentifier] = flight
            byRequest[request.id] = flight
        }
        timers.asyncAfter(deadline: .now() + .milliseconds(Int(clamping: request.connectTimeoutMs)), execute: timer)
        task.resume()
    }

    /// The connect timer fired (`connect_timeout_ms` after the send). With evidence of a
    /// connection it is nothing. Without: the task is cancelled at once and the core told
    /// `connect_timeout` when the request has a body none of which went out (it never connected),
    /// or `opaque` when it has no body, since URLSession reports no connection event then and a
    /// server slower than the connect timeout looks the same (the core treats `opaque` as certain
    /// for idempotent requests, which body-less ones are).
    private func connectTimedOut(_ flight: Flight) {
        let fire = lock.withLock { () -> Bool in
            guard !flight.answered, !flight.connected else { return false }
            flight.answered = true
            finish(flight)
            return true
        }
        guard fire else { return }
        flight.task?.cancel()
        answer(flight, .failed(flight.hasBody ? Self.classify(URLError(.timedOut), connected: false) : .opaque))
    }

    /// Takes a flight off the books, stopping its timer.
    private func finish(_ flight: Flight) {
        flight.connectTimer?.cancel()
        if let t = flight.task { flights.removeValue(forKey: t.taskIdentifier) }
        byRequest.removeValue(forKey: flight.id)
    }

    private enum Answer { case head(status: Int, head: Data, body: Data), failed(TransportErrorKind) }

    /// Gives the driver the answer (once per flight): through its `Reply`, or by id, where a
    /// waiting caller's request collects the call's ending in the same crossing (heads.rs) and
    /// hands it over (`.notYet`: the call goes on, the caller waits on the driver).
    private func answer(_ flight: Flight, _ answer: Answer) {
        switch flight.way {
        case .reply(let reply):
            switch answer {
            case let .head(status, head, body): reply.responseHead(status: UInt16(clamping: status), head: head, body: body)
            case let .failed(kind): reply.failed(error: kind)
            }
        case .byId:
            ready.wait()
            let (driver, handoff) = lock.withLock { () -> (Driver?, Handoff?) in
                defer { flight.handoff = nil }
                return (self.driver, flight.handoff)
            }
            let collect = handoff?.take() ?? false
            guard let driver else { if collect { handoff?.deliver(.notYet) }; return }
            let outcome: Handoff.Outcome
            do {
                let code: UInt64
                switch answer {
                case let .head(status, head, body):
                    var message = head
                    message.append(body)
                    code = try driver.answer(requestId: flight.id, status: UInt16(clamping: status),
                                             headLen: UInt32(clamping: head.count), message: message, collect: collect)
                case let .failed(kind):
                    code = try driver.fail(requestId: flight.id, error: kind, collect: collect)
                }
                outcome = code == 0 ? .notYet
                    : .ended(requestId: flight.id, region: code >= 2 ? regionName(driver, code) : nil)
            } catch {
                outcome = .failed(error)
            }
            guard collect, let handoff else { return }
            let hold = lock.withLock { () -> Bool in
                guard handoff.whole, flight.feed != nil, case .ended = outcome else { return false }
                flight.deferred = (handoff, outcome)
                return true
            }
            if !hold { handoff.deliver(outcome) }
        }
    }

    /// An ending code's region (the same name per code forever: asked once).
    private func regionName(_ driver: Driver, _ code: UInt64) -> String? {
        if let name = lock.withLock({ regions[code] }) { return name }
        let name = driver.regionName(code: code)
        if let name { lock.withLock { regions[code] = name } }
        return name
    }

    private func flight(_ task: URLSessionTask) -> Flight? { lock.withLock { flights[task.taskIdentifier] } }

    // MARK: URLSessionDataDelegate

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let flight = flight(dataTask), let http = response as? HTTPURLResponse else {
            completionHandler(.cancel); return
        }
        let (head, flat) = Self.headers(http)
        let status = http.statusCode
        let streams = flight.keeps && (200..<300).contains(status)
        let streamed = lock.withLock { () -> Bool in
            flight.connected = true
            flight.connectTimer?.cancel()
            flight.status = status
            flight.head = head
            if flight.answered { return false }
            if streams {
                // Answer at the head: the body streams to the app, the core's timer stops here.
                let (body, feed) = PolarGridBody.make { [weak dataTask] in dataTask?.cancel() }
                flight.feed = feed
                flight.answered = true
                kept[flight.id] = Kept(status: status, headers: flat, body: body)
                return true
            }
            return false
        }
        guard lock.withLock({ !flight.answered || flight.feed != nil }) else { completionHandler(.cancel); return }
        completionHandler(.allow)
        if streamed { answer(flight, .head(status: status, head: head, body: Data())) }
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let flight = flight(dataTask) else { return }
        let (feed, full) = lock.withLock { () -> (PolarGridBody.Feed?, Data?) in
            if let feed = flight.feed { return (feed, nil) }
            if flight.answered { return (nil, nil) }
            flight.buffer.append(data.prefix(flight.limit - flight.buffer.count))
            guard flight.buffer.count >= flight.limit else { return (nil, nil) }
            // The core reads no more than this: answer now, and release the connection.
            flight.answered = true
            finish(flight)
            return (nil, flight.buffer)
        }
        if let feed { feed.yield(data); return }
        if let full {
            dataTask.cancel()
            answer(flight, .head(status: flight.status, head: flight.head, body: full))
        }
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64,
                    totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        guard let flight = flight(task) else { return }
        lock.withLock { flight.connected = true }
    }

    /// The answer's head as the core reads it (`Name: value` lines, each ended by CRLF: one
    /// argument) and as the app reads it (lowercased names).
    private static func headers(_ http: HTTPURLResponse) -> (Data, [String: String]) {
        var head: [UInt8] = []
        head.reserveCapacity(512)
        var flat: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            let k = (k as? String) ?? "\(k)", v = (v as? String) ?? "\(v)"
            head += k.utf8; head += [0x3a, 0x20]; head += v.utf8; head += [0x0d, 0x0a]
            flat[k.lowercased()] = v
        }
        return (Data(head), flat)
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let flight = flight(task) else { return }
        // A redirect refused below (willPerformHTTPRedirection → nil) ends the task with the 3xx
        // as its response and no didReceive(response:) on corelibs: that head is the answer.
        let late = task.response as? HTTPURLResponse
        lock.withLock {
            if flight.status == 0, let late {
                flight.connected = true
                flight.status = late.statusCode
                flight.head = Self.headers(late).0
            }
        }
        enum Then { case nothing, respond(Data), fail(TransportErrorKind), end(PolarGridBody.Feed) }
        let then = lock.withLock { () -> Then in
            finish(flight)
            if let feed = flight.feed { return .end(feed) }
            if flight.answered { return .nothing }
            flight.answered = true
            if let error { return .fail(Self.classify(error, connected: flight.connected)) }
            if flight.status == 0 { return .fail(Self.classify(URLError(.badServerResponse), connected: true)) }
            return .respond(flight.buffer)
        }
        switch then {
        case .nothing: break
        case .respond(let body):
            answer(flight, .head(status: flight.status, head: flight.head, body: body))
        case .fail(let kind):
            answer(flight, .failed(kind))
        case .end(let feed):
            if let error {
                let kind = Self.classify(error, connected: true)
                feed.finish(throwing: PolarGridError(.network, "the answer's body broke off after its head (\(PolarGridError.name(kind)))", transport: kind))
            } else {
                feed.finish()
            }
            // The head was answered on this (serial) delegate queue before: a held ending is set.
            let held = lock.withLock { () -> (Handoff, Handoff.Outcome)? in
                defer { flight.deferred = nil }
                return flight.deferred
            }
            if let (handoff, outcome) = held { handoff.deliver(outcome) }
        }
    }

    /// Redirects are the core's business: a 3xx is an answer, never followed.
    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    // MARK: Transport and BlockTransport

    /// The driver no longer needs the request (the core's deadline passed, the call was
    /// cancelled, or nobody claimed its answer): cancel its task at once, which closes the socket.
    public func release(requestId: UInt64) {
        let (task, body, handoff) = lock.withLock { () -> (URLSessionDataTask?, PolarGridBody?, Handoff?) in
            let body = kept.removeValue(forKey: requestId)?.body
            guard let flight = byRequest[requestId] else { return (nil, body, nil) }
            flight.answered = true
            finish(flight)
            defer { flight.handoff = nil }
            return (flight.task, body, flight.handoff)
        }
        task?.cancel()
        body?.cancel()
        handoff?.release()
    }

    /// Cancels every task and ends the session.
    public func invalidate() { session.invalidateAndCancel() }

    /// A request block (heads.rs: purpose u8, has_body u8, call u64, timeout_ms u64,
    /// connect_timeout_ms u64, body_limit u32, m u32, u u32, h u32, method, URL, headers, body),
    /// or nil if it is cut short.
    private static func decode(_ id: UInt64, _ block: Data) -> Request? {
        let b = block.startIndex
        guard block.count >= 42 else { return nil }
        let m = Int(block.be32(b + 30)), u = Int(block.be32(b + 34)), h = Int(block.be32(b + 38))
        let at = b + 42
        guard block.count >= 42 + m + u + h else { return nil }
        let text = { (from: Int, n: Int) in String(decoding: block[from..<from + n], as: UTF8.self) }
        return Request(id: id, isCall: block[b] == 3, method: text(at, m), url: text(at + m, u),
                       headers: block[(at + m + u)..<(at + m + u + h)], body: block[b + 1] == 1 ? Data(block[(at + m + u + h)...]) : nil,
                       connectTimeoutMs: block.be64(b + 18), bodyLimit: Int(block.be32(b + 26)))
    }

    /// The core's header block (`Name: value` lines joined by CRLF; every value checked by the
    /// core: no CR, LF or NUL) as URLRequest's fields, read byte by byte (a name sent twice keeps
    /// both values, comma-joined, as `addValue` would).
    private static func fields(_ block: Data) -> [String: String] {
        var out: [String: String] = [:]
        var line = block.startIndex
        while line < block.endIndex {
            var end = line
            while end < block.endIndex, block[end] != 0x0d { end += 1 }
            if let colon = block[line..<end].firstIndex(of: 0x3a) {
                var v = colon + 1
                while v < end, block[v] == 0x20 { v += 1 }
                let name = String(decoding: block[line..<colon], as: UTF8.self)
                let value = String(decoding: block[v..<end], as: UTF8.self)
                out[name] = out[name].map { "\($0), \(value)" } ?? value
            }
            line = end + 2
        }
        return out
    }

    /// The one mapping from URLSession's failures to the core's transport kinds, exactly the
    /// table in core/src/lib.rs ("The transport contract", column "Swift (`URLSession`)").
    /// `connected`: evidence that a connection was made (a head arrived or request body bytes went
    /// out) before the failure. A code the table does not name is `opaque`: never a guess.
    public static func classify(_ error: Error, connected: Bool) -> TransportErrorKind {
        guard let e = error as? URLError else { return .opaque }
        switch e.code {
        case .cannotFindHost, .dnsLookupFailed: return .dns
        case .cannotConnectToHost: return .connect
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot: return .tls
        case .timedOut: return connected ? .timeout : .connectTimeout
        case .networkConnectionLost: return .aborted
        case .badServerResponse: return .protocol
        default: return .opaque
        }
    }
}

extension Data {
    /// The big-endian integer of 8 bytes at index `at` (an index of this `Data`, not an offset).
    func be64(_ at: Int) -> UInt64 { self[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
    /// The big-endian integer of 4 bytes at index `at`.
    func be32(_ at: Int) -> UInt32 { self[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
}
