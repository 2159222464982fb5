import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PolarGridUniFFI

/// The shared driver's `Transport` on `URLSession`: sends exactly what the core asks for, answers
/// through its `Reply`, and keeps a 2xx app answer (head and body) here, keyed by request id, until
/// the call claims it or the driver releases it. No policy: no retries, no redirects.
final class URLSessionTransport: NSObject, Transport, URLSessionTaskDelegate, @unchecked Sendable {
    /// The app's own body and headers, kept per call id while the call runs.
    struct AppBody { let data: Data?; let headers: [String: String] }
    /// A 2xx app answer waiting for its call.
    struct Kept { let status: Int; let headers: [String: String]; let body: Data }

    private let lock = NSLock()
    private var appBodies: [UInt64: AppBody] = [:]
    private var inFlight: [UInt64: URLSessionDataTask] = [:]
    private var kept: [UInt64: Kept] = [:]
    private var session: URLSession!

    init(configuration: URLSessionConfiguration) {
        super.init()
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    /// App-call requests the driver handed over before their call's body was registered.
    private var parked: [UInt64: [(HttpRequest, Reply)]] = [:]

    /// Registers a call's body. `Driver.start` may already have sent the call's first request (it
    /// sends before it returns the id), so requests parked for this call go out now.
    func setAppBody(_ body: AppBody, call: UInt64) {
        let ready = lock.withLock { () -> [(HttpRequest, Reply)] in
            appBodies[call] = body
            return parked.removeValue(forKey: call) ?? []
        }
        for (r, reply) in ready { dispatch(r, reply, body) }
    }

    func dropAppBody(call: UInt64) {
        lock.withLock { appBodies.removeValue(forKey: call); parked.removeValue(forKey: call) }
    }
    func claim(_ requestId: UInt64) -> Kept? { lock.withLock { kept.removeValue(forKey: requestId) } }

    func send(request: HttpRequest, reply: Reply) {
        guard let call = request.call else { return dispatch(request, reply, nil) }
        let app = lock.withLock { () -> AppBody? in
            if let app = appBodies[call] { return app }
            parked[call, default: []].append((request, reply))
            return nil
        }
        if let app { dispatch(request, reply, app) }
    }

    private func dispatch(_ request: HttpRequest, _ reply: Reply, _ app: AppBody?) {
        guard let url = URL(string: request.url) else { reply.failed(error: .connect); return }
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData,
                           timeoutInterval: TimeInterval(max(request.timeoutMs, 1)) / 1000)
        r.httpMethod = request.method
        r.httpBody = request.body ?? app?.data
        for h in request.headers { r.addValue(h.value, forHTTPHeaderField: h.name) }
        for (k, v) in app?.headers ?? [:] where r.value(forHTTPHeaderField: k) == nil { r.setValue(v, forHTTPHeaderField: k) }
        let id = request.id
        let rule = request.bodyRule
        let task = session.dataTask(with: r) { [weak self] data, response, error in
            guard let self else { return }
            _ = self.lock.withLock { self.inFlight.removeValue(forKey: id) }
            guard let http = response as? HTTPURLResponse, error == nil else {
                reply.failed(error: Self.classify(error))
                return
            }
            var headers: [Header] = []
            var flat: [String: String] = [:]
            for (k, v) in http.allHeaderFields {
                headers.append(Header(name: "\(k)", value: "\(v)"))
                flat["\(k)".lowercased()] = "\(v)"
            }
            let body = data ?? Data()
            let status = UInt16(clamping: http.statusCode)
            switch rule {
            case .whole:
                reply.response(status: status, headers: headers, body: body.prefix(64 * 1024))
            case .keepSuccess where (200..<300).contains(http.statusCode):
                self.lock.withLock { self.kept[id] = Kept(status: http.statusCode, headers: flat, body: body) }
                reply.response(status: status, headers: headers, body: Data())
            case .keepSuccess:
                reply.response(status: status, headers: headers, body: body.prefix(4096))
            }
        }
        lock.withLock { inFlight[id] = task }
        task.resume()
    }

    func release(requestId: UInt64) {
        let task = lock.withLock { () -> URLSessionDataTask? in
            kept.removeValue(forKey: requestId)
            for (call, list) in parked { parked[call] = list.filter { $0.0.id != requestId } }
            return inFlight.removeValue(forKey: requestId)
        }
        task?.cancel()
    }

    /// Redirects are the core's business (it never asks for one to be followed).
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func invalidate() { session.invalidateAndCancel() }

    private static func classify(_ error: Error?) -> TransportError {
        guard let e = error as? URLError else { return .aborted }
        switch e.code {
        case .cannotFindHost, .dnsLookupFailed: return .dns
        case .cannotConnectToHost, .notConnectedToInternet: return .connect
        case .timedOut: return .timeout
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected: return .tls
        default: return .aborted
        }
    }
}
