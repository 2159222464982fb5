import Foundation
import PolarGridUniFFI

/// Every failure of a PolarGrid call, classified by the core. Switch on `kind`, or read the fields.
/// No field, message, `description`, `debugDescription` or `dump` ever holds the API key, a JWT or
/// a refresh token.
public struct PolarGridError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// A stable class of failure: the core's `ErrorKind` names (extensible: newer cores may add kinds).
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
        public static let invalidConfig = Kind(rawValue: "invalid_config")
        /// An API key was configured where users can read it (see `fix`: handoff mode).
        public static let keyInBrowser = Kind(rawValue: "key_in_browser")
        /// The call itself was wrong (bad path, bad header, unreadable grant or snapshot).
        public static let invalidCall = Kind(rawValue: "invalid_call")
        /// The call was cancelled (thrown as Swift's `CancellationError`).
        public static let cancelled = Kind(rawValue: "cancelled")
        /// The client was closed.
        public static let closed = Kind(rawValue: "closed")

        init(_ k: ErrorKind) {
            switch k {
            case .invalidApiKey: self = .invalidApiKey
            case .sessionExpired: self = .sessionExpired
            case .noSession: self = .noSession
            case .cdnBlocked: self = .cdnBlocked
            case .insufficientScope: self = .insufficientScope
            case .billing: self = .billing
            case .validation: self = .validation
            case .notFound: self = .notFound
            case .rateLimited: self = .rateLimited
            case .server: self = .server
            case .network: self = .network
            case .malformedResponse: self = .malformedResponse
            case .unexpectedStatus: self = .unexpectedStatus
            case .invalidConfig: self = .invalidConfig
            case .keyInBrowser: self = .keyInBrowser
            case .invalidCall: self = .invalidCall
            case .cancelled: self = .cancelled
            case .closed: self = .closed
            }
        }
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
    /// For `.network`: `dns`, `connect`, `tls`, `connect_timeout`, `timeout`, `aborted`,
    /// `protocol` or `opaque` (the core's transport kinds).
    public let transport: String?
    /// The server's own message, scrubbed and bounded.
    public let serverMessage: String?
    /// Attempts made.
    public let attempts: Int
    /// The whole thing as one line.
    public let message: String

    public var description: String {
        "PolarGridError(\(kind)\(status.map { ", status \($0)" } ?? ""), retryable: \(retryable)): \(message)"
    }
    public var debugDescription: String { description }

    init(_ f: Failure) {
        kind = Kind(f.kind)
        status = f.status.map(Int.init)
        retryable = f.retryable
        retryAfter = f.retryAfterMs.map { TimeInterval($0) / 1000 }
        requestId = f.requestId
        cause = f.cause
        fix = f.fix
        transport = f.transport.map(Self.name)
        serverMessage = f.serverMessage
        attempts = Int(f.attempts)
        message = f.message
    }

    /// A failure raised on the Swift side (a body that broke off after its head).
    init(_ kind: Kind, _ message: String, transport: TransportErrorKind? = nil) {
        self.kind = kind
        self.transport = transport.map(Self.name)
        status = nil; retryable = false; retryAfter = nil; requestId = nil; serverMessage = nil; attempts = 1
        cause = message
        fix = "retry the call if the partial answer is not enough"
        self.message = message
    }

    /// The core's name of a transport kind (`TransportErrorKind::as_str`).
    static func name(_ k: TransportErrorKind) -> String {
        switch k {
        case .dns: return "dns"
        case .connect: return "connect"
        case .tls: return "tls"
        case .connectTimeout: return "connect_timeout"
        case .timeout: return "timeout"
        case .aborted: return "aborted"
        case .protocol: return "protocol"
        case .opaque: return "opaque"
        }
    }

    /// Sorts the driver's errors; `cancelled` becomes Swift's own `CancellationError`.
    static func from(_ error: Error) -> Error {
        guard let e = error as? PolarGridUniFFI.PolarGridError else { return error }
        switch e {
        case .Failed(let failure):
            return failure.kind == .cancelled ? CancellationError() : PolarGridError(failure)
        }
    }
}
