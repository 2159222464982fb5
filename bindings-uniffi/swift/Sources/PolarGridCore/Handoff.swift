import Foundation
import PolarGridUniFFI

/// A call's ending handed straight from the URLSession delegate thread that answered the call's
/// first request to the task awaiting it, instead of through the driver's async `wait` (a Rust
/// future polled from a detached task: two more task switches per call).
///
/// Exactly one party takes the handoff (`take`): the delegate that answered the armed request
/// (it then collects the ending with `waitBlocking(call, 0)`, which never blocks: the answer it
/// just gave is in), the transport when the driver released that request (`.notYet`: the caller
/// then waits on the driver as before), or the caller when its task is cancelled (it cancels the
/// call in the driver). Only the taker collects the call's ending, so it is collected once. What is
/// delivered after the caller gave up is disposed of: a kept answer released, an uncollected call
/// cancelled.
final class Handoff: @unchecked Sendable {
    enum Outcome { case ended(CallResponse), failed(Error), notYet, cancelled }

    let call: UInt64
    private let driver: Driver
    private weak var transport: URLSessionTransport?
    private let lock = NSLock()
    private var taken = false
    private var gone = false
    private var early: Outcome?
    private var cont: CheckedContinuation<Outcome, Never>?

    init(call: UInt64, driver: Driver, transport: URLSessionTransport) {
        self.call = call; self.driver = driver; self.transport = transport
    }

    private func take() -> Bool {
        lock.withLock { () -> Bool in
            if taken { return false }
            taken = true
            return true
        }
    }

    /// The armed request was answered (on the delegate's thread, after the reply).
    func collect() {
        guard take() else { return }
        let r: Outcome
        do { r = try driver.waitBlocking(call: call, timeoutMs: 0).map { .ended($0) } ?? .notYet } catch { r = .failed(error) }
        deliver(r)
    }

    /// The armed request was released: the caller waits on the driver.
    func release() {
        if take() { deliver(.notYet) }
    }

    private func deliver(_ r: Outcome) {
        let (c, dispose) = lock.withLock { () -> (CheckedContinuation<Outcome, Never>?, Bool) in
            if gone { return (nil, true) }
            if let c = cont { cont = nil; return (c, false) }
            early = r
            return (nil, false)
        }
        if dispose { self.dispose(r) }
        c?.resume(returning: r)
    }

    private func dispose(_ r: Outcome) {
        switch r {
        case .notYet: _ = driver.cancel(call: call)
        case .ended(let done): transport?.claim(done.requestId)?.body.cancel()
        case .failed, .cancelled: break
        }
    }

    /// Waits for the outcome; cancelling the task cancels the call.
    func wait() async -> Outcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
                let now = lock.withLock { () -> Outcome? in
                    if gone { return .cancelled }
                    if let e = early { early = nil; return e }
                    cont = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            abandon()
        }
    }

    private func abandon() {
        if take() { _ = driver.cancel(call: call) }
        let (c, left) = lock.withLock { () -> (CheckedContinuation<Outcome, Never>?, Outcome?) in
            gone = true
            let c = cont, left = early
            cont = nil; early = nil
            return (c, left)
        }
        if let left { dispose(left) }
        c?.resume(returning: .cancelled)
    }
}
