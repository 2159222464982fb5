import Foundation
import PolarGridUniFFI

/// Every failure of a PolarGrid call, classified by the core. Switch on `kind`, or read the fields.
/// No field, message or `description` ever holds the API key, a JWT or a refresh token.
public struct PolarGridError: Error, CustomStringConvertible, Sendable {
    /// A stable class of failure (extensible: newer cores may add kinds).
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidApiKey = Kind(rawValue: "invalid_api_key")
        public static let sessionExpired = Kind(rawValue: "session_expired")
        public static let noSession = Kind(rawValue: "no_session")
        public static let cdnBlocked = Kind(rawValue: "cdn_blocked")
        public static let insufficientScope = Kind(rawValue: "insufficient_scope")
        public static let billing = Kind(rawValue: "billing")
        public static let validation = Kind(rawValue: "validation")
        public static let notFound = Kind(rawValue: "not_found")
        public static let rateLimited = Kind(rawValue: "rate_limited")
        public static let server = Kind(rawValue: "server")
        public static let network = Kind(rawValue: "network")
        public static let malformedResponse = Kind(rawValue: "malformed_response")
        public static let unexpectedStatus = Kind(rawValue: "unexpected_status")
        /// The configuration was rejected at construction (see `fix`).
        public static let config = Kind(rawValue: "config")
        /// The client was used wrongly (bad path, unreadable snapshot or grant).
        public static let misuse = Kind(rawValue: "misuse")
        /// The client was closed.
        public static let closed = Kind(rawValue: "closed")
    }

    public let kind: Kind
    /// The HTTP status, when there was an answer.
    public let status: Int?
    /// Whether the same call may succeed later.
    public let retryable: Bool
    /// How long the server asked to wait (`Retry-After`), in seconds.
    public let retryAfter: TimeInterval?
    /// The `X-Request-ID` that was sent, for support tickets.
    public let requestId: String?
    /// One line: what happened.
    public let cause: String
    /// One line: how to fix it.
    public let fix: String
    /// For `.network`: `dns`, `connect`, `tls`, `timeout` or `aborted`.
    public let transport: String?
    /// The server's own message, scrubbed and bounded.
    public let serverMessage: String?
    /// The whole thing as one line.
    public let message: String

    public var description: String {
        "PolarGridError(\(kind)\(status.map { ", status \($0)" } ?? ""), retryable: \(retryable)): \(message)"
    }

    init(_ f: CallFailure) {
        kind = Kind(rawValue: f.kind)
        status = f.status.map(Int.init)
        retryable = f.retryable
        retryAfter = f.retryAfterMs.map { TimeInterval($0) / 1000 }
        requestId = f.requestId
        cause = f.cause
        fix = f.fix
        transport = f.transport
        serverMessage = f.serverMessage
        message = f.message
    }

    init(_ kind: Kind, _ message: String, transport: String? = nil) {
        self.kind = kind
        self.transport = transport
        status = nil; retryable = false; retryAfter = nil; requestId = nil; serverMessage = nil
        cause = message
        // The core writes "…; fix: …" into configuration and misuse messages.
        fix = message.range(of: "fix: ").map { String(message[$0.upperBound...]) } ?? message
        self.message = message
    }

    /// Sorts the driver's errors; `Cancelled` becomes Swift's own `CancellationError`.
    static func from(_ error: Error) -> Error {
        guard let e = error as? PolarGridUniFFI.PolarGridError else { return error }
        switch e {
        case .Call(let failure): return PolarGridError(failure)
        case .Config(let message): return PolarGridError(.config, message)
        case .Misuse(let message): return PolarGridError(.misuse, message)
        case .Cancelled: return CancellationError()
        case .Closed: return PolarGridError(.closed, "the client is closed")
        }
    }
}
