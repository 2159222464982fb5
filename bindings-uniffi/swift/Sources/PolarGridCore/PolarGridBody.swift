import Foundation

/// An answer's body as it arrives: `for try await chunk in response.body { … }` (each chunk is the
/// bytes one network read delivered). Read it once. Ending the loop early, cancelling the reading
/// Task or dropping the body cancels the request at once, which closes its connection. A break in
/// the connection after the head throws a `PolarGridError` of kind `.network`.
///
/// The core's deadline stops at the answer's head: a body is never cut while it keeps coming.
public struct PolarGridBody: AsyncSequence, Sendable {
    public typealias Element = Data

    private let stream: AsyncThrowingStream<Data, Error>
    private let state: State

    /// The writing end, held by the transport.
    struct Feed: Sendable {
        fileprivate let continuation: AsyncThrowingStream<Data, Error>.Continuation
        func yield(_ chunk: Data) { continuation.yield(chunk) }
        func finish() { continuation.finish() }
        func finish(throwing error: Error) { continuation.finish(throwing: error) }
    }

    /// Cancels the request when the body is abandoned before its end.
    fileprivate final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var onCancel: (@Sendable () -> Void)?
        init(_ onCancel: @escaping @Sendable () -> Void) { self.onCancel = onCancel }
        func cancel() { lock.withLock { () -> (@Sendable () -> Void)? in defer { onCancel = nil }; return onCancel }?() }
        func ended() { lock.withLock { onCancel = nil } }
        deinit { onCancel?() }
    }

    /// A body and the feed that fills it; `onCancel` runs once if the reader gives up early.
    static func make(onCancel: @escaping @Sendable () -> Void) -> (PolarGridBody, Feed) {
        let state = State(onCancel)
        let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream(bufferingPolicy: .unbounded)
        continuation.onTermination = { termination in
            if case .cancelled = termination { state.cancel() } else { state.ended() }
        }
        return (PolarGridBody(stream: stream, state: state), Feed(continuation: continuation))
    }

    /// A body already in memory (tests, and answers that have none).
    public init(_ data: Data) {
        let (stream, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        if !data.isEmpty { continuation.yield(data) }
        continuation.finish()
        self.init(stream: stream, state: State({}))
    }

    private init(stream: AsyncThrowingStream<Data, Error>, state: State) {
        self.stream = stream
        self.state = state
    }

    /// Stops reading: cancels the request and closes its connection.
    public func cancel() { state.cancel() }

    /// Reads the whole body.
    public func collect() async throws -> Data {
        var all = Data()
        for try await chunk in self { all.append(chunk) }
        return all
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var inner: AsyncThrowingStream<Data, Error>.AsyncIterator
        fileprivate let state: State
        public mutating func next() async throws -> Data? { try await inner.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: stream.makeAsyncIterator(), state: state)
    }
}
