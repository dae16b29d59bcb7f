import Foundation

// The two ways callers wait for a generation, in one place: on the calling thread with the text
// handed over in order, or suspended in async code.
extension TextGenerator {
    /// Runs `job` and calls `onText` on the calling thread with each new piece of text, in order
    /// (the generator's queue does the work). `onText` may answer `.stop`; `stopped` then says so.
    public func generateText(_ job: GenerationJob, onText: (String) -> Directive) throws
        -> (summary: GenerationSummary, stopped: Bool) {
        let relay = TextRelay()
        let session = start(job) { event in
            if case let .token(token) = event, !token.text.isEmpty { relay.push(token.text) }
            if case let .text(piece) = event, !piece.isEmpty { relay.push(piece) }
            switch event {
            case .finished, .failed: relay.finish()
            default: break
            }
            return relay.stopRequested ? .stop : .proceed
        }
        var stopped = false
        while let piece = relay.next() {
            if !stopped, onText(piece) == .stop {
                relay.requestStop()
                session.cancel()
                stopped = true
            }
        }
        return (try session.wait().get(), stopped)
    }

    /// Runs `job` without blocking a thread of the caller: `onEvent` runs on the generator's queue.
    public func generate(_ job: GenerationJob, onEvent: @escaping @Sendable (GenerationEvent) -> Directive) async
        -> Result<GenerationSummary, GenerationError> {
        await withCheckedContinuation { continuation in
            _ = start(job) { event in
                let answer = onEvent(event)
                switch event {
                case let .finished(summary): continuation.resume(returning: .success(summary))
                case let .failed(error): continuation.resume(returning: .failure(error))
                default: break
                }
                return answer
            }
        }
    }
}

/// Text pieces from the generator's queue to the runner's thread.
// @unchecked Sendable: `pieces`, `stop` and `finished` are touched only with `condition` held.
private final class TextRelay: @unchecked Sendable {
    private let condition = NSCondition()
    private var pieces: [String] = []
    private var stop = false
    private var finished = false

    func push(_ piece: String) {
        condition.lock()
        pieces.append(piece)
        condition.signal()
        condition.unlock()
    }

    var stopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stop
    }

    func requestStop() {
        condition.lock()
        stop = true
        condition.unlock()
    }

    /// The run ended (its last event was delivered).
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// The next piece, or nil once the run has ended and every piece was handed out.
    func next() -> String? {
        condition.lock()
        defer { condition.unlock() }
        while pieces.isEmpty {
            if finished { return nil }
            condition.wait()
        }
        return pieces.removeFirst()
    }
}
