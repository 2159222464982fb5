import Foundation
import PolarGridUniFFI

/// A call's ending handed straight from the URLSession delegate thread that answered the call's
/// first request to the task awaiting it: the driver's `answer(…, collect: true)` returns the
/// ending in the same crossing (bindings-uniffi/src/heads.rs), instead of the driver's async `wait`
/// (a Rust future polled from a detached task: two more task switches and more crossings per call).
///
/// Exactly one party takes the handoff (`take`): the delegate that answers the call's request (it
/// answers with `collect` and delivers what came back), the transport when the driver released
/// that request (`.notYet`: the caller then waits on the driver as before), or the caller when its
/// task is cancelled (it cancels the call in the driver). Only the taker collects the call's
/// ending, so it is collected once. What is delivered after the caller gave up is disposed of: a
/// kept answer released, an uncollected call cancelled.
final class Handoff: @unchecked Sendable {
    /// `.ended`: the call succeeded with request `requestId`'s answer (its kept body), in `region`
    /// if known.
    enum Outcome { case ended(requestId: UInt64, region: String?), failed(Error), notYet, cancelled }

    let call: UInt64
    /// The caller reads the body whole (`PolarGrid.request`): the transport hands a success over
    /// when the body has ended, not at its head (one wake-up instead of one per chunk and the end;
    /// the driver still hears the head at once, where the core's deadline stops).
    let whole: Bool
    private let driver: Driver
    private weak var transport: URLSessionTransport?
    private let lock = NSLock()
    private var taken = false
    private var gone = false
    private var early: Outcome?
    private var cont: CheckedContinuation<Outcome, Never>?

    init(call: UInt64, whole: Bool, driver: Driver, transport: URLSessionTransport) {
        self.call = call; self.whole = whole; self.driver = driver; self.transport = transport
    }

    /// The one chance to decide this call's handoff; false if another party already did.
    func take() -> Bool {
        lock.withLock { () -> Bool in
            if taken { return false }
            taken = true
            return true
        }
    }

    /// The armed request was released: the caller waits on the driver.
    func release() {
        if take() { deliver(.notYet) }
    }

    /// Hands `r` to the caller (by the party that took the handoff).
    func deliver(_ r: Outcome) {
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
        case .ended(let requestId, _): transport?.claim(requestId)?.body.cancel()
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
