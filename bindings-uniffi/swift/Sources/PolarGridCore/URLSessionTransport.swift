import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridUniFFI

/// The shared driver's `Transport` on `URLSession`, as a `URLSessionDataDelegate` (the same code on
/// Apple platforms and on Linux's corelibs Foundation): sends exactly what the core asks for and
/// answers its `Reply` as soon as the answer's head arrives. A 2xx app answer's body is not read
/// here: it is kept as a `PolarGridBody` (an `AsyncSequence` the delegate feeds chunk by chunk)
/// under the request id until the call claims it or the driver releases it. No policy: no
/// retries, never a redirect, every failure mapped by `classify` (core/src/lib.rs, "The transport
/// contract"). Public for apps and tests that drive a `Driver` of their own; `PolarGrid` makes one.
public final class URLSessionTransport: NSObject, Transport, URLSessionDataDelegate, @unchecked Sendable {
    /// A 2xx app answer waiting for its call: the head, and the body still arriving.
    struct Kept { let status: Int; let headers: [String: String]; let body: PolarGridBody }

    /// One request on the wire. Touched under `lock` only.
    private final class Flight {
        let id: UInt64
        let reply: Reply
        /// A 2xx answer streams to the app (an app call); else the core reads `limit` bytes.
        let keeps: Bool
        let limit: Int
        let hasBody: Bool
        var task: URLSessionDataTask?
        /// Evidence that a connection was made: the answer's head or request body bytes went out.
        var connected = false
        /// The reply was given (the core heard the head, or the failure).
        var answered = false
        var status = 0
        var headers: [Header] = []
        /// The answer's body while the core needs it (a core-owned request, or a non-2xx).
        var buffer = Data()
        /// Feeds the app's body (a 2xx app answer), once the head is answered.
        var feed: PolarGridBody.Feed?
        var connectTimer: DispatchWorkItem?
        /// The app call this request is an attempt of (nil: the core's own request).
        let call: UInt64?
        /// A caller waiting for the call's ending from this request's answer (`arm`).
        var handoff: Handoff?
        /// The answer (or the release) went in: too late to arm.
        var settled = false

        init(id: UInt64, reply: Reply, keeps: Bool, limit: Int, hasBody: Bool, call: UInt64?) {
            self.id = id; self.reply = reply; self.keeps = keeps; self.limit = limit; self.hasBody = hasBody
            self.call = call
        }
    }

    private let lock = NSLock()
    private var flights: [Int: Flight] = [:]
    private var byRequest: [UInt64: Flight] = [:]
    /// Each open call's first request in flight, for `arm`.
    private var byCall: [UInt64: Flight] = [:]
    private var kept: [UInt64: Kept] = [:]
    private var session: URLSession!
    private let timers = DispatchQueue(label: "ai.polargrid.connect-timers")

    /// A transport on a `URLSession` of `configuration` (its timeouts are replaced by the core's).
    public init(configuration: URLSessionConfiguration = .ephemeral) {
        super.init()
        let configuration = configuration
        // A body after the head is never cut (the core's rule): the core bounds the head, the
        // connect timer the connection, the app the body (by cancelling its Task).
        configuration.timeoutIntervalForResource = Self.noTimeout
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    /// URLSession's timeouts are idle timers; the core's timers replace them (a day: finite, since
    /// corelibs converts it to integer milliseconds).
    static let noTimeout: TimeInterval = 86_400

    /// Hands a kept 2xx answer to its call; from here the app owns the body.
    func claim(_ requestId: UInt64) -> Kept? { lock.withLock { kept.removeValue(forKey: requestId) } }

    /// Sends `request` as it is (the app's body already attached by the driver) and returns at once.
    public func send(request: HttpRequest, reply: Reply) {
        guard let url = URL(string: request.url) else { reply.failed(error: .connect); return }
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: Self.noTimeout)
        r.httpMethod = request.method
        r.httpBody = request.body
        // One `Name: value` line per header, joined by CRLF; every value was checked by the core.
        for line in request.headers.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            r.addValue(String(value), forHTTPHeaderField: String(line[..<colon]))
        }
        let flight = Flight(id: request.id, reply: reply, keeps: request.purpose == .call,
                            limit: Int(request.bodyLimit), hasBody: !(request.body?.isEmpty ?? true),
                            call: request.purpose == .call ? request.call : nil)
        let task = session.dataTask(with: r)
        flight.task = task
        let timer = DispatchWorkItem { [weak self] in self?.connectTimedOut(flight) }
        flight.connectTimer = timer
        lock.withLock {
            flights[task.taskIdentifier] = flight
            byRequest[request.id] = flight
            if let call = flight.call, byCall[call] == nil { byCall[call] = flight }
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
        flight.reply.failed(error: flight.hasBody ? Self.classify(URLError(.timedOut), connected: false) : .opaque)
        settle(flight)
    }

    /// Takes a flight off the books, stopping its timer.
    private func finish(_ flight: Flight) {
        flight.connectTimer?.cancel()
        if let t = flight.task { flights.removeValue(forKey: t.taskIdentifier) }
        byRequest.removeValue(forKey: flight.id)
        if let call = flight.call, byCall[call] === flight { byCall.removeValue(forKey: call) }
    }

    /// Arms `handoff` on its call's first request, if that request was sent and not yet answered
    /// (`driver.start` sends it before returning the call's id). False: ask the driver instead.
    func arm(_ handoff: Handoff) -> Bool {
        lock.withLock { () -> Bool in
            guard let flight = byCall[handoff.call], !flight.settled else { return false }
            byCall.removeValue(forKey: handoff.call)
            flight.handoff = handoff
            return true
        }
    }

    /// After a flight's reply: an armed call learns its ending here, on this thread.
    private func settle(_ flight: Flight) {
        let h = lock.withLock { () -> Handoff? in
            flight.settled = true
            defer { flight.handoff = nil }
            return flight.handoff
        }
        h?.collect()
    }

    private func flight(_ task: URLSessionTask) -> Flight? { lock.withLock { flights[task.taskIdentifier] } }

    // MARK: URLSessionDataDelegate

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let flight = flight(dataTask), let http = response as? HTTPURLResponse else {
            completionHandler(.cancel); return
        }
        let (headers, flat) = Self.headers(http)
        let status = http.statusCode
        let streams = flight.keeps && (200..<300).contains(status)
        let answer = lock.withLock { () -> Bool in
            flight.connected = true
            flight.connectTimer?.cancel()
            flight.status = status
            flight.headers = headers
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
        if answer {
            flight.reply.response(status: UInt16(clamping: status), headers: headers, body: Data())
            settle(flight)
        }
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
            flight.reply.response(status: UInt16(clamping: flight.status), headers: flight.headers, body: full)
            settle(flight)
        }
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64,
                    totalBytesSent: Int64, totalBytesExpectedToSend: Int64) {
        guard let flight = flight(task) else { return }
        lock.withLock { flight.connected = true }
    }

    private static func headers(_ http: HTTPURLResponse) -> ([Header], [String: String]) {
        var headers: [Header] = []
        var flat: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            headers.append(Header(name: "\(k)", value: "\(v)"))
            flat["\(k)".lowercased()] = "\(v)"
        }
        return (headers, flat)
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
                flight.headers = Self.headers(late).0
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
            flight.reply.response(status: UInt16(clamping: flight.status), headers: flight.headers, body: body)
            settle(flight)
        case .fail(let kind):
            flight.reply.failed(error: kind)
            settle(flight)
        case .end(let feed):
            if let error {
                let kind = Self.classify(error, connected: true)
                feed.finish(throwing: PolarGridError(.network, "the answer's body broke off after its head (\(PolarGridError.name(kind)))", transport: kind))
            } else {
                feed.finish()
            }
        }
    }

    /// Redirects are the core's business: a 3xx is an answer, never followed.
    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    // MARK: Transport

    /// The driver no longer needs the request (the core's deadline passed, the call was
    /// cancelled, or nobody claimed its answer): cancel its task at once, which closes the socket.
    public func release(requestId: UInt64) {
        let (task, body, handoff) = lock.withLock { () -> (URLSessionDataTask?, PolarGridBody?, Handoff?) in
            let body = kept.removeValue(forKey: requestId)?.body
            guard let flight = byRequest[requestId] else { return (nil, body, nil) }
            flight.answered = true
            finish(flight)
            flight.settled = true
            defer { flight.handoff = nil }
            return (flight.task, body, flight.handoff)
        }
        task?.cancel()
        body?.cancel()
        handoff?.release()
    }

    /// Cancels every task and ends the session.
    public func invalidate() { session.invalidateAndCancel() }

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
