import Foundation

/// Pause / resume / cancel requests from another thread (the UI), checked by the loop between
/// steps, so a request takes effect within one step.
// @unchecked Sendable: the two request flags are read and written only with `condition` held.
public final class RunControl: @unchecked Sendable {
    private let condition = NSCondition()
    private var pauseRequested = false
    private var cancelRequested = false

    public init() {}

    public func pause() { condition.lock(); pauseRequested = true; condition.unlock() }

    public func resume() {
        condition.lock()
        pauseRequested = false
        condition.broadcast()
        condition.unlock()
    }

    public func cancel() {
        condition.lock()
        cancelRequested = true
        condition.broadcast()
        condition.unlock()
    }

    public var isCancelled: Bool { condition.lock(); defer { condition.unlock() }; return cancelRequested }
    public var isPauseRequested: Bool { condition.lock(); defer { condition.unlock() }; return pauseRequested }

    /// Blocks while paused; returns false when the run was cancelled (while paused or before).
    func waitWhilePaused(onPause: () -> Void, onResume: () -> Void) -> Bool {
        condition.lock()
        if pauseRequested && !cancelRequested {
            condition.unlock()
            onPause()
            condition.lock()
            while pauseRequested && !cancelRequested { condition.wait() }
            let cancelled = cancelRequested
            condition.unlock()
            if !cancelled { onResume() }
            return !cancelled
        }
        let cancelled = cancelRequested
        condition.unlock()
        return !cancelled
    }
}
