import Foundation
import Engine
import TUI

/// Identifies a background job (a generation, a training run, an evaluation).
public struct JobID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public var description: String { "job-\(raw)" }
}

/// What kind of engine work a job does; each kind runs on its own serial queue, so a training run
/// and a generation never share a thread, while two generations on one model never overlap.
public enum JobKind: String, Sendable, CaseIterable {
    case generation, training, evaluation, io, export
}

public enum JobState: Sendable, Equatable {
    case running
    case finished
    case cancelled
    case failed(String)
}

/// Handed to a job's work: post events for the UI, check for cancellation.
public final class JobContext: Sendable {
    public let id: JobID
    private let cancellation = CancellationFlag()
    private let postHandler: @Sendable (JobID, WorkbenchEvent) -> Void

    init(id: JobID, post: @escaping @Sendable (JobID, WorkbenchEvent) -> Void) {
        self.id = id
        postHandler = post
    }

    public var isCancelled: Bool { cancellation.isCancelled }

    func cancel() { cancellation.cancel() }

    public func post(_ event: WorkbenchEvent) { postHandler(id, event) }
}

/// Runs engine work off the UI thread and reports through `inbox`, the TUI kit's `MessageQueue`
/// that the application drains once a loop turn (`Application.attach`). One queue, one drain point.
// @unchecked Sendable: its job table is touched only inside `lock.withLock`; jobs run on the runner's queues and post through the thread-safe `MessageQueue`.
public final class JobRunner: @unchecked Sendable {
    public let inbox: MessageQueue<JobMessage>
    private let lock = NSLock()
    private var nextID = 1
    private var contexts: [JobID: JobContext] = [:]
    private var kinds: [JobID: JobKind] = [:]
    private let queues: [JobKind: DispatchQueue]

    public init(inbox: MessageQueue<JobMessage> = MessageQueue()) {
        self.inbox = inbox
        var q: [JobKind: DispatchQueue] = [:]
        for kind in JobKind.allCases {
            q[kind] = DispatchQueue(label: "whet.jobs.\(kind.rawValue)", qos: kind == .generation ? .userInitiated : .utility)
        }
        queues = q
    }

    /// Starts `work` on the queue of `kind`. Errors thrown by `work` end the job as failed.
    @discardableResult
    public func start(_ kind: JobKind, title: String, work: @escaping @Sendable (JobContext) throws -> Void) -> JobID {
        lock.lock()
        let id = JobID(raw: nextID)
        nextID += 1
        let inbox = self.inbox
        let context = JobContext(id: id) { job, event in inbox.post(JobMessage(job: job, event: event)) }
        contexts[id] = context
        kinds[id] = kind
        lock.unlock()
        inbox.post(JobMessage(job: id, event: .jobStarted(kind: kind, title: title)))
        (queues[kind] ?? DispatchQueue.global()).async { [weak self] in
            let state: JobState
            do {
                try work(context)
                state = context.isCancelled ? .cancelled : .finished
            } catch {
                state = context.isCancelled ? .cancelled : .failed("\(error)")
            }
            self?.finish(id, state: state)
        }
        return id
    }

    private func finish(_ id: JobID, state: JobState) {
        lock.lock()
        contexts[id] = nil
        let kind = kinds.removeValue(forKey: id)
        lock.unlock()
        inbox.post(JobMessage(job: id, event: .jobEnded(kind: kind ?? .io, state: state)))
    }

    /// Asks a job to stop; it sees `isCancelled` within one step or token.
    public func cancel(_ id: JobID) {
        lock.lock()
        let context = contexts[id]
        lock.unlock()
        context?.cancel()
    }

    public func cancelAll() {
        lock.lock()
        let all = Array(contexts.values)
        lock.unlock()
        all.forEach { $0.cancel() }
    }

    /// Blocks until every job has ended or `timeout` seconds passed; true when none is left. The
    /// workbench calls it on the way out after cancelling them, so a training run gets to write the
    /// checkpoint of its current step before the process ends.
    public func waitUntilIdle(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            lock.lock()
            let idle = contexts.isEmpty
            lock.unlock()
            if idle { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Jobs still running, by kind (the quit dialog asks for confirmation when this is not empty).
    public var activeJobs: [JobID: JobKind] {
        lock.lock()
        defer { lock.unlock() }
        return kinds
    }
}

/// One event from one job.
public struct JobMessage: Sendable {
    public let job: JobID
    public let event: WorkbenchEvent
}
